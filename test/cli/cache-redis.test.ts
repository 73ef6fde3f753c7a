/**
 * `toolalpaca cache stats|export|prune --cache-store URL` on the response cache queue workers share on
 * Redis (a real redis-server with a password), run as a user would (compiled CLI), over entries written
 * through the Redis store: the same figures and formats as for the SQLite file, exactly the selected
 * entries pruned, an export that fails leaves no file behind, a dead Redis is one line and exit 3, and
 * the password never appears.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { REDIS_CACHE_PREFIX, redisResponseStore } from '../../src/models/cache-redis.js';
import type { CacheEntry } from '../../src/models/cache-sqlite.js';
import type { ChatResponse } from '../../src/models/chat-model.js';
import { createChatModel } from '../../src/models/create-model.js';
import { cacheKey, requestHash } from '../../src/models/cache-keys.js';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { startFakeOpenAI } from '../helpers/fake-openai-server.js';
import { closedPort } from '../helpers/net.js';
import { makeTempDir } from '../helpers/paths.js';
import { redisTestOptions, startRedis, type RedisProcess } from '../helpers/redis-server.js';

const PASSWORD = 'cache-redis-secret-9051';
const DAY = 86_400_000;

interface StatsJson {
  path: string;
  exists: boolean;
  rows: number;
  bytes: number;
  responseBytes: number;
  legacyRows: number;
  oldest: string | null;
  newest: string | null;
  byModel: {
    model: string;
    backend: string;
    rows: number;
    responseBytes: number;
    oldest: string;
    newest: string;
  }[];
}

function noSecret(...results: RunCliResult[]): void {
  for (const result of results) {
    assert.ok(!`${result.stdout}${result.stderr}`.includes(PASSWORD), 'the Redis password is never printed');
  }
}

function oneErrorLine(result: RunCliResult, code: number): string {
  assert.equal(result.code, code, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  return lines[0]!;
}

const response = (model: string, text: string): ChatResponse => ({
  text,
  toolCalls: [],
  finishReason: 'stop',
  usage: { promptTokens: 12, completionTokens: 4 },
  latencyMs: 30,
  cached: false,
  model,
});

describe('toolalpaca cache --cache-store redis://', redisTestOptions(), () => {
  let redis: RedisProcess;
  let admin: Redis;
  let url: string;
  /** What was written: key -> entry, as the export should give it. */
  let written: Map<string, CacheEntry>;
  const now = Date.now();

  /** Writes `count` entries of `model`, `ageDays` old, through the Redis store a worker uses. */
  const fill = async (model: string, count: number, ageDays: number, stage?: string): Promise<void> => {
    const store = redisResponseStore({
      client: admin,
      location: `redis://127.0.0.1:${redis.port}/0`,
      now: () => now - ageDays * DAY,
    });
    for (let i = 0; i < count; i++) {
      const key = `${model.replace(/\W/g, '-')}-${ageDays}-${i}`;
      const answer = response(model, `answer ${i} of ${model}`);
      const meta = { model, identity: 'http://s.example/v1', ...(stage !== undefined ? { stage } : {}) };
      assert.equal(await store.put(key, `hash-${i}`, answer, meta), true);
      written.set(key, {
        key,
        requestHash: `hash-${i}`,
        backend: model.slice(0, model.indexOf(':')),
        model,
        identity: 'http://s.example/v1',
        stage: stage ?? null,
        createdAt: new Date(now - ageDays * DAY).toISOString(),
        response: answer,
      });
    }
  };
  const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
    runCli(['cache', ...args], { env: { REDIS_URL: undefined, ...env } });
  const statsOf = async (): Promise<StatsJson> => {
    const result = await cli(['stats', '--cache-store', url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    noSecret(result);
    return JSON.parse(result.stdout) as StatsJson;
  };

  before(async () => {
    redis = await startRedis(makeTempDir('toolalpaca-cache-cli-redis-'), { password: PASSWORD });
    url = redis.url;
    admin = new Redis(url);
  });
  beforeEach(async () => {
    await admin.flushdb();
    written = new Map();
    await fill('openai:gpt-4o-mini', 3, 0, 'instructions');
    await fill('openai:gpt-4o', 2, 10);
    await fill('llama:/models/tiny.gguf', 2, 3);
  });
  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  test('stats: the figures of what was written, as a table and as the SQLite JSON shape', async () => {
    const sizeOf = (entries: CacheEntry[]) =>
      entries.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry.response)), 0);
    const of = (model: string) => [...written.values()].filter((entry) => entry.model === model);

    const stats = await statsOf();
    assert.equal(stats.path, `redis://127.0.0.1:${redis.port}/0`);
    assert.equal(stats.exists, true);
    assert.equal(stats.rows, 7);
    assert.equal(stats.legacyRows, 0);
    assert.equal(stats.responseBytes, sizeOf([...written.values()]));
    assert.equal(stats.oldest, new Date(now - 10 * DAY).toISOString());
    assert.equal(stats.newest, new Date(now).toISOString());
    let bytes = 0;
    for (const key of written.keys()) {
      const full = `${REDIS_CACHE_PREFIX}${key}`;
      bytes += Buffer.byteLength(full) + (await admin.strlen(full));
    }
    assert.equal(stats.bytes, bytes);
    assert.deepEqual(stats.byModel, [
      {
        model: 'openai:gpt-4o-mini',
        backend: 'openai',
        rows: 3,
        responseBytes: sizeOf(of('openai:gpt-4o-mini')),
        oldest: new Date(now).toISOString(),
        newest: new Date(now).toISOString(),
      },
      {
        model: 'llama:/models/tiny.gguf',
        backend: 'llama',
        rows: 2,
        responseBytes: sizeOf(of('llama:/models/tiny.gguf')),
        oldest: new Date(now - 3 * DAY).toISOString(),
        newest: new Date(now - 3 * DAY).toISOString(),
      },
      {
        model: 'openai:gpt-4o',
        backend: 'openai',
        rows: 2,
        responseBytes: sizeOf(of('openai:gpt-4o')),
        oldest: new Date(now - 10 * DAY).toISOString(),
        newest: new Date(now - 10 * DAY).toISOString(),
      },
    ]);

    const table = await cli(['stats', '--cache-store', url]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^cache\\s+redis://127\\.0\\.0\\.1:${redis.port}/0$`, 'm'));
    assert.match(table.stdout, /^rows\s+7$/m);
    assert.match(table.stdout, /^size\s+.* in keys and values, .* of responses$/m);
    assert.match(table.stdout, /^openai:gpt-4o-mini\s+3\s/m);
    assert.match(table.stdout, /^llama:\/models\/tiny\.gguf\s+2\s/m);
    assert.match(table.stdout, /^openai:gpt-4o\s+2\s/m);

    // `redis` is REDIS_URL, as for the worker; without it, one line, exit 2.
    const fromEnv = await cli(['stats', '--cache-store', 'redis', '--json'], { REDIS_URL: url });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal((JSON.parse(fromEnv.stdout) as StatsJson).rows, 7);
    const noEnv = await cli(['stats', '--cache-store', 'redis']);
    assert.match(oneErrorLine(noEnv, 2), /--cache-store redis: REDIS_URL is not set/);
    const both = await cli(['stats', '--cache-store', url, '--cache-dir', makeTempDir()]);
    assert.match(oneErrorLine(both, 2), /--cache-dir .* --cache-store .*give one of them/);
    noSecret(table, fromEnv, noEnv, both);
  });

  test('export: the written entries as the SQLite export writes them, to stdout or --out, per model', async () => {
    const all = await cli(['export', '--cache-store', url]);
    assert.equal(all.code, 0, all.stderr);
    const entries = all.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as CacheEntry);
    const byKey = (a: CacheEntry, b: CacheEntry) => (a.key < b.key ? -1 : 1);
    assert.deepEqual(entries.sort(byKey), [...written.values()].sort(byKey));

    const out = join(makeTempDir(), 'sub', 'llama.jsonl');
    const some = await cli(['export', '--cache-store', url, '--out', out, '--model', 'llama']);
    assert.equal(some.code, 0, some.stderr);
    assert.match(some.stderr, /exported 2 responses to .*llama\.jsonl/);
    const lines = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as CacheEntry);
    assert.deepEqual(
      lines.sort(byKey),
      [...written.values()].filter((entry) => entry.backend === 'llama').sort(byKey),
    );
    assert.deepEqual(readdirSync(join(out, '..')), ['llama.jsonl'], 'no temp file left');
    noSecret(all, some);
  });

  test('an export that fails (a user not allowed to read some keys): one line, no file written', async () => {
    // A Redis user who may list every key but read only some: the export fails on the first other one.
    const readerPassword = `${PASSWORD}-reader`;
    await admin.call(
      'ACL',
      'SETUSER',
      'reader',
      'on',
      `>${readerPassword}`,
      `~${REDIS_CACHE_PREFIX}openai*`,
      '+@all',
    );
    const readerUrl = `redis://reader:${readerPassword}@127.0.0.1:${redis.port}/0`;
    const dir = makeTempDir();
    const kept = join(dir, 'kept.jsonl');
    writeFileSync(kept, 'the previous export\n');
    const fresh = join(dir, 'fresh.jsonl');
    const failed = await Promise.all([
      cli(['export', '--cache-store', readerUrl, '--out', kept]),
      cli(['export', '--cache-store', readerUrl, '--out', fresh]),
    ]);
    for (const result of failed) {
      assert.match(
        oneErrorLine(result, 3),
        new RegExp(`response cache redis://127\\.0\\.0\\.1:${redis.port}/0: export failed: NOPERM`),
      );
      assert.ok(!`${result.stdout}${result.stderr}`.includes(readerPassword));
    }
    assert.equal(readFileSync(kept, 'utf8'), 'the previous export\n', 'the previous file is intact');
    assert.equal(existsSync(fresh), false);
    assert.deepEqual(readdirSync(dir), ['kept.jsonl'], 'no temp file left');
    await admin.call('ACL', 'DELUSER', 'reader');
  });

  test('prune: the selectors remove exactly the right entries; stats agrees afterwards', async () => {
    const keys = async () =>
      (await admin.keys(`${REDIS_CACHE_PREFIX}*`)).map((key) => key.slice(REDIS_CACHE_PREFIX.length)).sort();
    await admin.set('toolalpaca:not-the-cache', 'kept');
    const before = await statsOf();

    const noFilter = await cli(['prune', '--cache-store', url]);
    assert.match(oneErrorLine(noFilter, 2), /give --older-than DAYS, --model SPEC, or --all/);

    // Older than 5 days and of gpt-4o-mini: none (those are new).
    const none = await cli([
      'prune',
      '--cache-store',
      url,
      '--older-than',
      '5',
      '--model',
      'openai:gpt-4o-mini',
    ]);
    assert.match(none.stdout, /^deleted 0 responses, 7 left/);

    const old = await cli(['prune', '--cache-store', url, '--older-than', '5', '--json']);
    assert.equal(old.code, 0, old.stderr);
    const pruned = JSON.parse(old.stdout) as {
      path: string;
      deleted: number;
      rows: number;
      bytesBefore: number;
      bytesAfter: number;
    };
    assert.equal(pruned.path, `redis://127.0.0.1:${redis.port}/0`);
    assert.equal(pruned.deleted, 2);
    assert.equal(pruned.rows, 5);
    assert.equal(pruned.bytesBefore, before.bytes);
    assert.deepEqual(
      await keys(),
      [...written.keys()].filter((key) => !key.startsWith('openai-gpt-4o-10-')).sort(),
    );
    const after = await statsOf();
    assert.equal(after.rows, 5);
    assert.equal(after.bytes, pruned.bytesAfter);
    assert.deepEqual(
      after.byModel.map((m) => [m.model, m.rows]),
      [
        ['openai:gpt-4o-mini', 3],
        ['llama:/models/tiny.gguf', 2],
      ],
    );

    const byBackend = await cli(['prune', '--cache-store', url, '--model', 'llama']);
    assert.match(byBackend.stdout, /^deleted 2 responses, 3 left/);
    assert.deepEqual(await keys(), [
      'openai-gpt-4o-mini-0-0',
      'openai-gpt-4o-mini-0-1',
      'openai-gpt-4o-mini-0-2',
    ]);

    const all = await cli(['prune', '--cache-store', url, '--all', '--json']);
    assert.deepEqual(
      (({ deleted, rows, bytesAfter }) => ({ deleted, rows, bytesAfter }))(
        JSON.parse(all.stdout) as typeof pruned,
      ),
      { deleted: 3, rows: 0, bytesAfter: 0 },
    );
    assert.equal((await statsOf()).rows, 0);
    assert.equal(await admin.get('toolalpaca:not-the-cache'), 'kept', 'keys outside the prefix are kept');
    noSecret(noFilter, none, old, byBackend, all);
  });

  test('entries a model call stored through the shared cache (as a worker does) are what stats and export give', async () => {
    await admin.flushdb();
    const apiKey = 'sk-cache-cli-redis-key-3310';
    const server = await startFakeOpenAI({ models: ['fake-model'] });
    try {
      const client = new Redis(url);
      const model = await createChatModel('openai:fake-model', {
        openai: { baseUrl: server.baseUrl, apiKey },
        maxRetries: 0,
        sharedCache: redisResponseStore({ client, location: 'shared', closeClient: true }),
        cacheDir: '/dev/null/no-cache-here',
      });
      const request = { messages: [{ role: 'user' as const, content: 'what is 2+2?' }], seed: 1 };
      const reply = await model.chat(request);
      await model.close();
      client.disconnect();

      const stats = await statsOf();
      assert.deepEqual(
        stats.byModel.map((m) => [m.model, m.backend, m.rows]),
        [['openai:fake-model', 'openai', 1]],
      );
      const exported = await cli(['export', '--cache-store', url]);
      assert.equal(exported.code, 0, exported.stderr);
      const [entry, ...rest] = exported.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as CacheEntry);
      assert.equal(rest.length, 0);
      assert.equal(entry!.key, cacheKey('openai', 'openai:fake-model', request, entry!.identity ?? ''));
      assert.equal(entry!.requestHash, requestHash(request));
      assert.equal(entry!.response.text, reply.text);
      assert.ok(entry!.identity?.startsWith('http://127.0.0.1:'), String(entry!.identity));
      assert.ok(!exported.stdout.includes(apiKey), 'no API key in the export');
      noSecret(exported);
    } finally {
      await server.close();
    }
  });

  test('Redis unavailable: one line naming host:port (never the password), exit 3, no file written', async () => {
    const dead = `redis://:${PASSWORD}@127.0.0.1:${await closedPort()}/0`;
    const out = join(makeTempDir(), 'never.jsonl');
    const results = await Promise.all([
      cli(['stats', '--cache-store', dead, '--json']),
      cli(['export', '--cache-store', dead, '--out', out]),
      cli(['prune', '--cache-store', dead, '--all', '--json']),
    ]);
    for (const result of results) {
      assert.match(
        oneErrorLine(result, 3),
        /^toolalpaca: response cache redis:\/\/127\.0\.0\.1:\d+\/0 is unavailable: .*ECONNREFUSED/,
      );
      assert.equal(result.stdout, '');
    }
    assert.equal(existsSync(out), false);
    // A wrong password is refused the same way, without repeating the one given.
    const wrong = await cli(['stats', '--cache-store', `redis://:${PASSWORD}x@127.0.0.1:${redis.port}/0`]);
    assert.match(oneErrorLine(wrong, 3), /is unavailable: WRONGPASS/);
    noSecret(...results, wrong);
  });
});
