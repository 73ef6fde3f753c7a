/**
 * Rate limits on Redis (a real redis-server), held across three limiters on their own connections (as
 * three worker processes hold them): counted on the fake server's arrival times and on the bookings'
 * times, never on elapsed time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { redisTestOptions, startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/openai-model.js';
import { rateLimitKey, withRateLimit, type RateLimitStore } from '../../src/models/rate-limit.js';
import { redisRateLimitStore } from '../../src/models/rate-limit-redis.js';
import type { ChatRequest } from '../../src/models/chat-model.js';

const ask = (text: string): ChatRequest => ({ messages: [{ role: 'user', content: text }] });

/**
 * Most events in any window of `windowMs` (each event weighs `weight(i)`). `slackMs` shortens the
 * window by the delivery jitter between a booking and the request's arrival at the server.
 */
function mostInAnyWindow(
  times: number[],
  windowMs: number,
  slackMs: number,
  weight = (_i: number) => 1,
): number {
  const order = times.map((t, i) => [t, weight(i)] as const).sort((a, b) => a[0] - b[0]);
  let most = 0;
  for (const [start] of order) {
    const sum = order
      .filter(([t]) => t >= start && t < start + windowMs - slackMs)
      .reduce((s, [, w]) => s + w, 0);
    most = Math.max(most, sum);
  }
  return most;
}

/** Arrival times relative to the first, for failure messages. */
function offsets(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.map((t) => Math.round(t - sorted[0]!)).join(' ');
}

describe('rate limits shared through Redis', redisTestOptions(), () => {
  let redis: RedisProcess;
  let server: FakeOpenAI;
  const clients: Redis[] = [];
  const storeOf = (): RateLimitStore => {
    const client = new Redis(redis.url);
    clients.push(client);
    return redisRateLimitStore({ client, location: `redis://127.0.0.1:${redis.port}/0` });
  };

  before(async () => {
    redis = await startRedis(makeTempDir('toolalpaca-limit-redis-'));
    server = await startFakeOpenAI({ latencyMs: 5 });
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await server?.close();
    await redis?.stop();
  });

  test('--rpm holds across three limiters: no window of the fake server holds more than its share', async () => {
    // 8 per 2 s, spaced evenly: one every 250 ms. Each limiter alone would let 8 through per window:
    // its 4 calls in 1 s, the three together 12.
    const windowMs = 2000;
    const rpm = 8;
    const key = rateLimitKey(server.baseUrl, 'openai:fake-model');
    const limited = [storeOf(), storeOf(), storeOf()].map((store) =>
      withRateLimit(createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl }), {
        concurrency: 4,
        requestsPerMinute: rpm,
        windowMs,
        shared: { store, key },
      }),
    );
    await Promise.all(
      limited.flatMap((model, m) => Array.from({ length: 4 }, (_, i) => model.chat(ask(`${m}-${i}`)))),
    );
    const arrivals = server.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.arrivedAt);
    assert.equal(arrivals.length, 12);
    // A request reaches the server a moment after its turn was booked (a busy machine delays some
    // more than others): 200 ms of slack for that.
    const most = mostInAnyWindow(arrivals, windowMs, 200);
    assert.ok(most <= rpm, `at most ${rpm} per window, got ${most}: ${offsets(arrivals)}`);
  });

  test('--tpm holds across three limiters; a settled booking frees its unused tokens', async () => {
    const windowMs = 1000;
    const budget = 300;
    const stores = [storeOf(), storeOf(), storeOf()];
    const booked: number[] = [];
    await Promise.all(
      stores.map(async (store) => {
        for (let i = 0; i < 3; i++) {
          for (;;) {
            const result = await store.reserveTokens('tpm-test', 100, budget, windowMs);
            if ('booking' in result) break;
            await new Promise((resolve) => setTimeout(resolve, result.waitMs));
          }
          booked.push(performance.now());
        }
      }),
    );
    assert.equal(booked.length, 9);
    // 100 tokens each: at most 3 bookings in any window (three separate budgets would allow 9). The
    // times are taken when each booking's answer arrives: 200 ms of slack for a busy machine.
    const most = mostInAnyWindow(booked, windowMs, 200);
    assert.ok(most <= 3, `at most 3 bookings per window, got ${most}: ${offsets(booked)}`);

    const store = stores[0]!;
    const first = await store.reserveTokens('settle-test', 250, budget, 60_000);
    assert.ok('booking' in first);
    assert.ok('waitMs' in (await store.reserveTokens('settle-test', 200, budget, 60_000)), 'over the budget');
    await store.settleTokens('settle-test', first.booking, 50);
    assert.ok(
      'booking' in (await store.reserveTokens('settle-test', 200, budget, 60_000)),
      'fits once settled',
    );
  });

  test('the keys name no endpoint and hold no credential', async () => {
    const admin = new Redis(redis.url);
    clients.push(admin);
    const keys = await admin.keys('toolalpaca:limit:*');
    assert.ok(keys.length > 0);
    for (const k of keys) assert.ok(!k.includes('127.0.0.1') && !k.includes('http'), k);
  });
});
