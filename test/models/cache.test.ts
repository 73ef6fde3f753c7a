import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { canonicalJson } from '../../src/core/json-schema.js';
import {
  cacheDbPath,
  cacheKey,
  isCacheable,
  openResponseCache,
  requestHash,
  withCache,
  type CacheEntry,
  type ResponseCache,
} from '../../src/models/cache.js';
import type { ChatRequest, ChatResponse } from '../../src/models/chat-model.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content }],
  temperature: 0,
  ...extra,
});

function response(text: string, extra: Partial<ChatResponse> = {}): ChatResponse {
  return {
    text,
    toolCalls: [],
    finishReason: 'stop',
    usage: { promptTokens: 3, completionTokens: 2 },
    latencyMs: 42,
    cached: false,
    model: 'openai:test-model',
    ...extra,
  };
}

function chatCompletions(fake: FakeOpenAI): number {
  return fake.chatRequests().length;
}

/** Collects what a stream receives. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('cache keys', () => {
  test('canonical JSON sorts keys at every depth and drops undefined members', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: undefined } }),
      '{"a":{"d":[3,{"z":1}]},"b":1}',
    );
    const one: ChatRequest = { temperature: 0, messages: [{ role: 'user', content: 'x' }], seed: 7 };
    const two: ChatRequest = {
      seed: 7,
      messages: [{ content: 'x', role: 'user' }],
      temperature: 0,
      topP: undefined,
    };
    assert.equal(requestHash(one), requestHash(two));
    assert.equal(
      cacheKey('openai', 'openai:m', one, 'http://s.example/v1'),
      cacheKey('openai', 'openai:m', two, 'http://s.example/v1'),
    );
  });

  test('the key changes with backend, model, endpoint identity, sampling parameters, seed and messages', () => {
    const base = ask('hello', { seed: 1 });
    const keys = new Set([
      cacheKey('openai', 'openai:m', base, 'http://other.example/v1'),
      cacheKey('llama', 'llama:/m.gguf', base, 'gguf:sha256:aa'),
      cacheKey('llama', 'llama:/m.gguf', base, 'gguf:sha256:bb'),
      cacheKey('openai', 'openai:m', base, 'http://s.example/v1'),
      cacheKey('llama', 'openai:m', base, 'http://s.example/v1'),
      cacheKey('openai', 'openai:other', base, 'http://s.example/v1'),
      cacheKey('openai', 'openai:m', { ...base, seed: 2 }, 'http://s.example/v1'),
      cacheKey('openai', 'openai:m', { ...base, temperature: 0.7 }, 'http://s.example/v1'),
      cacheKey('openai', 'openai:m', { ...base, topP: 0.9 }, 'http://s.example/v1'),
      cacheKey('openai', 'openai:m', { ...base, maxTokens: 10 }, 'http://s.example/v1'),
      cacheKey('openai', 'openai:m', { ...base, stop: ['\n'] }, 'http://s.example/v1'),
      cacheKey('openai', 'openai:m', ask('hello!', { seed: 1 }), 'http://s.example/v1'),
    ]);
    assert.equal(keys.size, 12);
    assert.match(cacheKey('openai', 'openai:m', base, 'http://s.example/v1'), /^[0-9a-f]{64}$/);
    // The key's formula is fixed (caches written by this version stay readable by later ones): sha256
    // of the canonical JSON of {v: 2, backend, identity, model, request}.
    const withTools: ChatRequest = {
      ...base,
      tools: [{ name: 'f "q"', parameters: { type: 'object', properties: { b: {}, a: {} } } }],
    };
    for (const request of [base, withTools]) {
      const expected = createHash('sha256')
        .update(
          canonicalJson({ v: 2, backend: 'openai', identity: 'http://s"x/v1', model: 'openai:m"x', request }),
        )
        .digest('hex');
      assert.equal(cacheKey('openai', 'openai:m"x', request, 'http://s"x/v1'), expected);
      assert.equal(requestHash(request), createHash('sha256').update(canonicalJson(request)).digest('hex'));
    }
    // The request hash ignores backend and model (that is what `replay:` matches on).
    assert.match(requestHash(base), /^[0-9a-f]{64}$/);
    assert.notEqual(requestHash(base), requestHash({ ...base, seed: 2 }));
  });

  test('only stop, tool_calls and length responses are cacheable', () => {
    assert.deepEqual(
      (['stop', 'tool_calls', 'length', 'content_filter', 'other'] as const).map((finishReason) =>
        isCacheable(response('x', { finishReason })),
      ),
      [true, true, true, false, false],
    );
  });
});

describe('response cache store', () => {
  test('persists across close and reopen; first write wins; findByRequest', () => {
    const dir = makeTempDir();
    const request = ask('persist me');
    const key = cacheKey('openai', 'openai:test-model', request, 'http://s.example/v1');
    const first = openResponseCache(dir);
    assert.equal(first.get(key), undefined);
    assert.equal(first.put(key, requestHash(request), response('one'), { stage: 'instructions' }), true);
    assert.equal(first.put(key, requestHash(request), response('two')), false);
    first.close();
    first.close(); // idempotent

    const second = openResponseCache(dir);
    assert.equal(second.get(key)?.text, 'one');
    const entry = second.findByRequest(requestHash(request));
    assert.equal(entry?.key, key);
    assert.equal(entry?.model, 'openai:test-model');
    assert.equal(entry?.backend, 'openai');
    assert.equal(entry?.stage, 'instructions');
    assert.equal(second.findByRequest(requestHash(ask('other'))), undefined);
    assert.deepEqual([second.hits, second.misses], [1, 0]);
    second.close();
  });

  test('stats count rows and bytes by model; export writes JSONL; prune by model and by age', async () => {
    const dir = makeTempDir();
    const cache = openResponseCache(dir);
    const put = (model: string, content: string): void => {
      const request = ask(content);
      cache.put(
        cacheKey(model.split(':')[0] ?? '', model, request, 'http://s.example/v1'),
        requestHash(request),
        response(content, { model }),
      );
    };
    put('openai:a', 'one');
    put('openai:a', 'two');
    put('openai:b', 'three');
    put('llama:/models/x.gguf', 'four');
    cache.get('no-such-key');

    const stats = cache.stats();
    assert.equal(stats.rows, 4);
    assert.equal(stats.path, cacheDbPath(dir));
    assert.ok(stats.bytes > 0 && stats.responseBytes > 0);
    assert.deepEqual(
      stats.byModel.map((m) => [m.model, m.backend, m.rows]),
      [
        ['openai:a', 'openai', 2],
        ['llama:/models/x.gguf', 'llama', 1],
        ['openai:b', 'openai', 1],
      ],
    );
    assert.deepEqual([stats.hits, stats.misses], [0, 1]);

    const out = sink();
    assert.equal(await cache.export(out.stream), 4);
    const lines = out
      .text()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as CacheEntry);
    assert.deepEqual(
      lines.map((entry) => entry.response.text),
      ['one', 'two', 'three', 'four'],
    );
    assert.ok(
      lines.every((entry) => /^[0-9a-f]{64}$/.test(entry.key) && !Number.isNaN(Date.parse(entry.createdAt))),
    );

    assert.throws(() => cache.prune({}), /olderThanDays, model, or all/);
    assert.equal(cache.prune({ model: 'openai:b' }), 1);
    assert.equal(cache.prune({ olderThanDays: 1 }), 0);
    // Age the llama row by two days, directly in SQLite, then prune what is older than one day.
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
      prepare(sql: string): { run(...params: unknown[]): unknown };
      close(): void;
    };
    const raw = new Sqlite(cacheDbPath(dir));
    raw
      .prepare('UPDATE responses SET created_at = ? WHERE backend = ?')
      .run(Date.now() - 2 * 86_400_000, 'llama');
    raw.close();
    assert.equal(cache.prune({ olderThanDays: 1, model: 'openai' }), 0);
    assert.equal(cache.prune({ olderThanDays: 1 }), 1);
    assert.equal(cache.stats().rows, 2);
    assert.equal(cache.prune({ model: 'openai' }), 2);
    assert.equal(cache.stats().rows, 0);
    cache.close();
  });

  test('export pages through a large cache in insertion order, and filters by model', async () => {
    const cache = openResponseCache(makeTempDir());
    for (let i = 0; i < 1234; i++) {
      const request = ask(`row ${i}`);
      const model = i % 2 === 0 ? 'openai:even' : 'llama:/odd.gguf';
      cache.put(
        cacheKey(model.slice(0, model.indexOf(':')), model, request, 'http://s.example/v1'),
        requestHash(request),
        response(`row ${i}`, { model }),
      );
    }
    const all = sink();
    assert.equal(await cache.export(all.stream), 1234);
    const texts = all
      .text()
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as CacheEntry).response.text);
    assert.deepEqual(
      texts,
      Array.from({ length: 1234 }, (_, i) => `row ${i}`),
    );
    const even = sink();
    assert.equal(await cache.export(even.stream, { model: 'openai:even' }), 617);
    assert.ok(
      even
        .text()
        .trimEnd()
        .split('\n')
        .every((line) => (JSON.parse(line) as CacheEntry).model === 'openai:even'),
    );
    cache.close();
  });

  test('an unopenable location gives one line naming the file', () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'file'), 'not a folder');
    assert.throws(
      () => openResponseCache(join(dir, 'file')),
      (error: Error) => error.message.includes(join(dir, 'file')) && !error.message.includes('\n'),
    );
    writeFileSync(
      join(dir, 'responses.sqlite'),
      'this is not a database, just text that is long enough to matter',
    );
    assert.throws(
      () => openResponseCache(dir),
      (error: Error) => /cannot open the response cache .*responses\.sqlite/.test(error.message),
    );
  });
});

describe('withCache over the fake OpenAI server', () => {
  const secret = 'sk-test-SECRET-do-not-store-0123456789';
  let fake: FakeOpenAI;
  let dir: string;
  let cache: ResponseCache;

  before(async () => {
    fake = await startFakeOpenAI({ apiKey: secret });
    dir = makeTempDir();
    cache = openResponseCache(dir);
  });
  after(async () => {
    cache.close();
    await fake.close();
  });

  const model = () =>
    withCache(createOpenAIChatModel({ model: 'fake-model', baseUrl: fake.baseUrl, apiKey: secret }), cache);

  test('a second identical call at temperature 0 never reaches the server', async () => {
    fake.reset();
    const cached = model();
    const first = await cached.chat(ask('What is the capital of France?'), { stage: 'a' });
    assert.equal(first.cached, false);
    assert.equal(chatCompletions(fake), 1);

    const second = await cached.chat(ask('What is the capital of France?'), { stage: 'b' });
    assert.equal(chatCompletions(fake), 1, 'the second call must not reach the server');
    assert.equal(second.cached, true);
    assert.equal(second.text, first.text);
    assert.deepEqual(second.toolCalls, first.toolCalls);
    assert.deepEqual(second.usage, first.usage);
    assert.equal(second.finishReason, first.finishReason);
    assert.equal(second.model, 'openai:fake-model');
    assert.equal(second.originalLatencyMs, first.latencyMs);
    assert.ok(second.latencyMs < 20, `a hit takes ${second.latencyMs} ms`);
    assert.deepEqual([cached.hits, cached.misses], [1, 1]);

    // A fresh wrapper (another run) hits the same row, and an already-aborted signal still rejects.
    const again = await model().chat(ask('What is the capital of France?'));
    assert.equal(again.cached, true);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      model().chat(ask('What is the capital of France?'), { signal: controller.signal }),
      (error: unknown) => error instanceof ModelCallError && error.kind === 'aborted',
    );
    assert.equal(chatCompletions(fake), 1);
  });

  test('a different seed or temperature is a miss', async () => {
    fake.reset();
    const cached = model();
    await cached.chat(ask('sample me', { seed: 1 }));
    await cached.chat(ask('sample me', { seed: 2 }));
    await cached.chat(ask('sample me', { seed: 1, temperature: 0.8 }));
    assert.equal(chatCompletions(fake), 3);
    await cached.chat(ask('sample me', { seed: 2 }));
    assert.equal(chatCompletions(fake), 3);
    assert.deepEqual([cached.hits, cached.misses], [1, 3]);
  });

  test('tool calls are replayed from the cache', async () => {
    fake.reset();
    const request = ask('weather in Paris?', {
      tools: [
        {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
      toolChoice: 'required',
    });
    const first = await model().chat(request);
    const second = await model().chat(request);
    assert.equal(chatCompletions(fake), 1);
    assert.equal(first.finishReason, 'tool_calls');
    assert.equal(second.toolCalls[0]?.name, 'get_weather');
    assert.deepEqual(second.toolCalls, first.toolCalls);
  });

  test('errors and content_filter answers are not cached', async () => {
    fake.reset();
    fake.script({ fault: 'server_error', status: 500 }, { text: '', finishReason: 'content_filter' });
    await assert.rejects(model().chat(ask('flaky')), ModelCallError);
    const filtered = await model().chat(ask('flaky'));
    assert.equal(filtered.finishReason, 'content_filter');
    const third = await model().chat(ask('flaky'));
    assert.equal(third.cached, false);
    assert.equal(chatCompletions(fake), 3);
    assert.equal((await model().chat(ask('flaky'))).cached, true);
  });

  test('no API key ever reaches the cache files or the export', async () => {
    const files = readdirSync(dir).map((name) => readFileSync(join(dir, name)).toString('latin1'));
    assert.ok(files.length >= 1);
    for (const content of files) assert.ok(!content.includes(secret), 'the API key is in a cache file');
    const out = sink();
    assert.ok((await cache.export(out.stream)) >= 5);
    assert.ok(!out.text().includes(secret));
    // The endpoint identity is stored (normalised: no credentials, query or trailing slash).
    assert.ok(out.text().includes(`"identity":"${fake.baseUrl}"`), 'each row names its endpoint');
  });
});

// -------------------------------------------------------------------------------------------------
// Several processes writing to one database

const CHILD_SCRIPT = `
import { openResponseCache } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src/models/cache.ts')).href)};
const [dir, id, count, startAt, mode] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {}
const cache = openResponseCache(dir);
const response = (text) => ({ text, toolCalls: [], finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 }, latencyMs: 1, cached: false, model: 'openai:child' });
const total = mode === 'forever' ? Infinity : Number(count);
for (let i = 0; i < total; i++) {
  cache.put('w' + id + '-' + i, 'hash-' + i, response('writer ' + id + ' row ' + i + ' ' + 'x'.repeat(200)), { stage: 'child' });
  // Identical concurrent writes of shared keys: INSERT OR IGNORE keeps the first.
  if (i % 10 === 0) cache.put('shared-' + i, 'hash-' + i, response('shared ' + i));
  process.stdout.write(i + '\\n');
  if (mode === 'forever') await new Promise((resolve) => setTimeout(resolve, 1));
}
cache.close();
`;

function spawnWriter(
  script: string,
  args: string[],
): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string; lastRow: number }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stderr: string; lastRow: number }>((resolveDone) => {
    child.on('close', (code) => {
      const rows = stdout
        .trim()
        .split('\n')
        .filter((line) => line !== '');
      resolveDone({ code, stderr, lastRow: rows.length === 0 ? -1 : Number(rows[rows.length - 1]) });
    });
  });
  return { child, done };
}

describe('concurrent writer processes', () => {
  test('three processes write to one new database at once: every row lands, no SQLITE_BUSY', async () => {
    const dir = makeTempDir();
    const script = join(makeTempDir(), 'writer.mjs');
    writeFileSync(script, CHILD_SCRIPT);
    const perWriter = 150;
    // Start together, a moment after tsx has loaded in each child, all creating the database at once.
    const startAt = String(Date.now() + 1500);
    const writers = [1, 2, 3].map((id) =>
      spawnWriter(script, [dir, String(id), String(perWriter), startAt, 'count']),
    );
    const results = await Promise.all(writers.map((w) => w.done));
    for (const result of results) {
      assert.equal(result.stderr, '');
      assert.equal(result.code, 0);
      assert.equal(result.lastRow, perWriter - 1);
    }
    const cache = openResponseCache(dir);
    const shared = Math.ceil(perWriter / 10);
    assert.equal(cache.stats().rows, 3 * perWriter + shared);
    for (const id of [1, 2, 3]) {
      for (const i of [0, 77, perWriter - 1])
        assert.match(cache.get(`w${id}-${i}`)?.text ?? '', new RegExp(`^writer ${id} row ${i} `));
    }
    assert.equal(cache.get('shared-0')?.text, 'shared 0');
    cache.close();
  });

  test('after kill -9 of a writer mid-run the database opens and every committed row is intact', async () => {
    const dir = makeTempDir();
    const script = join(makeTempDir(), 'writer.mjs');
    writeFileSync(script, CHILD_SCRIPT);
    const steady = spawnWriter(script, [dir, '1', '100', '0', 'count']);
    const victim = spawnWriter(script, [dir, '2', '0', '0', 'forever']);
    // Let the victim commit a good number of rows, then kill it without warning.
    let seen = '';
    await new Promise<void>((resolveSeen) => {
      victim.child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.split('\n').length > 120) resolveSeen();
      });
    });
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    const finished = await steady.done;
    assert.equal(finished.code, 0);
    assert.equal(finished.stderr, '');
    assert.ok(killed.lastRow >= 100, `victim committed ${killed.lastRow + 1} rows`);

    const cache = openResponseCache(dir);
    // Every row the victim reported as written is there, and the steady writer's rows too.
    for (let i = 0; i <= killed.lastRow; i++) assert.ok(cache.get(`w2-${i}`), `row w2-${i} is missing`);
    for (let i = 0; i < 100; i++) assert.ok(cache.get(`w1-${i}`), `row w1-${i} is missing`);
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
      pragma(sql: string, options: { simple: boolean }): unknown;
      close(): void;
    };
    const raw = new Sqlite(cacheDbPath(dir));
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    raw.close();
    // And it still takes writes.
    assert.equal(cache.put('after-crash', 'h', response('still writable')), true);
    cache.close();
  });
});
