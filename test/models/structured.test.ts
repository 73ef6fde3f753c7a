import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/openai-model.js';
import { extractJson } from '../../src/core/json-text.js';
import { chatJson, checkJsonReply } from '../../src/models/structured.js';
import { ModelCallError } from '../../src/models/model-errors.js';

const schema = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1 }, age: { type: 'integer', minimum: 0 } },
  required: ['name', 'age'],
  additionalProperties: false,
};

describe('extractJson and checkJsonReply', () => {
  test('finds JSON in plain text, code fences and prose', () => {
    assert.deepEqual(extractJson('{"a":1}'), { value: { a: 1 } });
    assert.deepEqual(extractJson('  [1, 2]\n'), { value: [1, 2] });
    assert.deepEqual(extractJson('Here you go:\n```json\n{"a": "b"}\n```\nDone.'), { value: { a: 'b' } });
    assert.deepEqual(extractJson('Sure! {"a": {"b": "}"}} hope it helps'), { value: { a: { b: '}' } } });
    assert.deepEqual(extractJson('"just a string"'), { value: 'just a string' });
    assert.equal(extractJson('no json here'), undefined);
    assert.equal(extractJson('{"a": 1'), undefined);
    assert.equal(extractJson(''), undefined);
  });

  test('reports what does not match the schema, on one line', () => {
    assert.deepEqual(checkJsonReply('{"name":"Ada","age":36}', schema), {
      ok: true,
      value: { name: 'Ada', age: 36 },
    });
    const wrong = checkJsonReply('{"name":"","age":-1,"x":1}', schema);
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.match(wrong.error, /\/name must NOT have fewer than 1 characters/);
      assert.match(wrong.error, /\/age must be >= 0/);
      assert.match(wrong.error, /must NOT have additional properties/);
      assert.ok(!wrong.error.includes('\n'));
    }
    assert.deepEqual(checkJsonReply('nope', schema), { ok: false, error: 'the reply is not valid JSON' });
  });

  test('draft 2020-12 schemas are validated with their own rules', () => {
    const tuple = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'integer' }],
      items: false,
    };
    assert.equal(checkJsonReply('["a", 1]', tuple).ok, true);
    assert.equal(checkJsonReply('["a", "b"]', tuple).ok, false);
    assert.equal(checkJsonReply('["a", 1, 2]', tuple).ok, false);
  });
});

describe('chatJson against the fake server', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  const request = { messages: [{ role: 'user' as const, content: 'Invent a person.' }], temperature: 0 };

  test('a valid first reply needs no re-ask; the schema is sent as response_format', async () => {
    server.reset();
    const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    // The fake's default responder answers a minimal instance of the requested schema.
    const result = await chatJson<{ name: string; age: number }>(model, request, schema, { name: 'person' });
    assert.equal(result.reasks, 0);
    assert.equal(typeof result.value.name, 'string');
    assert.equal(Number.isInteger(result.value.age), true);
    assert.deepEqual(result.response.json, result.value);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(server.requests[0]?.body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'person', schema, strict: false },
    });
  });

  test('re-asks with the validation errors, then succeeds', async () => {
    server.reset();
    server.script(
      { text: 'I think Ada, 36 years old.' },
      { text: '{"name": "Ada", "age": "36"}' },
      {
        text: '```json\n{"name": "Ada", "age": 36}\n```',
      },
    );
    const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    const result = await chatJson<{ name: string; age: number }>(model, request, schema);
    assert.deepEqual(result.value, { name: 'Ada', age: 36 });
    assert.equal(result.reasks, 2);
    assert.equal(server.requests.length, 3);
    const second = server.requests[1]?.body.messages ?? [];
    assert.equal(second.length, 3);
    assert.deepEqual(second[1], { role: 'assistant', content: 'I think Ada, 36 years old.' });
    assert.equal(second[2]?.role, 'user');
    assert.match(String(second[2]?.content), /not valid JSON/);
    const third = server.requests[2]?.body.messages ?? [];
    assert.equal(third.length, 5);
    assert.match(String(third[4]?.content), /\/age must be integer/);
    // The original request is left untouched.
    assert.equal(request.messages.length, 1);
  });

  test('fails after the bound with one line naming the model and the last problem', async () => {
    server.reset();
    server.setDefault(() => ({ text: 'never JSON' }));
    const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    await assert.rejects(chatJson(model, request, schema, { maxReasks: 1 }), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'bad_response');
      assert.equal(
        error.message,
        'openai:fake-model did not return valid JSON after 2 attempts: the reply is not valid JSON',
      );
      return true;
    });
    assert.equal(server.requests.length, 2);
    server.reset();
  });

  test('maxReasks 0 means a single call', async () => {
    server.reset();
    server.script({ text: '{}' });
    const model = createOpenAIChatModel({ model: 'fake-model', baseUrl: server.baseUrl });
    await assert.rejects(
      chatJson(model, request, schema, { maxReasks: 0 }),
      /after 1 attempt: the JSON does not match/,
    );
    assert.equal(server.requests.length, 1);
  });
});
