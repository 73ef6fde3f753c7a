/**
 * What the tool model derives from an HTTP binding: a function's arguments schema (its parameters, then
 * the properties of an object body, or `body` for any other body), a function built from OpenAPI-style
 * fields, and an HTTP view of any function (its own binding, or POST /{name} with the arguments as JSON).
 */
import { isRecord } from './json-text.js';
import { normalizeSchema, normalizeType, type JsonSchema } from './json-schema.js';
import type { HttpBinding, ToolFunction } from './tool.js';

/** True when the request body schema describes an object whose properties are the arguments. */
export function bodyIsObject(binding: Pick<HttpBinding, 'requestBody'>): boolean {
  const schema = binding.requestBody?.schema;
  if (schema === undefined) return false;
  const type = normalizeType(schema.type);
  if (type === undefined) return !('items' in schema) && !('enum' in schema);
  return type === 'object' || (Array.isArray(type) && type.includes('object'));
}

/**
 * JSON Schema of the arguments of an HTTP function: every parameter (normalised, with its description),
 * the first of two with the same name winning; then the properties of an object body, required only when
 * the body is; or, for another body, one `body` argument. `required` lists parameters first, in order.
 */
export function httpInputSchema(binding: HttpBinding): JsonSchema {
  // A Map, so that names like `__proto__` or `constructor` are plain argument names.
  const properties = new Map<string, JsonSchema>();
  const required: string[] = [];
  const withDescription = (schema: JsonSchema, description?: string): JsonSchema => {
    const out = { ...normalizeSchema(schema) };
    if (description !== undefined && out.description === undefined) out.description = description;
    return out;
  };
  for (const p of binding.parameters) {
    if (properties.has(p.name)) continue;
    properties.set(p.name, withDescription(p.schema, p.description));
    if (p.required) required.push(p.name);
  }
  const body = binding.requestBody;
  if (body !== undefined) {
    const schema = normalizeSchema(body.schema);
    if (bodyIsObject(binding)) {
      const props = isRecord(schema.properties) ? schema.properties : {};
      const bodyRequired = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
      for (const [name, sub] of Object.entries(props)) {
        if (properties.has(name) || !isRecord(sub)) continue;
        properties.set(name, sub);
        if (body.required && bodyRequired.includes(name)) required.push(name);
      }
    } else if (!properties.has('body')) {
      properties.set('body', withDescription(body.schema, body.description));
      if (body.required) required.push('body');
    }
  }
  return {
    type: 'object',
    properties: Object.fromEntries(properties),
    ...(required.length > 0 ? { required } : {}),
  };
}

/** The OpenAPI-style fields an HTTP function is made of. */
export interface HttpFunctionFields extends Omit<HttpBinding, 'kind'> {
  name: string;
  nameDerived?: boolean;
  summary?: string;
  description?: string;
}

/** A function with an `http` binding, its input and output schemas derived from the binding. */
export function httpFunction(fields: HttpFunctionFields): ToolFunction {
  const { name, nameDerived, summary, description, method, path, parameters, requestBody, response } = fields;
  const binding: HttpBinding = {
    kind: 'http',
    method,
    path,
    parameters,
    ...(requestBody !== undefined ? { requestBody } : {}),
    ...(response !== undefined ? { response } : {}),
  };
  return {
    name,
    ...(nameDerived !== undefined ? { nameDerived } : {}),
    ...(summary !== undefined ? { summary } : {}),
    ...(description !== undefined ? { description } : {}),
    inputSchema: httpInputSchema(binding),
    ...(response?.schema !== undefined ? { outputSchema: response.schema } : {}),
    binding,
  };
}

/** The function's HTTP binding, or undefined when it has none (no binding, or another kind). */
export function httpBindingOf(fn: ToolFunction): HttpBinding | undefined {
  return fn.binding?.kind === 'http' ? fn.binding : undefined;
}

const synthetic = new WeakMap<ToolFunction, HttpBinding>();

/**
 * The function as an HTTP operation: its own binding, or, for a function without one (an MCP tool, a
 * hand-made function), `POST /{name}` taking the arguments object as a JSON body and answering 200 with
 * the output schema. Used where an OpenAPI view is needed (specs, NL documentation, `serve` routes).
 */
export function httpViewOf(fn: ToolFunction): HttpBinding {
  const own = httpBindingOf(fn);
  if (own !== undefined) return own;
  let view = synthetic.get(fn);
  if (view === undefined) {
    const required = Array.isArray(fn.inputSchema.required) && fn.inputSchema.required.length > 0;
    view = {
      kind: 'http',
      method: 'post',
      path: `/${encodeURIComponent(fn.name)}`,
      parameters: [],
      requestBody: { required, contentType: 'application/json', schema: fn.inputSchema },
      response: {
        status: '200',
        contentType: 'application/json',
        ...(fn.outputSchema !== undefined ? { schema: fn.outputSchema } : {}),
      },
    };
    synthetic.set(fn, view);
  }
  return view;
}
