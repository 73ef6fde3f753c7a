/**
 * The one data model for tools. Every reader produces it and every writer consumes it.
 * zod schemas live in src/core only; types are inferred from them.
 */
import { z } from 'zod';

/** A JSON Schema object (draft 2020-12 / OpenAPI 3.1 dialect, or the OpenAPI 3.0 subset). */
export const JsonSchemaSchema = z.record(z.string(), z.unknown());
export type JsonSchema = Record<string, unknown>;

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

export const ToolFunctionSchema = z.object({
  /** operationId, or a name derived from method and path when the spec has none. */
  name: z.string().min(1),
  /** True when `name` was derived rather than given by the spec. */
  nameDerived: z.boolean().default(false),
  summary: z.string().optional(),
  description: z.string().optional(),
  method: HttpMethodSchema,
  path: z.string(),
  parameters: z.array(ToolParameterSchema),
  requestBody: RequestBodySchema.optional(),
  /** The first 2xx response, with its JSON schema when it has one. */
  response: ResponseSpecSchema.optional(),
});
export type ToolFunction = z.infer<typeof ToolFunctionSchema>;

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
});
export type Tool = z.infer<typeof ToolSchema>;
