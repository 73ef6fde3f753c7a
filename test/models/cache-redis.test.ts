/**
 * The response cache on Redis (a real redis-server): what one worker stored answers another worker's
 * same call without reaching the server, while another model or another base URL never gets a hit;
 * values hold no API key; the first write wins; a TTL is set when asked for.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { redisTestOptions, startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { createChatModel } from '../../src/models/create-model.js';
import { REDIS_CACHE_PREFIX, redisResponseStore } from '../../src/models/cache-redis.js';
import type { ResponseStore } from '../../src/models/cache-store.js';
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
