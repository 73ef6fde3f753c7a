/**
 * JSON Schema in one place: normalising the OpenAPI 3.0 dialect (and loose hand-written schemas) to plain
 * JSON Schema, one ajv set-up that compiles validators, and canonical JSON (sorted keys) for hashing.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isRecord } from './json-text.js';

/** A JSON Schema object (draft 2020-12 / OpenAPI 3.1 dialect, or the OpenAPI 3.0 subset). */
export type JsonSchema = Record<string, unknown>;

type Json = Record<string, unknown>;

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

// ---------------------------------------------------------------------------------------------------------
// Normalising: OpenAPI 3.0 dialect → JSON Schema draft-07 that ajv and json-schema-faker both accept.

const TYPE_ALIASES: Record<string, string> = {
  string: 'string',
  str: 'string',
  text: 'string',
  date: 'string',
  datetime: 'string',
  'date-time': 'string',
  file: 'string',
  integer: 'integer',
  int: 'integer',
  long: 'integer',
  int32: 'integer',
  int64: 'integer',
  number: 'number',
  float: 'number',
  double: 'number',
  decimal: 'number',
  boolean: 'boolean',
  bool: 'boolean',
  array: 'array',
  list: 'array',
  object: 'object',
  dict: 'object',
  map: 'object',
  null: 'null',
};

/** A schema's `type` with loose names mapped (`int` → integer, `float` → number...); undefined when unknown. */
export function normalizeType(type: unknown): string | string[] | undefined {
  const one = (t: unknown): string | undefined =>
    typeof t === 'string' ? TYPE_ALIASES[t.trim().toLowerCase()] : undefined;
  if (Array.isArray(type)) {
    const list = [...new Set(type.map(one).filter((t): t is string => t !== undefined))];
    return list.length === 0 ? undefined : list.length === 1 ? list[0] : list;
  }
  return one(type);
}

function validPattern(pattern: unknown): boolean {
  if (typeof pattern !== 'string') return false;
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

const SCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependencies'] as const;
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'] as const;
const SCHEMA_SINGLES = [
  'additionalProperties',
  'not',
  'additionalItems',
  'contains',
  'propertyNames',
] as const;
/** Deeper schemas are cut to `{}` (accept anything) when normalised. */
const MAX_NORMALIZE_DEPTH = 64;

const normalizedCache = new WeakMap<object, JsonSchema>();

/**
 * A JSON Schema (draft-07) equivalent of an OpenAPI schema: `nullable` becomes a `null` type, boolean
 * `exclusiveMinimum/Maximum` become numbers, loose type names (`int`, `float`, `file`...) are mapped,
 * leftover `$ref`s (external or cut cycles), invalid patterns and non-array `required` are dropped.
 * Memoised per schema object; never mutates its input; normalising twice gives the same schema.
 */
export function normalizeSchema(schema: JsonSchema): JsonSchema {
  const cached = normalizedCache.get(schema);
  if (cached) return cached;
  const result = normalizeNode(schema, 0);
  normalizedCache.set(schema, result);
  return result;
}

function normalizeNode(node: Json, depth: number): Json {
  if (depth > MAX_NORMALIZE_DEPTH) return {};
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' || key === 'nullable' || key === '$schema' || key === '$id' || key === 'id') continue;
    if (key === 'type') {
      const type = normalizeType(value);
      if (type !== undefined) out.type = type;
    } else if (key === 'required') {
      if (Array.isArray(value)) out.required = value.filter((v) => typeof v === 'string');
    } else if (key === 'pattern') {
      if (validPattern(value)) out.pattern = value;
    } else if ((SCHEMA_MAPS as readonly string[]).includes(key) && isRecord(value)) {
      const map: Json = {};
      for (const [name, sub] of Object.entries(value)) {
        map[name] = isRecord(sub) ? normalizeNode(sub, depth + 1) : sub;
      }
      out[key] = map;
    } else if ((SCHEMA_LISTS as readonly string[]).includes(key) && Array.isArray(value)) {
      const list = value.filter(isRecord).map((sub) => normalizeNode(sub, depth + 1));
      if (list.length > 0) out[key] = list;
    } else if ((SCHEMA_SINGLES as readonly string[]).includes(key)) {
      if (isRecord(value)) out[key] = normalizeNode(value, depth + 1);
      else if (typeof value === 'boolean') out[key] = value;
    } else if (key === 'items') {
      if (isRecord(value)) out.items = normalizeNode(value, depth + 1);
      else if (Array.isArray(value))
        out.items = value.filter(isRecord).map((s) => normalizeNode(s, depth + 1));
    } else if (key === 'enum') {
      if (Array.isArray(value) && value.length > 0) out.enum = value;
    } else {
      out[key] = value;
    }
  }
  // OpenAPI 3.0 / draft-04 boolean exclusive bounds.
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[exclusive] === 'boolean') {
      if (out[exclusive] === true && typeof out[bound] === 'number') {
        out[exclusive] = out[bound];
        delete out[bound];
      } else delete out[exclusive];
    }
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.type) && !out.type.includes('null')) out.type = [...out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Compiling: one ajv set-up for the whole project.

const AJV_OPTIONS = { strict: false, allErrors: true, logger: false, allowUnionTypes: true } as const;
let draft7: Ajv | undefined;
let draft2020: Ajv | undefined;

/** The project's ajv instance for a schema: Ajv2020 when `$schema` names 2019-09/2020-12, else draft-07. */
function ajvFor(schema: JsonSchema): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (/2020-12|2019-09/.test(dialect)) {
    draft2020 ??= addFormats(new Ajv2020(AJV_OPTIONS) as unknown as Ajv);
    return draft2020;
  }
  draft7 ??= addFormats(new Ajv(AJV_OPTIONS));
  return draft7;
}

/**
 * Sets up the draft-07 validator now rather than in the first compile, which otherwise also compiles
 * ajv's meta-schema (tens of milliseconds). A long-lived worker calls it before it takes jobs, so that no
 * run's first task pays for it.
 */
export function prepareSchemaCompiler(): void {
  ajvFor({}).validateSchema({});
}

// Compiled validators by schema text. The same tools loaded again (another run, eval set or server in
// this process) reuse them instead of compiling again, and ajv's own cache, which holds every schema
// object it ever compiled, grows only with distinct schemas.
const validatorsByText = new Map<string, ValidateFunction | Error>();

/**
 * ajv's validator for `schema` as it is (no normalising), compiled once per distinct schema text; an
 * `Error` when ajv cannot compile it.
 */
export function tryCompile(schema: JsonSchema): ValidateFunction | Error {
  const text = JSON.stringify(schema);
  let entry = validatorsByText.get(text);
  if (entry === undefined) {
    try {
      entry = ajvFor(schema).compile(schema);
    } catch (error) {
      entry = error instanceof Error ? error : new Error(String(error));
    }
    validatorsByText.set(text, entry);
  }
  return entry;
}

const acceptAll = ((): ValidateFunction => {
  const fn = (() => true) as unknown as ValidateFunction;
  fn.errors = null;
  return fn;
})();

/** Like `tryCompile`, but a schema ajv cannot compile validates everything rather than failing the call. */
export function compileOrAcceptAll(schema: JsonSchema): ValidateFunction {
  const entry = tryCompile(schema);
  return entry instanceof Error ? acceptAll : entry;
}

const validatorCache = new WeakMap<object, ValidateFunction>();

/**
 * A compiled validator for a schema in any supported dialect (normalised first), cached per schema object.
 * A schema ajv cannot compile (broken keyword values) validates everything rather than failing the call.
 */
export function compileSchema(schema: JsonSchema): ValidateFunction {
  const cached = validatorCache.get(schema);
  if (cached) return cached;
  const validate = compileOrAcceptAll(normalizeSchema(schema));
  validatorCache.set(schema, validate);
  return validate;
}

/** ajv errors as one-line strings naming the place in `what` (e.g. "response body"). */
export function schemaErrors(validate: ValidateFunction, what: string): string[] {
  return (validate.errors ?? []).map(
    (e) => `${what}${e.instancePath === '' ? '' : ` at ${e.instancePath}`} ${e.message ?? 'is invalid'}`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Canonical JSON

/**
 * Canonical JSON: object keys sorted at every level, `undefined` members dropped (so `{a: undefined}` and
 * `{}` are the same value), arrays kept in order, `toJSON` honoured. Equal values give equal text
 * whatever their key order; the basis of every content hash in the project.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value)) ?? 'null';
}

function canonicalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : canonicalize(item)));
  const record = value as Record<string, unknown>;
  if (typeof (record as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalize((record as { toJSON: () => unknown }).toJSON());
  }
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    // defineProperty: a `__proto__` key (JSON.parse makes it an own property) stays a member.
    Object.defineProperty(sorted, key, {
      value: canonicalize(member),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return sorted;
}
