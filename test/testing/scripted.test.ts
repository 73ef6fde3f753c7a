/** toolalpaca/testing: the scripted chat model and executor record calls and answer from their script. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpFunction, type Tool } from '../../src/index.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { createScriptedChatModel, createScriptedExecutor } from '../../src/testing/index.js';

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

describe('createScriptedChatModel', () => {
  test('answers in script order, then from the responder; records each request and stage', async () => {
    const model = createScriptedChatModel({ respond: (request) => `echo ${request.messages[0]?.content}` });
    model.script('first', { toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] });
    const first = await model.chat(ask('a'), { stage: 'assistant' });
    const second = await model.chat(ask('b'));
    const third = await model.chat(ask('c'));
    assert.equal(first.text, 'first');
    assert.equal(first.finishReason, 'stop');
    assert.deepEqual(second.toolCalls, [{ id: 'call_2_1', name: 'lookup', arguments: '{"q":"x"}' }]);
    assert.equal(second.finishReason, 'tool_calls');
    assert.equal(third.text, 'echo c');
    assert.deepEqual(
      model.calls.map((call) => [call.request.messages[0]?.content, call.stage]),
      [
        ['a', 'assistant'],
        ['b', undefined],
        ['c', undefined],
      ],
    );
    assert.equal(model.pending(), 0);
  });

  test('json is set when the reply is valid for the requested schema, as every backend does', async () => {
    const model = createScriptedChatModel({ replies: ['{"n": 1}', '{"n": "one"}'] });
    const jsonSchema = { schema: { type: 'object', properties: { n: { type: 'number' } } } };
    assert.deepEqual((await model.chat({ ...ask('x'), jsonSchema })).json, { n: 1 });
    assert.equal((await model.chat({ ...ask('x'), jsonSchema })).json, undefined);
  });

  test('faults are ModelCallErrors of their kind; an unscripted call fails naming it; hang waits for abort', async () => {
    const model = createScriptedChatModel();
    model.script({ fault: 'server_error', status: 503 });
    await assert.rejects(model.chat(ask('x')), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'server_error');
      assert.equal(error.status, 503);
      return true;
    });
    await assert.rejects(model.chat(ask('y')), /no reply scripted for call 2/);
    model.script({ hang: true });
    const controller = new AbortController();
    const pending = model.chat(ask('z'), { signal: controller.signal });
    controller.abort();
    await assert.rejects(
      pending,
      (error: unknown) => error instanceof ModelCallError && error.kind === 'aborted',
    );
    model.reset();
    assert.equal(model.calls.length, 0);
  });
});

const tool: Tool = {
  name: 'Notes',
  description: 'Notes.',
  auth: [],
  servers: [],
  functions: [
    httpFunction({
      name: 'getNote',
      method: 'get',
      path: '/notes/{id}',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
    }),
  ],
};

describe('createScriptedExecutor', () => {
  test('checks the call first, then answers from the queue, the per-function answers, else 404', async () => {
    const executor = createScriptedExecutor({
      answers: { getNote: (call) => ({ body: { id: call.args.id } }) },
    });
    executor.script({ status: 500, body: 'down' });
    const invalid = await executor.execute(tool, 'getNote', { id: 'seven' });
    assert.equal(invalid.status, 400);
    assert.ok((invalid.validationErrors ?? []).length > 0);
    assert.equal(executor.pending(), 1, 'a rejected call consumes nothing');
    const queued = await executor.execute(tool, 'getNote', { id: 1 });
    assert.deepEqual([queued.status, queued.body, queued.source], [500, 'down', 'simulated']);
    const answered = await executor.execute(tool, 'getNote', { id: 2 }, { instanceId: 'Notes#0' });
    assert.deepEqual([answered.status, answered.body], [200, { id: 2 }]);
    assert.equal((await executor.execute(tool, 'missing', {})).status, 404);
    assert.deepEqual(
      executor.calls.map((call) => [call.functionName, call.args, call.instanceId]),
      [
        ['getNote', { id: 'seven' }, undefined],
        ['getNote', { id: 1 }, undefined],
        ['getNote', { id: 2 }, 'Notes#0'],
        ['missing', {}, undefined],
      ],
    );
    const unscripted = createScriptedExecutor({ checkArguments: false });
    const none = await unscripted.execute(tool, 'getNote', {});
    assert.equal(none.status, 404);
    assert.match(JSON.stringify(none.body), /nothing scripted for getNote/);
  });
});
