import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { httpBindingOf } from '../../src/core/http-binding.js';
import { normalizeSchema, type JsonSchema } from '../../src/core/json-schema.js';
import type { Tool, ToolFunction } from '../../src/core/tool.js';
import {
  createSchemaExecutor,
  generateFromSchema,
  isCyclePlaceholder,
} from '../../src/executors/schema-executor.js';
import { validateArguments } from '../../src/executors/arguments.js';
import { loadOpenApi, openApiToTool } from '../../src/formats/openapi.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import { sharedData } from '../helpers/paths.js';

// An ajv of the test's own (not the executor's) checks the bodies.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ strict: false, allErrors: true, logger: false, allowUnionTypes: true });
addFormats(ajv);

function validates(schema: JsonSchema, value: unknown): string | undefined {
  const validate = ajv.compile(normalizeSchema(schema));
  return validate(value) ? undefined : ajv.errorsText(validate.errors);
}

type Json = Record<string, unknown>;

/** A simple valid value for a parameter schema, with `variant` choosing between alternatives. */
function sampleFor(schema: Json, variant: number): unknown {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[variant % schema.enum.length];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : 1;
      return min + variant;
    }
    case 'boolean':
      return variant % 2 === 0;
    case 'array':
      return [sampleFor((schema.items as Json | undefined) ?? { type: 'string' }, variant)];
    case 'object': {
      const out: Json = {};
      const props = (schema.properties as Record<string, Json> | undefined) ?? {};
      for (const name of (schema.required as string[] | undefined) ?? []) {
        out[name] = sampleFor(props[name] ?? { type: 'string' }, variant);
      }
      return out;
    }
    default:
      if (schema.format === 'date') return variant === 0 ? '2024-01-15' : '2024-02-20';
      if (schema.format === 'date-time')
        return variant === 0 ? '2024-01-15T10:00:00Z' : '2024-02-20T11:00:00Z';
      if (schema.format === 'email') return variant === 0 ? 'ann@example.com' : 'bob@example.com';
      return variant === 0 ? 'alpha' : 'bravo';
  }
}

/** Minimal valid arguments: every required parameter and required body property. */
function minimalArgs(fn: ToolFunction, variant = 0): Json {
  const args: Json = {};
  const binding = httpBindingOf(fn)!;
  for (const p of binding.parameters)
    if (p.required) args[p.name] = sampleFor(normalizeSchema(p.schema), variant);
  const body = binding.requestBody ? normalizeSchema(binding.requestBody.schema) : undefined;
  if (body && (body.type === 'object' || body.properties !== undefined)) {
    Object.assign(args, sampleFor({ ...body, type: 'object' }, variant));
  }
  return args;
}

/** Two different valid argument sets, when the function has any parameter to vary. */
function variants(fn: ToolFunction): [Json, Json] | undefined {
  const a = minimalArgs(fn, 0);
  const b = minimalArgs(fn, 1);
  if (JSON.stringify(a) !== JSON.stringify(b)) return [a, b];
  const optional = httpBindingOf(fn)!.parameters.find((p) => !p.required);
  if (optional) return [a, { ...a, [optional.name]: sampleFor(normalizeSchema(optional.schema), 1) }];
  return undefined;
}

/** True when a schema has a free string or number somewhere, so that two generated bodies should differ. */
function allowsVariety(schema: unknown, depth = 0): boolean {
  if (depth > 30 || typeof schema !== 'object' || schema === null) return false;
  const s = schema as Json;
  if (s.enum === undefined && (s.type === 'string' || s.type === 'integer' || s.type === 'number'))
    return true;
  return Object.values(s).some((child) => allowsVariety(child, depth + 1));
}

const tools: Tool[] = [];

before(async () => {
  for (const file of ['toolalpaca/eval_simulated.json', 'toolalpaca/eval_real.json']) {
    for (const record of await readToolAlpacaFile(sharedData(file))) tools.push(await recordToTool(record));
  }
});

describe('schema executor on the 21 ToolAlpaca evaluation tools', () => {
  test('every function answers a valid call with a body valid against its response schema', async () => {
    assert.equal(tools.length, 21);
    const executor = createSchemaExecutor();
    let functions = 0;
    let withSchema = 0;
    for (const tool of tools) {
      for (const fn of tool.functions) {
        functions++;
        const args = minimalArgs(fn);
        assert.deepEqual(validateArguments(fn, args), [], `${tool.name}.${fn.name}: test args must be valid`);
        const o = await executor.execute(tool, fn.name, args);
        assert.equal(o.status, 200, `${tool.name}.${fn.name}`);
        assert.equal(o.source, 'schema');
        assert.equal(o.validationErrors, undefined);
        const schema = fn.outputSchema;
        if (schema) {
          withSchema++;
          assert.equal(
            validates(schema, o.body),
            undefined,
            `${tool.name}.${fn.name}: body does not validate`,
          );
          // JSON-safe: survives a round trip unchanged.
          assert.deepEqual(JSON.parse(JSON.stringify(o.body)), o.body);
        } else {
          assert.ok(o.body !== undefined, `${tool.name}.${fn.name}: a body even without a schema`);
        }
      }
    }
    assert.ok(functions >= 90, `expected the 21 tools to have 90+ functions, got ${functions}`);
    assert.ok(withSchema >= 80, `only ${withSchema} functions with a response schema`);
  });

  test('deterministic for the same call, different for different arguments', async () => {
    const first = createSchemaExecutor({ cacheSize: 0 });
    const second = createSchemaExecutor({ cacheSize: 0 });
    let compared = 0;
    for (const tool of tools) {
      for (const fn of tool.functions) {
        const pair = variants(fn);
        if (!pair || !fn.outputSchema) continue;
        const [a, b] = pair;
        const oa = await first.execute(tool, fn.name, a);
        const oa2 = await second.execute(tool, fn.name, { ...a });
        assert.deepEqual(oa2.body, oa.body, `${tool.name}.${fn.name}: same call, same body`);
        if (!allowsVariety(fn.outputSchema)) continue;
        const ob = await first.execute(tool, fn.name, b);
        assert.equal(ob.status, 200);
        assert.notDeepEqual(ob.body, oa.body, `${tool.name}.${fn.name}: different args gave the same body`);
        compared++;
      }
    }
    assert.ok(compared >= 50, `only ${compared} functions compared`);
  });

  test('invalid calls are rejected with 400 and the reasons; the generator is not run', async () => {
    const executor = createSchemaExecutor();
    const nager = tools.find((t) => t.name === 'Nager.Date') as Tool;
    const o = await executor.execute(nager, 'PublicHolidayPublicHolidaysV3', { year: 'next' });
    assert.equal(o.status, 400);
    assert.deepEqual(o.validationErrors, [
      "Missing required parameter 'countryCode'",
      `Parameter 'year' must be integer, got "next"`,
    ]);
    assert.equal(executor.cacheEntries, 0);
  });

  test('a warm cache answers repeated calls; coerced arguments share the entry', async () => {
    const executor = createSchemaExecutor({ cacheSize: 2 });
    const nager = tools.find((t) => t.name === 'Nager.Date') as Tool;
    const a = await executor.execute(nager, 'PublicHolidayPublicHolidaysV3', {
      year: 2024,
      countryCode: 'DE',
    });
    const b = await executor.execute(nager, 'PublicHolidayPublicHolidaysV3', {
      countryCode: 'DE',
      year: '2024',
    });
    assert.equal(executor.cacheEntries, 1);
    assert.strictEqual(b.body, a.body); // the same cached (frozen) value
    assert.ok(Object.isFrozen(a.body));
    await executor.execute(nager, 'PublicHolidayPublicHolidaysV3', { year: 2025, countryCode: 'DE' });
    await executor.execute(nager, 'PublicHolidayPublicHolidaysV3', { year: 2026, countryCode: 'DE' });
    assert.equal(executor.cacheEntries, 2); // LRU bound
  });

  test('a function without a response schema answers 200 with {} (JSON) or a text placeholder', async () => {
    const executor = createSchemaExecutor();
    const nager = tools.find((t) => t.name === 'Nager.Date') as Tool;
    const o = await executor.execute(nager, 'PublicHolidayIsTodayPublicHoliday', { countryCode: 'DE' });
    assert.equal(o.status, 200);
    assert.deepEqual(o.body, {});
  });
});

describe('recursive schemas', () => {
  test('cycles cut by openApiToTool generate bounded, valid, deterministic bodies', async () => {
    const spec = await loadOpenApi(
      {
        openapi: '3.0.3',
        info: { title: 'Tree', version: '1' },
        servers: [{ url: 'https://tree.example.com' }],
        paths: {
          '/tree': {
            get: {
              operationId: 'getTree',
              responses: {
                200: {
                  description: 'ok',
                  content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } },
                },
              },
            },
          },
        },
        components: {
          schemas: {
            Node: {
              type: 'object',
              required: ['name', 'parent'],
              properties: {
                name: { type: 'string' },
                parent: { $ref: '#/components/schemas/Node' },
                children: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
              },
            },
          },
        },
      },
      'tree',
    );
    const tool = openApiToTool(spec);
    const schema = tool.functions[0]?.outputSchema as JsonSchema;
    // The tool model holds a finite schema with placeholders where the cycle was cut.
    assert.ok(JSON.stringify(schema).includes('recursive: Node'));
    const executor = createSchemaExecutor({ cacheSize: 0 });
    const a = await executor.execute(tool, 'getTree', {});
    const b = await executor.execute(tool, 'getTree', {});
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, b.body);
    assert.equal(validates(schema, a.body), undefined);
    assert.ok(JSON.stringify(a.body).length < 20_000);
  });

  test('self-referencing $ref schemas given directly stay bounded and valid', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { value: { type: 'integer' }, next: { description: 'recursive: List' } },
    };
    assert.ok(isCyclePlaceholder(schema.properties && (schema.properties as Json).next));
    const value = generateFromSchema(schema, 7) as Json;
    assert.equal(typeof value.value, 'number');
    assert.equal(value.next, undefined); // optional cut cycle left out
  });

  test('impossible constraints fall back to a minimal valid instance', () => {
    const schema: JsonSchema = {
      type: 'object',
      required: ['code', 'items'],
      properties: {
        code: { type: 'string', pattern: '^[A-Z]{3}$' },
        items: { type: 'array', minItems: 5, items: { type: 'integer', minimum: 10, maximum: 10 } },
      },
    };
    const value = generateFromSchema(schema, 1, { maxItems: 2 });
    assert.equal(validates(schema, value), undefined);
  });
});
