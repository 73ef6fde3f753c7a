import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { httpBindingOf, httpFunction } from '../../src/core/http-binding.js';
import { normalizeSchema, type JsonSchema } from '../../src/core/json-schema.js';
import type { Tool, ToolFunction } from '../../src/core/tool.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import { observationText } from '../../src/executors/executor.js';
import { validateArguments } from '../../src/executors/arguments.js';
import {
  createSimulatedExecutor,
  formatSimulatorReply,
  operationDocument,
  parseSimulatorReply,
  repairBody,
  type SimulatedExecutor,
} from '../../src/executors/simulated-executor.js';
import { loadOpenApi, openApiToTool } from '../../src/formats/openapi.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import {
  contentText,
  lastUserText,
  minimalInstance,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeWireMessage,
} from '../helpers/fake-openai-server.js';
import { sharedData } from '../helpers/paths.js';

type Json = Record<string, unknown>;

// The test's own ajv checks bodies independently of the executor's.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true, logger: false, allowUnionTypes: true }));

function validationError(schema: JsonSchema, value: unknown): string | undefined {
  const validate = ajv.compile(normalizeSchema(schema));
  return validate(value) ? undefined : ajv.errorsText(validate.errors);
}

const ANIMAL = {
  type: 'object',
  required: ['id', 'name', 'species'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    species: { type: 'string' },
    age: { type: 'integer', minimum: 0 },
  },
};

const ZOO_SPEC = {
  openapi: '3.0.3',
  info: { title: 'Zoo', description: 'Animals of a zoo.', version: '1.0.0' },
  servers: [{ url: 'https://zoo.example.com/v1' }],
  paths: {
    '/animals/{id}': {
      get: {
        operationId: 'getAnimal',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: {
          '200': { description: 'An animal', content: { 'application/json': { schema: ANIMAL } } },
        },
      },
    },
    '/animals': {
      get: {
        operationId: 'listAnimals',
        parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer' } }],
        responses: {
          '200': {
            description: 'Animals',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['animals'],
                  properties: { animals: { type: 'array', items: ANIMAL } },
                },
              },
            },
          },
        },
      },
      post: {
        operationId: 'addAnimal',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['name', 'species'],
                properties: { name: { type: 'string' }, species: { type: 'string' } },
              },
            },
          },
        },
        responses: {
          '201': { description: 'Added', content: { 'application/json': { schema: ANIMAL } } },
        },
      },
    },
  },
};

const AXEL = { id: 7, name: 'Axel', species: 'axolotl', age: 3 };

function reply(status: number, body: unknown, explanation = 'Because.'): { text: string } {
  return { text: `Status Code: ${status}\nResponse: ${JSON.stringify(body)}\nExplanation: ${explanation}` };
}

const textOf = (message: FakeWireMessage | undefined): string => contentText(message?.content);

let server: FakeOpenAI;
let model: CreatedChatModel;
let zoo: Tool;

before(async () => {
  server = await startFakeOpenAI();
  model = await createChatModel('openai:fake', {
    openai: { baseUrl: server.baseUrl, apiKey: 'test' },
    noCache: true,
    retryBaseDelayMs: 1,
  });
  zoo = openApiToTool(await loadOpenApi(structuredClone(ZOO_SPEC), 'zoo'));
});

after(async () => {
  await model.close();
  await server.close();
});

beforeEach(() => server.reset());

function executor(options: Partial<Parameters<typeof createSimulatedExecutor>[0]> = {}): SimulatedExecutor {
  return createSimulatedExecutor({ model, ...options });
}

describe('parseSimulatorReply', () => {
  test('the plain protocol form', () => {
    const parsed = parseSimulatorReply('Status Code: 200\nResponse: {"a": [1, 2]}\nExplanation: Found it.');
    assert.deepEqual(parsed, {
      ok: true,
      reply: { status: 200, body: { a: [1, 2] }, json: true, explanation: 'Found it.' },
    });
  });

  test('code fences, markdown labels, prose around, missing Explanation', () => {
    const fenced = parseSimulatorReply(
      'Sure! Here is the simulated answer.\n\n**Status Code:** 404\n**Response:**\n```json\n{"error": "not found"}\n```\n',
    );
    assert.ok(fenced.ok);
    assert.equal(fenced.reply.status, 404);
    assert.deepEqual(fenced.reply.body, { error: 'not found' });
    assert.equal(fenced.reply.explanation, undefined);

    const wrapped = parseSimulatorReply(
      '```\nStatus Code: 201\nResponse: {"id": 1}\nExplanation: Created.\n```',
    );
    assert.ok(wrapped.ok);
    assert.equal(wrapped.reply.status, 201);
    assert.deepEqual(wrapped.reply.body, { id: 1 });
    assert.equal(wrapped.reply.explanation, 'Created.');
  });

  test('one line, as observations are shown, and JSON containing the word Explanation', () => {
    const line = parseSimulatorReply('Status Code: 200. Response: {"note": "Explanation: none"}');
    assert.ok(line.ok);
    assert.deepEqual(line.reply.body, { note: 'Explanation: none' });
    const arrays = parseSimulatorReply('status code: 200\nresponse: [{"x": "}"}] trailing words');
    assert.ok(arrays.ok);
    assert.deepEqual(arrays.reply.body, [{ x: '}' }]);
  });

  test('non-JSON Response text is kept as a string', () => {
    const parsed = parseSimulatorReply('Status Code: 500\nResponse: Internal error\nExplanation: Broken.');
    assert.ok(parsed.ok);
    assert.equal(parsed.reply.body, 'Internal error');
    assert.equal(parsed.reply.json, false);
    assert.equal(parsed.reply.explanation, 'Broken.');
  });

  test('the three fields as one JSON object', () => {
    const parsed = parseSimulatorReply('{"status_code": 200, "response": {"ok": true}, "explanation": "x"}');
    assert.ok(parsed.ok);
    assert.equal(parsed.reply.status, 200);
    assert.deepEqual(parsed.reply.body, { ok: true });
  });

  test('garbage is not ok, with a reason', () => {
    const parsed = parseSimulatorReply('I am sorry, I cannot simulate this API.');
    assert.equal(parsed.ok, false);
    assert.match(parsed.ok ? '' : parsed.error, /Status Code/);
    assert.equal(parseSimulatorReply('Status Code: 200\nExplanation: nothing').ok, false);
  });

  test('formatSimulatorReply round-trips through the parser', () => {
    const text = formatSimulatorReply(200, AXEL, 'An axolotl.');
    const parsed = parseSimulatorReply(text);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.reply.body, AXEL);
    assert.equal(parsed.reply.explanation, 'An axolotl.');
  });
});

describe('simulated executor against the fake model server', () => {
  test('a clean 200 reply becomes the observation; the prompt has the spec and the curl command', async () => {
    server.script(reply(200, AXEL, 'The axolotl with id 7.'));
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(o.status, 200);
    assert.deepEqual(o.body, AXEL);
    assert.equal(o.source, 'simulated');
    assert.equal(o.headers['content-type'], 'application/json');
    assert.ok(o.latencyMs >= 0);
    assert.equal(o.error, undefined);
    assert.equal(o.warnings, undefined);
    assert.match(observationText(o), /^Status Code: 200\. Response: \{"id":7,/);

    const requests = server.chatRequests();
    assert.equal(requests.length, 1);
    const messages = requests[0]!.messages!;
    assert.equal(messages.length, 2);
    assert.equal(messages[0]!.role, 'system');
    const system = textOf(messages[0]);
    assert.ok(system.includes(`OpenAPI spec: ${JSON.stringify(zoo.openapi)}`), 'the whole spec, compact');
    assert.match(system, /Status Code:/);
    assert.match(system, /API name: Zoo/);
    assert.equal(lastUserText(requests[0]!), "Request:\ncurl -X GET 'https://zoo.example.com/v1/animals/7'");
    assert.equal(requests[0]!.temperature, 0.5);
  });

  test('a JSON body is rendered in the curl command', async () => {
    server.script(reply(201, { ...AXEL, id: 8, name: 'Bo' }));
    const o = await executor().execute(zoo, 'addAnimal', { name: 'Bo', species: 'axolotl' });
    assert.equal(o.status, 201);
    const curl = lastUserText(server.chatRequests()[0]!);
    assert.match(curl, /^Request:\ncurl -X POST 'https:\/\/zoo\.example\.com\/v1\/animals'/);
    assert.ok(curl.includes(`-d '{"name":"Bo","species":"axolotl"}'`), curl);
  });

  test('non-2xx answers are asked again until a status code repeats', async () => {
    server.script(reply(404, { error: 'a' }), reply(500, { error: 'b' }), reply(500, { error: 'c' }));
    server.script(reply(200, AXEL)); // must not be reached
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(server.chatRequests().length, 3);
    assert.equal(o.status, 500);
    assert.deepEqual(o.body, { error: 'c' });
    assert.equal(o.error, undefined, 'an API error answer, not an executor failure');
    assert.equal(server.pendingScript(), 1);
    // Each new ask is a new sample: the seed changes, the messages do not.
    const requests = server.chatRequests();
    assert.deepEqual(
      requests.map((r) => r.seed),
      [0, 1, 2],
    );
    assert.deepEqual(requests[2]!.messages, requests[0]!.messages);
  });

  test('stops after 6 distinct non-2xx answers (1 + 5 retries) and returns the first, as ToolAlpaca', async () => {
    server.script(
      reply(400, { e: 400 }),
      reply(401, { e: 401 }),
      reply(403, { e: 403 }),
      reply(404, { e: 404 }),
      reply(429, { e: 429 }),
      reply(409, { e: 409 }),
      reply(200, AXEL),
    );
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(server.chatRequests().length, 6);
    assert.equal(o.status, 400);
    assert.deepEqual(o.body, { e: 400 });
    assert.match(observationText(o), /^Status Code: 400\. Response: \{"e":400\}\. You should choose one of/);
  });

  test('maxAttempts: 3 distinct non-2xx answers return the first one', async () => {
    server.script(reply(404, { e: 'first' }), reply(500, { e: 'second' }), reply(502, { e: 'third' }));
    const o = await executor({ maxAttempts: 3 }).execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(server.chatRequests().length, 3);
    assert.equal(o.status, 404);
    assert.deepEqual(o.body, { e: 'first' });
  });

  test('a 2xx after a non-2xx ends the retries', async () => {
    server.script(reply(503, { e: 1 }), reply(200, AXEL));
    const o = await executor({ maxAttempts: 3 }).execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(server.chatRequests().length, 2);
    assert.equal(o.status, 200);
    assert.deepEqual(o.body, AXEL);
  });

  test('maxAttempts: 1 returns the first non-2xx answer', async () => {
    server.script(reply(404, { e: 1 }), reply(200, AXEL));
    const o = await executor({ maxAttempts: 1 }).execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(server.chatRequests().length, 1);
    assert.equal(o.status, 404);
  });

  test('a body that misses the schema is re-asked with the errors, then accepted', async () => {
    server.script(reply(200, { id: 7, name: 'Axel' }), reply(200, AXEL));
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    const requests = server.chatRequests();
    assert.equal(requests.length, 2);
    const feedback = lastUserText(requests[1]!);
    assert.match(feedback, /does not match the response schema of GET \/animals\/\{id\}/);
    assert.match(feedback, /must have required property 'species'/);
    assert.match(feedback, /Response schema: \{"type":"object"/);
    // The bad answer is shown back to the model before the feedback.
    const messages = requests[1]!.messages!;
    assert.equal(messages[messages.length - 2]!.role, 'assistant');
    assert.match(textOf(messages[messages.length - 2]), /"name":"Axel"\}/);
    assert.equal(o.status, 200);
    assert.deepEqual(o.body, AXEL);
    assert.equal(o.warnings, undefined);
  });

  test('a body that keeps missing the schema is repaired deterministically, with a warning', async () => {
    const bad = { id: 7, name: 'Axel', age: 'three', extra: true };
    server.script(reply(200, bad), reply(200, bad), reply(200, bad));
    const fn = zoo.functions.find((f) => f.name === 'getAnimal')!;
    const o = await executor({ maxRepairs: 2 }).execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(server.chatRequests().length, 3);
    assert.equal(o.status, 200);
    assert.equal(validationError(fn.outputSchema!, o.body), undefined);
    const body = o.body as Json;
    // What the model got right is kept; the rest comes from the schema.
    assert.equal(body.id, 7);
    assert.equal(body.name, 'Axel');
    assert.equal(typeof body.species, 'string');
    assert.ok(Number.isInteger(body.age), 'the wrongly typed age is replaced');
    assert.equal(body.extra, true, 'extra properties are allowed by this schema and kept');
    assert.ok(o.warnings?.some((w) => /did not match the response schema after 2 re-asks/.test(w)));
    // The same call repairs the same way.
    server.script(reply(200, bad), reply(200, bad), reply(200, bad));
    const again = await executor({ maxRepairs: 2 }).execute(zoo, 'getAnimal', { id: 7 });
    assert.deepEqual(again.body, o.body);
  });

  test('maxRepairs: 0 repairs at once', async () => {
    server.script(reply(200, { animals: [{ id: 1, name: 'A' }, AXEL] }));
    const fn = zoo.functions.find((f) => f.name === 'listAnimals')!;
    const o = await executor({ maxRepairs: 0 }).execute(zoo, 'listAnimals', {});
    assert.equal(server.chatRequests().length, 1);
    assert.equal(validationError(fn.outputSchema!, o.body), undefined);
    const animals = (o.body as { animals: Json[] }).animals;
    assert.equal(animals.length, 2);
    assert.equal(animals[0]!.name, 'A');
    assert.deepEqual(animals[1], AXEL);
    assert.ok(o.warnings !== undefined && o.warnings.length === 1);
  });

  test('an unreadable reply is asked again, then becomes a 502 observation with an error', async () => {
    server.script({ text: 'I cannot do that.' }, { text: 'Still no.' });
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    const requests = server.chatRequests();
    assert.equal(requests.length, 2);
    assert.match(lastUserText(requests[1]!), /could not be read: no "Status Code:" line/);
    assert.equal(o.status, 502);
    assert.equal(o.source, 'simulated');
    assert.match(o.error ?? '', /no readable answer after 2 tries/);
    assert.match(o.error ?? '', /tool 'Zoo' function 'getAnimal'/);
  });

  test('an unreadable reply followed by a good one is fine', async () => {
    server.script({ text: 'Hmm.' }, reply(200, AXEL));
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(o.status, 200);
    assert.deepEqual(o.body, AXEL);
  });

  test('invalid arguments: 400 with the reasons, and no model call', async () => {
    const o = await executor().execute(zoo, 'getAnimal', { id: 'seven' });
    assert.equal(o.status, 400);
    assert.equal(o.source, 'simulated');
    assert.deepEqual(o.validationErrors, [`Parameter 'id' must be integer, got "seven"`]);
    const missing = await executor().execute(zoo, 'addAnimal', { name: 'Bo' });
    assert.equal(missing.status, 400);
    assert.match(missing.validationErrors?.join('\n') ?? '', /Missing required parameter 'species'/);
    const unknown = await executor().execute(zoo, 'feedAnimal', {});
    assert.equal(unknown.status, 404);
    assert.equal(server.requests.length, 0);
  });

  test('a model that keeps failing gives a 502 observation naming the reason', async () => {
    server.setDefault(() => ({ fault: 'server_error', status: 503 }));
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(o.status, 502);
    assert.equal(o.source, 'simulated');
    assert.match(o.error ?? '', /model openai:fake failed \(server_error\)/);
    assert.deepEqual(o.body, { error: o.error });
    assert.ok(server.chatRequests().length >= 2, 'the model layer retried first');
  });

  test('an aborted call rejects instead of answering', async () => {
    server.setDefault(() => ({ fault: 'hang' }));
    const controller = new AbortController();
    const arrived = server.requests.length + 1;
    const pending = executor().execute(zoo, 'getAnimal', { id: 7 }, { signal: controller.signal });
    await server.waitForRequests(arrived);
    controller.abort();
    await assert.rejects(pending, (error: Error & { kind?: string }) => error.kind === 'aborted');
  });

  test('memory: the same instance sees earlier exchanges, another instance does not', async () => {
    const sim = executor();
    server.script(reply(200, AXEL, 'First.'));
    await sim.execute(zoo, 'getAnimal', { id: 7 }, { instanceId: 'A' });
    server.script(reply(200, { animals: [AXEL] }));
    await sim.execute(zoo, 'listAnimals', { limit: 1 }, { instanceId: 'A' });
    server.script(reply(200, { animals: [] }));
    await sim.execute(zoo, 'listAnimals', { limit: 1 }, { instanceId: 'B' });
    server.script(reply(200, AXEL));
    await sim.execute(zoo, 'getAnimal', { id: 7 });

    const [first, second, other, none] = server.chatRequests();
    assert.equal(first!.messages!.length, 2);
    const messages = second!.messages!;
    assert.deepEqual(
      messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'user'],
    );
    assert.equal(textOf(messages[1]), "Request:\ncurl -X GET 'https://zoo.example.com/v1/animals/7'");
    assert.equal(textOf(messages[2]), formatSimulatorReply(200, AXEL, 'First.'));
    assert.match(textOf(messages[3]), /animals\?limit=1'$/);
    assert.equal(other!.messages!.length, 2, 'instance B starts fresh');
    assert.equal(none!.messages!.length, 2, 'no instance id, no memory');
    assert.equal(sim.memoryOf('A', 'Zoo').length, 2);
    sim.forgetInstance('A');
    assert.equal(sim.memoryOf('A', 'Zoo').length, 0);
  });

  test('memory is bounded per tool, remembers repaired and error answers, and is per tool', async () => {
    const sim = executor({ memoryTurns: 2 });
    const other: Tool = { ...zoo, name: 'Zoo2' };
    for (let id = 1; id <= 4; id++) {
      server.script(reply(id === 2 ? 404 : 200, id === 2 ? { error: 'gone' } : { ...AXEL, id }));
      if (id === 2) server.script(reply(404, { error: 'gone' }));
      await sim.execute(zoo, 'getAnimal', { id }, { instanceId: 'A' });
    }
    server.reset();
    server.script(reply(200, { ...AXEL, id: 5 }));
    await sim.execute(zoo, 'getAnimal', { id: 5 }, { instanceId: 'A' });
    const messages = server.chatRequests()[0]!.messages!;
    assert.equal(messages.length, 1 + 2 * 2 + 1, 'two earlier exchanges kept');
    assert.match(textOf(messages[1]), /animals\/3'$/);
    assert.match(textOf(messages[3]), /animals\/4'$/);
    assert.equal(sim.memoryOf('A', 'Zoo').length, 2);

    server.reset();
    server.script(reply(200, AXEL));
    await sim.execute(other, 'getAnimal', { id: 7 }, { instanceId: 'A' });
    assert.equal(server.chatRequests()[0]!.messages!.length, 2, 'another tool has its own memory');

    const none = executor({ memoryTurns: 0 });
    server.script(reply(200, AXEL), reply(200, AXEL));
    await none.execute(zoo, 'getAnimal', { id: 7 }, { instanceId: 'A' });
    await none.execute(zoo, 'getAnimal', { id: 7 }, { instanceId: 'A' });
    assert.equal(server.chatRequests()[2]!.messages!.length, 2);
  });

  test('memory keeps at most maxInstances instances, least recently used dropped first', async () => {
    const sim = executor({ maxInstances: 2 });
    server.setDefault(() => reply(200, AXEL));
    await sim.execute(zoo, 'getAnimal', { id: 7 }, { instanceId: 'A' });
    await sim.execute(zoo, 'getAnimal', { id: 7 }, { instanceId: 'B' });
    await sim.execute(zoo, 'getAnimal', { id: 7 }, { instanceId: 'A' }); // A is now the most recent
    await sim.execute(zoo, 'getAnimal', { id: 7 }, { instanceId: 'C' });
    assert.equal(sim.memoryOf('B', 'Zoo').length, 0);
    assert.equal(sim.memoryOf('A', 'Zoo').length, 2);
    assert.equal(sim.memoryOf('C', 'Zoo').length, 1);
  });

  test('a long spec is cut down to the called operation', async () => {
    server.script(reply(200, AXEL));
    await executor({ maxSpecChars: 200 }).execute(zoo, 'getAnimal', { id: 7 });
    const system = textOf(server.chatRequests()[0]!.messages![0]);
    const spec = JSON.parse(/OpenAPI spec: (.*)$/m.exec(system)![1]!) as Json;
    assert.deepEqual(Object.keys(spec.paths as Json), ['/animals/{id}']);
    assert.deepEqual(spec.servers, [{ url: 'https://zoo.example.com/v1' }]);
    assert.equal(((spec.paths as Json)['/animals/{id}'] as Json).get !== undefined, true);
  });

  test('operationDocument keeps the components the operation references, transitively', () => {
    const doc = {
      openapi: '3.0.0',
      info: { title: 'T', version: '1' },
      paths: {
        '/a': { get: { responses: { '200': { $ref: '#/components/responses/A' } } } },
        '/b': { get: { responses: { '200': { $ref: '#/components/responses/B' } } } },
      },
      components: {
        responses: {
          A: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } },
          B: { description: 'b' },
        },
        schemas: {
          Node: { type: 'object', properties: { child: { $ref: '#/components/schemas/Node' } } },
          Unused: { type: 'string' },
        },
      },
    };
    const fn = httpFunction({ name: 'getA', method: 'get', path: '/a', parameters: [] });
    const out = operationDocument(doc, fn)!;
    assert.deepEqual(Object.keys(out.paths as Json), ['/a']);
    assert.deepEqual(out.components, {
      responses: { A: doc.components.responses.A },
      schemas: { Node: doc.components.schemas.Node },
    });
  });

  test('a function without a response schema: an example response is shown and nothing is validated', async () => {
    const base = zoo.functions.find((f) => f.name === 'getAnimal')!;
    const response = { status: '200', contentType: 'application/json', example: { pet: 'Rex' } };
    const { outputSchema: _dropped, ...rest } = base;
    const fn = { ...rest, binding: { ...httpBindingOf(base)!, response } } as ToolFunction;
    const tool: Tool = { ...zoo, name: 'Pets', functions: [fn], openapi: undefined };
    server.script(reply(200, { anything: ['goes'] }));
    const o = await executor().execute(tool, 'getAnimal', { id: 1 });
    assert.equal(o.status, 200);
    assert.deepEqual(o.body, { anything: ['goes'] });
    assert.equal(o.warnings, undefined);
    const system = textOf(server.chatRequests()[0]!.messages![0]);
    assert.match(system, /Example of a successful response of GET \/animals\/\{id\}: \{"pet":"Rex"\}/);
    assert.match(system, /OpenAPI spec: \{"openapi":"3\.0\.3"/, 'a spec written from the tool');
  });

  test('no model given: an InputError naming the option', () => {
    assert.throws(
      () => createSimulatedExecutor({} as Parameters<typeof createSimulatedExecutor>[0]),
      (error: Error) =>
        error.name === 'InputError' && /`modelSpec`/.test(error.message) && !/--/.test(error.message),
    );
  });

  test('a non-JSON error body is kept as text', async () => {
    server.script(
      { text: 'Status Code: 503\nResponse: Service Unavailable\nExplanation: Down.' },
      { text: 'Status Code: 503\nResponse: Service Unavailable' },
    );
    const o = await executor().execute(zoo, 'getAnimal', { id: 7 });
    assert.equal(o.status, 503);
    assert.equal(o.body, 'Service Unavailable');
    assert.equal(o.headers['content-type'], 'text/plain');
    assert.equal(server.chatRequests().length, 2);
  });

  test('built from a model spec, and through createExecutor', async () => {
    server.script(reply(200, AXEL), reply(200, AXEL));
    const own = createSimulatedExecutor({
      modelSpec: 'openai:fake',
      modelOptions: { openai: { baseUrl: server.baseUrl, apiKey: 'test' }, noCache: true },
      stage: 'executor',
    });
    assert.equal((await own.execute(zoo, 'getAnimal', { id: 7 })).status, 200);
    await own.close();
    const created = await createExecutor('simulated', { simulated: { model } });
    assert.equal(created.kind, 'simulated');
    const o = await created.execute(zoo, 'getAnimal', { id: 7 });
    assert.deepEqual(o.body, AXEL);
  });
});

/** A hand-made tool whose function has no HTTP binding (as an MCP tool, or a function only ever simulated). */
const NOTEBOOK: Tool = {
  name: 'Notebook',
  description: 'Keeps notes.',
  auth: [],
  servers: [],
  functions: [
    {
      name: 'add_note',
      description: 'Add a note and get its id.',
      inputSchema: {
        type: 'object',
        properties: {
          title: { type: 'string', description: 'The title' },
          tags: { type: 'array', items: { type: 'string' } },
          pinned: { type: 'boolean' },
        },
        required: ['title'],
      },
      outputSchema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
    },
  ],
};

describe('simulated executor on functions without an HTTP binding', () => {
  test('the call is JSON and the prompt carries the input and output schemas, not a spec or curl', async () => {
    server.script(reply(200, { id: 3 }, 'Stored.'));
    const o = await executor().execute(NOTEBOOK, 'add_note', { title: 'Milk', pinned: 'true' });
    assert.equal(o.status, 200);
    assert.deepEqual(o.body, { id: 3 });
    assert.equal(o.source, 'simulated');
    const request = server.chatRequests()[0]!;
    const system = textOf(request.messages![0]);
    assert.match(system, /^You stand in for a software tool\./);
    assert.match(system, /^Tool name: Notebook$/m);
    assert.match(system, /^Function: add_note$/m);
    assert.ok(system.includes(`Input schema: ${JSON.stringify(NOTEBOOK.functions[0]!.inputSchema)}`));
    assert.ok(system.includes(`Output schema: ${JSON.stringify(NOTEBOOK.functions[0]!.outputSchema)}`));
    assert.doesNotMatch(system, /OpenAPI|curl/);
    // Arguments are checked and coerced first ("true" → true), then shown as the call.
    assert.equal(
      lastUserText(request),
      'Call:\n{"function":"add_note","arguments":{"title":"Milk","pinned":true}}',
    );
  });

  test('arguments do not travel as text: a comma list is not an array; the output schema is enforced', async () => {
    const bad = await executor().execute(NOTEBOOK, 'add_note', { title: 'x', tags: 'a,b' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.validationErrors, [`Parameter 'tags' must be array, got "a,b"`]);
    assert.equal(server.chatRequests().length, 0);

    server.script(reply(200, { note: 'no id' }), reply(200, { id: 9 }));
    const o = await executor({ maxRepairs: 1 }).execute(NOTEBOOK, 'add_note', { title: 'x' });
    assert.deepEqual(o.body, { id: 9 });
    const feedback = lastUserText(server.chatRequests()[1]!);
    assert.match(feedback, /does not match the response schema of function add_note:/);
  });

  test('an mcp binding is simulated the same way', async () => {
    const fn = {
      ...NOTEBOOK.functions[0]!,
      binding: { kind: 'mcp' as const, server: 'notes', tool: 'add_note' },
    };
    server.script(reply(200, { id: 4 }));
    const o = await executor().execute({ ...NOTEBOOK, functions: [fn] }, 'add_note', { title: 'y' });
    assert.equal(o.status, 200);
    assert.match(lastUserText(server.chatRequests()[0]!), /^Call:\n/);
  });
});

describe('repairBody', () => {
  test('keeps valid parts, fills the rest from the schema, falls back to generated data', () => {
    const patched = repairBody({ id: 1, name: 'A' }, ANIMAL, 42);
    assert.equal(patched.method, 'patched');
    assert.equal(validationError(ANIMAL, patched.body), undefined);
    assert.equal((patched.body as Json).name, 'A');
    const generated = repairBody('not json', ANIMAL, 42);
    assert.equal(validationError(ANIMAL, generated.body), undefined);
    assert.deepEqual(repairBody(undefined, ANIMAL, 42).body, repairBody(undefined, ANIMAL, 42).body);
  });
});

// ---------------------------------------------------------------------------------------------------------
// End to end over real ToolAlpaca tools: the fake model answers every request with a minimal instance of
// the called function's response schema, found from the API name and the curl command in the prompt.

function sampleFor(schema: Json): unknown {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'array':
      return [sampleFor((schema.items as Json | undefined) ?? { type: 'string' })];
    case 'object': {
      const out: Json = {};
      const props = (schema.properties as Record<string, Json> | undefined) ?? {};
      for (const name of (schema.required as string[] | undefined) ?? [])
        out[name] = sampleFor(props[name] ?? {});
      return out;
    }
    default:
      if (schema.format === 'date') return '2024-01-15';
      if (schema.format === 'date-time') return '2024-01-15T10:00:00Z';
      if (schema.format === 'email') return 'ann@example.com';
      return 'alpha';
  }
}

function minimalArgs(fn: ToolFunction): Json {
  const args: Json = {};
  const binding = httpBindingOf(fn)!;
  for (const p of binding.parameters) if (p.required) args[p.name] = sampleFor(normalizeSchema(p.schema));
  const body = binding.requestBody ? normalizeSchema(binding.requestBody.schema) : undefined;
  if (body && (body.type === 'object' || body.properties !== undefined)) {
    Object.assign(args, sampleFor({ ...body, type: 'object' }));
  }
  return args;
}

function pathPattern(path: string): RegExp {
  const pattern = path
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&'))
    .join('[^/?]+');
  return new RegExp(`^${pattern}$`);
}

describe('simulated executor end to end on the ToolAlpaca evaluation tools', () => {
  test('every function of the ten simulated-evaluation tools answers 200 with the model body, valid against its schema', async () => {
    const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
    const tools: Tool[] = [];
    for (const record of records) tools.push(await recordToTool(record));
    const byName = new Map(tools.map((t) => [t.name, t]));
    const bodies = new Map<string, unknown>();

    server.setDefault((body) => {
      const system = textOf(body.messages?.[0]);
      const tool = byName.get(/^API name: (.*)$/m.exec(system)?.[1] ?? '');
      const curl = /curl -X (\w+) '([^']*)'/.exec(lastUserText(body));
      if (!tool || !curl) return { text: 'no idea' };
      const url = new URL(curl[2]!);
      const server0 = new URL(tool.servers[0]!);
      const path = url.pathname.slice(server0.pathname.replace(/\/$/, '').length) || '/';
      // A literal path (/anime/search) wins over a template (/anime/{id}).
      const fn = tool.functions
        .filter((f) => {
          const b = httpBindingOf(f)!;
          return b.method === curl[1]!.toLowerCase() && pathPattern(b.path).test(path);
        })
        .sort(
          (a, b) => httpBindingOf(a)!.path.split('{').length - httpBindingOf(b)!.path.split('{').length,
        )[0];
      if (!fn) return { text: `no function for ${curl[1]} ${path}` };
      const value = fn.outputSchema ? minimalInstance(normalizeSchema(fn.outputSchema)) : {};
      bodies.set(`${tool.name}.${fn.name}`, value);
      return reply(200, value, `Simulated ${fn.name}.`);
    });

    const sim = executor();
    let calls = 0;
    for (const tool of tools) {
      for (const fn of tool.functions) {
        const args = minimalArgs(fn);
        assert.deepEqual(validateArguments(fn, args), [], `${tool.name}.${fn.name}: test args`);
        const o = await sim.execute(tool, fn.name, args, { instanceId: `e2e-${tool.name}` });
        const label = `${tool.name}.${fn.name}`;
        assert.equal(o.status, 200, `${label}: ${JSON.stringify(o)}`);
        assert.equal(o.source, 'simulated');
        assert.equal(o.warnings, undefined, `${label}: ${o.warnings?.join('; ')}`);
        assert.deepEqual(o.body, bodies.get(label), label);
        if (fn.outputSchema) assert.equal(validationError(fn.outputSchema, o.body), undefined, label);
        calls++;
      }
    }
    assert.ok(calls >= 50, `only ${calls} functions`);
    // The long specs (Auth0, Apache Superset...) were cut down to the called operation.
    const cut = server.chatRequests().filter((r) => {
      const spec = JSON.parse(/OpenAPI spec: (.*)$/m.exec(textOf(r.messages![0]))![1]!) as Json;
      return Object.keys(spec.paths as Json).length === 1;
    });
    assert.ok(cut.length >= 9, `only ${cut.length} prompts with a cut spec`);
    assert.equal(server.chatRequests().length, calls, 'one model call per function: no re-asks needed');
    // The last call of a tool carries its earlier exchanges (bounded by the default of 5).
    const last = server.chatRequests().at(-1)!;
    const lastTool = tools.at(-1)!;
    assert.equal(last.messages!.length, 2 + 2 * Math.min(5, lastTool.functions.length - 1));
  });
});
