import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpFunction, type HttpFunctionFields } from '../../src/core/http-binding.js';
import {
  canonicalJson,
  compileSchema,
  normalizeSchema,
  prepareSchemaCompiler,
  tryCompile,
} from '../../src/core/json-schema.js';
import type { Tool, ToolFunction } from '../../src/core/tool.js';
import { checkArguments, prepareCall, validateArguments } from '../../src/executors/arguments.js';
import { callKey, observationText, type Observation } from '../../src/executors/executor.js';

function fn(partial: Partial<HttpFunctionFields> & Pick<HttpFunctionFields, 'name' | 'path'>): ToolFunction {
  return httpFunction({ nameDerived: false, method: 'get', parameters: [], ...partial });
}

function tool(functions: ToolFunction[], servers = ['https://api.example.com/v1/']): Tool {
  return { name: 'Example', description: '', auth: [], servers, functions };
}

const everyLocation = fn({
  name: 'updateThing',
  method: 'post',
  path: '/things/{thingId}/parts/{part}',
  parameters: [
    { name: 'thingId', in: 'path', required: true, schema: { type: 'integer' } },
    { name: 'part', in: 'path', required: true, schema: { type: 'string' } },
    { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
    { name: 'tags', in: 'query', required: false, schema: { type: 'array', items: { type: 'string' } } },
    { name: 'X-Trace', in: 'header', required: false, schema: { type: 'string' } },
    { name: 'session', in: 'cookie', required: false, schema: { type: 'string' } },
  ],
  requestBody: {
    required: true,
    contentType: 'application/json',
    schema: {
      type: 'object',
      properties: {
        color: { type: 'string', enum: ['wild', 'leucistic', 'albino'] },
        size: { type: 'number' },
        owner: {
          type: 'object',
          properties: { name: { type: 'string' } },
          required: ['name'],
        },
      },
      required: ['color'],
    },
  },
});

describe('validateArguments', () => {
  const search = fn({
    name: 'search',
    path: '/search/{countryCode}',
    parameters: [
      { name: 'countryCode', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer' } },
      {
        name: 'color',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['wild', 'leucistic', 'albino'] },
      },
      { name: 'when', in: 'query', required: false, schema: { type: 'string', format: 'date' } },
    ],
  });

  test('names the missing parameter, the wrong type and the allowed values', () => {
    assert.deepEqual(validateArguments(search, {}), ["Missing required parameter 'countryCode'"]);
    assert.deepEqual(validateArguments(search, { countryCode: 'DE', limit: 'ten' }), [
      `Parameter 'limit' must be integer, got "ten"`,
    ]);
    assert.deepEqual(validateArguments(search, { countryCode: 'DE', color: 'blue' }), [
      `Parameter 'color' must be one of [wild, leucistic, albino], got "blue"`,
    ]);
    assert.deepEqual(validateArguments(search, { countryCode: 'DE', when: 'tomorrow' }), [
      `Parameter 'when' must match format "date", got "tomorrow"`,
    ]);
    // Several problems at once are all reported.
    assert.equal(validateArguments(search, { limit: 1.5, color: 'red' }).length, 3);
  });

  test('coerces like ToolAlpaca: numeric strings, booleans, numbers for string parameters', () => {
    const check = checkArguments(search, { countryCode: 49, limit: '10' });
    assert.deepEqual(check.errors, []);
    assert.deepEqual(check.args, { countryCode: '49', limit: 10 });
  });

  test('JSON text for an object argument and comma lists for array query parameters are accepted', () => {
    const check = checkArguments(everyLocation, {
      thingId: '7',
      part: 'p',
      tags: 'a, b',
      color: 'wild',
      owner: '{"name":"Ann"}',
    });
    assert.deepEqual(check.errors, []);
    assert.deepEqual(check.args, {
      thingId: 7,
      part: 'p',
      tags: ['a', 'b'],
      color: 'wild',
      owner: { name: 'Ann' },
    });
    assert.deepEqual(
      validateArguments(everyLocation, { thingId: 1, part: 'p', color: 'wild', owner: '{oops' }),
      [`Parameter 'owner' must be object, got "{oops"`],
    );
  });

  test('unknown parameters are warnings by default (ToolAlpaca ignores them), errors on request', () => {
    const check = checkArguments(search, { countryCode: 'DE', foo: 1 });
    assert.deepEqual(check.errors, []);
    assert.deepEqual(check.warnings, [
      "Unknown parameter 'foo'; allowed: countryCode, limit, color, when (ignored)",
    ]);
    assert.deepEqual(check.args, { countryCode: 'DE' });
    assert.deepEqual(
      validateArguments(search, { countryCode: 'DE', foo: 1 }, { unknownParameters: 'error' }),
      ["Unknown parameter 'foo'; allowed: countryCode, limit, color, when"],
    );
  });

  test('null for an optional parameter is treated as omitted', () => {
    const check = checkArguments(search, { countryCode: 'DE', limit: null });
    assert.deepEqual(check.errors, []);
    assert.deepEqual(check.args, { countryCode: 'DE' });
    assert.equal(check.warnings.length, 1);
  });

  test('an empty string for an optional enum or number parameter is treated as omitted', () => {
    const check = checkArguments(search, { countryCode: 'DE', limit: '', color: '' });
    assert.deepEqual(check.errors, []);
    assert.deepEqual(check.args, { countryCode: 'DE' });
    assert.deepEqual(check.warnings, [
      "Parameter 'limit' is empty; treated as omitted",
      "Parameter 'color' is empty; treated as omitted",
    ]);
    // For a required parameter an empty string is not "omitted": it is checked and rejected.
    assert.notDeepEqual(validateArguments(everyLocation, { thingId: '', part: 'p', color: 'wild' }), []);
  });

  test('body properties: required only when the body is, nested errors name the path', () => {
    assert.deepEqual(validateArguments(everyLocation, { thingId: 1, part: 'p' }), [
      "Missing required parameter 'color'",
    ]);
    assert.deepEqual(
      validateArguments(everyLocation, {
        thingId: 1,
        part: 'p',
        color: 'wild',
        owner: {},
        size: 'big',
      }).sort(),
      ["Missing required parameter 'owner.name'", `Parameter 'size' must be number, got "big"`].sort(),
    );
  });

  test('a frozen argument object checked again gives the same answer; a changed one is checked anew', () => {
    const frozen = Object.freeze({ countryCode: 'DE', limit: '5', foo: 1 });
    const first = checkArguments(search, frozen);
    assert.deepEqual(first.args, { countryCode: 'DE', limit: 5 });
    assert.equal(first.warnings.length, 1);
    assert.deepEqual(checkArguments(search, frozen), first);
    // Another mode, or another function, is not answered from the earlier check.
    assert.deepEqual(checkArguments(search, frozen, { unknownParameters: 'error' }).errors, [
      "Unknown parameter 'foo'; allowed: countryCode, limit, color, when",
    ]);
    assert.notDeepEqual(checkArguments(everyLocation, frozen).errors, []);
    // An object that is not frozen may change between checks.
    const open: Record<string, unknown> = { countryCode: 'DE' };
    assert.deepEqual(checkArguments(search, open).errors, []);
    delete open.countryCode;
    assert.deepEqual(checkArguments(search, open).errors, ["Missing required parameter 'countryCode'"]);
  });

  test('prepareCall rejects with a 400 observation that observationText explains', () => {
    const t = tool([search]);
    const prepared = prepareCall(t, 'search', { limit: 'ten' }, 'schema');
    assert.equal(prepared.ok, false);
    if (prepared.ok) return;
    const o = prepared.observation;
    assert.equal(o.status, 400);
    assert.deepEqual(o.validationErrors, [
      "Missing required parameter 'countryCode'",
      `Parameter 'limit' must be integer, got "ten"`,
    ]);
    const text = observationText(o);
    assert.match(text, /^Missing required parameter 'countryCode'\nParameter 'limit' must be integer/);
    assert.match(text, /You need to change the input and try again\.$/);

    const unknown = prepareCall(t, 'nope', {}, 'schema');
    assert.equal(unknown.ok, false);
    if (!unknown.ok) {
      assert.equal(unknown.observation.status, 404);
      assert.match(unknown.observation.error ?? '', /has no function 'nope'; functions: search/);
    }
  });
});

describe('schemas and observations', () => {
  test('normalizeSchema turns OpenAPI 3.0 nullable and boolean exclusive bounds into JSON Schema', () => {
    const schema = { type: 'integer', nullable: true, minimum: 0, exclusiveMinimum: true };
    assert.deepEqual(normalizeSchema(schema), { type: ['integer', 'null'], exclusiveMinimum: 0 });
    const validate = compileSchema(schema);
    assert.equal(validate(null), true);
    assert.equal(validate(1), true);
    assert.equal(validate(0), false);
    assert.equal(validate('1'), false);
  });

  test('the same schema loaded again (a new object, same text) reuses the compiled validator', () => {
    const text = JSON.stringify({ type: 'object', properties: { n: { type: 'integer', minimum: 3 } } });
    const first = compileSchema(JSON.parse(text) as Record<string, unknown>);
    const again = compileSchema(JSON.parse(text) as Record<string, unknown>);
    assert.equal(again, first);
    assert.equal(again({ n: 2 }), false);
    const other = compileSchema({ type: 'object', properties: { n: { type: 'integer', minimum: 1 } } });
    assert.notEqual(other, first);
    assert.equal(other({ n: 2 }), true);
    // Arguments of two loads of one function share the plan's validator as well: both check alike.
    const load = (): ToolFunction =>
      fn({
        name: 'count',
        path: '/count',
        parameters: [{ name: 'n', in: 'query', required: true, schema: { type: 'integer' } }],
      });
    const errors = validateArguments(load(), { n: 'x' });
    assert.equal(errors.length, 1);
    assert.deepEqual(validateArguments(load(), { n: 'x' }), errors);
    assert.deepEqual(validateArguments(load(), { n: 4 }), []);
  });

  test('observationText follows ToolAlpaca: status, response, advice on errors, cut at 3000 chars', () => {
    const ok: Observation = { status: 200, body: { a: 1 }, headers: {}, source: 'schema', latencyMs: 1 };
    assert.equal(observationText(ok), 'Status Code: 200. Response: {"a":1}');
    const notFound: Observation = { ...ok, status: 404, body: 'Not Found' };
    assert.match(
      observationText(notFound),
      /^Status Code: 404\. Response: Not Found\. You should choose one of: \(1\)/,
    );
    const failed: Observation = { ...ok, status: 502, body: undefined, error: 'network error: ECONNREFUSED' };
    assert.match(
      observationText(failed),
      /^Status Code: 502\. Error: network error: ECONNREFUSED\. You should/,
    );
    const long: Observation = { ...ok, body: 'x'.repeat(5000) };
    assert.equal(observationText(long).length, 3000);
    assert.equal(
      observationText(long, { maxChars: Infinity }).length,
      'Status Code: 200. Response: '.length + 5000,
    );
  });

  test('canonical keys ignore key order', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: 2, c: [1, { f: 1, e: 2 }] } }),
      '{"a":{"c":[1,{"e":2,"f":1}],"d":2},"b":1}',
    );
    assert.equal(callKey('t', 'f', { x: 1, y: 2 }), callKey('t', 'f', { y: 2, x: 1 }));
    assert.notEqual(callKey('t', 'f', { x: 1 }), callKey('t', 'f', { x: '1' }));
  });

  test('call keys of flat arguments (written without the generic canonical JSON) are the canonical JSON', () => {
    // Keys seed the schema executor's answers and key caches: the fast path must not change one of them.
    const cases: Record<string, unknown>[] = [
      {},
      { b: 1, a: 'x' },
      { z: null, y: true, x: -0, w: Number.NaN, v: Number.POSITIVE_INFINITY, u: 1e21, t: 'é\u2028"\\\n' },
      JSON.parse('{"__proto__": "p", "a": 1}') as Record<string, unknown>,
      { '10': 1, '9': 2, a: 3 },
      { B: 1, a: 2, ä: 3, '': 4, ' ': 5, '\ud800': 6 },
      { a: [1, 'x'], b: 2 },
      { a: undefined, b: 1 },
      { x: { y: 1, a: 2 } },
    ];
    for (const args of cases) {
      assert.equal(callKey('T"\\', 'f\u0001', args), canonicalJson(['T"\\', 'f\u0001', args]));
    }
  });
});

describe('the JSON Schema module', () => {
  test('canonical JSON keeps a `__proto__` key (JSON.parse makes it an own key) as a member', () => {
    const args = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as Record<string, unknown>;
    assert.equal(canonicalJson(args), '{"__proto__":{"x":1},"a":2}');
    assert.notEqual(callKey('t', 'f', args), callKey('t', 'f', { a: 2 }));
  });

  test('schemas that name draft 2020-12 compile with its rules (structured replies, MCP schemas)', () => {
    const validate = tryCompile({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'integer' }],
      items: false,
    });
    assert.ok(!(validate instanceof Error));
    assert.equal(validate([1]), true);
    assert.equal(validate([1, 2]), false);
    assert.ok(tryCompile({ type: 'string', minLength: 'x' }) instanceof Error);
  });

  test('prepareSchemaCompiler (a worker before its first job) changes no verdict: broken schemas still fail', () => {
    prepareSchemaCompiler();
    prepareSchemaCompiler();
    assert.ok(tryCompile({ type: 'integer', maximum: 'ten' }) instanceof Error);
    const validate = tryCompile({ type: 'object', required: ['q'], properties: { q: { type: 'string' } } });
    assert.ok(!(validate instanceof Error));
    assert.equal(validate({ q: 'x' }), true);
    assert.equal(validate({}), false);
  });
});
