import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { failure } from '../helpers/model-errors.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/openai-model.js';
import {
  retryDelayMs,
  sleep,
  withRetries,
  type RetryEvent,
  type RetryOptions,
} from '../../src/models/retry.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import type { ChatModel, ChatRequest } from '../../src/models/chat-model.js';

const hello: ChatRequest = { messages: [{ role: 'user', content: 'Say hello' }] };

/** Lets pending I/O callbacks and promise reactions run (setImmediate is never mocked here). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('withRetries against the fake server', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  function model(options: RetryOptions & { stream?: boolean } = {}): {
    model: ChatModel;
    events: RetryEvent[];
  } {
    const events: RetryEvent[] = [];
    const base = createOpenAIChatModel({
      model: 'fake-model',
      baseUrl: server.baseUrl,
      stream: options.stream ?? false,
    });
    return {
      model: withRetries(base, {
        baseDelayMs: 5,
        maxDelayMs: 20,
        onRetry: (event) => events.push(event),
        ...options,
      }),
      events,
    };
  }

  test('429 with Retry-After: the retry is sent only once that long has passed, then succeeds', async (t) => {
    server.reset();
    server.script({ fault: 'rate_limit', retryAfterSeconds: 1 }, { text: 'after the wait' });
    // Timers under the test's control: the wait ends when the clock is moved, not when time passes.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let waiting: () => void = () => undefined;
    const retrying = new Promise<void>((resolve) => (waiting = resolve));
    const { model: m, events } = model({ onRetry: (event) => (events.push(event), waiting()) });
    const pending = m.chat(hello);
    await retrying;
    await settle();
    t.mock.timers.tick(999);
    await settle();
    assert.equal(server.requests.length, 1, 'not retried before the Retry-After');
    t.mock.timers.tick(1);
    const response = await pending;
    assert.equal(response.text, 'after the wait');
    assert.equal(server.requests.length, 2);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.error.kind, 'rate_limited');
    assert.equal(events[0]?.delayMs, 1000);
  });

  test('a Retry-After longer than the call timeout fails the call at once as unavailable', async () => {
    server.reset();
    server.script({ fault: 'rate_limit', retryAfterSeconds: 3600 }, { text: 'never asked' });
    const { model: m, events } = model({ timeoutMs: 2000 });
    const error = await failure(m.chat(hello));
    assert.equal(error.kind, 'rate_limited');
    assert.equal(error.retryable, false);
    assert.match(error.message, /retry after 3600 s, longer than the 2 s a call may take/);
    assert.equal(events.length, 0, 'no wait was scheduled');
    assert.equal(server.requests.length, 1);
    assert.equal(server.pendingScript(), 1);
  });

  for (const stream of [false, true]) {
    const label = stream ? 'streaming' : 'plain';
    test(`500, 502, malformed JSON, cut stream and dropped connection are retried (${label})`, async () => {
      server.reset();
      server.script(
        { fault: 'server_error' },
        { fault: 'server_error', status: 502 },
        { fault: 'malformed_json' },
        { fault: 'cut_stream' },
        { fault: 'drop_connection' },
        { text: 'finally' },
      );
      const { model: m, events } = model({ maxRetries: 5, stream });
      const response = await m.chat(hello);
      assert.equal(response.text, 'finally');
      assert.equal(server.requests.length, 6);
      assert.deepEqual(
        events.map((event) => event.error.kind),
        ['server_error', 'server_error', 'bad_response', 'connection', 'connection'],
      );
      for (const event of events) assert.ok(event.delayMs >= 0 && event.delayMs <= 20);
    });
  }

  test('a hang times out per attempt and the retry succeeds', async () => {
    server.reset();
    server.script({ fault: 'hang' }, { text: 'second try' });
    const { model: m, events } = model({ timeoutMs: 150, maxRetries: 2 });
    const response = await m.chat(hello);
    assert.equal(response.text, 'second try');
    assert.deepEqual(
      events.map((event) => event.error.kind),
      ['timeout'],
    );
    assert.equal(server.requests.length, 2);
  });

  test('gives up after maxRetries + 1 attempts with one line keeping the last kind', async () => {
    server.reset();
    server.setDefault(() => ({ fault: 'server_error', status: 503 }));
    const { model: m } = model({ maxRetries: 3 });
    const error = await failure(m.chat(hello));
    assert.equal(server.requests.length, 4);
    assert.equal(error.kind, 'server_error');
    assert.equal(error.status, 503);
    assert.match(
      error.message,
      /^gave up after 4 attempts: server error: HTTP 503 from http:\/\/127\.0\.0\.1:\d+\/v1/,
    );
    assert.ok(!error.message.includes('\n'));
    server.reset();
  });

  test('hangs on every attempt end in a timeout error', async () => {
    server.reset();
    server.setDefault(() => ({ fault: 'hang' }));
    const { model: m } = model({ maxRetries: 1, timeoutMs: 300 });
    const error = await failure(m.chat(hello));
    assert.equal(error.kind, 'timeout');
    assert.equal(server.requests.length, 2);
    assert.match(error.message, /gave up after 2 attempts: openai:fake-model did not answer within 300 ms/);
    server.reset();
  });

  test('client errors are not retried', async () => {
    server.reset();
    server.script({ fault: 'client_error', status: 404, message: 'no such model' }, { text: 'never' });
    const { model: m, events } = model();
    const error = await failure(m.chat(hello));
    assert.equal(error.kind, 'client_error');
    assert.equal(error.status, 404);
    assert.equal(server.requests.length, 1);
    assert.equal(events.length, 0);
    assert.equal(server.pendingScript(), 1);
    server.reset();
  });

  test('an abort during the backoff wait stops at once', async (t) => {
    server.reset();
    server.script({ fault: 'server_error' }, { text: 'never' });
    // With timers under the test's control the 9.9 s wait never ends by itself: only the abort ends it.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    const { model: m, events } = model({
      baseDelayMs: 10_000,
      maxDelayMs: 10_000,
      random: () => 0.99,
      // Called just before the wait starts; the abort comes once it has started.
      onRetry: (event) => (events.push(event), setImmediate(() => controller.abort())),
    });
    const error = await failure(m.chat(hello, { signal: controller.signal }));
    assert.equal(error.kind, 'aborted');
    assert.equal(events[0]?.delayMs, 9900);
    assert.equal(server.requests.length, 1);
    assert.equal(server.pendingScript(), 1, 'no retry was sent');
    server.reset();
  });

  test('an abort during a hanging request is not retried and is not a timeout', async (t) => {
    server.reset();
    // The request hangs and the attempt's 5 s timer never fires by itself: only the abort ends it.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    server.setDefault(() => {
      setImmediate(() => controller.abort());
      return { fault: 'hang' };
    });
    const { model: m, events } = model({ timeoutMs: 5000 });
    const error = await failure(m.chat(hello, { signal: controller.signal }));
    assert.equal(error.kind, 'aborted');
    assert.equal(events.length, 0);
    assert.equal(server.requests.length, 1);
    server.reset();
  });
});

describe('retryDelayMs and sleep', () => {
  const error = (retryAfterMs?: number): ModelCallError =>
    new ModelCallError('x', {
      kind: 'server_error',
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });

  test('full jitter: a random share of base * 2^(n-1), capped', () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(retryDelayMs(1, error(), { ...options, random: () => 0.5 }), 50);
    assert.equal(retryDelayMs(3, error(), { ...options, random: () => 0.5 }), 200);
    assert.equal(retryDelayMs(10, error(), { ...options, random: () => 0.5 }), 500);
    assert.equal(retryDelayMs(4, error(), { ...options, random: () => 0 }), 0);
    for (let retry = 1; retry < 12; retry++) {
      const delay = retryDelayMs(retry, error(), options);
      assert.ok(delay >= 0 && delay <= Math.min(1000, 100 * 2 ** (retry - 1)));
    }
  });

  test('Retry-After is a floor, clamped to maxRetryAfterMs', () => {
    assert.equal(retryDelayMs(1, error(3000), { baseDelayMs: 100, random: () => 0.5 }), 3000);
    assert.equal(retryDelayMs(1, error(10), { baseDelayMs: 100, random: () => 0.5 }), 50);
    assert.equal(retryDelayMs(1, error(600_000), { maxRetryAfterMs: 5000, random: () => 0 }), 5000);
  });

  test('sleep resolves after the delay and rejects at once on abort', async () => {
    // Order, not duration: a shorter sleep ends first; an aborted long one ends before a short one.
    const order: string[] = [];
    const note = (what: string) => () => void order.push(what);
    await Promise.all([sleep(30).then(note('30 ms')), sleep(1).then(note('1 ms'))]);
    assert.deepEqual(order, ['1 ms', '30 ms']);
    order.length = 0;
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    const short = sleep(20).then(note('20 ms'));
    controller.abort();
    const aborted = await failure(pending);
    order.push('aborted');
    assert.equal(aborted.kind, 'aborted');
    await short;
    assert.deepEqual(order, ['aborted', '20 ms']);
    assert.equal((await failure(sleep(5, AbortSignal.abort()))).kind, 'aborted');
  });
});
