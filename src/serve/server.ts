/**
 * The virtual API server behind `toolalpaca serve`: every tool mounted under `/{encodeURIComponent(name)}/`
 * with its OpenAPI paths and methods, each call answered by a `ToolExecutor` (schema, simulated, replay,
 * real...). Built on fastify.
 *
 * Routing: each (method, path) of a tool becomes a fastify route (`{param}` → `:pN`). Paths fastify cannot
 * express (wildcards, adjacent parameters, tool names with reserved characters...) are matched by this
 * module's own segment matcher from the not-found handler, which also answers the 404s. Functions whose
 * paths differ only in parameter names (Cataas' `/cat/{id}` and `/cat/{tag}`) share one route; the first
 * whose arguments validate answers.
 *
 * Arguments come from path, query, declared headers and cookies, and the body (an object body's properties,
 * or the whole body when the body schema is not an object); a repeated query key is an array. They are
 * checked (`checkArguments`) before the executor runs: a bad call gets 400 `{error: 'invalid request',
 * details}` and never reaches the executor.
 *
 * Optional request header `X-Toolalpaca-Instance` is passed as `ExecutionContext.instanceId` (the
 * simulated executor's memory is per instance; default `serve`). Responses carry `X-Toolalpaca-Source`
 * (where the observation came from) and, when arguments were ignored or coerced, `X-Toolalpaca-Warnings`.
 */
import fastifyFactory from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import { toolToOpenApi } from '../formats/openapi.js';
import type { ExecutionContext, Observation, ToolExecutor } from '../executors/executor.js';
import { argumentSlots, bodyIsObject, checkArguments } from '../executors/request.js';
import { isRecord } from '../core/json-text.js';

type Json = Record<string, unknown>;

export interface ToolServerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Largest request body accepted, in bytes (413 above it). Default 1 MiB. */
  bodyLimit?: number;
  /** Called with one line per request: `METHOD path status ms source`. Default: no logging. */
  log?: (line: string) => void;
  /** Base URL clients use to reach this server (written into openapi.json and ai-plugin.json). Default: the listen URL. */
  publicUrl?: string;
}

export interface ToolServer {
  app: FastifyInstance;
  /** The listen URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Stop accepting connections, let in-flight requests finish, then resolve. Idempotent. */
  close(): Promise<void>;
}

/** 1 MiB: the default request body limit. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const SOURCE_HEADER = 'x-toolalpaca-source';
const INSTANCE_HEADER = 'x-toolalpaca-instance';
const WARNINGS_HEADER = 'x-toolalpaca-warnings';
/** `ExecutionContext.instanceId` of requests without an `X-Toolalpaca-Instance` header. */
export const DEFAULT_INSTANCE = 'serve';

/** Observation headers not copied to the HTTP response (framing is fastify's business). */
const DROPPED_HEADERS = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'set-cookie',
  'date',
  'server',
  'upgrade',
  'trailer',
]);

/** A 1×1 transparent PNG, served as every tool's plugin logo. */
const LOGO_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

// ---------------------------------------------------------------------------------------------------------
// Path templates

type PathPart = { literal: string } | { param: string };

interface PathTemplate {
  /** The spec's path with a leading slash, e.g. `/api/fruit/{name}`. */
  path: string;
  /** Segments between slashes (empty segments dropped), each a list of literal and parameter parts. */
  segments: PathPart[][];
  /** Parameter names in order of appearance. */
  params: string[];
  /** Shape that ignores parameter names: functions with equal method and shape share one route. */
  shape: string;
  /** fastify route URL (relative to the tool prefix), or undefined when fastify cannot express it. */
  fastifyPath: string | undefined;
}

function parseTemplate(rawPath: string): PathTemplate {
  const path = rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  const params: string[] = [];
  const segments: PathPart[][] = [];
  for (const text of path.split('/')) {
    if (text === '') continue;
    const parts: PathPart[] = [];
    let rest = text;
    while (rest !== '') {
      const open = rest.indexOf('{');
      const close = open < 0 ? -1 : rest.indexOf('}', open);
      if (open < 0 || close < 0) {
        parts.push({ literal: rest });
        break;
      }
      if (open > 0) parts.push({ literal: rest.slice(0, open) });
      const name = rest.slice(open + 1, close);
      parts.push({ param: name });
      params.push(name);
      rest = rest.slice(close + 1);
    }
    segments.push(parts);
  }
  const shape = segments
    .map((parts) => parts.map((p) => ('param' in p ? '{}' : p.literal)).join(''))
    .join('/');
  return { path, segments, params, shape, fastifyPath: fastifyPathOf(segments) };
}

/** The fastify (find-my-way) form of a template, with parameters renamed `p0`, `p1`... */
function fastifyPathOf(segments: PathPart[][]): string | undefined {
  let index = 0;
  let out = '';
  for (const parts of segments) {
    out += '/';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if ('param' in part) {
        // Two parameters with nothing between them, or a parameter followed by text that starts like a
        // parameter name, cannot be told apart by find-my-way.
        const next = parts[i + 1];
        if (next !== undefined && ('param' in next || /^[\w$]/.test(next.literal))) return undefined;
        out += `:p${index++}`;
      } else {
        // Reserved in find-my-way static parts (`:` is escaped as `::`); `%` would need decoding rules.
        if (/[*?#%()]/.test(part.literal)) return undefined;
        out += part.literal.replace(/:/g, '::');
      }
    }
  }
  return out === '' ? '/' : out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches decoded request segments against a template; parameter values by name, or undefined. */
function matchTemplate(template: PathTemplate, segments: string[]): Record<string, string> | undefined {
  if (segments.length !== template.segments.length) return undefined;
  const values: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const parts = template.segments[i]!;
    const names: string[] = [];
    const pattern = parts
      .map((p) => {
        if ('param' in p) {
          names.push(p.param);
          return '(.+?)';
        }
        return escapeRegExp(p.literal);
      })
      .join('');
    const match = new RegExp(`^${pattern}$`, 'su').exec(segments[i]!);
    if (match === null) return undefined;
    names.forEach((name, k) => (values[name] = match[k + 1] ?? ''));
  }
  return values;
}

/** Decoded, non-empty segments of a URL path; undefined when a segment is not valid percent-encoding. */
function pathSegments(rawPath: string): string[] | undefined {
  const out: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '') continue;
    try {
      out.push(decodeURIComponent(segment));
    } catch {
      return undefined;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Mounted tools

interface RouteCandidate {
  fn: ToolFunction;
  template: PathTemplate;
}

/** Functions that share a method and path shape (usually one). */
interface RouteGroup {
  method: string;
  template: PathTemplate;
  candidates: RouteCandidate[];
}

interface MountedTool {
  tool: Tool;
  /** `/` + encodeURIComponent(name). */
  prefix: string;
  groups: RouteGroup[];
  /** Routes as listed in 404 answers and the index. */
  routes: { method: string; path: string; function: string }[];
}

function mountTool(tool: Tool): MountedTool {
  const groups: RouteGroup[] = [];
  const byKey = new Map<string, RouteGroup>();
  for (const fn of tool.functions) {
    const template = parseTemplate(fn.path);
    const method = fn.method.toUpperCase();
    const key = `${method} ${template.shape}`;
    let group = byKey.get(key);
    if (group === undefined) {
      group = { method, template, candidates: [] };
      byKey.set(key, group);
      groups.push(group);
    }
    group.candidates.push({ fn, template });
  }
  const prefix = `/${encodeURIComponent(tool.name)}`;
  const routes = tool.functions.map((fn) => ({
    method: fn.method.toUpperCase(),
    path: `${prefix}${parseTemplate(fn.path).path}`,
    function: fn.name,
  }));
  return { tool, prefix, groups, routes };
}

/** A tool name fastify can hold as a static prefix (find-my-way decodes it before matching). */
function fastifySafeName(name: string): boolean {
  return !/[/?#%:*()]/.test(name) && name !== '.' && name !== '..' && name.trim() === name;
}

// ---------------------------------------------------------------------------------------------------------
// Arguments from a request

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (header === undefined) return out;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // keep the raw text
    }
    if (name !== '' && !(name in out)) out[name] = value;
  }
  return out;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function formToObject(fields: Iterable<[string, string]>): Json {
  const out: Json = {};
  for (const [name, value] of fields) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

/** Text fields of a multipart/form-data body (files are kept as their text). */
function parseMultipart(body: string, contentType: string): Json | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const mark = boundary?.[1] ?? boundary?.[2];
  if (mark === undefined) return undefined;
  const fields: [string, string][] = [];
  for (const part of body.split(`--${mark.trim()}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    fields.push([name, part.slice(split + 4).replace(/\r\n$/, '')]);
  }
  return formToObject(fields);
}

/** The call's arguments as the request carries them: declared locations first, then the body. */
function collectArguments(
  fn: ToolFunction,
  pathValues: Record<string, string>,
  request: FastifyRequest,
): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const query = isRecord(request.query) ? request.query : {};
  let cookies: Record<string, string> | undefined;
  let body: unknown = request.body;
  if (typeof body === 'string' && fn.requestBody && bodyIsObject(fn) && /^\s*\{/.test(body)) {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      // left as text; validation says what is wrong
    }
  }
  const slots = argumentSlots(fn);
  for (const [name, slot] of slots) {
    let value: unknown;
    switch (slot) {
      case 'path':
        value = pathValues[name];
        break;
      case 'query':
        value = query[name];
        break;
      case 'header':
        value = headerValue(request.headers[name.toLowerCase()]);
        break;
      case 'cookie':
        cookies ??= parseCookies(headerValue(request.headers.cookie));
        value = cookies[name];
        break;
      case 'body-property':
        value = isRecord(body) ? body[name] : undefined;
        break;
      case 'body':
        value = body === '' ? undefined : body;
        break;
    }
    if (value !== undefined) args[name] = value;
  }
  // Undeclared query keys and body properties are passed on so that the check reports them (as warnings).
  for (const [name, value] of Object.entries(query)) if (!(name in args)) args[name] = value;
  if (fn.requestBody && bodyIsObject(fn) && isRecord(body)) {
    for (const [name, value] of Object.entries(body)) if (!(name in args)) args[name] = value;
  }
  return args;
}

// ---------------------------------------------------------------------------------------------------------
// The server

function listenUrl(host: string, port: number): string {
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

function headerSafe(text: string): string {
  return oneLine(text, 1000).replace(/[^\x20-\x7e]/g, '?');
}

function modelName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 50);
  return cleaned === '' ? 'tool' : cleaned;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The ChatGPT-plugin manifest of a tool served at `toolUrl`. */
export function pluginManifest(tool: Tool, toolUrl: string): Json {
  const description = tool.description.trim() === '' ? `The ${tool.name} API.` : tool.description.trim();
  return {
    schema_version: 'v1',
    name_for_human: clip(tool.name, 20),
    name_for_model: modelName(tool.name),
    description_for_human: clip(oneLine(description, 1000), 100),
    description_for_model: clip(oneLine(description, 8000), 8000),
    auth: { type: 'none' },
    api: { type: 'openapi', url: `${toolUrl}/openapi.json`, is_user_authenticated: false },
    logo_url: `${toolUrl}/logo.png`,
    contact_email: 'support@example.com',
    legal_info_url: tool.link ?? `${toolUrl}/legal`,
  };
}

/** The tool's OpenAPI document with `servers` pointing at this server's mount of the tool. */
export function servedOpenApi(tool: Tool, toolUrl: string): Json {
  const doc = toolToOpenApi(tool);
  doc.servers = [{ url: toolUrl, description: 'toolalpaca virtual API server' }];
  return doc;
}

interface RequestState {
  source?: string;
}

/**
 * Serve `tools` through `executor` over HTTP (see the module comment). Resolves once listening. Throws
 * `InputError` for two tools with one name.
 */
export async function createToolServer(
  tools: Tool[],
  executor: ToolExecutor,
  options: ToolServerOptions = {},
): Promise<ToolServer> {
  const host = options.host ?? '127.0.0.1';
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = options.log;

  const mounted = new Map<string, MountedTool>();
  for (const tool of tools) {
    if (mounted.has(tool.name)) throw new InputError(`two tools are named '${tool.name}'; names must differ`);
    mounted.set(tool.name, mountTool(tool));
  }

  const app = fastifyFactory({
    logger: false,
    bodyLimit,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 2000 },
  });
  const states = new WeakMap<FastifyRequest, RequestState>();
  let baseUrl = options.publicUrl?.replace(/\/+$/, '') ?? '';
  const toolUrl = (m: MountedTool): string => `${baseUrl}${m.prefix}`;

  // Bodies: JSON and text are fastify's; forms are parsed here; anything else arrives as text.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, formToObject(new URLSearchParams(String(body)))),
  );
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string' }, (request, body, done) =>
    done(null, parseMultipart(String(body), headerValue(request.headers['content-type']) ?? '')),
  );
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  if (log !== undefined) {
    app.addHook('onResponse', async (request, reply) => {
      const path = request.url.split('?')[0] ?? request.url;
      const source = states.get(request)?.source ?? '-';
      log(`${request.method} ${path} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms ${source}`);
    });
  }

  app.setErrorHandler(async (error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return reply.code(413).send({ error: 'request body too large', limitBytes: bodyLimit });
    }
    if (status === 415) {
      return reply.code(415).send({ error: 'unsupported media type', reason: error.message });
    }
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'invalid request', details: [oneLine(error.message)] });
    }
    states.set(request, { source: 'error' });
    return reply.code(500).send({ error: 'internal error', reason: oneLine(messageOf(error)) });
  });

  async function callFunction(
    m: MountedTool,
    group: RouteGroup,
    pathValues: (candidate: RouteCandidate) => Record<string, string>,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    // Among functions sharing the route, the first whose arguments validate answers.
    let chosen:
      { fn: ToolFunction; args: Record<string, unknown>; errors: string[]; warnings: string[] } | undefined;
    for (const candidate of group.candidates) {
      const args = collectArguments(candidate.fn, pathValues(candidate), request);
      const check = checkArguments(candidate.fn, args);
      const attempt = { fn: candidate.fn, args, errors: check.errors, warnings: check.warnings };
      chosen ??= attempt;
      if (check.errors.length === 0) {
        chosen = attempt;
        break;
      }
    }
    if (chosen === undefined) throw new Error('route without functions');
    if (chosen.errors.length > 0) {
      states.set(request, { source: 'validation' });
      return reply
        .code(400)
        .send({ error: 'invalid request', function: chosen.fn.name, details: chosen.errors });
    }
    // Without the header, every request shares one instance, so a simulated API stays consistent.
    const instance = headerValue(request.headers[INSTANCE_HEADER]);
    const context: ExecutionContext = {
      instanceId: instance !== undefined && instance !== '' ? instance : DEFAULT_INSTANCE,
    };
    const controller = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) controller.abort(new Error('client closed the connection'));
    };
    reply.raw.once('close', onClose);
    context.signal = controller.signal;
    let observation: Observation;
    try {
      observation = await executor.execute(m.tool, chosen.fn.name, chosen.args, context);
    } finally {
      reply.raw.off('close', onClose);
    }
    return sendObservation(observation, chosen.fn, chosen.warnings, request, reply);
  }

  function sendObservation(
    o: Observation,
    fn: ToolFunction,
    checkWarnings: string[],
    request: FastifyRequest,
    reply: FastifyReply,
  ): FastifyReply {
    states.set(request, { source: o.source });
    reply.header(SOURCE_HEADER, o.source);
    const warnings = o.warnings ?? checkWarnings;
    if (warnings.length > 0) reply.header(WARNINGS_HEADER, headerSafe(warnings.join('; ')));
    if (o.validationErrors !== undefined && o.validationErrors.length > 0) {
      return reply
        .code(400)
        .send({ error: 'invalid request', function: fn.name, details: o.validationErrors });
    }
    const validStatus = Number.isInteger(o.status) && o.status >= 200 && o.status <= 599;
    if (o.error !== undefined) {
      const status = validStatus && o.status >= 400 ? o.status : 502;
      return reply.code(status).send({ error: 'tool call failed', reason: o.error, source: o.source });
    }
    for (const [name, value] of Object.entries(o.headers)) {
      const lower = name.toLowerCase();
      if (DROPPED_HEADERS.has(lower) || lower === 'content-type' || lower.startsWith('x-toolalpaca-'))
        continue;
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) continue;
      reply.header(lower, headerSafe(String(value)));
    }
    reply.code(validStatus ? o.status : 502);
    const contentType = Object.entries(o.headers).find(
      ([name]) => name.toLowerCase() === 'content-type',
    )?.[1];
    if (typeof o.body === 'string') {
      reply.header('content-type', contentType ?? 'text/plain; charset=utf-8');
      return reply.send(o.body);
    }
    if (o.status === 204 || o.status === 304) return reply.send();
    // Non-string bodies are JSON whatever the spec's content type said; serialise here so that fastify
    // does not treat `null` or a number specially.
    reply.header(
      'content-type',
      contentType !== undefined && /json/i.test(contentType)
        ? contentType
        : 'application/json; charset=utf-8',
    );
    return reply.send(JSON.stringify(o.body === undefined ? null : o.body));
  }

  function toolIndex(m: MountedTool): Json {
    return {
      tool: m.tool.name,
      openapi: `${toolUrl(m)}/openapi.json`,
      plugin: `${toolUrl(m)}/.well-known/ai-plugin.json`,
      routes: m.routes,
    };
  }

  function toolList(): Json[] {
    return [...mounted.values()].map((m) => ({ name: m.tool.name, url: `${toolUrl(m)}/` }));
  }

  /** Answers the tool's fixed documents (openapi.json, ai-plugin.json, logo.png); undefined for other paths. */
  function fixedDocument(m: MountedTool, rest: string[], reply: FastifyReply): FastifyReply | undefined {
    const path = rest.join('/');
    if (path === 'openapi.json') return reply.send(servedOpenApi(m.tool, toolUrl(m)));
    if (path === '.well-known/ai-plugin.json') return reply.send(pluginManifest(m.tool, toolUrl(m)));
    if (path === 'logo.png') return reply.type('image/png').send(LOGO_PNG);
    return undefined;
  }

  app.get('/healthz', async () => ({ status: 'ok', tools: mounted.size, executor: executor.kind }));
  app.get('/', async () => ({ tools: toolList() }));

  for (const m of mounted.values()) {
    if (!fastifySafeName(m.tool.name)) continue; // served by the not-found handler
    // find-my-way matches static parts against the decoded path, so the prefix is registered decoded.
    const base = `/${m.tool.name}`;
    for (const rest of [['openapi.json'], ['.well-known', 'ai-plugin.json'], ['logo.png']]) {
      try {
        app.get(`${base}/${rest.join('/')}`, async (_request, reply) => fixedDocument(m, rest, reply));
      } catch {
        // Cannot happen before the function routes exist; kept so that a clash never stops the server.
      }
    }
    for (const group of m.groups) {
      const path = group.template.fastifyPath;
      if (path === undefined) continue;
      if (!app.supportedMethods.includes(group.method)) {
        try {
          app.addHttpMethod(group.method, { hasBody: true });
        } catch {
          continue;
        }
      }
      const values = (candidate: RouteCandidate, params: Json): Record<string, string> => {
        const out: Record<string, string> = {};
        candidate.template.params.forEach((name, i) => {
          const value = params[`p${i}`];
          if (typeof value === 'string') out[name] = value;
        });
        return out;
      };
      try {
        app.route({
          method: group.method,
          url: `${base}${path === '/' ? '' : path}`,
          handler: async (request, reply) => {
            const params = isRecord(request.params) ? request.params : {};
            return callFunction(m, group, (candidate) => values(candidate, params), request, reply);
          },
        });
      } catch {
        // Left to the not-found handler's own matcher.
      }
    }
  }

  // Anything fastify did not route: tools and paths matched here, or a 404 that lists what exists.
  app.setNotFoundHandler(async (request, reply) => {
    const rawPath = request.url.split('?')[0] ?? '';
    const slash = rawPath.indexOf('/', 1);
    const first = slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash);
    let name: string | undefined;
    try {
      name = decodeURIComponent(first);
    } catch {
      name = undefined;
    }
    const m = name === undefined ? undefined : mounted.get(name);
    if (m === undefined) {
      states.set(request, { source: 'not-found' });
      return reply.code(404).send({ error: `unknown tool '${name ?? first}'`, tools: toolList() });
    }
    const rest = pathSegments(slash < 0 ? '' : rawPath.slice(slash));
    if (rest !== undefined) {
      if (request.method === 'GET') {
        const fixed = fixedDocument(m, rest, reply);
        if (fixed !== undefined) return fixed;
      }
      const allowed = new Set<string>();
      for (const group of m.groups) {
        const candidates = group.candidates
          .map((candidate) => ({ candidate, values: matchTemplate(candidate.template, rest) }))
          .filter((c) => c.values !== undefined);
        if (candidates.length === 0) continue;
        if (group.method !== request.method) {
          allowed.add(group.method);
          continue;
        }
        const subgroup: RouteGroup = { ...group, candidates: candidates.map((c) => c.candidate) };
        const byFunction = new Map(candidates.map((c) => [c.candidate.fn, c.values ?? {}]));
        return callFunction(m, subgroup, (candidate) => byFunction.get(candidate.fn) ?? {}, request, reply);
      }
      if (allowed.size > 0) {
        states.set(request, { source: 'not-found' });
        return reply
          .code(405)
          .header('allow', [...allowed].join(', '))
          .send({
            error: `method ${request.method} not allowed on ${rawPath}`,
            allowed: [...allowed],
            ...toolIndex(m),
          });
      }
    }
    states.set(request, { source: 'not-found' });
    return reply.code(404).send({
      error: `unknown path '${request.method} ${rawPath}' of tool '${m.tool.name}'`,
      ...toolIndex(m),
    });
  });

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const url = listenUrl(host, port);
  if (baseUrl === '') baseUrl = url;

  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    close() {
      closing ??= (async () => {
        // fastify closes the keep-alive connections that are idle when close starts; those busy then
        // become idle when their response is sent, and are closed here instead of at their keep-alive timeout.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        sweep.unref();
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
      })();
      return closing;
    },
  };
}
