import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/openai-model.js';
import {
  DEFAULT_COMPLETION_ESTIMATE,
  TokenBudget,
  estimateRequestTokens,
  withRateLimit,
  type RateLimitOptions,
} from '../../src/models/rate-limit.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import type { ChatModel, ChatRequest } from '../../src/models/chat-model.js';

const ask = (text: string): ChatRequest => ({ messages: [{ role: 'user', content: text }] });

describe('withRateLimit against the fake server', () => {
  let server: FakeOpenAI;
  /** Server-side arrival times (ms, performance clock) of chat requests. */
  let arrivals: number[] = [];

  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  function limited(options: RateLimitOptions, latencyMs: number): ChatModel {
    server.reset();
    arrivals = [];
    server.setLatency(latencyMs);
    server.setDefault(() => {
      arrivals.push(performance.now());
      return { text: 'ok' };
    });
    return withRateLimit(createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl }), options);
  }

  /**
   * Most requests the server was answering at once. Each is open from its arrival until `latencyMs`
   * later (the fake server's latency counts from arrival, not from when its handler ran). Timers may
   * fire a millisecond early, so arrivals closer than that to a request's end do not count as overlap.
   */
  function maxInFlight(latencyMs: number): number {
    const arrived = server.requests.map((request) => request.arrivedAt);
    const open = latencyMs - 5;
    let most = 0;
    for (const at of arrived) {
      const overlapping = arrived.filter((other) => other <= at && at - other < open).length;
      most = Math.max(most, overlapping);
    }
    return most;
  }

  test('concurrency is never exceeded, and the limit is used', async () => {
    const latency = 120;
    const model = limited({ concurrency: 2 }, latency);
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => model.chat(ask(`q${i}`))));
    const elapsed = performance.now() - started;
    assert.equal(replies.length, 6);
    assert.equal(server.requests.length, 6);
    assert.equal(maxInFlight(latency), 2);
    // 6 requests, 2 at a time, 120 ms each: three rounds.
    assert.ok(elapsed >= 3 * latency - 10, `took ${elapsed} ms`);
    assert.ok(elapsed < 3 * latency + 1500, `took ${elapsed} ms`);
  });

  test('without limits every request goes out at once', async () => {
    const latency = 150;
    const model = limited({}, latency);
    await Promise.all(Array.from({ length: 5 }, (_, i) => model.chat(ask(`q${i}`))));
    assert.equal(maxInFlight(latency), 5);
  });

  test('requests per minute are spread evenly over the window', async () => {
    server.reset();
    arrivals = [];
    server.setDefault(() => {
      arrivals.push(performance.now());
      return { text: 'ok' };
    });
    // Record when the limiter lets each call through (the server's arrival times add socket jitter).
    const starts: number[] = [];
    const inner = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    const recording: ChatModel = {
      id: inner.id,
      backend: inner.backend,
      chat: (request, options) => {
        starts.push(performance.now());
        return inner.chat(request, options);
      },
    };
    // 10 per 1000 ms window: one every 100 ms.
    const model = withRateLimit(recording, { requestsPerMinute: 10, windowMs: 1000 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => model.chat(ask(`q${i}`))));
    assert.equal(arrivals.length, 5);
    const gaps = starts.slice(1).map((at, i) => at - (starts[i] as number));
    for (const gap of gaps) assert.ok(gap >= 90, `gap ${gap} ms in ${gaps.join(', ')}`);
    const span = Math.max(...arrivals) - Math.min(...arrivals);
    assert.ok(span >= 300 && span < 1500, `server saw them over ${span} ms`);
  });

  test('the token budget books actual usage: a request waits until the window has room', async () => {
    const model = limited({ tokensPerMinute: 100, windowMs: 400 }, 0);
    // Each reply reports 95 tokens, though the estimate (short prompt, maxTokens 10) is far smaller:
    // after one call the window has no room for the next one's estimate.
    server.setDefault(() => {
      arrivals.push(performance.now());
      return { text: 'ok', usage: { prompt_tokens: 85, completion_tokens: 10 } };
    });
    const request = { ...ask('hi'), maxTokens: 10 };
    assert.ok(estimateRequestTokens(request) < 20);
    // A call's tokens are booked after it starts; the next call may go out only when that booking has
    // left the window, so it arrives at least one window after the previous call started (less 2 ms
    // for the budget's whole-millisecond clock). Measured from the call's start, not its arrival, which
    // a loaded machine can delay.
    const started: number[] = [];
    for (let i = 0; i < 3; i++) {
      started.push(performance.now());
      await model.chat(request);
    }
    const gaps = arrivals.slice(1).map((at, i) => at - (started[i] as number));
    for (const gap of gaps) assert.ok(gap >= 398, `gaps ${gaps.join(', ')}`);
  });

  test('an abort while queued rejects at once and the request is never sent', async () => {
    const model = limited({ concurrency: 1 }, 800);
    const first = model.chat(ask('first'));
    const controller = new AbortController();
    const second = model.chat(ask('second'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    await assert.rejects(
      second,
      (error: unknown) => error instanceof ModelCallError && error.kind === 'aborted',
    );
    assert.ok(performance.now() - started < 500, 'rejected before the first call ended');
    assert.equal((await first).text, 'ok');
    assert.equal(server.requests.length, 1);
  });
});

describe('TokenBudget and estimateRequestTokens', () => {
  test('estimates ~4 characters per token plus the completion allowance', () => {
    const short = estimateRequestTokens(ask('x'.repeat(400)));
    assert.equal(short, 100 + 4 + DEFAULT_COMPLETION_ESTIMATE);
    assert.equal(estimateRequestTokens({ ...ask('x'.repeat(400)), maxTokens: 5 }), 109);
    const withTools = estimateRequestTokens({
      ...ask('x'.repeat(400)),
      maxTokens: 5,
      tools: [{ name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } }],
    });
    assert.ok(withTools > 109);
  });

  test('FIFO reservations wait for the window; settle replaces the estimate', async () => {
    const budget = new TokenBudget(100, 200);
    const a = await budget.reserve(60);
    assert.equal(budget.used(), 60);
    budget.settle(a, 30);
    assert.equal(budget.used(), 30);
    const started = performance.now();
    await budget.reserve(70); // fits: 30 + 70
    assert.ok(performance.now() - started < 150, 'did not wait for the 200 ms window');
    await budget.reserve(50); // must wait for the window to drop the first two
    const waited = performance.now() - started;
    assert.ok(waited >= 180 && waited < 1000, `waited ${waited} ms`);
  });

  test('a request larger than the whole budget still runs when the window is empty', async () => {
    const budget = new TokenBudget(10, 100);
    const started = performance.now();
    await budget.reserve(500);
    assert.ok(performance.now() - started < 90, 'did not wait for the 100 ms window');
  });

  test('an abort while waiting rejects and lets the next reservation through', async () => {
    const budget = new TokenBudget(10, 10_000);
    await budget.reserve(10);
    const controller = new AbortController();
    const waiting = budget.reserve(5, controller.signal);
    controller.abort();
    await assert.rejects(
      waiting,
      (error: unknown) => error instanceof ModelCallError && error.kind === 'aborted',
    );
  });
});
