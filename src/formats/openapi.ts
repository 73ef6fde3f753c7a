/**
 * OpenAPI 3.0 / 3.1 and Swagger 2.0 documents (JSON or YAML): reading into the Tool model and writing back.
 *
 * Loading is lenient on purpose: real specs (including ToolAlpaca's own) are often slightly invalid, so
 * `loadOpenApi` only requires a recognisable version; `validateOpenApi` reports the strict problems separately.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { dereference, validate } from '@readme/openapi-parser';
import type { ParserOptions } from '@readme/openapi-parser';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { formatSize, readTextLimited, type ReadLimit } from '../core/atomic-write.js';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { httpFunction, httpViewOf } from '../core/http-binding.js';
import { ToolSchema } from '../core/tool.js';
import type {
  AuthScheme,
  HttpMethod,
  JsonSchema,
  ParameterLocation,
  RequestBody,
  ResponseSpec,
  Tool,
  ToolFunction,
  ToolParameter,
} from '../core/tool.js';
import { isRecord } from '../core/json-text.js';
import {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_EXPANDED_NODES,
  depthWithin,
  expandedSizeWithin,
} from './document-limits.js';
import {
  MCP_SERVERS_KEY,
  MCP_TOOL_KEY,
  mcpFunctionOf,
  mcpServersExtension,
  mcpServersOf,
  mcpToolExtension,
} from './mcp.js';

export type OpenApiVersion = 'swagger-2.0' | 'openapi-3.0' | 'openapi-3.1';

export interface LoadedSpec {
  /** Where the spec came from (file path or a caller's label); used in every error message. */
  label: string;
  version: OpenApiVersion;
  /** The document as read, untouched. */
  raw: Record<string, unknown>;
  /**
   * The document with internal `$ref`s resolved. Circular `$ref`s are left in place (so it stays acyclic and
   * JSON-serialisable); external `$ref`s (other files, URLs) are not fetched and stay as they are.
   */
  dereferenced: Record<string, unknown>;
  /** Things repaired while loading (e.g. `$ref`s pointing nowhere, replaced by a placeholder). */
  warnings?: string[];
}

export interface LoadOptions {
  /** Largest spec accepted, in bytes. Default 10 MiB: far above real API specs, low enough to refuse junk. */
  maxBytes?: number;
  /** Deepest nesting accepted. Default 1000 levels. */
  maxDepth?: number;
  /** Most nodes the spec may expand to through its internal `$ref`s. Default 1,000,000. */
  maxExpandedNodes?: number;
  /** Upper bound for `$ref` resolution, in milliseconds. Default 60 s. */
  timeoutMs?: number;
}

export interface ReadOptions extends LoadOptions {
  /** Also read specs in sub-folders when the path is a folder. Default false. */
  recursive?: boolean;
}

export interface ToolMeta {
  name?: string;
  description?: string;
  category?: string;
  link?: string;
  authLabel?: string;
}

/** 10 MiB: the default size limit for one spec file or text. */
export const DEFAULT_MAX_SPEC_BYTES = 10 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const SPEC_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);
const HTTP_METHODS: readonly HttpMethod[] = [
  'get',
  'put',
  'post',
  'delete',
  'options',
  'head',
  'patch',
  'trace',
];
const LOCATIONS: readonly ParameterLocation[] = ['path', 'query', 'header', 'cookie'];
/** Bounds for copying schemas into functions: deep or exploding (shared-reference) schemas are cut. */
const MAX_SCHEMA_DEPTH = 40;
const MAX_SCHEMA_NODES = 20_000;

type Json = Record<string, unknown>;

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** The size limit of one spec, as `readTextLimited` takes it. */
export function specLimit(maxBytes = DEFAULT_MAX_SPEC_BYTES): ReadLimit {
  return { maxBytes, name: 'spec size limit' };
}

function sizeError(label: string, bytes: number, maxBytes: number): InputError {
  return new InputError(
    `${label}: ${formatSize(bytes)} exceeds the ${formatSize(maxBytes, true)} spec size limit`,
  );
}

function lineColumnAt(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

function parseJsonText(text: string, label: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = messageOf(error);
    let where = '';
    const lineCol = /\(line (\d+) column (\d+)\)/.exec(message);
    const position = /at position (\d+)/.exec(message);
    if (lineCol) where = ` (line ${lineCol[1]}, column ${lineCol[2]})`;
    else if (position) {
      const { line, column } = lineColumnAt(text, Number(position[1]));
      where = ` (line ${line}, column ${column})`;
    }
    const reason = message
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/\s*in JSON at position \d+/, '')
      .split('\n')[0];
    throw new InputError(oneLine(`${label}: invalid JSON${where}: ${reason ?? message}`), { cause: error });
  }
}

function parseYamlText(text: string, label: string): unknown {
  try {
    // The yaml package caps alias expansion (maxAliasCount), so "billion laughs" documents fail fast.
    return parseYaml(text) as unknown;
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const pos = error.linePos?.[0];
      const where = pos ? ` (line ${pos.line}, column ${pos.col})` : '';
      const reason = (error.message.split('\n')[0] ?? error.message)
        .replace(/\s*at line \d+, column \d+:?\s*$/, '')
        .replace(/:$/, '');
      throw new InputError(oneLine(`${label}: invalid YAML${where}: ${reason}`), { cause: error });
    }
    throw new InputError(oneLine(`${label}: invalid YAML: ${messageOf(error)}`), { cause: error });
  }
}

/**
 * Parse spec text as JSON (when it starts with `{` or `[`) or YAML. Throws a one-line `InputError` naming
 * `label`, with line and column when known.
 */
export function parseSpecText(text: string, label: string): Record<string, unknown> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const trimmed = body.trimStart();
  if (trimmed === '') throw new InputError(`${label}: empty file`);
  const value =
    trimmed.startsWith('{') || trimmed.startsWith('[')
      ? parseJsonText(body, label)
      : parseYamlText(body, label);
  if (!isRecord(value)) {
    throw new InputError(`${label}: not an OpenAPI document (expected an object at the top level)`);
  }
  return value;
}

/** The spec version, or an `InputError` when the document is not OpenAPI/Swagger or has an unknown version. */
export function detectOpenApiVersion(doc: Record<string, unknown>, label: string): OpenApiVersion {
  // YAML reads `openapi: 3.0` / `swagger: 2.0` as numbers; String(3.0) is "3", so accept the short forms.
  if (doc.openapi !== undefined) {
    const version = String(doc.openapi).trim();
    if (/^3(\.0(\.\d+)?(-[\w.]+)?)?$/.test(version)) return 'openapi-3.0';
    if (/^3\.1(\.\d+)?(-[\w.]+)?$/.test(version)) return 'openapi-3.1';
    throw new InputError(oneLine(`${label}: unsupported OpenAPI version ${version}`));
  }
  if (doc.swagger !== undefined) {
    const version = String(doc.swagger).trim();
    if (version === '2.0' || version === '2') return 'swagger-2.0';
    throw new InputError(oneLine(`${label}: unsupported Swagger version ${version}`));
  }
  throw new InputError(`${label}: not an OpenAPI document (no 'openapi' or 'swagger' field)`);
}

/** Resolve a local JSON pointer (`#/a/b`) in `doc`; `undefined` when it points nowhere, `true` when unsure. */
function pointerTarget(doc: unknown, ref: string): unknown {
  let node: unknown = doc;
  const path = ref.slice(1);
  if (path === '' || path === '/') return doc;
  for (const raw of path.split('/').slice(1)) {
    let token: string;
    try {
      token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      token = raw;
    }
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isRecord(node)) {
      // A pointer through another $ref: leave the verdict to the parser.
      if (!(token in node) && typeof node.$ref === 'string') return true;
      node = node[token];
    } else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Replace local `$ref`s that point nowhere with a described placeholder, so one broken reference (common in
 * hand-written specs) does not make the whole spec unreadable. Mutates `doc`; returns the broken refs.
 */
function patchMissingRefs(doc: Json): string[] {
  const missing: string[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 500 || typeof node !== 'object' || node === null) return;
    const entries: [string | number, unknown][] = Array.isArray(node)
      ? node.map((v, i) => [i, v])
      : Object.entries(node);
    for (const [key, child] of entries) {
      if (isRecord(child) && typeof child.$ref === 'string' && child.$ref.startsWith('#')) {
        if (pointerTarget(doc, child.$ref) === undefined) {
          missing.push(child.$ref);
          const { $ref, ...rest } = child;
          (node as Record<string | number, unknown>)[key] = {
            ...rest,
            description: `unresolved $ref: ${$ref}`,
          };
          continue;
        }
      }
      visit(child, depth + 1);
    }
  };
  visit(doc, 0);
  return [...new Set(missing)];
}

/**
 * Load an OpenAPI/Swagger document from text (JSON or YAML) or an already parsed object, detect its version and
 * resolve its internal `$ref`s. Does not validate strictly (see `validateOpenApi`).
 */
export async function loadOpenApi(
  input: string | Record<string, unknown>,
  label: string,
  options: LoadOptions = {},
): Promise<LoadedSpec> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SPEC_BYTES;
  let raw: Json;
  if (typeof input === 'string') {
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > maxBytes) throw sizeError(label, bytes, maxBytes);
    raw = parseSpecText(input, label);
  } else {
    raw = input;
  }
  const version = detectOpenApiVersion(raw, label);
  checkDocumentBounds(raw, label, options);

  // The parser mutates what it is given; work on a copy so `raw` stays as read.
  const working = structuredClone(raw);
  const missing = patchMissingRefs(working);
  const warnings = missing.map((ref) => `unresolved $ref ${ref} replaced by a placeholder`);
  const parserOptions: ParserOptions = {
    dereference: { circular: 'ignore' },
    resolve: { external: false },
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  let dereferenced: Json;
  try {
    dereferenced = (await dereference(working as never, parserOptions)) as unknown as Json;
  } catch (error) {
    throw new InputError(oneLine(`${label}: cannot resolve $refs: ${messageOf(error)}`), { cause: error });
  }
  return { label, version, raw, dereferenced, warnings };
}

/**
 * Refuses, in one line naming the spec and its tool, a document nested too deeply for the recursive walks
 * below (the `$ref` resolver, copies) or one whose `$ref`s expand past the node budget.
 */
function checkDocumentBounds(raw: Json, label: string, options: LoadOptions): void {
  const info = isRecord(raw.info) ? raw.info : {};
  const title = nonEmpty(info.title);
  const where = title !== undefined && !label.includes(title) ? `${label} (tool "${title}")` : label;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (depthWithin(raw, maxDepth) === undefined) {
    throw new InputError(`${where}: nested deeper than ${maxDepth} levels`);
  }
  const maxNodes = options.maxExpandedNodes ?? DEFAULT_MAX_EXPANDED_NODES;
  if (expandedSizeWithin(raw, maxNodes) === undefined) {
    throw new InputError(
      `${where}: its $refs expand to more than ${maxNodes.toLocaleString('en-US')} nodes (schemas that reference each other many times over)`,
    );
  }
}

async function statOrMissing(path: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`${path}: no such file`, { cause: error });
    }
    throw new InputError(oneLine(`${path}: cannot read: ${messageOf(error)}`), { cause: error });
  }
}

async function listSpecFiles(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && recursive) files.push(...(await listSpecFiles(full, recursive)));
    else if (entry.isFile() && SPEC_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(full);
  }
  return files;
}

async function readSpecFile(path: string, options: LoadOptions): Promise<LoadedSpec> {
  // The size is checked before reading, so a huge file (or an endless device) is refused without loading it.
  const text = await readTextLimited(path, specLimit(options.maxBytes));
  return loadOpenApi(text, path, options);
}

/**
 * Read one spec file (.json/.yaml/.yml) or every spec file in a folder (sorted by name; sub-folders only with
 * `recursive`).
 */
export async function readOpenApiPath(path: string, options: ReadOptions = {}): Promise<LoadedSpec[]> {
  const info = await statOrMissing(path);
  if (!info.isDirectory()) return [await readSpecFile(path, options)];
  const files = await listSpecFiles(path, options.recursive ?? false);
  if (files.length === 0) throw new InputError(`${path}: no .json, .yaml or .yml files in this folder`);
  const specs: LoadedSpec[] = [];
  for (const file of files) specs.push(await readSpecFile(file, options));
  return specs;
}

/**
 * Strict validation against the OpenAPI/Swagger schemas and rules, as a list of one-line problems (empty when
 * valid). Loading never requires this to pass.
 */
export async function validateOpenApi(spec: LoadedSpec | Record<string, unknown>): Promise<string[]> {
  const doc = isLoadedSpec(spec) ? spec.raw : spec;
  try {
    const result = await validate(structuredClone(doc) as never, {
      resolve: { external: false },
      timeoutMs: DEFAULT_TIMEOUT_MS,
    });
    if (result.valid) return [];
    const problems = result.errors.map((e) => oneLine(e.message.split('\n\n')[0] ?? e.message));
    if (result.additionalErrors > 0) problems.push(`and ${result.additionalErrors} more errors`);
    return problems;
  } catch (error) {
    return [oneLine(messageOf(error))];
  }
}

function isLoadedSpec(value: LoadedSpec | Record<string, unknown>): value is LoadedSpec {
  return (
    typeof value.label === 'string' &&
    typeof value.version === 'string' &&
    isRecord(value.raw) &&
    isRecord(value.dereferenced)
  );
}

// ---------------------------------------------------------------------------------------------------------
// Reading: LoadedSpec -> Tool

/** The function name ToolAlpaca uses when an operation has no operationId: `/jokes/random/{category}` + get → `jokes_random_category_get`. */
export function deriveFunctionName(method: string, path: string): string {
  const base = path
    .replace(/[{}]/g, '')
    .split('/')
    .filter((part) => part !== '')
    .join('_');
  return `${base === '' ? 'root' : base}_${method.toLowerCase()}`;
}

function refName(ref: string): string {
  const last = ref.split('/').pop() ?? ref;
  return last.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Copy a (dereferenced) schema into a plain JSON tree. Internal `$ref`s the parser left in place (the circular
 * ones) are expanded from `root` until they recur, where a `{ description: 'recursive: Name' }` placeholder
 * cuts the cycle; excessive depth or size is cut the same way, so the result always serialises.
 * External `$ref`s (other files, URLs) are kept as they are.
 */
export function toPlainSchema(schema: unknown, root?: Record<string, unknown>): JsonSchema {
  let budget = MAX_SCHEMA_NODES;
  const onPath = new Set<object>();
  const refsOnPath = new Set<string>();
  const copy = (node: unknown, depth: number): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    if (onPath.has(node)) return { description: 'recursive' };
    if (depth > MAX_SCHEMA_DEPTH || --budget < 0)
      return { description: 'truncated: schema too deep or too large' };
    if (
      !Array.isArray(node) &&
      typeof (node as Json).$ref === 'string' &&
      String((node as Json).$ref).startsWith('#')
    ) {
      const { $ref, ...siblings } = node as Json;
      const ref = String($ref);
      const target = root === undefined || refsOnPath.has(ref) ? undefined : pointerTarget(root, ref);
      if (!isRecord(target)) {
        const why = refsOnPath.has(ref) || root === undefined ? 'recursive' : 'unresolved $ref';
        const placeholder = `${why}: ${why === 'recursive' ? refName(ref) : ref}`;
        return {
          description:
            typeof siblings.description === 'string'
              ? `${siblings.description} (${placeholder})`
              : placeholder,
        };
      }
      refsOnPath.add(ref);
      const expanded = copy(target, depth + 1);
      refsOnPath.delete(ref);
      // OpenAPI 3.1 lets `description`/`summary` sit beside a `$ref`; they override the target's.
      const extra = copy(siblings, depth + 1);
      return isRecord(expanded) && isRecord(extra) ? { ...expanded, ...extra } : expanded;
    }
    onPath.add(node);
    const out = Array.isArray(node)
      ? node.map((item) => copy(item, depth + 1))
      : Object.fromEntries(Object.entries(node).map(([k, v]) => [k, copy(v, depth + 1)]));
    onPath.delete(node);
    return out;
  };
  const result = copy(schema, 0);
  return isRecord(result) ? result : {};
}

const SWAGGER_SCHEMA_KEYS = [
  'type',
  'format',
  'items',
  'enum',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'multipleOf',
] as const;

/** Swagger 2 non-body parameter (or `items`) fields → a JSON Schema; `type: file` becomes a binary string. */
function swaggerTypeToSchema(source: Json, root: Json): JsonSchema {
  const schema: JsonSchema = {};
  for (const key of SWAGGER_SCHEMA_KEYS) {
    if (source[key] === undefined) continue;
    schema[key] =
      key === 'items' && isRecord(source.items) ? swaggerTypeToSchema(source.items, root) : source[key];
  }
  if (schema.type === 'file') {
    schema.type = 'string';
    schema.format = 'binary';
  }
  return toPlainSchema(schema, root);
}

function pickContent(content: unknown): { contentType: string; media: Json } | undefined {
  if (!isRecord(content)) return undefined;
  const entries = Object.entries(content).filter((e): e is [string, Json] => isRecord(e[1]));
  const chosen =
    entries.find(([type]) => type.toLowerCase().split(';')[0]?.trim() === 'application/json') ??
    entries.find(([type]) => /json/i.test(type)) ??
    entries.find(([, media]) => isRecord(media.schema)) ??
    entries[0];
  return chosen ? { contentType: chosen[0], media: chosen[1] } : undefined;
}

function parameterSchema(param: Json, root: Json): JsonSchema {
  if (isRecord(param.schema)) return toPlainSchema(param.schema, root);
  const content = pickContent(param.content);
  if (content && isRecord(content.media.schema)) return toPlainSchema(content.media.schema, root);
  if (param.type !== undefined) return swaggerTypeToSchema(param, root);
  return {};
}

function mergeParameters(pathLevel: unknown, operationLevel: unknown): Json[] {
  const merged = new Map<string, Json>();
  for (const list of [pathLevel, operationLevel]) {
    if (!Array.isArray(list)) continue;
    for (const param of list) {
      if (!isRecord(param) || typeof param.name !== 'string' || typeof param.in !== 'string') continue;
      merged.set(`${param.in}:${param.name}`, param); // operation-level overrides path-level
    }
  }
  return [...merged.values()];
}

function preferredType(types: unknown, fallback: string): string {
  if (!Array.isArray(types)) return fallback;
  const list = types.filter((t): t is string => typeof t === 'string');
  return list.find((t) => /json/i.test(t)) ?? list[0] ?? fallback;
}

function swaggerBody(params: Json[], consumes: unknown, root: Json): RequestBody | undefined {
  const body = params.find((p) => p.in === 'body');
  if (body) {
    return {
      required: body.required === true,
      contentType: preferredType(consumes, 'application/json'),
      ...(nonEmpty(body.description) ? { description: String(body.description) } : {}),
      schema: isRecord(body.schema) ? toPlainSchema(body.schema, root) : {},
    };
  }
  const form = params.filter((p) => p.in === 'formData');
  if (form.length === 0) return undefined;
  const hasFile = form.some((p) => p.type === 'file');
  const consumeList = Array.isArray(consumes) ? consumes : [];
  const contentType =
    hasFile || consumeList.includes('multipart/form-data')
      ? 'multipart/form-data'
      : 'application/x-www-form-urlencoded';
  const properties: Json = {};
  const required: string[] = [];
  for (const p of form) {
    const schema = parameterSchema(p, root);
    if (nonEmpty(p.description)) schema.description = p.description;
    properties[String(p.name)] = schema;
    if (p.required === true) required.push(String(p.name));
  }
  return {
    required: required.length > 0,
    contentType,
    schema: { type: 'object', properties, ...(required.length > 0 ? { required } : {}) },
  };
}

function openApi3Body(requestBody: unknown, root: Json): RequestBody | undefined {
  if (!isRecord(requestBody)) return undefined;
  const content = pickContent(requestBody.content);
  return {
    required: requestBody.required === true,
    contentType: content?.contentType ?? 'application/json',
    ...(nonEmpty(requestBody.description) ? { description: String(requestBody.description) } : {}),
    schema: content && isRecord(content.media.schema) ? toPlainSchema(content.media.schema, root) : {},
  };
}

/** Status keys that mean success, best first: exact codes ascending, then `2XX`. */
function successStatuses(responses: Json): string[] {
  return Object.keys(responses)
    .filter((code) => /^2(\d\d|xx)$/i.test(code.trim()))
    .sort((a, b) => {
      const wa = /x/i.test(a) ? 1 : 0;
      const wb = /x/i.test(b) ? 1 : 0;
      return wa - wb || a.localeCompare(b);
    });
}

function firstSuccess(
  responses: unknown,
  swagger: boolean,
  produces: unknown,
  root: Json,
): ResponseSpec | undefined {
  if (!isRecord(responses)) return undefined;
  const status = successStatuses(responses)[0];
  if (status === undefined) return undefined;
  const response = isRecord(responses[status]) ? responses[status] : {};
  const spec: ResponseSpec = { status };
  if (nonEmpty(response.description)) spec.description = String(response.description);
  if (swagger) {
    if (isRecord(response.schema)) {
      spec.contentType = preferredType(produces, 'application/json');
      spec.schema = toPlainSchema(response.schema, root);
    }
  } else {
    const content = pickContent(response.content);
    if (content) {
      spec.contentType = content.contentType;
      if (isRecord(content.media.schema)) spec.schema = toPlainSchema(content.media.schema, root);
    }
  }
  return spec;
}

function toParameter(param: Json, root: Json): ToolParameter | undefined {
  const location = LOCATIONS.find((l) => l === param.in);
  if (!location) return undefined;
  const schema = parameterSchema(param, root);
  const description = nonEmpty(param.description) ?? nonEmpty(schema.description);
  return {
    name: String(param.name),
    in: location,
    // Path parameters are always required, whatever the spec says.
    required: location === 'path' ? true : param.required === true,
    ...(description !== undefined ? { description } : {}),
    schema,
  };
}

function serversOf(doc: Json, swagger: boolean): string[] {
  if (swagger) {
    const basePath = str(doc.basePath) ?? '';
    const host = nonEmpty(doc.host);
    if (!host) return basePath ? [basePath] : [];
    const schemes = Array.isArray(doc.schemes) && doc.schemes.length > 0 ? doc.schemes : ['https'];
    return schemes.filter((s): s is string => typeof s === 'string').map((s) => `${s}://${host}${basePath}`);
  }
  if (!Array.isArray(doc.servers)) return [];
  const urls: string[] = [];
  for (const server of doc.servers) {
    if (!isRecord(server) || typeof server.url !== 'string') continue;
    // Fill server variables with their defaults: `https://{region}.api.com` → `https://eu.api.com`.
    const variables = isRecord(server.variables) ? server.variables : {};
    urls.push(
      server.url.replace(/\{([^}]+)\}/g, (whole, name: string) => {
        const variable = variables[name];
        return isRecord(variable) && variable.default !== undefined ? String(variable.default) : whole;
      }),
    );
  }
  return urls;
}

function authOf(doc: Json, swagger: boolean): AuthScheme[] {
  const schemes = swagger
    ? doc.securityDefinitions
    : isRecord(doc.components)
      ? doc.components.securitySchemes
      : undefined;
  if (!isRecord(schemes)) return [];
  const auth: AuthScheme[] = [];
  for (const [name, scheme] of Object.entries(schemes)) {
    if (!isRecord(scheme)) continue;
    const type = String(scheme.type);
    if (type === 'apiKey') {
      const location = ['header', 'query', 'cookie'].find((l) => l === scheme.in) as AuthScheme['in'];
      auth.push({
        name,
        type: 'apiKey',
        ...(location ? { in: location } : {}),
        ...(typeof scheme.name === 'string' ? { parameterName: scheme.name } : {}),
      });
    } else if (type === 'basic') {
      auth.push({ name, type: 'http', scheme: 'basic' }); // Swagger 2
    } else if (type === 'http') {
      auth.push({
        name,
        type: 'http',
        ...(typeof scheme.scheme === 'string' ? { scheme: scheme.scheme } : {}),
      });
    } else if (type === 'oauth2' || type === 'openIdConnect' || type === 'mutualTLS') {
      auth.push({ name, type });
    }
  }
  return auth;
}

/** Map every path + method of a loaded spec to a `ToolFunction`; the result passes `ToolSchema.parse`. */
export function openApiToTool(spec: LoadedSpec, meta: ToolMeta = {}): Tool {
  const doc = spec.dereferenced;
  const root = doc;
  const swagger = spec.version === 'swagger-2.0';
  const info = isRecord(doc.info) ? doc.info : {};
  const functions: ToolFunction[] = [];
  const paths = isRecord(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isRecord(item)) continue;
    // Document order, so functions come out in the order the spec lists them.
    for (const [key, op] of Object.entries(item)) {
      const method = HTTP_METHODS.find((m) => m === key.toLowerCase());
      if (method === undefined || !isRecord(op)) continue;
      const params = mergeParameters(item.parameters, op.parameters);
      const operationId = nonEmpty(op.operationId);
      // Swagger 2 style body/formData parameters are honoured in any version (some 3.x specs still use them).
      const body =
        openApi3Body(swagger ? undefined : op.requestBody, root) ??
        swaggerBody(params, op.consumes ?? doc.consumes, root);
      const response = firstSuccess(op.responses, swagger, op.produces ?? doc.produces, root);
      const fn = httpFunction({
        name: operationId ?? deriveFunctionName(method, path),
        nameDerived: operationId === undefined,
        ...(nonEmpty(op.summary) ? { summary: String(op.summary) } : {}),
        ...(nonEmpty(op.description) ? { description: String(op.description) } : {}),
        method,
        path,
        parameters: params
          .map((p) => toParameter(p, root))
          .filter((p): p is ToolParameter => p !== undefined),
        ...(body ? { requestBody: body } : {}),
        ...(response ? { response } : {}),
      });
      functions.push(mcpFunctionOf(op, fn) ?? fn);
    }
  }
  const mcpServers = mcpServersOf(doc);
  const category = meta.category ?? nonEmpty(info['x-category']);
  const link = meta.link ?? nonEmpty(info['x-link']);
  const authLabel = meta.authLabel ?? str(info['x-auth-label']);
  const tool: Tool = {
    name: meta.name ?? nonEmpty(info.title) ?? spec.label,
    description: meta.description ?? str(info.description) ?? '',
    ...(category !== undefined ? { category } : {}),
    ...(link !== undefined ? { link } : {}),
    ...(authLabel !== undefined ? { authLabel } : {}),
    auth: authOf(doc, swagger),
    servers: serversOf(doc, swagger),
    functions,
    openapi: doc,
    ...(mcpServers !== undefined ? { mcpServers } : {}),
  };
  const parsed = ToolSchema.safeParse(tool);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      oneLine(`${spec.label}: cannot map to a tool: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`),
    );
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------------------
// Writing: Tool -> OpenAPI 3.0

function securitySchemeOf(auth: AuthScheme, original: Json | undefined): Json | undefined {
  // Keep the original definition when the tool came from an OpenAPI 3 spec (it has flows, URLs...).
  const kept = original?.[auth.name];
  if (isRecord(kept) && kept.type === auth.type) return kept;
  switch (auth.type) {
    case 'apiKey':
      return { type: 'apiKey', name: auth.parameterName ?? auth.name, in: auth.in ?? 'header' };
    case 'http':
      return { type: 'http', scheme: auth.scheme ?? 'bearer' };
    case 'oauth2':
      return { type: 'oauth2', flows: {} };
    case 'openIdConnect':
      return { type: 'openIdConnect', openIdConnectUrl: '' };
    case 'mutualTLS':
      return { type: 'mutualTLS' };
    case 'none':
      return undefined;
  }
}

/** The OpenAPI operation of a function (a function without an HTTP binding as `POST /{name}`). */
function operationOf(fn: ToolFunction): Json {
  const http = httpViewOf(fn);
  const op: Json = {};
  // A derived name is re-derived identically on reading, so leave it out and keep `nameDerived` on a round trip.
  if (fn.nameDerived !== true || fn.name !== deriveFunctionName(http.method, http.path))
    op.operationId = fn.name;
  if (fn.summary !== undefined) op.summary = fn.summary;
  if (fn.description !== undefined) op.description = fn.description;
  const mcpTool = mcpToolExtension(fn);
  if (mcpTool !== undefined) op[MCP_TOOL_KEY] = mcpTool;
  if (http.parameters.length > 0) {
    op.parameters = http.parameters.map((p) => ({
      name: p.name,
      in: p.in,
      required: p.required,
      ...(p.description !== undefined ? { description: p.description } : {}),
      schema: p.schema,
    }));
  }
  const body = http.requestBody;
  if (body) {
    op.requestBody = {
      required: body.required,
      ...(body.description !== undefined ? { description: body.description } : {}),
      content: { [body.contentType]: { schema: body.schema } },
    };
  }
  const success = http.response;
  if (success) {
    const response: Json = { description: success.description ?? 'Success' };
    if (success.schema !== undefined) {
      response.content = { [success.contentType ?? 'application/json']: { schema: success.schema } };
    } else if (success.contentType !== undefined) {
      response.content = { [success.contentType]: {} };
    }
    op.responses = { [success.status]: response };
  } else {
    // `default` is not a 2xx, so a function without a success response reads back without one.
    op.responses = { default: { description: 'Response' } };
  }
  return op;
}

/** Write a tool as an OpenAPI 3.0.3 document; `openApiToTool(loadOpenApi(toolToOpenApi(t)))` keeps the functions. */
export function toolToOpenApi(tool: Tool): Record<string, unknown> {
  const info: Json = { title: tool.name, version: '1.0.0' };
  if (tool.description !== '') info.description = tool.description;
  if (tool.category !== undefined) info['x-category'] = tool.category;
  if (tool.link !== undefined) info['x-link'] = tool.link;
  if (tool.authLabel !== undefined) info['x-auth-label'] = tool.authLabel;

  const paths: Json = {};
  for (const fn of tool.functions) {
    const { path, method } = httpViewOf(fn);
    const existing = paths[path];
    const item: Json = isRecord(existing) ? existing : {};
    item[method] = operationOf(fn);
    paths[path] = item;
  }

  const doc: Json = { openapi: '3.0.3', info };
  if (tool.servers.length > 0) doc.servers = tool.servers.map((url) => ({ url }));
  doc.paths = paths;
  const mcpServers = mcpServersExtension(tool);
  if (mcpServers !== undefined) doc[MCP_SERVERS_KEY] = mcpServers;

  const original =
    tool.openapi && isRecord(tool.openapi.components) && isRecord(tool.openapi.components.securitySchemes)
      ? tool.openapi.components.securitySchemes
      : undefined;
  const securitySchemes: Json = {};
  for (const auth of tool.auth) {
    const scheme = securitySchemeOf(auth, original);
    if (scheme) securitySchemes[auth.name] = scheme;
  }
  if (Object.keys(securitySchemes).length > 0) {
    doc.components = { securitySchemes };
    // Any one of the schemes is enough.
    doc.security = Object.keys(securitySchemes).map((name) => ({ [name]: [] }));
  }
  return doc;
}
