import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { closedPort } from '../helpers/net.js';
import { failure } from '../helpers/model-errors.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { runChatModelContract } from './contract.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/openai-model.js';
import { parseRetryAfter, redactSecrets } from '../../src/models/openai-compatible/errors.js';
import type { ChatRequest } from '../../src/models/chat-model.js';
import { withReplyChecks } from '../../src/models/reply-checks.js';

const hello: ChatRequest = { messages: [{ role: 'user', content: 'Say hello' }] };

for (const stream of [false, true]) {
  runChatModelContract(`openai-compatible (${stream ? 'streaming' : 'plain'})`, async () => {
    const server = await startFakeOpenAI();
    const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl, stream });
    return {
      model,
      deterministicTools: true,
      teardown: async () => {
        await model.close?.();
        await server.close();
      },
    };
  });
}

describe('openai-compatible adapter: translation', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  test('sends messages, tool calls, tool results, tools, sampling and json_schema in the wire format', async () => {
    server.reset();
    const model = createOpenAIChatModel({
      model: 'fake-model',
      baseUrl: server.baseUrl,
      apiKey: 'sk-test-key-123',
    });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    await model.chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        },
        { role: 'tool', content: '{"temp":21}', toolCallId: 'call_1', name: 'get_weather' },
      ],
      temperature: 0,
      topP: 0.9,
      maxTokens: 50,
      stop: ['END'],
      seed: 7,
      jsonSchema: { name: 'city answer!', schema },
      tools: [{ name: 'get_weather', description: 'Weather for a city', parameters: schema }],
      toolChoice: { name: 'get_weather' },
    });
    const [recorded] = server.requests;
    assert.ok(recorded);
    assert.equal(recorded.path, '/v1/chat/completions');
    assert.equal(recorded.headers.authorization, 'Bearer sk-test-key-123');
    const body = recorded.body;
    assert.equal(body.model, 'fake-model');
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', content: '{"temp":21}', tool_call_id: 'call_1' },
    ]);
    assert.equal(body.temperature, 0);
    assert.equal(body.top_p, 0.9);
    assert.equal(body.max_tokens, 50);
    assert.deepEqual(body.stop, ['END']);
    assert.equal(body.seed, 7);
    assert.deepEqual(body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'city_answer_', schema, strict: false },
    });
    assert.deepEqual(body.tools, [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather for a city', parameters: schema },
      },
    ]);
    assert.deepEqual(body.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.notEqual(body.stream, true);
  });

  for (const stream of [false, true]) {
    test(`reads text, tool calls, finish reason and usage back (${stream ? 'streaming' : 'plain'})`, async () => {
      server.reset();
      const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl, stream });
      server.script(
        { text: 'Bonjour!', usage: { prompt_tokens: 11, completion_tokens: 3 }, finishReason: 'length' },
        {
          toolCalls: [
            { name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_a' },
            { name: 'get_time', arguments: '{}' },
          ],
        },
      );
      const text = await model.chat(hello);
      assert.equal(text.text, 'Bonjour!');
      assert.equal(text.finishReason, 'length');
      assert.deepEqual(text.usage, { promptTokens: 11, completionTokens: 3 });
      assert.equal(text.cached, false);
      assert.equal(text.model, 'openai:fake-model');
      assert.ok(text.latencyMs >= 0);
      const calls = await model.chat(hello);
      assert.equal(calls.finishReason, 'tool_calls');
      assert.equal(calls.toolCalls.length, 2);
      assert.deepEqual(calls.toolCalls[0], {
        id: 'call_a',
        name: 'get_weather',
        arguments: '{"city":"Paris"}',
      });
      assert.equal(calls.toolCalls[1]?.name, 'get_time');
      assert.equal(calls.toolCalls[1]?.arguments, '{}');
      if (stream) {
        assert.equal(server.requests[0]?.body.stream, true);
        assert.deepEqual(server.requests[0]?.body.stream_options, { include_usage: true });
      }
    });
  }

  test('behind the reply checks, `json` is set only when the reply validates against the schema', async () => {
    server.reset();
    const model = withReplyChecks(createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl }));
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    server.script({ text: '{"n": 4}' }, { text: '{"n": "four"}' });
    const good = await model.chat({ ...hello, jsonSchema: { schema } });
    assert.deepEqual(good.json, { n: 4 });
    const bad = await model.chat({ ...hello, jsonSchema: { schema } });
    assert.equal(bad.json, undefined);
    assert.equal(bad.text, '{"n": "four"}');
  });
});

describe('openai-compatible adapter: error classification', () => {
  let server: FakeOpenAI;
  const key = 'sk-super-secret-key-0123456789';
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  const cases = [
    {
      name: '429 with Retry-After',
      reply: { fault: 'rate_limit', retryAfterSeconds: 2 },
      kind: 'rate_limited',
      status: 429,
    },
    { name: '500', reply: { fault: 'server_error' }, kind: 'server_error', status: 500 },
    { name: '503', reply: { fault: 'server_error', status: 503 }, kind: 'server_error', status: 503 },
    {
      name: '400',
      reply: { fault: 'client_error', message: 'bad things' },
      kind: 'client_error',
      status: 400,
    },
    { name: 'malformed JSON', reply: { fault: 'malformed_json' }, kind: 'bad_response' },
    { name: 'cut stream', reply: { fault: 'cut_stream' }, kind: 'connection' },
    { name: 'dropped connection', reply: { fault: 'drop_connection' }, kind: 'connection' },
  ] as const;
  for (const stream of [false, true]) {
    for (const c of cases) {
      test(`${c.name} → ${c.kind} (${stream ? 'streaming' : 'plain'})`, async () => {
        server.reset();
        server.script(c.reply);
        const model = createOpenAIChatModel({
          model: 'fake-model',
          baseUrl: server.baseUrl,
          apiKey: key,
          stream,
        });
        const error = await failure(model.chat(hello));
        assert.equal(error.kind, c.kind, error.message);
        if ('status' in c) assert.equal(error.status, c.status);
        if (c.reply.fault === 'rate_limit') assert.equal(error.retryAfterMs, 2000);
        assert.ok(!error.message.includes('\n'), 'one line');
        assert.ok(!error.message.includes(key), 'no API key in the message');
        assert.ok(error.message.length > 10);
      });
    }
  }

  test('a wrong key gives a client_error naming OPENAI_API_KEY and never the key', async () => {
    const guarded = await startFakeOpenAI({ apiKey: 'sk-right-key-abcdef' });
    try {
      const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: guarded.baseUrl, apiKey: key });
      const error = await failure(model.chat(hello));
      assert.equal(error.kind, 'client_error');
      assert.equal(error.status, 401);
      assert.match(error.message, /OPENAI_API_KEY/);
      assert.ok(!error.message.includes(key));
      assert.ok(!error.message.includes('sk-right-key'));
    } finally {
      await guarded.close();
    }
  });

  test('connection refused is one line naming the URL and how to fix it', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
    const model = createOpenAIChatModel({ model: 'x', baseUrl, apiKey: key });
    const error = await failure(model.chat(hello));
    assert.equal(error.kind, 'connection');
    assert.equal(
      error.message,
      `cannot reach ${baseUrl} (ECONNREFUSED): is the server running? set the base URL (\`baseUrl\`) or OPENAI_BASE_URL`,
    );
    assert.deepEqual(error.details, {
      reason: 'connection-refused',
      endpoint: baseUrl,
      code: 'ECONNREFUSED',
    });
  });

  test('an already-aborted signal rejects without a request', async () => {
    server.reset();
    const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    const error = await failure(model.chat(hello, { signal: AbortSignal.abort() }));
    assert.equal(error.kind, 'aborted');
    assert.equal(server.requests.length, 0);
  });

  test('aborting a hanging request rejects at once with kind aborted', async () => {
    server.reset();
    server.script({ fault: 'hang' });
    const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    // The request hangs for ever: only the abort can end it.
    const error = await failure(model.chat(hello, { signal: AbortSignal.timeout(100) }));
    assert.equal(error.kind, 'aborted');
  });
});

describe('openai-compatible adapter: plain answers over the keep-alive pool', () => {
  const completion = JSON.stringify({
    id: 'c1',
    object: 'chat.completion',
    created: 0,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  });

  test('calls one after another reuse kept-alive connections; headers are sent, no Authorization without a key', async () => {
    let connections = 0;
    const seen: Record<string, string | string[] | undefined>[] = [];
    const server = createHttpServer({ keepAlive: true }, (req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(completion);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
      const model = createOpenAIChatModel({ model: 'm', baseUrl, headers: { 'x-team': 'tools' } });
      for (let i = 0; i < 10; i++) assert.equal((await model.chat(hello)).text, 'hi');
      // undici may open a second socket while the first one is being released; never one per call.
      assert.ok(connections <= 2, `${connections} connections for 10 calls`);
      assert.equal(seen.length, 10);
      assert.equal(seen[0]?.['x-team'], 'tools');
      assert.equal(seen[0]?.authorization, undefined);
      assert.equal(seen[0]?.['content-type'], 'application/json');
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('no answer within timeoutMs is a timeout, not a hang', async () => {
    const server = await startFakeOpenAI();
    try {
      server.script({ fault: 'hang' });
      const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl, timeoutMs: 150 });
      // The request hangs for ever: only the timeout can end it.
      const error = await failure(model.chat(hello));
      assert.equal(error.kind, 'timeout');
      assert.ok(error.retryable);
    } finally {
      await server.close();
    }
  });

  test("a wrong path gives the server's 404 as a one-line client_error", async () => {
    const server = await startFakeOpenAI();
    try {
      server.setDefault(() => ({ text: 'unused' }));
      const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: `${server.origin}/not-v1` });
      const error = await failure(model.chat(hello));
      assert.equal(error.kind, 'client_error');
      assert.equal(error.status, 404);
      assert.match(error.message, /^HTTP 404 from .*not-v1: Unknown request URL/);
    } finally {
      await server.close();
    }
  });
});

describe('parseRetryAfter and redactSecrets', () => {
  test('reads seconds, milliseconds and HTTP dates', () => {
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '3' })), 3000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '0.5' })), 500);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter({ 'Retry-After': 'Wed, 01 Jan 2025 00:00:10 GMT' }, now), 10_000);
    assert.equal(parseRetryAfter({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }, now), 0);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' })), undefined);
    assert.equal(parseRetryAfter(new Headers()), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  test('removes the key and key-like strings', () => {
    assert.equal(redactSecrets('bad key my-local-key here', 'my-local-key'), 'bad key *** here');
    assert.equal(
      redactSecrets('Incorrect API key provided: sk-abc***wxyz.'),
      'Incorrect API key provided: sk-***',
    );
    assert.equal(redactSecrets('Authorization: Bearer abc.def'), 'Authorization: Bearer ***');
  });
});
