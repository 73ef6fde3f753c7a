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

  test('429 with Retry-After: waits at least that long, then succeeds', async () => {
    server.reset();
    server.script({ fault: 'rate_limit', retryAfterSeconds: 1 }, { text: 'after the wait' });
    const { model: m, events } = model();
    const started = performance.now();
    const response = await m.chat(hello);
    const elapsed = performance.now() - started;
    assert.equal(response.text, 'after the wait');
    assert.equal(server.requests.length, 2);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.error.kind, 'rate_limited');
    assert.equal(events[0]?.delayMs, 1000);
    assert.ok(elapsed >= 950, `waited ${elapsed} ms`);
    assert.ok(elapsed < 3000, `waited ${elapsed} ms`);
    // The caller sees the whole wall time, waits included.
    assert.ok(response.latencyMs >= 950);
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
    const started = performance.now();
    const response = await m.chat(hello);
    const elapsed = performance.now() - started;
    assert.equal(response.text, 'second try');
    assert.equal(events[0]?.error.kind, 'timeout');
    assert.ok(elapsed >= 140 && elapsed < 2000, `took ${elapsed} ms`);
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

  test('an abort during the backoff wait stops at once', async () => {
    server.reset();
    server.script({ fault: 'server_error' }, { text: 'never' });
    const { model: m } = model({ baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0.99 });
    const controller = new AbortController();
    // Abort once the request has reached the server, however slow the machine is.
    void server.waitForRequests(server.requests.length + 1).then(() => controller.abort());
    const started = performance.now();
    const error = await failure(m.chat(hello, { signal: controller.signal }));
    assert.equal(error.kind, 'aborted');
    assert.ok(performance.now() - started < 1000);
    assert.equal(server.requests.length, 1);
    server.reset();
  });

  test('an abort during a hanging request is not retried and is not a timeout', async () => {
    server.reset();
    server.script({ fault: 'hang' }, { text: 'never' });
    const { model: m, events } = model({ timeoutMs: 5000 });
    const controller = new AbortController();
    // Abort once the request has reached the server, however slow the machine is.
    void server.waitForRequests(server.requests.length + 1).then(() => controller.abort());
    const started = performance.now();
    const error = await failure(m.chat(hello, { signal: controller.signal }));
    assert.equal(error.kind, 'aborted');
    assert.ok(performance.now() - started < 1000);
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
    const started = performance.now();
    await sleep(30);
    assert.ok(performance.now() - started >= 25);
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort();
    const aborted = await failure(pending);
    assert.equal(aborted.kind, 'aborted');
    assert.equal((await failure(sleep(5, AbortSignal.abort()))).kind, 'aborted');
  });
});
