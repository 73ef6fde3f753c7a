/**
 * From a function call's arguments to an HTTP request: argument validation (ajv, with ToolAlpaca's
 * type-check messages), parameter placement (path, query, header, cookie, body) and a curl rendering.
 *
 * Argument conventions:
 * - Every argument is named after a parameter (`fn.parameters[].name`) or, for request bodies whose schema
 *   is an object, after a body property; a non-object body (array, string...) is passed whole as `body`.
 * - Unknown arguments are warnings, not errors, by default: ToolAlpaca silently ignores them
 *   (`unknownParameters: 'error'` makes them errors). They are not sent.
 * - Like ToolAlpaca, top-level strings are coerced to integer/number/boolean when the schema asks for one
 *   ("10" → 10, "true" → true). Also (unlike ToolAlpaca, which rejects them) numbers and booleans passed
 *   for string path/query/header/cookie parameters become strings, since they travel as text anyway, and a
 *   comma-separated string passed for an array parameter becomes an array, and JSON text passed for an
 *   object or array argument is parsed. `null` for an optional
 *   parameter that does not allow null counts as omitted (a warning says so).
 * - Query arrays are repeated keys (`a=1&a=2`, OpenAPI's default form/explode); query objects are sent as
 *   JSON text; path arrays are comma-joined.
 */
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema, Tool, ToolFunction } from '../core/tool.js';
import {
  elapsedMs,
  findFunction,
  unknownFunctionObservation,
  type Observation,
  type ObservationSource,
} from './executor.js';
import { isRecord } from '../core/json-text.js';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------
// Schemas: OpenAPI 3.0 dialect → JSON Schema draft-07 that ajv and json-schema-faker both accept.

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

function normalizeType(type: unknown): string | string[] | undefined {
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

const normalizedCache = new WeakMap<object, JsonSchema>();

/**
 * A JSON Schema (draft-07) equivalent of an OpenAPI schema: `nullable` becomes a `null` type, boolean
 * `exclusiveMinimum/Maximum` become numbers, loose type names (`int`, `float`, `file`...) are mapped,
 * leftover `$ref`s (external or cut cycles), invalid patterns and non-array `required` are dropped.
 * Memoised per schema object; never mutates its input.
 */
export function normalizeSchema(schema: JsonSchema): JsonSchema {
  const cached = normalizedCache.get(schema);
  if (cached) return cached;
  const result = normalizeNode(schema, 0);
  normalizedCache.set(schema, result);
  return result;
}

function normalizeNode(node: Json, depth: number): Json {
  if (depth > 64) return {};
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

const ajv = new Ajv({ strict: false, allErrors: true, logger: false, allowUnionTypes: true });
addFormats(ajv);
const acceptAll = ((): ValidateFunction => {
  const fn = (() => true) as unknown as ValidateFunction;
  fn.errors = null;
  return fn;
})();
const validatorCache = new WeakMap<object, ValidateFunction>();
// Compiled validators by schema text. The same tools loaded again (another run, eval set or server in
// this process) reuse them instead of compiling again, and ajv's own cache, which holds every schema
// object it ever compiled, grows only with distinct schemas.
const validatorsByText = new Map<string, ValidateFunction>();

/** ajv's validator for a schema already in ajv's dialect, compiled once per distinct schema text. */
function compileOnce(schema: Json): ValidateFunction {
  const text = JSON.stringify(schema);
  let validate = validatorsByText.get(text);
  if (validate === undefined) {
    try {
      validate = ajv.compile(schema);
    } catch {
      validate = acceptAll;
    }
    validatorsByText.set(text, validate);
  }
  return validate;
}

/**
 * A compiled ajv validator for a (normalised) schema, cached per schema object. A schema ajv cannot
 * compile (broken keyword values) validates everything rather than failing the call.
 */
export function compileSchema(schema: JsonSchema): ValidateFunction {
  const cached = validatorCache.get(schema);
  if (cached) return cached;
  const validate = compileOnce(normalizeSchema(schema));
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
// Arguments: which schema each argument name belongs to.

export type ArgumentSlot = 'path' | 'query' | 'header' | 'cookie' | 'body-property' | 'body';

interface ArgumentPlan {
  /** Argument name → where it goes. */
  slots: Map<string, ArgumentSlot>;
  /** The object schema all arguments are validated against (top-level unknown names are checked apart). */
  schema: JsonSchema;
  validate: ValidateFunction;
  /** Per-argument normalised schema, for coercion. */
  properties: Map<string, Json>;
  /** Required body properties, enforced only when the body is required or some body argument is given. */
  bodyRequired: string[];
  bodyRequiredAlways: boolean;
}

const planCache = new WeakMap<ToolFunction, ArgumentPlan>();

/** True when the request body schema describes an object whose properties are the arguments. */
export function bodyIsObject(fn: ToolFunction): boolean {
  const schema = fn.requestBody?.schema;
  if (schema === undefined) return false;
  const type = normalizeType(schema.type);
  if (type === undefined) return !('items' in schema) && !('enum' in schema);
  return type === 'object' || (Array.isArray(type) && type.includes('object'));
}

function planOf(fn: ToolFunction): ArgumentPlan {
  const cached = planCache.get(fn);
  if (cached) return cached;
  const slots = new Map<string, ArgumentSlot>();
  const properties: Json = {};
  const required: string[] = [];
  for (const p of fn.parameters) {
    if (slots.has(p.name)) continue; // same name in two locations: the first one wins
    slots.set(p.name, p.in);
    properties[p.name] = normalizeSchema(p.schema);
    if (p.required) required.push(p.name);
  }
  let bodyRequired: string[] = [];
  const body = fn.requestBody;
  if (body) {
    const schema = normalizeSchema(body.schema);
    if (bodyIsObject(fn)) {
      const props = isRecord(schema.properties) ? schema.properties : {};
      for (const [name, sub] of Object.entries(props)) {
        if (slots.has(name) || !isRecord(sub)) continue;
        slots.set(name, 'body-property');
        properties[name] = sub;
      }
      bodyRequired = Array.isArray(schema.required)
        ? schema.required.filter(
            (n): n is string => typeof n === 'string' && slots.get(n) === 'body-property',
          )
        : [];
    } else if (!slots.has('body')) {
      slots.set('body', 'body');
      properties.body = schema;
      if (body.required) required.push('body');
    }
  }
  const argumentSchema: Json = { type: 'object', properties };
  if (required.length > 0) argumentSchema.required = required;
  const validate = compileOnce(argumentSchema);
  const plan: ArgumentPlan = {
    slots,
    schema: argumentSchema,
    validate,
    properties: new Map(Object.entries(properties).filter((e): e is [string, Json] => isRecord(e[1]))),
    bodyRequired,
    bodyRequiredAlways: body?.required === true,
  };
  planCache.set(fn, plan);
  return plan;
}

/** Where each argument name of `fn` goes. */
export function argumentSlots(fn: ToolFunction): ReadonlyMap<string, ArgumentSlot> {
  return planOf(fn).slots;
}

// ---------------------------------------------------------------------------------------------------------
// Validation

export interface CheckOptions {
  /** What an argument matching no parameter is: a warning (default, ToolAlpaca ignores it) or an error. */
  unknownParameters?: 'warn' | 'error';
}

export interface ArgumentCheck {
  /** Messages that reject the call (empty when the call is valid). */
  errors: string[];
  /** Messages about things ignored or coerced that did not reject the call. */
  warnings: string[];
  /** The arguments after coercion, without unknown or ignored ones: what the request is built from. */
  args: Record<string, unknown>;
}

function typesOf(schema: Json): string[] {
  const type = schema.type;
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return [];
}

function acceptsEmptyString(schema: JsonSchema): boolean {
  if (Array.isArray(schema.enum)) return schema.enum.includes('');
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return schema.type === undefined || types.includes('string');
}

function allowsNull(schema: Json): boolean {
  const types = typesOf(schema);
  return types.length === 0
    ? !Array.isArray(schema.enum) || schema.enum.includes(null)
    : types.includes('null');
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
    case 'null':
      return value === null;
    default:
      return true;
  }
}

function coerceScalar(value: unknown, types: string[], toString: boolean): unknown {
  if (types.length === 0 || types.some((t) => matchesType(value, t))) return value;
  for (const type of types) {
    if (typeof value === 'string') {
      const text = value.trim();
      if (type === 'integer' && /^[+-]?\d+$/.test(text)) return Number(text);
      if (type === 'number' && text !== '' && Number.isFinite(Number(text))) return Number(text);
      if (type === 'boolean' && /^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
    }
    if (type === 'number' && typeof value === 'number') return value;
    if (toString && type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
      return String(value);
    }
  }
  return value;
}

function coerce(value: unknown, schema: Json, slot: ArgumentSlot): unknown {
  const types = typesOf(schema);
  // Models often pass an object or array argument as JSON text.
  if (typeof value === 'string' && !types.includes('string') && /^\s*[[{]/.test(value)) {
    try {
      const parsed = JSON.parse(value) as unknown;
      if (
        (isRecord(parsed) && types.includes('object')) ||
        (Array.isArray(parsed) && types.includes('array'))
      ) {
        return parsed;
      }
    } catch {
      // not JSON: validation reports the type
    }
  }
  const onTheWire = slot !== 'body' && slot !== 'body-property';
  if (onTheWire && types.includes('array') && typeof value === 'string' && !types.includes('string')) {
    const itemSchema = isRecord(schema.items) ? schema.items : {};
    const parts = value.trim() === '' ? [] : value.split(',').map((part) => part.trim());
    return parts.map((part) => coerceScalar(part, typesOf(itemSchema), true));
  }
  if (onTheWire && Array.isArray(value) && isRecord(schema.items)) {
    const itemTypes = typesOf(schema.items);
    return value.map((item) => coerceScalar(item, itemTypes, true));
  }
  return coerceScalar(value, types, onTheWire);
}

function shortValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function pointerToName(pointer: string): string {
  let name = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    name += /^\d+$/.test(part) ? `[${part}]` : name === '' ? part : `.${part}`;
  }
  return name;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isRecord(node)) node = node[part];
    else return undefined;
  }
  return node;
}

function formatError(error: ErrorObject, args: unknown): string | undefined {
  const name = pointerToName(error.instancePath);
  const value = valueAt(args, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return `Missing required parameter '${name === '' ? missing : `${name}.${missing}`}'`;
    }
    case 'type': {
      const expected = Array.isArray(params.type) ? params.type.join(' or ') : String(params.type);
      return `Parameter '${name}' must be ${expected}, got ${shortValue(value)}`;
    }
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : [];
      const list = allowed.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
      return `Parameter '${name}' must be one of [${list}], got ${shortValue(value)}`;
    }
    case 'const':
      return `Parameter '${name}' must be ${shortValue(params.allowedValue)}, got ${shortValue(value)}`;
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      return `Parameter '${name}' has unknown property '${extra}'`;
    }
    case 'format':
      return `Parameter '${name}' must match format "${String(params.format)}", got ${shortValue(value)}`;
    case 'if':
      return undefined; // the branch's own errors say what is wrong
    default:
      return `Parameter '${name}' ${error.message ?? 'is invalid'}, got ${shortValue(value)}`;
  }
}

/**
 * Check and coerce a call's arguments against the function's parameters and body schema (compiled once per
 * function). Errors use ToolAlpaca-style wording that names the parameter and what is allowed:
 * `Missing required parameter 'countryCode'`, `Parameter 'limit' must be integer, got "ten"`,
 * `Parameter 'color' must be one of [wild, leucistic, albino], got "blue"`,
 * `Unknown parameter 'foo'; allowed: a, b`.
 */
export function checkArguments(
  fn: ToolFunction,
  args: Record<string, unknown>,
  options: CheckOptions = {},
): ArgumentCheck {
  const plan = planOf(fn);
  const errors: string[] = [];
  const warnings: string[] = [];
  const coerced: Record<string, unknown> = {};
  if (!isRecord(args)) {
    return { errors: ['Arguments must be a JSON object'], warnings, args: {} };
  }
  const allowed = [...plan.slots.keys()];
  const allowedText = allowed.length === 0 ? '(none)' : allowed.join(', ');
  for (const [name, value] of Object.entries(args)) {
    const slot = plan.slots.get(name);
    if (slot === undefined) {
      const message = `Unknown parameter '${name}'; allowed: ${allowedText}`;
      if (options.unknownParameters === 'error') errors.push(message);
      else warnings.push(`${message} (ignored)`);
      continue;
    }
    if (value === undefined) continue;
    const schema = plan.properties.get(name) ?? {};
    const required = plan.schema.required;
    const optional =
      !(Array.isArray(required) && required.includes(name)) && !plan.bodyRequired.includes(name);
    if (value === null && !allowsNull(schema) && optional) {
      warnings.push(`Parameter '${name}' is null; treated as omitted`);
      continue;
    }
    // Models (and ToolAlpaca's golden answers) write "" for an optional parameter they leave unset; when the
    // schema cannot take an empty string (an enum without it, a number...), that means "omitted".
    if (value === '' && optional && !acceptsEmptyString(schema)) {
      warnings.push(`Parameter '${name}' is empty; treated as omitted`);
      continue;
    }
    coerced[name] = coerce(value, schema, slot);
  }
  if (!plan.validate(coerced)) {
    for (const error of plan.validate.errors ?? []) {
      const message = formatError(error, coerced);
      if (message !== undefined && !errors.includes(message)) errors.push(message);
    }
  }
  const bodyGiven = [...plan.slots].some(([name, slot]) => slot === 'body-property' && name in coerced);
  if (plan.bodyRequiredAlways || bodyGiven) {
    for (const name of plan.bodyRequired) {
      if (!(name in coerced)) errors.push(`Missing required parameter '${name}'`);
    }
  }
  return { errors, warnings, args: coerced };
}

/** The reasons a call's arguments are rejected (empty when valid); see `checkArguments`. */
export function validateArguments(
  fn: ToolFunction,
  args: Record<string, unknown>,
  options: CheckOptions = {},
): string[] {
  return checkArguments(fn, args, options).errors;
}

export type PreparedCall =
  | { ok: true; fn: ToolFunction; args: Record<string, unknown>; warnings: string[] }
  | { ok: false; observation: Observation };

/**
 * What every executor does before running a call: find the function (404 observation when unknown) and check
 * the arguments (400 observation with `validationErrors` when invalid, so the executor is not called).
 */
export function prepareCall(
  tool: Tool,
  functionName: string,
  args: Record<string, unknown>,
  source: ObservationSource,
  options: CheckOptions = {},
): PreparedCall {
  const start = performance.now();
  const fn = findFunction(tool, functionName);
  if (fn === undefined) {
    return {
      ok: false,
      observation: unknownFunctionObservation(tool, functionName, source, elapsedMs(start)),
    };
  }
  const check = checkArguments(fn, args, options);
  if (check.errors.length > 0) {
    return {
      ok: false,
      observation: {
        status: 400,
        body: { error: 'invalid arguments', function: fn.name, validationErrors: check.errors },
        headers: { 'content-type': 'application/json' },
        source,
        latencyMs: elapsedMs(start),
        validationErrors: check.errors,
        ...(check.warnings.length > 0 ? { warnings: check.warnings } : {}),
      },
    };
  }
  return { ok: true, fn, args: check.args, warnings: check.warnings };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP requests

export interface HttpRequest {
  /** Upper-case method. */
  method: string;
  /** Absolute URL (relative when the tool has no server and no base URL was given). */
  url: string;
  /** Header names as the spec spells them; `Content-Type` is set when there is a body. */
  headers: Record<string, string>;
  cookies: Record<string, string>;
  /** Serialised body (JSON, urlencoded or multipart text). */
  body?: string;
  /** The body value before serialisation, when there is a body. */
  bodyValue?: unknown;
}

/** A multipart boundary that is fixed so that requests (and curl renderings) are reproducible. */
export const MULTIPART_BOUNDARY = '----toolalpaca-form-boundary';

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

/** Join a server URL and an operation path with exactly one `/` between them. */
export function joinUrl(base: string, path: string): string {
  if (base === '') return path.startsWith('/') ? path : `/${path}`;
  const left = base.replace(/\/+$/, '');
  const right = path.replace(/^\/+/, '');
  return right === '' ? `${left}/` : `${left}/${right}`;
}

function formFields(value: Json): [string, string][] {
  const fields: [string, string][] = [];
  for (const [name, item] of Object.entries(value)) {
    if (item === undefined) continue;
    if (Array.isArray(item)) for (const one of item) fields.push([name, textOf(one)]);
    else fields.push([name, textOf(item)]);
  }
  return fields;
}

function serializeBody(contentType: string, value: unknown): string {
  const type = contentType.toLowerCase();
  if (type.includes('x-www-form-urlencoded') && isRecord(value)) {
    return new URLSearchParams(formFields(value)).toString();
  }
  if (type.includes('multipart/form-data') && isRecord(value)) {
    const parts = formFields(value).map(
      ([name, text]) =>
        `--${MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="${name.replace(/"/g, '%22')}"\r\n\r\n${text}\r\n`,
    );
    return `${parts.join('')}--${MULTIPART_BOUNDARY}--\r\n`;
  }
  if (type.includes('json') || typeof value !== 'string') return JSON.stringify(value);
  return value;
}

/**
 * The HTTP request a call stands for. `args` should be the checked arguments (`checkArguments(...).args`);
 * arguments that match no parameter or body property are left out. The base URL is `baseUrl`, else the
 * tool's first server, else none (the URL is then just the path).
 */
export function buildHttpRequest(
  tool: Tool,
  fn: ToolFunction,
  args: Record<string, unknown>,
  baseUrl?: string,
): HttpRequest {
  const plan = planOf(fn);
  const headers: Record<string, string> = {};
  const cookies: Record<string, string> = {};
  const query = new URLSearchParams();
  const used = new Set<string>();

  const path = fn.path.replace(/\{([^}]+)\}/g, (whole, name: string) => {
    const slot = plan.slots.get(name);
    const value = args[name];
    // Also fill placeholders the spec forgot to declare as parameters, when an argument has that name.
    if (value === undefined || (slot !== undefined && slot !== 'path')) return whole;
    used.add(name);
    const text = Array.isArray(value) ? value.map(textOf).join(',') : textOf(value);
    return encodeURIComponent(text);
  });

  let bodyValue: unknown;
  const bodyProps: Json = {};
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || used.has(name)) continue;
    const slot = plan.slots.get(name);
    switch (slot) {
      case 'query':
        if (Array.isArray(value)) for (const item of value) query.append(name, textOf(item));
        else query.append(name, textOf(value));
        break;
      case 'header':
        headers[name] = Array.isArray(value) ? value.map(textOf).join(',') : textOf(value);
        break;
      case 'cookie':
        cookies[name] = Array.isArray(value) ? value.map(textOf).join(',') : textOf(value);
        break;
      case 'body-property':
        bodyProps[name] = value;
        break;
      case 'body':
        bodyValue = value;
        break;
      default:
        break; // path (already placed) or unknown (not sent)
    }
  }
  if (fn.requestBody && bodyIsObject(fn)) {
    if (Object.keys(bodyProps).length > 0 || fn.requestBody.required) bodyValue = bodyProps;
  }

  const base = baseUrl ?? tool.servers[0] ?? '';
  let url = joinUrl(base, path);
  const queryText = query.toString();
  if (queryText !== '') url += `${url.includes('?') ? '&' : '?'}${queryText}`;

  const request: HttpRequest = { method: fn.method.toUpperCase(), url, headers, cookies };
  if (bodyValue !== undefined && fn.requestBody) {
    const contentType = fn.requestBody.contentType.toLowerCase().includes('multipart/form-data')
      ? `multipart/form-data; boundary=${MULTIPART_BOUNDARY}`
      : fn.requestBody.contentType;
    request.headers = { 'Content-Type': contentType, ...headers };
    request.body = serializeBody(fn.requestBody.contentType, bodyValue);
    request.bodyValue = bodyValue;
  }
  return request;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The request as a curl command line (shell-quoted), as ToolAlpaca's simulator prompt shows requests. */
export function toCurl(req: HttpRequest): string {
  const parts = ['curl', '-X', req.method, shellQuote(req.url)];
  for (const [name, value] of Object.entries(req.headers)) parts.push('-H', shellQuote(`${name}: ${value}`));
  const cookieText = Object.entries(req.cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
  if (cookieText !== '') parts.push('-b', shellQuote(cookieText));
  if (req.body !== undefined) parts.push('-d', shellQuote(req.body));
  return parts.join(' ');
}

/** Cookie header text for a request's cookies (values URL-encoded). */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('; ');
}
