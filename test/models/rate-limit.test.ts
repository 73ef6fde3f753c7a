import { after, before, describe, test, type TestContext } from 'node:test';
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

/** Lets pending I/O callbacks and promise reactions run (setImmediate is never mocked here). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A model answering at once with `usage`, noting the (mocked) clock when each call starts. */
function stubModel(starts: number[], usage = { promptTokens: 1, completionTokens: 1 }): ChatModel {
  return {
    id: 'openai:stub',
    backend: 'openai',
    chat: () => {
      starts.push(Date.now());
      return Promise.resolve({
        text: 'ok',
        toolCalls: [],
        finishReason: 'stop',
        usage,
        latencyMs: 0,
        cached: false,
        model: 'openai:stub',
      });
    },
  };
}

/** Runs every timer due, then what they released, until `done()` holds (the clock jumps, no waiting). */
async function runTimersUntil(t: TestContext, done: () => boolean): Promise<void> {
  for (let round = 0; round < 100 && !done(); round++) {
    t.mock.timers.runAll();
    await settle();
  }
}

describe('withRateLimit against the fake server', () => {
  let server: FakeOpenAI;

  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  /** The fake server behind `withRateLimit`, counting the requests the limiter lets through at once. */
  function limited(options: RateLimitOptions, latencyMs: number): { model: ChatModel; most: () => number } {
    server.reset();
    server.setLatency(latencyMs);
    const inner = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    let inFlight = 0;
    let most = 0;
    const counting: ChatModel = {
      id: inner.id,
      backend: inner.backend,
      chat: async (request, callOptions) => {
        most = Math.max(most, ++inFlight);
        try {
          return await inner.chat(request, callOptions);
        } finally {
          inFlight--;
        }
      },
    };
    return { model: withRateLimit(counting, options), most: () => most };
  }

  test('concurrency is never exceeded, and the limit is used', async () => {
    const { model, most } = limited({ concurrency: 2 }, 50);
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => model.chat(ask(`q${i}`))));
    assert.equal(replies.length, 6);
    assert.equal(server.requests.length, 6);
    assert.equal(most(), 2);
  });

  test('without limits every request goes out at once', async () => {
    const { model, most } = limited({}, 50);
    await Promise.all(Array.from({ length: 5 }, (_, i) => model.chat(ask(`q${i}`))));
    assert.equal(most(), 5);
  });

  test('an abort while queued rejects at once and the request is never sent', async () => {
    const { model } = limited({ concurrency: 1 }, 0);
    // The first request hangs until its own abort: the second can only end by being aborted in the queue.
    server.script({ fault: 'hang' });
    const firstController = new AbortController();
    const first = model.chat(ask('first'), { signal: firstController.signal });
    const controller = new AbortController();
    const second = model.chat(ask('second'), { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    await assert.rejects(
      second,
      (error: unknown) => error instanceof ModelCallError && error.kind === 'aborted',
    );
    assert.equal(server.requests.length, 1, 'the queued request was never sent');
    firstController.abort();
    await assert.rejects(first);
    assert.equal(server.requests.length, 1);
  });
});

describe('withRateLimit on a controlled clock', () => {
  test('requests per minute are spread evenly over the window', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const starts: number[] = [];
    // 10 per 1000 ms window: one every 100 ms.
    const model = withRateLimit(stubModel(starts), { requestsPerMinute: 10, windowMs: 1000 });
    const replies = Promise.all(Array.from({ length: 5 }, (_, i) => model.chat(ask(`q${i}`))));
    await settle();
    assert.deepEqual(starts, [0], 'one at once, the others wait for the clock');
    await runTimersUntil(t, () => starts.length === 5);
    assert.equal((await replies).length, 5);
    assert.deepEqual(starts, [0, 100, 200, 300, 400]);
  });

  test('the token budget books actual usage: a request waits until the window has room', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const starts: number[] = [];
    // Each reply reports 95 tokens, though the estimate (short prompt, maxTokens 10) is far smaller:
    // after one call the window has no room for the next one's estimate.
    const model = withRateLimit(stubModel(starts, { promptTokens: 85, completionTokens: 10 }), {
      tokensPerMinute: 100,
      windowMs: 400,
    });
    const request = { ...ask('hi'), maxTokens: 10 };
    assert.ok(estimateRequestTokens(request) < 20);
    const calls = (async () => {
      for (let i = 0; i < 3; i++) await model.chat(request);
    })();
    await settle();
    assert.deepEqual(starts, [0]);
    await runTimersUntil(t, () => starts.length === 3);
    await calls;
    // Each call goes out only when the previous one's booking has left the window.
    assert.deepEqual(starts, [0, 400, 800]);
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

  test('FIFO reservations wait for the window; settle replaces the estimate', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const budget = new TokenBudget(100, 200);
    const a = await budget.reserve(60);
    assert.equal(budget.used(), 60);
    budget.settle(a, 30);
    assert.equal(budget.used(), 30);
    await budget.reserve(70); // fits: 30 + 70, with the clock still at 0
    let reserved = false;
    const next = budget.reserve(50).then(() => (reserved = true)); // must wait for the window to drop both
    t.mock.timers.tick(199);
    await settle();
    assert.equal(reserved, false, 'not before the window has passed');
    t.mock.timers.tick(1);
    await next;
    assert.equal(budget.used(), 50);
  });

  test('a request larger than the whole budget still runs when the window is empty', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const budget = new TokenBudget(10, 100);
    await budget.reserve(500); // the clock never moves: it did not wait for the window
    assert.equal(budget.used(), 500);
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
