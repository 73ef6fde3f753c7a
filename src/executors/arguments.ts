/**
 * Checking a call's arguments against the function's input schema before any executor runs it: ajv
 * validation with ToolAlpaca's type-check messages, and the coercions models need.
 *
 * Conventions:
 * - Every argument is named after a property of the function's `inputSchema` (for HTTP functions: a
 *   parameter, a property of an object body, or `body` for another body).
 * - Unknown arguments are warnings, not errors, by default: ToolAlpaca silently ignores them
 *   (`unknownParameters: 'error'` makes them errors). They are dropped from the checked arguments.
 * - Like ToolAlpaca, top-level strings are coerced to integer/number/boolean when the schema asks for one
 *   ("10" → 10, "true" → true), and JSON text passed for an object or array argument is parsed. For
 *   arguments that travel as text (HTTP path/query/header/cookie parameters) numbers and booleans passed
 *   for strings become strings (ToolAlpaca rejects them), and a comma-separated string passed for an array
 *   becomes an array. `null` for an optional argument that does not allow null counts as omitted (a
 *   warning says so).
 * - HTTP functions with an optional object body: the body's required properties are enforced only when
 *   some body property is given.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { httpBindingOf } from '../core/http-binding.js';
import { compileOrAcceptAll, normalizeSchema, type JsonSchema } from '../core/json-schema.js';
import { isRecord } from '../core/json-text.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import {
  elapsedMs,
  findFunction,
  unknownFunctionObservation,
  type Observation,
  type ObservationSource,
} from './executor.js';
import { argumentSlots } from './http-request.js';

type Json = Record<string, unknown>;

interface ArgumentPlan {
  /** The object schema all arguments are validated against (top-level unknown names are checked apart). */
  schema: JsonSchema;
  validate: ValidateFunction;
  /** Argument name → its normalised schema, in the input schema's order (also the allowed names). */
  properties: Map<string, Json>;
  /** The allowed names as unknown-argument messages list them. */
  allowedText: string;
  /** Arguments that may be omitted (not required by the schema nor as required body properties). */
  optional: Set<string>;
  /** Arguments that travel as text (HTTP path, query, header and cookie parameters). */
  asText: Set<string>;
  /** Properties of an HTTP object body, and those of them the body schema requires. */
  bodyProperties: Set<string>;
  bodyRequired: string[];
  bodyRequiredAlways: boolean;
}

const planCache = new WeakMap<ToolFunction, ArgumentPlan>();

function planOf(fn: ToolFunction): ArgumentPlan {
  const cached = planCache.get(fn);
  if (cached) return cached;
  const input = fn.inputSchema;
  const properties = new Map<string, Json>();
  const given = isRecord(input.properties) ? input.properties : {};
  for (const [name, sub] of Object.entries(given)) {
    if (isRecord(sub)) properties.set(name, normalizeSchema(sub));
  }
  const asText = new Set<string>();
  const bodyProperties = new Set<string>();
  let bodyRequired: string[] = [];
  const binding = httpBindingOf(fn);
  if (binding !== undefined) {
    for (const [name, slot] of argumentSlots(binding)) {
      if (slot === 'body-property') bodyProperties.add(name);
      else if (slot !== 'body') asText.add(name);
    }
    const bodySchema = binding.requestBody ? normalizeSchema(binding.requestBody.schema) : {};
    bodyRequired = Array.isArray(bodySchema.required)
      ? bodySchema.required.filter((n): n is string => typeof n === 'string' && bodyProperties.has(n))
      : [];
  }
  // Body properties are required apart (see bodyRequired), so the schema leaves them out.
  const required = (Array.isArray(input.required) ? input.required : []).filter(
    (n): n is string => typeof n === 'string' && properties.has(n) && !bodyProperties.has(n),
  );
  const { properties: _p, required: _r, ...rest } = normalizeSchema(input);
  const schema: Json = { ...rest, type: 'object', properties: Object.fromEntries(properties) };
  if (required.length > 0) schema.required = required;
  const optional = new Set(
    [...properties.keys()].filter((name) => !required.includes(name) && !bodyRequired.includes(name)),
  );
  const plan: ArgumentPlan = {
    schema,
    validate: compileOrAcceptAll(schema),
    properties,
    allowedText: properties.size === 0 ? '(none)' : [...properties.keys()].join(', '),
    optional,
    asText,
    bodyProperties,
    bodyRequired,
    bodyRequiredAlways: binding?.requestBody?.required === true,
  };
  planCache.set(fn, plan);
  return plan;
}

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

function coerce(value: unknown, schema: Json, asText: boolean): unknown {
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
  if (asText && types.includes('array') && typeof value === 'string' && !types.includes('string')) {
    const itemSchema = isRecord(schema.items) ? schema.items : {};
    const parts = value.trim() === '' ? [] : value.split(',').map((part) => part.trim());
    return parts.map((part) => coerceScalar(part, typesOf(itemSchema), true));
  }
  if (asText && Array.isArray(value) && isRecord(schema.items)) {
    const itemTypes = typesOf(schema.items);
    return value.map((item) => coerceScalar(item, itemTypes, true));
  }
  return coerceScalar(value, types, asText);
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
 * Check and coerce a call's arguments against the function's input schema (compiled once per function). Errors use ToolAlpaca-style wording that names the parameter and what is allowed:
 * `Missing required parameter 'countryCode'`, `Parameter 'limit' must be integer, got "ten"`,
 * `Parameter 'color' must be one of [wild, leucistic, albino], got "blue"`,
 * `Unknown parameter 'foo'; allowed: a, b`.
 */
export function checkArguments(
  fn: ToolFunction,
  args: Record<string, unknown>,
  options: CheckOptions = {},
): ArgumentCheck {
  if (!isRecord(args)) {
    return { errors: ['Arguments must be a JSON object'], warnings: [], args: {} };
  }
  const mode = options.unknownParameters ?? 'warn';
  const frozen = Object.isFrozen(args);
  if (frozen && lastCheck?.args === args && lastCheck.fn === fn && lastCheck.mode === mode) {
    return lastCheck.check;
  }
  const check = runCheck(planOf(fn), args, mode);
  if (frozen) lastCheck = { args, fn, mode, check };
  return check;
}

/**
 * The last check of a frozen argument object, so that a call checked by `serve` just before it calls the
 * executor (which checks again, at once) is not checked twice. Frozen: the arguments cannot have changed.
 */
let lastCheck: { args: object; fn: ToolFunction; mode: string; check: ArgumentCheck } | undefined;

function runCheck(plan: ArgumentPlan, args: Record<string, unknown>, mode: 'warn' | 'error'): ArgumentCheck {
  const errors: string[] = [];
  const warnings: string[] = [];
  const coerced: Record<string, unknown> = {};
  for (const name in args) {
    if (!Object.hasOwn(args, name)) continue;
    const value = args[name];
    const schema = plan.properties.get(name);
    if (schema === undefined) {
      const message = `Unknown parameter '${name}'; allowed: ${plan.allowedText}`;
      if (mode === 'error') errors.push(message);
      else warnings.push(`${message} (ignored)`);
      continue;
    }
    if (value === undefined) continue;
    const optional = plan.optional.has(name);
    if (value === null && optional && !allowsNull(schema)) {
      warnings.push(`Parameter '${name}' is null; treated as omitted`);
      continue;
    }
    // Models (and ToolAlpaca's golden answers) write "" for an optional parameter they leave unset; when the
    // schema cannot take an empty string (an enum without it, a number...), that means "omitted".
    if (value === '' && optional && !acceptsEmptyString(schema)) {
      warnings.push(`Parameter '${name}' is empty; treated as omitted`);
      continue;
    }
    coerced[name] = coerce(value, schema, plan.asText.has(name));
  }
  if (!plan.validate(coerced)) {
    for (const error of plan.validate.errors ?? []) {
      const message = formatError(error, coerced);
      if (message !== undefined && !errors.includes(message)) errors.push(message);
    }
  }
  let bodyGiven = plan.bodyRequiredAlways;
  if (!bodyGiven) {
    for (const name of plan.bodyProperties) {
      if (name in coerced) {
        bodyGiven = true;
        break;
      }
    }
  }
  if (bodyGiven) {
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
