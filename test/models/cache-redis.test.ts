/**
 * The response cache on Redis (a real redis-server): what one worker stored answers another worker's
 * same call without reaching the server, while another model or another base URL never gets a hit;
 * values hold no API key; the first write wins; a TTL is set when asked for. Stats, export and prune
 * (SCAN in small batches) see every entry once and delete exactly what their selectors name.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { redisTestOptions, startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { createChatModel } from '../../src/models/create-model.js';
import { REDIS_CACHE_PREFIX, redisResponseStore } from '../../src/models/cache-redis.js';
import type { ResponseStore } from '../../src/models/cache-store.js';
import type { CacheEntry } from '../../src/models/cache-sqlite.js';
import type { ChatRequest, ChatResponse } from '../../src/models/chat-model.js';

const API_KEY = 'sk-cache-redis-secret-0042';
const ask = (text: string): ChatRequest => ({ messages: [{ role: 'user', content: text }] });

describe('response cache on Redis', redisTestOptions(), () => {
  let redis: RedisProcess;
  let serverA: FakeOpenAI;
  let serverB: FakeOpenAI;
  const clients: Redis[] = [];

  /** A store on its own connection, as each worker process has. */
  const store = (ttlSeconds?: number): ResponseStore => {
    const client = new Redis(redis.url);
    clients.push(client);
    return redisResponseStore({
      client,
      location: `redis://127.0.0.1:${redis.port}/0`,
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    });
  };
  const modelOn = (server: FakeOpenAI, sharedCache: ResponseStore, spec = 'openai:fake-model') =>
    createChatModel(spec, {
      openai: { baseUrl: server.baseUrl, apiKey: API_KEY },
      maxRetries: 0,
      sharedCache,
      // The SQLite file must not be used: a folder that cannot be created would fail the call.
      cacheDir: '/dev/null/no-cache-here',
    });

  before(async () => {
    redis = await startRedis(makeTempDir('toolalpaca-cache-redis-'));
    serverA = await startFakeOpenAI({ models: ['fake-model', 'other-model'] });
    serverB = await startFakeOpenAI();
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await serverA?.close();
    await serverB?.close();
    await redis?.stop();
  });

  test('a call cached by one worker answers another worker; other model or server never hits', async () => {
    const first = await modelOn(serverA, store());
    const reply = await first.chat(ask('what is 2+2?'));
    assert.notEqual(reply.cached, true);
    assert.equal(serverA.chatRequests().length, 1);

    const second = await modelOn(serverA, store());
    const again = await second.chat(ask('what is 2+2?'));
    assert.equal(again.cached, true);
    assert.equal(again.text, reply.text);
    assert.equal(serverA.chatRequests().length, 1, 'the second worker did not call the server');
    assert.deepEqual(second.cacheStats(), { hits: 1, misses: 0 });

    const otherModel = await modelOn(serverA, store(), 'openai:other-model');
    assert.notEqual((await otherModel.chat(ask('what is 2+2?'))).cached, true);
    assert.equal(serverA.chatRequests().length, 2, 'another model is not answered from the cache');

    const otherServer = await modelOn(serverB, store());
    assert.notEqual((await otherServer.chat(ask('what is 2+2?'))).cached, true);
    assert.equal(serverB.chatRequests().length, 1, 'another base URL is not answered from the cache');
    for (const model of [first, second, otherModel, otherServer]) await model.close();

    const admin = new Redis(redis.url);
    clients.push(admin);
    const keys = await admin.keys(`${REDIS_CACHE_PREFIX}*`);
    assert.equal(keys.length, 3);
    for (const key of keys) {
      const value = (await admin.get(key)) ?? '';
      assert.ok(!value.includes(API_KEY), 'no API key in a cached value');
      assert.equal(await admin.ttl(key), -1, 'no TTL unless asked for');
    }
  });

  test('first write wins; a TTL is set when given', async () => {
    const withTtl = store(3600);
    const response = { text: 'a', model: 'openai:m', finishReason: 'stop' } as unknown as ChatResponse;
    assert.equal(await withTtl.put('k1', 'h', response, { model: 'openai:m', identity: 'x' }), true);
    assert.equal(await withTtl.put('k1', 'h', { ...response, text: 'b' }, { model: 'openai:m' }), false);
    assert.equal((await store().get('k1'))?.text, 'a');
    const admin = new Redis(redis.url);
    clients.push(admin);
    const ttl = await admin.ttl(`${REDIS_CACHE_PREFIX}k1`);
    assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
    assert.equal(await store().get('missing'), undefined);
  });
});

describe('stats, export and prune of the response cache on Redis', redisTestOptions(), () => {
  const DAY = 86_400_000;
  const NOW = Date.parse('2026-06-01T12:00:00.000Z');
  let redis: RedisProcess;
  let admin: Redis;
  const response = (model: string, text: string): ChatResponse => ({
    text,
    toolCalls: [],
    finishReason: 'stop',
    usage: { promptTokens: 3, completionTokens: 2 },
    latencyMs: 7,
    cached: false,
    model,
  });
  /** A store whose clock says `ageDays` before NOW, reading one key per SCAN step (many batches). */
  const storeAt = (ageDays: number, prefix?: string) =>
    redisResponseStore({
      client: admin,
      location: 'redis://127.0.0.1/0',
      batchSize: 2,
      now: () => NOW - ageDays * DAY,
      ...(prefix !== undefined ? { prefix } : {}),
    });
  const lines = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as CacheEntry);
  const exportOf = async (store: ReturnType<typeof storeAt>, model?: string): Promise<CacheEntry[]> => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const count = await store.export(sink, model !== undefined ? { model } : {});
    const entries = lines(chunks.join(''));
    assert.equal(count, entries.length);
    return entries;
  };

  before(async () => {
    redis = await startRedis(makeTempDir('toolalpaca-cache-redis-admin-'));
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  test('stats and export read every entry once, per model; values that are not entries are skipped', async () => {
    await admin.flushdb();
    for (let i = 0; i < 5; i++) {
      await storeAt(10).put(`a${i}`, `h${i}`, response('openai:gpt-4o', `old ${i}`), {
        model: 'openai:gpt-4o',
        identity: 'http://s.example/v1',
        stage: 'instructions',
      });
    }
    for (let i = 0; i < 3; i++) {
      await storeAt(0).put(`b${i}`, `h${i}`, response('llama:/m/tiny.gguf', `new ${i}`), {
        model: 'llama:/m/tiny.gguf',
        identity: 'sha256:abc',
      });
    }
    // Someone else's values under the prefix, and a key beside it.
    await admin.hset(`${REDIS_CACHE_PREFIX}foreign-hash`, 'f', 'v');
    await admin.set(`${REDIS_CACHE_PREFIX}foreign-text`, 'not json');
    await admin.set('toolalpaca:other', 'x');

    const stats = await storeAt(0).stats();
    const sizeOf = (model: string, text: string) => Buffer.byteLength(JSON.stringify(response(model, text)));
    assert.equal(stats.rows, 8);
    assert.equal(stats.legacyRows, 0);
    assert.equal(stats.oldest, new Date(NOW - 10 * DAY).toISOString());
    assert.equal(stats.newest, new Date(NOW).toISOString());
    assert.deepEqual(
      stats.byModel.map((m) => [m.model, m.backend, m.rows, m.responseBytes]),
      [
        [
          'openai:gpt-4o',
          'openai',
          5,
          [0, 1, 2, 3, 4].reduce((s, i) => s + sizeOf('openai:gpt-4o', `old ${i}`), 0),
        ],
        [
          'llama:/m/tiny.gguf',
          'llama',
          3,
          [0, 1, 2].reduce((s, i) => s + sizeOf('llama:/m/tiny.gguf', `new ${i}`), 0),
        ],
      ],
    );
    assert.equal(stats.responseBytes, stats.byModel[0]!.responseBytes + stats.byModel[1]!.responseBytes);
    // Bytes: keys and values of the entries (not of the other values under the prefix).
    let bytes = 0;
    for (const key of ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2'].map(
      (k) => `${REDIS_CACHE_PREFIX}${k}`,
    )) {
      bytes += Buffer.byteLength(key) + (await admin.strlen(key));
    }
    assert.equal(stats.bytes, bytes);

    const all = await exportOf(storeAt(0));
    assert.deepEqual(all.map((entry) => entry.key).sort(), ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2']);
    const a3 = all.find((entry) => entry.key === 'a3');
    assert.deepEqual(a3, {
      key: 'a3',
      requestHash: 'h3',
      backend: 'openai',
      model: 'openai:gpt-4o',
      identity: 'http://s.example/v1',
      stage: 'instructions',
      createdAt: new Date(NOW - 10 * DAY).toISOString(),
      response: response('openai:gpt-4o', 'old 3'),
    });
    assert.deepEqual((await exportOf(storeAt(0), 'llama')).map((entry) => entry.key).sort(), [
      'b0',
      'b1',
      'b2',
    ]);
    assert.equal((await exportOf(storeAt(0), 'openai:gpt-4o-mini')).length, 0);
    // Another prefix sees nothing of these.
    assert.equal((await storeAt(0, 'elsewhere:').stats()).rows, 0);
  });

  test('prune deletes exactly what its selectors name, counts what is left; all: true deletes every entry', async () => {
    await admin.flushdb();
    const put = (age: number, key: string, model: string) =>
      storeAt(age).put(key, 'h', response(model, key), { model, identity: 'i' });
    await put(9, 'old-mini', 'openai:gpt-4o-mini');
    await put(9, 'old-4o', 'openai:gpt-4o');
    await put(1, 'young-4o', 'openai:gpt-4o');
    await put(9, 'old-llama', 'llama:/m.gguf');
    await put(0, 'new-llama', 'llama:/m.gguf');
    await admin.set(`${REDIS_CACHE_PREFIX}foreign`, 'not json');
    await admin.set('beside', 'kept');

    await assert.rejects(storeAt(0).prune({}), /prune: give olderThanDays, model, or all: true/);
    await assert.rejects(storeAt(0).prune({ olderThanDays: -1 }), /olderThanDays must be a number >= 0/);

    const keys = async () =>
      (await admin.keys(`${REDIS_CACHE_PREFIX}*`)).map((key) => key.slice(REDIS_CACHE_PREFIX.length)).sort();
    const oldGpt4o = await storeAt(0).prune({ olderThanDays: 5, model: 'openai:gpt-4o' });
    assert.equal(oldGpt4o.deleted, 1);
    assert.equal(oldGpt4o.rows, 4);
    assert.ok(oldGpt4o.bytesAfter < oldGpt4o.bytesBefore);
    assert.deepEqual(await keys(), ['foreign', 'new-llama', 'old-llama', 'old-mini', 'young-4o']);

    assert.equal((await storeAt(0).prune({ olderThanDays: 5 })).deleted, 2);
    assert.deepEqual(await keys(), ['foreign', 'new-llama', 'young-4o']);
    assert.equal((await storeAt(0).prune({ model: 'llama' })).deleted, 1);
    assert.equal((await storeAt(0).stats()).rows, 1);

    const rest = await storeAt(0).prune({ all: true });
    assert.deepEqual(
      { deleted: rest.deleted, rows: rest.rows, bytesAfter: rest.bytesAfter },
      { deleted: 1, rows: 0, bytesAfter: 0 },
    );
    // A value under the prefix that is not an entry (another program's) is never deleted.
    assert.deepEqual(await keys(), ['foreign']);
    assert.equal(await admin.get('beside'), 'kept', 'keys outside the prefix are never touched');
  });
});
