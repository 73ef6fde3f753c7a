/**
 * The one data model for tools. Every reader produces it and every writer consumes it.
 * zod schemas live in src/core only; types are inferred from them.
 */
import { z } from 'zod';
import { httpInputSchema } from './http-binding.js';
import { isRecord } from './json-text.js';
import { McpServerSpecSchema } from './mcp-config.js';

/** A JSON Schema object (draft 2020-12 / OpenAPI 3.1 dialect, or the OpenAPI 3.0 subset). */
export const JsonSchemaSchema = z.record(z.string(), z.unknown());
export type { JsonSchema } from './json-schema.js';

export const ParameterLocationSchema = z.enum(['path', 'query', 'header', 'cookie']);
export type ParameterLocation = z.infer<typeof ParameterLocationSchema>;

export const HttpMethodSchema = z.enum(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace']);
export type HttpMethod = z.infer<typeof HttpMethodSchema>;

export const ToolParameterSchema = z.object({
  name: z.string().min(1),
  in: ParameterLocationSchema,
  required: z.boolean(),
  description: z.string().optional(),
  schema: JsonSchemaSchema,
});
export type ToolParameter = z.infer<typeof ToolParameterSchema>;

export const RequestBodySchema = z.object({
  required: z.boolean(),
  contentType: z.string(),
  description: z.string().optional(),
  schema: JsonSchemaSchema,
});
export type RequestBody = z.infer<typeof RequestBodySchema>;

export const ResponseSpecSchema = z.object({
  status: z.string(),
  description: z.string().optional(),
  contentType: z.string().optional(),
  schema: JsonSchemaSchema.optional(),
});
export type ResponseSpec = z.infer<typeof ResponseSpecSchema>;

/** How a function is called over HTTP: what an OpenAPI operation says (method, path, parameters, body). */
export const HttpBindingSchema = z.object({
  kind: z.literal('http'),
  method: HttpMethodSchema,
  path: z.string(),
  parameters: z.array(ToolParameterSchema),
  requestBody: RequestBodySchema.optional(),
  /** The first 2xx response, with its JSON schema when it has one. */
  response: ResponseSpecSchema.optional(),
});
export type HttpBinding = z.infer<typeof HttpBindingSchema>;

/** How a function is called over the Model Context Protocol: a tool of a named MCP server. */
export const McpBindingSchema = z.object({
  kind: z.literal('mcp'),
  /** The server's name (its key in the MCP client configuration). */
  server: z.string(),
  /** The tool's name on that server. */
  tool: z.string(),
  /** MCP tool annotations (readOnlyHint, destructiveHint...), as the server gave them. */
  annotations: z.record(z.string(), z.unknown()).optional(),
});
export type McpBinding = z.infer<typeof McpBindingSchema>;

export const ToolBindingSchema = z.discriminatedUnion('kind', [HttpBindingSchema, McpBindingSchema]);
export type ToolBinding = z.infer<typeof ToolBindingSchema>;

const ToolFunctionShape = z.object({
  /** operationId (or MCP tool name), or a name derived from method and path when the spec has none. */
  name: z.string().min(1),
  /** True when `name` was derived rather than given by the spec. */
  nameDerived: z.boolean().optional(),
  summary: z.string().optional(),
  description: z.string().optional(),
  /**
   * JSON Schema of the call's arguments object: what a model passes and what every executor checks.
   * For HTTP functions: the parameters, then the properties of an object body (or `body` for another body).
   */
  inputSchema: JsonSchemaSchema,
  /** JSON Schema of a successful result (for HTTP functions: the 2xx response body), when known. */
  outputSchema: JsonSchemaSchema.optional(),
  /** How the function is reached; none for functions that are only simulated. */
  binding: ToolBindingSchema.optional(),
});

/**
 * A function of a tool. Files written before bindings existed (method, path, parameters... at the top
 * level) are read into an `http` binding, with the input and output schemas derived from it.
 */
export const ToolFunctionSchema = z.preprocess(upgradeFunction, ToolFunctionShape);
export type ToolFunction = z.infer<typeof ToolFunctionShape>;

export const AuthSchemeSchema = z.object({
  /** Name of the security scheme in the spec. */
  name: z.string(),
  type: z.enum(['none', 'apiKey', 'http', 'oauth2', 'openIdConnect', 'mutualTLS']),
  /** For apiKey: where the key goes and under which name. */
  in: z.enum(['header', 'query', 'cookie']).optional(),
  parameterName: z.string().optional(),
  /** For http: bearer, basic... */
  scheme: z.string().optional(),
});
export type AuthScheme = z.infer<typeof AuthSchemeSchema>;

export const ToolSchema = z.object({
  name: z.string().min(1),
  description: z.string(),
  category: z.string().optional(),
  link: z.string().optional(),
  /** Catalogue-level auth label as public-apis has it ("apiKey", "OAuth", "" ...). */
  authLabel: z.string().optional(),
  auth: z.array(AuthSchemeSchema),
  servers: z.array(z.string()),
  functions: z.array(ToolFunctionSchema),
  /** The dereferenced OpenAPI document the tool was read from, when there is one. */
  openapi: z.record(z.string(), z.unknown()).optional(),
  /**
   * How to start or reach the MCP servers its `mcp` functions call, by server name (entries of an MCP
   * client configuration, see core/mcp-config.ts).
   */
  mcpServers: z.record(z.string(), McpServerSpecSchema).optional(),
});
export type Tool = z.infer<typeof ToolSchema>;

const LEGACY_HTTP_KEYS = ['method', 'path', 'parameters', 'requestBody', 'response'] as const;

/** A function in the shape before bindings (HTTP fields at the top level) in today's shape; others as given. */
function upgradeFunction(value: unknown): unknown {
  if (!isRecord(value)) return value;
  let fn = value;
  if (fn.binding === undefined && typeof fn.method === 'string' && typeof fn.path === 'string') {
    const { method, path, parameters, requestBody, response, ...rest } = fn;
    const binding: Record<string, unknown> = { kind: 'http', method, path, parameters: parameters ?? [] };
    if (requestBody !== undefined) binding.requestBody = requestBody;
    if (response !== undefined) binding.response = response;
    fn = { ...rest, binding };
  } else if (LEGACY_HTTP_KEYS.some((key) => key in fn)) {
    return fn; // both shapes at once: let the schema report it
  }
  const binding = fn.binding;
  if (fn.inputSchema === undefined && isRecord(binding) && binding.kind === 'http') {
    const parsed = HttpBindingSchema.safeParse(binding);
    if (!parsed.success) return fn;
    const outputSchema = parsed.data.response?.schema;
    fn = {
      ...fn,
      inputSchema: httpInputSchema(parsed.data),
      ...(fn.outputSchema === undefined && outputSchema !== undefined ? { outputSchema } : {}),
    };
  }
  return fn;
}
