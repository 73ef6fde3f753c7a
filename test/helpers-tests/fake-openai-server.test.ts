/**
 * The fake OpenAI server must speak the real protocol: it is driven here both with plain fetch and with
 * the official `openai` client (which parses its JSON and SSE exactly as it would the real API's), and
 * each scripted fault must look to a client the way the corresponding real failure does.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import {
  defaultReply,
  minimalInstance,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeRequestBody,
} from '../helpers/fake-openai-server.js';

// ajv-formats is CommonJS; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

function newAjv(): Ajv2020 {
  return addFormats(new Ajv2020({ strict: false }));
}

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', minLength: 2 },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 7 },
      },
      required: ['city', 'unit', 'days'],
      additionalProperties: false,
    },
  },
};
const TIME_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { timezone: { type: 'string' } }, required: ['timezone'] },
  },
};

interface SseResult {
  events: Record<string, unknown>[];
  done: boolean;
}

/** Parses an SSE body into its JSON events; `done` tells whether `data: [DONE]` closed it. */
function parseSse(text: string): SseResult {
  const events: Record<string, unknown>[] = [];
  let done = false;
  for (const block of text.split('\n\n')) {
    if (!block.startsWith('data: ')) continue;
    const data = block.slice('data: '.length);
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { events, done };
}

function post(fake: FakeOpenAI, path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${fake.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-key' },
    body: JSON.stringify(body),
    ...init,
  });
}

function chatBody(extra: Partial<FakeRequestBody> = {}): FakeRequestBody {
  return { model: 'fake-model', messages: [{ role: 'user', content: 'Hello there, fake server' }], ...extra };
}

describe('fake OpenAI server', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;

  before(async () => {
    fake = await startFakeOpenAI();
    client = new OpenAI({
      baseURL: fake.baseUrl,
      apiKey: 'test-key',
      maxRetries: 0,
      timeout: 5_000,
      logLevel: 'off', // the malformed-stream test would otherwise print the broken chunk
    });
  });
  after(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  describe('chat completions with fetch', () => {
    test('non-streaming default reply echoes the last user message with usage > 0', async () => {
      const res = await post(fake, '/chat/completions', chatBody());
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(res.headers.get('connection'), 'keep-alive');
      const json = (await res.json()) as {
        object: string;
        model: string;
        choices: { message: { role: string; content: string }; finish_reason: string }[];
        usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
      };
      assert.equal(json.object, 'chat.completion');
      assert.equal(json.model, 'fake-model');
      assert.equal(json.choices[0]!.message.role, 'assistant');
      assert.match(json.choices[0]!.message.content, /Hello there, fake server/);
      assert.equal(json.choices[0]!.finish_reason, 'stop');
      assert.ok(json.usage.prompt_tokens > 0 && json.usage.completion_tokens > 0);
      assert.equal(json.usage.total_tokens, json.usage.prompt_tokens + json.usage.completion_tokens);
    });

    test('records parsed bodies and headers in order, for every endpoint', async () => {
      await post(fake, '/chat/completions', chatBody({ temperature: 0.3, seed: 7 }));
      await fetch(`${fake.baseUrl}/models`);
      assert.equal(fake.requests.length, 2);
      const [first, second] = fake.requests;
      assert.equal(first!.method, 'POST');
      assert.equal(first!.path, '/v1/chat/completions');
      assert.equal(first!.body.temperature, 0.3);
      assert.equal(first!.body.seed, 7);
      assert.equal(first!.headers.authorization, 'Bearer test-key');
      assert.equal(second!.method, 'GET');
      assert.equal(second!.path, '/v1/models');
      assert.deepEqual(second!.body, {});
    });

    test('streams text as SSE chunks, with usage in a last chunk when include_usage is set', async () => {
      const res = await post(
        fake,
        '/chat/completions',
        chatBody({ stream: true, stream_options: { include_usage: true } }),
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      const { events, done } = parseSse(await res.text());
      assert.ok(done, 'stream ends with data: [DONE]');
      assert.ok(events.length > 3, 'several chunks');
      const text = events
        .flatMap((e) => e.choices as { delta: { content?: string | null } }[])
        .map((c) => c.delta.content ?? '')
        .join('');
      assert.equal(text, 'Echo: Hello there, fake server');
      for (const e of events) assert.equal(e.object, 'chat.completion.chunk');
      const last = events[events.length - 1]!;
      assert.deepEqual(last.choices, []);
      const usage = last.usage as { prompt_tokens: number; completion_tokens: number };
      assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
      const finish = events[events.length - 2]!.choices as { finish_reason: string }[];
      assert.equal(finish[0]!.finish_reason, 'stop');
    });

    test('without include_usage the stream carries no usage', async () => {
      const res = await post(fake, '/chat/completions', chatBody({ stream: true }));
      const { events } = parseSse(await res.text());
      assert.ok(events.every((e) => !('usage' in e)));
    });

    test('max_tokens cuts default text with finish_reason length; stop cuts at the stop sequence', async () => {
      const long = 'word '.repeat(100);
      const cut = (await (
        await post(
          fake,
          '/chat/completions',
          chatBody({ messages: [{ role: 'user', content: long }], max_tokens: 3 }),
        )
      ).json()) as {
        choices: { message: { content: string }; finish_reason: string }[];
        usage: { completion_tokens: number };
      };
      assert.equal(cut.choices[0]!.finish_reason, 'length');
      assert.ok(cut.usage.completion_tokens <= 3);
      assert.ok(cut.choices[0]!.message.content.length <= 12);

      const stopped = (await (
        await post(
          fake,
          '/chat/completions',
          chatBody({ messages: [{ role: 'user', content: 'alpha beta STOP gamma' }], stop: ['STOP'] }),
        )
      ).json()) as { choices: { message: { content: string }; finish_reason: string }[] };
      assert.equal(stopped.choices[0]!.message.content, 'Echo: alpha beta ');
      assert.equal(stopped.choices[0]!.finish_reason, 'stop');
    });

    test('answers a tool result with text', async () => {
      const res = await post(fake, '/chat/completions', {
        model: 'fake-model',
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
        ],
        tools: [WEATHER_TOOL],
      });
      const json = (await res.json()) as { choices: { message: { content: string } }[] };
      assert.match(json.choices[0]!.message.content, /\{"temp": 21\}/);
    });
  });

  describe('chat completions with the openai client', () => {
    test('non-streaming text', async () => {
      const completion = await client.chat.completions.create({
        model: 'fake-model',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'ping' },
        ],
        temperature: 0,
      });
      assert.equal(completion.choices[0]!.message.content, 'Echo: ping');
      assert.equal(completion.choices[0]!.finish_reason, 'stop');
      assert.ok((completion.usage?.prompt_tokens ?? 0) > 0);
      assert.equal(fake.requests[0]!.headers.authorization, 'Bearer test-key');
    });

    test('streaming text with usage', async () => {
      const stream = await client.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'stream me please' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, 'Echo: stream me please');
      assert.equal(finish, 'stop');
      assert.ok(usage && usage.completion_tokens > 0 && usage.prompt_tokens > 0);
    });

    test('tool_choice required calls the first tool with arguments valid for its schema', async () => {
      const completion = await client.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'weather in Paris' }],
        tools: [WEATHER_TOOL, TIME_TOOL],
        tool_choice: 'required',
      });
      const choice = completion.choices[0]!;
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.content, null);
      const call = choice.message.tool_calls![0]!;
      assert.equal(call.type, 'function');
      assert.ok(call.id.length > 0);
      if (call.type !== 'function') return;
      assert.equal(call.function.name, 'get_weather');
      const validate = newAjv().compile(WEATHER_TOOL.function.parameters);
      assert.ok(validate(JSON.parse(call.function.arguments)), JSON.stringify(validate.errors));
    });

    test('a named tool_choice calls that tool; streamed tool calls accumulate into a full call', async () => {
      const runner = client.chat.completions.stream({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'what time is it' }],
        tools: [WEATHER_TOOL, TIME_TOOL],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
        stream_options: { include_usage: true },
      });
      const final = await runner.finalChatCompletion();
      const call = final.choices[0]!.message.tool_calls![0]!;
      assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
      assert.ok(call.type === 'function');
      assert.equal(call.function.name, 'get_time');
      assert.deepEqual(JSON.parse(call.function.arguments), { timezone: 'a' });
      assert.ok((final.usage?.completion_tokens ?? 0) > 0);
    });

    test('tool_choice auto without a script answers text', async () => {
      const completion = await client.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [WEATHER_TOOL],
      });
      assert.equal(completion.choices[0]!.message.tool_calls, undefined);
      assert.equal(completion.choices[0]!.message.content, 'Echo: hi');
    });

    test('json_schema response_format gets a minimal valid instance', async () => {
      const schema = {
        type: 'object',
        properties: {
          answer: { type: 'string', enum: ['yes', 'no'] },
          score: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
          tags: { type: 'array', items: { type: 'string' }, minItems: 2, uniqueItems: true },
          when: { type: 'string', format: 'date-time' },
        },
        required: ['answer', 'score', 'tags', 'when'],
        additionalProperties: false,
      };
      const completion = await client.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'answer in JSON' }],
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
      });
      const parsed: unknown = JSON.parse(completion.choices[0]!.message.content!);
      const validate = newAjv().compile(schema);
      assert.ok(validate(parsed), JSON.stringify(validate.errors));
    });

    test('scripted replies are consumed in order (text verbatim, tool calls, usage), then the default answers', async () => {
      fake.script(
        {
          text: 'first scripted',
          usage: { prompt_tokens: 11, completion_tokens: 22 },
          finishReason: 'length',
        },
        { toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}', id: 'call_x' }] },
      );
      assert.equal(fake.pendingScript(), 2);
      const ask = () =>
        client.chat.completions.create({
          model: 'fake-model',
          messages: [{ role: 'user', content: 'go' }],
          tools: [WEATHER_TOOL],
          max_tokens: 1,
        });
      const a = await ask();
      assert.equal(a.choices[0]!.message.content, 'first scripted');
      assert.equal(a.choices[0]!.finish_reason, 'length');
      assert.deepEqual(a.usage, { prompt_tokens: 11, completion_tokens: 22, total_tokens: 33 });
      const b = await ask();
      assert.deepEqual(b.choices[0]!.message.tool_calls, [
        { id: 'call_x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      ]);
      const c = await ask();
      assert.equal(c.choices[0]!.message.content, 'Echo'); // default text, cut by max_tokens 1 (~4 chars)
      assert.equal(fake.pendingScript(), 0);
    });

    test('a throwing custom responder yields a 500, and the server keeps serving', async () => {
      fake.setDefault(() => {
        throw new Error('responder bug');
      });
      const res = await post(fake, '/chat/completions', chatBody());
      assert.equal(res.status, 500);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /responder bug/);
      fake.reset();
      assert.equal((await post(fake, '/chat/completions', chatBody())).status, 200);
    });

    test('setDefault replaces the responder and reset restores it', async () => {
      fake.setDefault((body) => ({ text: `custom for ${body.messages?.length} messages` }));
      const ask = () =>
        client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }] });
      assert.equal((await ask()).choices[0]!.message.content, 'custom for 1 messages');
      fake.reset();
      assert.equal(fake.requests.length, 0);
      assert.equal((await ask()).choices[0]!.message.content, 'Echo: q');
    });
  });

  describe('latency', () => {
    /** Lets pending I/O callbacks and promise reactions run (setImmediate is never mocked here). */
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    /** Resolves once the server has received `count` requests (its latency timers are then set). */
    const received = (count: number): Promise<void> =>
      new Promise((resolve) => {
        fake.setDefault((body) => {
          if (fake.requests.length >= count) resolve();
          return defaultReply(body);
        });
      });

    // The server's timers run on a mocked clock: an answer comes when the clock is moved, not with time.
    test('setLatency delays every answer; delayMs overrides it for one reply', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      fake.setLatency(3000);
      let answered = false;
      const arrived = received(1);
      const slow = post(fake, '/chat/completions', chatBody())
        .then((r) => r.json())
        .then(() => (answered = true));
      await arrived;
      await settle();
      t.mock.timers.tick(2900);
      await settle();
      assert.equal(answered, false, 'server latency applied');
      t.mock.timers.tick(100);
      await slow;
      // A reply with delayMs 0 comes without the clock moving at all.
      fake.script({ text: 'quick', delayMs: 0 });
      const quick = (await post(fake, '/chat/completions', chatBody()).then((r) => r.json())) as {
        choices: { message: { content: string } }[];
      };
      assert.equal(quick.choices[0]?.message.content, 'quick', 'per-reply delay overrides');
    });

    test('concurrent requests wait in parallel, not in series', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      fake.setLatency(1000);
      let answered = 0;
      const arrived = received(8);
      const all = Promise.all(
        Array.from({ length: 8 }, () =>
          post(fake, '/chat/completions', chatBody())
            .then((r) => r.json())
            .then(() => answered++),
        ),
      );
      await arrived;
      await settle();
      assert.equal(answered, 0);
      // One latency on the clock answers all eight: they wait side by side.
      t.mock.timers.tick(1000);
      await all;
      assert.equal(answered, 8);
    });
  });

  describe('faults', () => {
    test('rate_limit: 429 with Retry-After and an OpenAI error body', async () => {
      fake.script({ fault: 'rate_limit', retryAfterSeconds: 2 });
      const res = await post(fake, '/chat/completions', chatBody());
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '2');
      const json = (await res.json()) as { error: { message: string; code: string } };
      assert.equal(json.error.code, 'rate_limit_exceeded');

      fake.script({ fault: 'rate_limit' });
      const error = await client.chat.completions
        .create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.status, 429);
      assert.equal(error.headers?.get('retry-after'), '1');
    });

    test('server_error: 500 by default, or the given 5xx', async () => {
      fake.script({ fault: 'server_error' }, { fault: 'server_error', status: 503 });
      const first = await post(fake, '/chat/completions', chatBody());
      assert.equal(first.status, 500);
      assert.equal(((await first.json()) as { error: { type: string } }).error.type, 'server_error');
      const error = await client.chat.completions
        .create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.status, 503);
    });

    test('client_error: a 4xx the client reports as such', async () => {
      fake.script({ fault: 'client_error', status: 404, message: 'no such model' });
      const error = await client.chat.completions
        .create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof NotFoundError);
      assert.match(error.message, /no such model/);
    });

    test('hang: no answer until the client times out', async () => {
      fake.script({ fault: 'hang' }, { fault: 'hang' });
      // Only the client's timeout ends a hung request.
      await assert.rejects(
        post(fake, '/chat/completions', chatBody(), { signal: AbortSignal.timeout(150) }),
        (e: Error) => e.name === 'TimeoutError',
      );
      const timeoutClient = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0, timeout: 150 });
      await assert.rejects(
        timeoutClient.chat.completions.create({
          model: 'fake-model',
          messages: [{ role: 'user', content: 'x' }],
        }),
        (e: unknown) => e instanceof APIConnectionTimeoutError,
      );
      // The server still answers normally afterwards.
      const ok = await post(fake, '/chat/completions', chatBody());
      assert.equal(ok.status, 200);
      await ok.text();
    });

    test('malformed_json: 200 whose body is not valid JSON (plain and streaming)', async () => {
      fake.script({ fault: 'malformed_json' }, { fault: 'malformed_json' }, { fault: 'malformed_json' });
      const res = await post(fake, '/chat/completions', chatBody());
      assert.equal(res.status, 200);
      await assert.rejects(res.json(), SyntaxError);
      await assert.rejects(
        client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }] }),
      );
      const stream = await client.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      await assert.rejects(async () => {
        for await (const _chunk of stream) {
          // consume
        }
      });
    });

    test('cut_stream: some SSE chunks arrive, then the connection dies', async () => {
      fake.script({ fault: 'cut_stream' });
      const stream = await client.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      let received = '';
      await assert.rejects(async () => {
        for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
      });
      assert.ok(received.length > 0, 'part of the answer arrived before the cut');

      fake.script({ fault: 'cut_stream' });
      const res = await post(fake, '/chat/completions', chatBody({ stream: true }));
      assert.equal(res.status, 200);
      await assert.rejects(res.text());
    });

    test('cut_stream on a non-streaming request: half a body, then the connection dies', async () => {
      fake.script({ fault: 'cut_stream' });
      const res = await post(fake, '/chat/completions', chatBody());
      assert.equal(res.status, 200);
      await assert.rejects(res.text());
    });

    test('drop_connection: the socket closes without a response', async () => {
      fake.script({ fault: 'drop_connection' }, { fault: 'drop_connection' });
      await assert.rejects(post(fake, '/chat/completions', chatBody()), TypeError);
      const error = await client.chat.completions
        .create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof APIConnectionError && !(error instanceof APIConnectionTimeoutError));
      assert.equal(fake.requests.length, 2, 'dropped requests are still recorded');
    });

    test('faults are consumed like any scripted reply, so a retry gets the next one', async () => {
      fake.script(
        { fault: 'rate_limit', retryAfterSeconds: 0 },
        { fault: 'rate_limit', retryAfterSeconds: 0 },
        { text: 'finally' },
      );
      const retrying = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 3 });
      const completion = await retrying.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.equal(completion.choices[0]!.message.content, 'finally');
      assert.equal(fake.requests.length, 3);
    });
  });

  describe('request validation', () => {
    test('a tool message must answer a preceding assistant tool call', async () => {
      const error = await client.chat.completions
        .create({
          model: 'fake-model',
          messages: [
            { role: 'user', content: 'x' },
            { role: 'tool', tool_call_id: 'call_missing', content: '{}' },
          ],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof BadRequestError);
      assert.match(error.message, /call_missing/);
    });

    test('missing model, empty messages, broken JSON and unknown URLs are rejected', async () => {
      assert.equal(
        (await post(fake, '/chat/completions', { messages: [{ role: 'user', content: 'x' }] })).status,
        400,
      );
      assert.equal((await post(fake, '/chat/completions', { model: 'm', messages: [] })).status, 400);
      const broken = await fetch(`${fake.baseUrl}/chat/completions`, { method: 'POST', body: '{not json' });
      assert.equal(broken.status, 400);
      await broken.text();
      const unknown = await post(fake, '/no-such-endpoint', { model: 'm', prompt: 'x' });
      assert.equal(unknown.status, 404);
      await unknown.text();
      assert.equal(fake.pendingScript(), 0);
    });

    test('with apiKey set, a missing or wrong key gets 401', async () => {
      const strict = await startFakeOpenAI({
        apiKey: 'sk-right',
        models: ['only-model'],
        strictModels: true,
      });
      try {
        const wrong = new OpenAI({ baseURL: strict.baseUrl, apiKey: 'sk-wrong', maxRetries: 0 });
        await assert.rejects(
          wrong.chat.completions.create({ model: 'only-model', messages: [{ role: 'user', content: 'x' }] }),
          (e: unknown) => e instanceof OpenAI.AuthenticationError,
        );
        const right = new OpenAI({ baseURL: strict.baseUrl, apiKey: 'sk-right', maxRetries: 0 });
        await assert.rejects(
          right.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'x' }] }),
          (e: unknown) => e instanceof NotFoundError,
        );
        const ok = await right.chat.completions.create({
          model: 'only-model',
          messages: [{ role: 'user', content: 'x' }],
        });
        assert.equal(ok.choices[0]!.message.content, 'Echo: x');
      } finally {
        await strict.close();
      }
    });
  });

  describe('models and embeddings', () => {
    test('GET /v1/models lists the configured models', async () => {
      const page = await client.models.list();
      assert.deepEqual(
        page.data.map((m) => m.id),
        ['fake-model'],
      );
      const model = await client.models.retrieve('fake-model');
      assert.equal(model.owned_by, 'fake');
    });

    test('embeddings are deterministic, unit-length, dimension 16, and agree between float and base64', async () => {
      const inputs = ['find the weather in Paris', 'weather forecast for Paris', 'convert currency rates'];
      const res = await post(fake, '/embeddings', {
        model: 'fake-embed',
        input: inputs,
        encoding_format: 'float',
      });
      const json = (await res.json()) as {
        data: { index: number; embedding: number[] }[];
        usage: { prompt_tokens: number };
      };
      assert.equal(json.data.length, 3);
      assert.ok(json.usage.prompt_tokens > 0);
      const vectors = json.data.map((d) => d.embedding);
      for (const v of vectors) {
        assert.equal(v.length, 16);
        assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-9);
      }
      const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
      assert.ok(dot(vectors[0]!, vectors[1]!) > dot(vectors[0]!, vectors[2]!), 'shared words are closer');

      // The openai client asks for base64 by default and decodes it.
      const viaClient = await client.embeddings.create({ model: 'fake-embed', input: inputs });
      viaClient.data.forEach((d, i) => {
        assert.equal(d.embedding.length, 16);
        d.embedding.forEach((x, j) => assert.ok(Math.abs(x - vectors[i]![j]!) < 1e-6));
      });
      const again = await client.embeddings.create({ model: 'fake-embed', input: inputs[0]!, dimensions: 8 });
      assert.equal(again.data[0]!.embedding.length, 8);
      assert.equal(fake.pendingScript(), 0);
    });
  });

  test('close() ends hung requests and is idempotent', async () => {
    const other = await startFakeOpenAI();
    other.script({ fault: 'hang' });
    const pending = post(other, '/chat/completions', chatBody());
    await other.waitForRequests(1);
    await other.close();
    await other.close();
    await assert.rejects(pending, TypeError);
  });
});

describe('minimalInstance and defaultReply', () => {
  const ajv = newAjv();
  const schemas: Record<string, unknown>[] = [
    { type: 'string', minLength: 5, maxLength: 8 },
    { type: 'string', pattern: '^[0-9]+$' },
    { type: 'integer', minimum: 3, multipleOf: 5 },
    { type: 'number', exclusiveMinimum: 10, exclusiveMaximum: 11 },
    { type: ['null', 'string'] },
    { const: 'fixed' },
    {
      type: 'array',
      prefixItems: [{ type: 'integer' }, { type: 'boolean' }],
      minItems: 3,
      items: { type: 'string' },
    },
    { anyOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { type: 'null' }] },
    {
      allOf: [
        { type: 'object', properties: { a: { type: 'integer', minimum: 2 } }, required: ['a'] },
        { properties: { b: { $ref: '#/$defs/b' } }, required: ['b'] },
      ],
      $defs: { b: { type: 'string', format: 'email' } },
    },
    { type: 'object', minProperties: 2, properties: { x: { type: 'boolean' }, y: { type: 'null' } } },
    {
      type: 'object',
      properties: {
        nested: {
          type: 'object',
          properties: { list: { type: 'array', minItems: 1, items: { enum: [3, 4] } } },
          required: ['list'],
        },
      },
      required: ['nested'],
    },
  ];
  for (const [i, schema] of schemas.entries()) {
    test(`schema #${i} gets a valid instance`, () => {
      const value = minimalInstance(schema);
      const validate = ajv.compile(schema);
      assert.ok(validate(value), `${JSON.stringify(value)}: ${JSON.stringify(validate.errors)}`);
    });
  }

  test('defaultReply picks json_schema, required tool, named tool, or an echo', () => {
    const body = chatBody({ tools: [WEATHER_TOOL, TIME_TOOL] });
    assert.deepEqual(defaultReply(body), { text: 'Echo: Hello there, fake server' });
    const required = defaultReply({ ...body, tool_choice: 'required' });
    assert.ok('toolCalls' in required && required.toolCalls[0]!.name === 'get_weather');
    const named = defaultReply({
      ...body,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    assert.ok('toolCalls' in named && named.toolCalls[0]!.name === 'get_time');
    const json = defaultReply(
      chatBody({
        response_format: {
          type: 'json_schema',
          json_schema: {
            schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
          },
        },
      }),
    );
    assert.deepEqual(json, { text: '{"n":0}' });
  });
});
