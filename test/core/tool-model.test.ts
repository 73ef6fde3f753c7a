/**
 * The tool model: functions with an input schema, an output schema and a binding (http, mcp or none).
 * Functions written in the shape before bindings still read; functions without an HTTP binding work
 * with every part that does not need HTTP.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  httpFunction,
  httpInputSchema,
  httpViewOf,
  type HttpFunctionFields,
} from '../../src/core/http-binding.js';
import { toolPromptFunctions } from '../../src/agents/prompts/functions.js';
import { ToolSchema, type Tool, type ToolFunction } from '../../src/core/tool.js';
import { TOOLBENCH_TASKS_KIND } from '../../src/core/toolbench.js';
import { createRealExecutor } from '../../src/executors/real-executor.js';
import { createSchemaExecutor } from '../../src/executors/schema-executor.js';
import { toolToOpenApi } from '../../src/formats/openapi.js';
import { checkTool, formatProblem } from '../../src/formats/tool-checks.js';
import { toolToRecord } from '../../src/formats/toolalpaca-json.js';
import { tasksFromJson } from '../../src/formats/toolbench.js';

const legacy: HttpFunctionFields = {
  name: 'searchCity',
  nameDerived: false,
  summary: 'Search',
  method: 'get',
  path: '/cities',
  parameters: [
    { name: 'q', in: 'query', required: true, description: 'Query', schema: { type: 'string' } },
    { name: 'limit', in: 'query', required: false, schema: { type: 'integer', nullable: true } },
  ],
  response: {
    status: '200',
    contentType: 'application/json',
    schema: { type: 'array', items: { type: 'string' } },
  },
};

const addNote: ToolFunction = {
  name: 'add_note',
  description: 'Add a note.',
  inputSchema: {
    type: 'object',
    properties: {
      title: { type: 'string', description: 'The title' },
      body: { type: 'string' },
    },
    required: ['title'],
  },
  outputSchema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
};

const notebook: Tool = {
  name: 'Notebook',
  description: 'Keeps notes.',
  auth: [],
  servers: [],
  functions: [addNote],
};

describe('tool functions', () => {
  test('a function in the shape before bindings reads into an http binding with its schemas', () => {
    const tool = ToolSchema.parse({
      name: 'Cities',
      description: '',
      auth: [],
      servers: [],
      functions: [legacy],
    });
    const fn = tool.functions[0]!;
    const { name: _name, nameDerived: _derived, summary: _summary, ...http } = legacy;
    assert.deepEqual(fn.binding, { kind: 'http', ...http });
    assert.deepEqual(fn, httpFunction(legacy));
    assert.deepEqual(fn.inputSchema, {
      type: 'object',
      properties: {
        q: { type: 'string', description: 'Query' },
        limit: { type: ['integer', 'null'] },
      },
      required: ['q'],
    });
    assert.deepEqual(fn.outputSchema, legacy.response?.schema);
  });

  test('a tasks file written before bindings still reads', () => {
    const file = {
      kind: TOOLBENCH_TASKS_KIND,
      version: 1,
      tasks: [
        {
          queryId: '1',
          query: 'Find Paris',
          tools: [
            {
              name: 'cities',
              description: '',
              auth: [],
              servers: ['https://c.example'],
              functions: [legacy],
            },
          ],
          apis: [],
          relevantApis: [],
        },
      ],
    };
    const [task] = tasksFromJson(file, 'old-tasks.json');
    assert.equal(task?.tools[0]?.functions[0]?.binding?.kind, 'http');
    assert.deepEqual(task?.tools[0]?.functions[0]?.inputSchema.required, ['q']);
  });

  test('the arguments schema lists parameters, then body properties; odd names are plain names', () => {
    const schema = httpInputSchema({
      kind: 'http',
      method: 'post',
      path: '/x/{constructor}',
      parameters: [
        { name: 'constructor', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'toString', in: 'query', required: false, schema: { type: 'integer' } },
      ],
      requestBody: {
        required: true,
        contentType: 'application/json',
        schema: {
          type: 'object',
          properties: { b: { type: 'string' }, a: { type: 'string' }, toString: { type: 'boolean' } },
          required: ['a', 'b'],
        },
      },
    });
    assert.deepEqual(Object.keys(schema.properties as object), ['constructor', 'toString', 'b', 'a']);
    // The first of two arguments with one name wins; required keeps the order of the properties.
    assert.deepEqual((schema.properties as Record<string, unknown>).toString, { type: 'integer' });
    assert.deepEqual(schema.required, ['constructor', 'b', 'a']);
  });

  test('without an HTTP binding a function is seen over HTTP as POST /{name} with a JSON body', () => {
    const view = httpViewOf(addNote);
    assert.equal(view.method, 'post');
    assert.equal(view.path, '/add_note');
    assert.deepEqual(view.requestBody, {
      required: true,
      contentType: 'application/json',
      schema: addNote.inputSchema,
    });
    const doc = toolToOpenApi(notebook);
    const op = (doc.paths as Record<string, Record<string, Record<string, unknown>>>)['/add_note']?.post;
    assert.equal(op?.operationId, 'add_note');
    // NL documentation is derived from the schemas as for any spec.
    const record = toolToRecord(notebook);
    assert.match(record.NLDocumentation ?? '', /add_note: Add a note\./);
    assert.match(record.NLDocumentation ?? '', /title/);
  });

  test('prompts list a function without a binding from its schemas', () => {
    const [fn] = toolPromptFunctions(notebook);
    assert.equal(fn?.name, 'add_note');
    assert.match(fn?.description ?? '', /Add a note\./);
    assert.deepEqual(fn?.parameters, [
      { name: 'title', type: 'string', required: true },
      { name: 'body', type: 'string', required: false },
    ]);
  });

  test('checks: no servers needed without HTTP, undescribed arguments reported', () => {
    assert.deepEqual(checkTool(notebook).map(formatProblem), [
      "Notebook › add_note: argument 'body' has no description",
    ]);
    const mcp: Tool = {
      ...notebook,
      functions: [{ ...addNote, binding: { kind: 'mcp', server: 'notes', tool: 'add_note' } }],
    };
    assert.equal(ToolSchema.parse(mcp).functions[0]?.binding?.kind, 'mcp');
  });

  test('the schema executor answers from the output schema; without one, an empty object', async () => {
    const executor = createSchemaExecutor({ cacheSize: 0 });
    const o = await executor.execute(notebook, 'add_note', { title: 'Milk' });
    assert.equal(o.status, 200);
    assert.equal(Number.isInteger((o.body as { id?: unknown }).id), true);
    const { outputSchema: _none, ...bare } = addNote;
    const empty = await executor.execute({ ...notebook, functions: [bare] }, 'add_note', { title: 'Milk' });
    assert.deepEqual([empty.status, empty.body], [200, {}]);
    const invalid = await executor.execute(notebook, 'add_note', { body: 'x' });
    assert.deepEqual(invalid.validationErrors, ["Missing required parameter 'title'"]);
  });

  test('the real executor refuses a function without an HTTP binding, naming it', async () => {
    const o = await createRealExecutor().execute(notebook, 'add_note', { title: 'Milk' });
    assert.equal(o.status, 501);
    assert.match(o.error ?? '', /function 'add_note' has no HTTP binding/);
  });
});
