/**
 * Offline executor: fake but schema-valid responses generated from the function's response schema with
 * json-schema-faker, no model and no network.
 *
 * - Deterministic: the random source is seeded from sha256 of the canonical (tool, function, args), so the
 *   same call always gets the same body and different calls usually get different bodies.
 * - Bounded: cut cycles (`openApiToTool`'s `recursive: Name` placeholders) become `null` or are left out,
 *   `$ref` depth is capped, arrays have at most `maxItems` items.
 * - Valid: every body is checked against the schema with ajv; a failing one is regenerated with another seed
 *   (up to `maxAttempts`), then replaced by a minimal valid instance built from the schema.
 * - A function with no response schema answers 200 (or its declared 2xx status) with `{}` when its content
 *   type is JSON or unknown, and a short text placeholder for other content types (images...).
 * - Answers are kept in an in-memory LRU cache keyed by the canonical call.
 */
import { JSONSchemaFaker } from 'json-schema-faker';
import { seededRandom } from '../core/random.js';
import { httpBindingOf } from '../core/http-binding.js';
import { compileSchema, normalizeSchema, type JsonSchema } from '../core/json-schema.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import {
  elapsedMs,
  callSeed,
  callKey,
  type ExecutionContext,
  type Observation,
  type ToolExecutor,
} from './executor.js';
import { prepareCall, type CheckOptions } from './arguments.js';
import { isRecord } from '../core/json-text.js';

type Json = Record<string, unknown>;

export interface SchemaExecutorOptions extends CheckOptions {
  /** Entries kept in the LRU cache of answers (0 disables it). Default 1000. */
  cacheSize?: number;
  /** Largest array generated (a schema's own smaller `maxItems` wins). Default 3. */
  maxItems?: number;
  /** Longest generated string (unless the schema's `minLength` needs more). Default 60. */
  maxLength?: number;
  /** Generation attempts with different seeds before falling back to a minimal instance. Default 5. */
  maxAttempts?: number;
  /** Depth to which json-schema-faker follows a `$ref` that recurs. Default 2. */
  refDepth?: number;
}

const PLACEHOLDER =
  /^(recursive|truncated: schema too deep|unresolved \$ref)|\((recursive|unresolved \$ref)[^)]*\)$/;

/** True for the description-only schemas `openApiToTool` puts where it cut a cycle or a too-deep schema. */
export function isCyclePlaceholder(schema: unknown): boolean {
  if (!isRecord(schema)) return false;
  const keys = Object.keys(schema);
  return (
    keys.length === 1 &&
    keys[0] === 'description' &&
    typeof schema.description === 'string' &&
    PLACEHOLDER.test(schema.description)
  );
}

const STRUCTURAL = [
  'type',
  'properties',
  'additionalProperties',
  'patternProperties',
  'items',
  'enum',
  'const',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'required',
];

const generationCache = new WeakMap<object, Json>();

/**
 * Property names json-schema-faker mistakes for keywords (a property called `definitions` or `not` is not
 * generated); they are renamed for generation and renamed back in the value.
 */
const RESERVED_NAMES = new Set(['definitions', 'not', '$defs', '$ref', '$id', '$schema', '$comment']);
const ALIAS_PREFIX = '__toolalpaca_property__';

function aliasOf(name: string): string {
  return RESERVED_NAMES.has(name) ? `${ALIAS_PREFIX}${name}` : name;
}

function unalias(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unalias);
  if (!isRecord(value)) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    out[key.startsWith(ALIAS_PREFIX) ? key.slice(ALIAS_PREFIX.length) : key] = unalias(item);
  }
  return out;
}

/**
 * The schema handed to json-schema-faker: cycle placeholders become `null` (or the optional property is
 * left out), and schemas that allow anything generate a string instead of json-schema-faker's non-JSON
 * "any" values (NaN, undefined...). Valid output of this schema is valid for the original.
 */
function generationSchema(schema: Json): Json {
  const cached = generationCache.get(schema);
  if (cached) return cached;
  const result = prepareNode(schema, 0);
  generationCache.set(schema, result);
  return result;
}

function prepareNode(node: Json, depth: number): Json {
  if (isCyclePlaceholder(node) || depth > 40) return { type: 'null' };
  if (!STRUCTURAL.some((key) => key in node)) return { ...node, type: 'string' };
  const out: Json = { ...node };
  const types = Array.isArray(node.type) ? node.type : [node.type];
  // Unbounded numbers come out as ±10^8 noise; keep them in a plausible range (still valid for the original).
  if ((types.includes('integer') || types.includes('number')) && node.enum === undefined) {
    if (node.minimum === undefined && node.exclusiveMinimum === undefined && node.maximum === undefined) {
      out.minimum = 0;
    }
    if (node.maximum === undefined && node.exclusiveMaximum === undefined) {
      const low = typeof node.minimum === 'number' ? node.minimum : 0;
      if (low <= 1000) out.maximum = 1000;
    }
  }
  const required = Array.isArray(node.required)
    ? node.required.filter((n): n is string => typeof n === 'string')
    : [];
  if (isRecord(node.properties) || required.length > 0) {
    const source = isRecord(node.properties) ? node.properties : {};
    const props: Json = {};
    for (const [name, sub] of Object.entries(source)) {
      if (!isRecord(sub)) continue;
      if (isCyclePlaceholder(sub) && !required.includes(name)) continue;
      props[aliasOf(name)] = prepareNode(sub, depth + 1);
    }
    // A required property the schema does not describe: any value is valid, a string reads best.
    for (const name of required) if (!(aliasOf(name) in props)) props[aliasOf(name)] = { type: 'string' };
    out.properties = props;
    if (required.length > 0) out.required = required.map(aliasOf);
    // Free-form extra keys would be random words; generate only the declared properties.
    if (Object.keys(props).length > 0 && out.additionalProperties === undefined) {
      out.additionalProperties = false;
    }
  }
  if (isRecord(node.items)) {
    if (isCyclePlaceholder(node.items) && !(typeof node.minItems === 'number' && node.minItems > 0)) {
      out.maxItems = 0;
    }
    out.items = prepareNode(node.items, depth + 1);
  } else if (Array.isArray(node.items)) {
    out.items = node.items.map((sub) => (isRecord(sub) ? prepareNode(sub, depth + 1) : sub));
  }
  if (isRecord(node.additionalProperties)) {
    out.additionalProperties = prepareNode(node.additionalProperties, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = node[key];
    if (Array.isArray(list))
      out[key] = list.map((sub) => (isRecord(sub) ? prepareNode(sub, depth + 1) : sub));
  }
  return out;
}

const FORMAT_SAMPLES: Record<string, string> = {
  'date-time': '2024-01-01T00:00:00Z',
  date: '2024-01-01',
  time: '00:00:00Z',
  email: 'user@example.com',
  'idn-email': 'user@example.com',
  uri: 'https://example.com/',
  'uri-reference': 'https://example.com/',
  iri: 'https://example.com/',
  url: 'https://example.com/',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  uuid: '00000000-0000-4000-8000-000000000000',
  duration: 'P1D',
  byte: '',
};

/** A small instance that satisfies the usual constraints of `schema`; the last resort after generation. */
export function minimalInstance(schema: Json, depth = 0): unknown {
  if (depth > 40) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (Array.isArray(schema.allOf)) {
    const merged: Json = {};
    for (const sub of schema.allOf) if (isRecord(sub)) Object.assign(merged, sub);
    const { allOf: _allOf, ...rest } = schema;
    return minimalInstance({ ...merged, ...rest }, depth + 1);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list) && isRecord(list[0])) return minimalInstance(list[0], depth + 1);
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const type =
    types.find((t) => t !== 'null' && typeof t === 'string') ??
    (isRecord(schema.properties) ? 'object' : schema.items !== undefined ? 'array' : types[0]);
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return false;
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
      const exclusive = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : undefined;
      let value = min ?? (exclusive !== undefined ? exclusive + 1 : 0);
      if (type === 'integer') value = Math.ceil(value);
      if (typeof schema.maximum === 'number' && value > schema.maximum) value = schema.maximum;
      return value;
    }
    case 'array': {
      const count = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const item = isRecord(schema.items) ? schema.items : {};
      return Array.from({ length: count }, () => minimalInstance(item, depth + 1));
    }
    case 'object': {
      const out: Json = {};
      const props = isRecord(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const name of required) {
        if (typeof name !== 'string') continue;
        const sub = props[name];
        out[name] = isRecord(sub) ? minimalInstance(sub, depth + 1) : null;
      }
      return out;
    }
    default: {
      const format = typeof schema.format === 'string' ? FORMAT_SAMPLES[schema.format] : undefined;
      if (format !== undefined) return format;
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      return 'x'.repeat(min);
    }
  }
}

/** JSON round trip: drops `undefined`, turns NaN/Infinity into null, so the body is what a client sees. */
function asJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

export interface GenerateOptions {
  maxItems?: number;
  maxLength?: number;
  maxAttempts?: number;
  refDepth?: number;
}

/**
 * A value valid against `schema` (an OpenAPI/JSON schema as the Tool model holds it), the same for the same
 * seed. Runs json-schema-faker synchronously with its options set for this call only.
 */
export function generateFromSchema(schema: JsonSchema, seed: number, options: GenerateOptions = {}): unknown {
  const normalized = normalizeSchema(schema);
  const validate = compileSchema(schema);
  const target = generationSchema(normalized);
  const attempts = Math.max(1, options.maxAttempts ?? 5);
  for (let attempt = 0; attempt < attempts; attempt++) {
    const random = seededRandom((seed + Math.imul(attempt, 0x9e3779b9)) >>> 0);
    const maxItems = Math.max(1, options.maxItems ?? 3);
    let value: unknown;
    // json-schema-faker reads Math.random in a few places (multipleOf, "any" values); pin it to the seed
    // too. Generation is synchronous, so nothing else runs while it is swapped.
    const original = Math.random;
    Math.random = random;
    try {
      JSONSchemaFaker.option({
        random,
        alwaysFakeOptionals: true,
        // Later attempts relax the caps: they can clash with a schema's own minItems/minLength.
        maxItems: attempt < attempts - 1 ? 1 + Math.floor(random() * maxItems) : undefined,
        maxLength: attempt < attempts - 1 ? (options.maxLength ?? 60) : undefined,
        failOnInvalidTypes: false,
        failOnInvalidFormat: false,
        ignoreMissingRefs: true,
        refDepthMin: 0,
        refDepthMax: options.refDepth ?? 2,
        useDefaultValue: false,
        useExamplesValue: false,
        fillProperties: false,
        minDateTime: '2000-01-01T00:00:00.000Z',
        maxDateTime: '2030-01-01T00:00:00.000Z',
      } as never);
      value = unalias(asJson(JSONSchemaFaker.generate(target as never)));
    } catch {
      continue;
    } finally {
      Math.random = original;
    }
    if (validate(value)) return value;
  }
  return minimalInstance(normalized);
}

function statusOf(fn: ToolFunction): number {
  const status = Number(httpBindingOf(fn)?.response?.status);
  return Number.isInteger(status) && status >= 200 && status < 300 ? status : 200;
}

/** The response's content type: the HTTP binding's, else JSON. */
function contentTypeOf(fn: ToolFunction): string {
  return httpBindingOf(fn)?.response?.contentType ?? 'application/json';
}

function bodyWithoutSchema(fn: ToolFunction): { body: unknown; contentType: string } {
  const contentType = contentTypeOf(fn);
  if (/json/i.test(contentType)) return { body: {}, contentType };
  return { body: `(${contentType} content, not generated offline)`, contentType };
}

/** The schema executor (`kind` and observation `source` are `schema`). */
export function createSchemaExecutor(options: SchemaExecutorOptions = {}): ToolExecutor & {
  /** Entries currently cached. */
  readonly cacheEntries: number;
  clearCache(): void;
} {
  const cacheSize = Math.max(0, options.cacheSize ?? 1000);
  const cache = new Map<string, Omit<Observation, 'latencyMs'>>();
  const generateOptions: GenerateOptions = {
    ...(options.maxItems !== undefined ? { maxItems: options.maxItems } : {}),
    ...(options.maxLength !== undefined ? { maxLength: options.maxLength } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.refDepth !== undefined ? { refDepth: options.refDepth } : {}),
  };

  function answer(
    tool: Tool,
    fn: ToolFunction,
    args: Record<string, unknown>,
  ): Omit<Observation, 'latencyMs'> {
    const schema = fn.outputSchema;
    if (schema === undefined) {
      const { body, contentType } = bodyWithoutSchema(fn);
      return { status: statusOf(fn), body, headers: { 'content-type': contentType }, source: 'schema' };
    }
    const seed = callSeed(tool.name, fn.name, args);
    const body = deepFreeze(generateFromSchema(schema, seed, generateOptions));
    const contentType = contentTypeOf(fn);
    return { status: statusOf(fn), body, headers: { 'content-type': contentType }, source: 'schema' };
  }

  return {
    kind: 'schema',
    // Answers are generated from a seed derived from the call alone (see `callSeed`).
    deterministic: true,
    get cacheEntries() {
      return cache.size;
    },
    clearCache() {
      cache.clear();
    },
    async execute(tool, functionName, args, _context?: ExecutionContext): Promise<Observation> {
      const start = performance.now();
      const prepared = prepareCall(tool, functionName, args, 'schema', options);
      if (!prepared.ok) return prepared.observation;
      const key = callKey(tool.name, prepared.fn.name, prepared.args);
      let result = cache.get(key);
      if (result !== undefined) {
        cache.delete(key); // move to the most recent end
        cache.set(key, result);
      } else {
        result = answer(tool, prepared.fn, prepared.args);
        if (cacheSize > 0) {
          cache.set(key, result);
          if (cache.size > cacheSize) {
            const oldest = cache.keys().next().value;
            if (oldest !== undefined) cache.delete(oldest);
          }
        }
      }
      return {
        ...result,
        headers: { ...result.headers },
        latencyMs: elapsedMs(start),
        ...(prepared.warnings.length > 0 ? { warnings: prepared.warnings } : {}),
      };
    },
  };
}
