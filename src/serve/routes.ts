/**
 * The server's routes: `/healthz`, `/` (the tool list), each tool's fixed documents and functions as
 * fastify routes, and the not-found handler, which matches what fastify cannot express (wildcards,
 * adjacent parameters, tool names with reserved characters...) and answers the 404s and 405s.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpViewOf } from '../core/http-binding.js';
import { isRecord } from '../core/json-text.js';
import type { ToolFunction } from '../core/tool.js';
import type { ExecutionContext, Observation } from '../executors/executor.js';
import { checkArguments } from '../executors/arguments.js';
import { collectArguments, headerValue } from './arguments.js';
import { setSource, type ServeContext } from './context.js';
import { DOCUMENT_PATHS, sendDocument, toolIndex, toolList } from './documents.js';
import { fastifySafeName, type MountedTool, type RouteCandidate, type RouteGroup } from './mount.js';
import { DEFAULT_INSTANCE, INSTANCE_HEADER } from './options.js';
import { matchTemplate, pathSegments } from './path-template.js';
import { answerOf, sendAnswer } from './reply.js';
import { memoKey, memoKeying } from './answer-memo.js';

interface ChosenCall {
  fn: ToolFunction;
  args: Record<string, unknown>;
  errors: string[];
  warnings: string[];
}

/** A candidate's path parameter values, by the spec's parameter names. */
type PathValues = (candidate: RouteCandidate, request: FastifyRequest) => Record<string, string>;

/**
 * Among functions sharing the route, the first whose arguments validate (else the first). The arguments are
 * frozen, so that the executor's own check of them is the one made here (see `checkArguments`).
 */
function chooseFunction(group: RouteGroup, pathValues: PathValues, request: FastifyRequest): ChosenCall {
  let chosen: ChosenCall | undefined;
  for (const candidate of group.candidates) {
    const args = Object.freeze(collectArguments(candidate.fn, pathValues(candidate, request), request));
    const check = checkArguments(candidate.fn, args);
    const attempt = { fn: candidate.fn, args, errors: check.errors, warnings: check.warnings };
    if (check.errors.length === 0) return attempt;
    chosen ??= attempt;
  }
  if (chosen === undefined) throw new Error('route without functions');
  return chosen;
}

/** The media type of a content-type header: `application/json; charset=utf-8` → `application/json`. */
function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === '' ? undefined : type;
}

function isJsonMedia(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/** True when a function declares a request body of this (non-JSON) media type (`text/*` covers `text/plain`). */
function declaresMedia(fn: ToolFunction, type: string): boolean {
  const declared = mediaType(httpViewOf(fn).requestBody?.contentType);
  if (declared === undefined || declared === '*/*') return false;
  return declared === type || (declared.endsWith('/*') && type.startsWith(declared.slice(0, -1)));
}

/**
 * Why a request body is refused, or undefined: bodies are JSON unless a function of the route declares
 * the body's media type. Text and form bodies are what a browser sends cross-origin without a preflight.
 */
function bodyRefusal(group: RouteGroup, request: FastifyRequest): string | undefined {
  if (request.body === undefined) return undefined;
  const type = mediaType(headerValue(request.headers['content-type']));
  if (type !== undefined && isJsonMedia(type)) return undefined;
  if (type !== undefined && group.candidates.some((c) => declaresMedia(c.fn, type))) return undefined;
  return `request bodies must be application/json here, not ${type ?? 'untyped'}`;
}

const CLIENT_LEFT = 'client closed the connection';

/**
 * A call's `ExecutionContext`. Its `signal` (aborted when the client closes the connection) is made on first
 * use: most executors never read it, and an AbortController plus a `close` listener per request is a
 * measurable part of a cached answer's cost. `release` removes the listener once the call is done.
 */
class CallContext implements ExecutionContext {
  private controller: AbortController | undefined;
  private onClose: (() => void) | undefined;

  constructor(
    readonly instanceId: string,
    private readonly reply: FastifyReply,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      const response = this.reply.raw;
      this.controller = controller;
      if (this.reply.request.raw.destroyed && !response.writableFinished) {
        controller.abort(new Error(CLIENT_LEFT));
      } else {
        this.onClose = () => {
          if (!response.writableFinished) controller.abort(new Error(CLIENT_LEFT));
        };
        response.once('close', this.onClose);
      }
    }
    return this.controller.signal;
  }

  release(): void {
    if (this.onClose !== undefined) this.reply.raw.off('close', this.onClose);
  }
}

/**
 * Checks the call's arguments, runs it through the executor and sends the answer, which is kept in the memo
 * under `key` when one is given.
 */
async function callFunction(
  context: ServeContext,
  m: MountedTool,
  group: RouteGroup,
  pathValues: PathValues,
  request: FastifyRequest,
  reply: FastifyReply,
  key?: string,
): Promise<FastifyReply> {
  const refusal = bodyRefusal(group, request);
  if (refusal !== undefined) {
    setSource(request, 'validation');
    return reply.code(415).send({ error: 'unsupported media type', reason: refusal });
  }
  const chosen = chooseFunction(group, pathValues, request);
  if (chosen.errors.length > 0) {
    setSource(request, 'validation');
    return reply
      .code(400)
      .send({ error: 'invalid request', function: chosen.fn.name, details: chosen.errors });
  }
  // Without the header, every request shares one instance, so a simulated API stays consistent.
  const instance = headerValue(request.headers[INSTANCE_HEADER]);
  const call = new CallContext(
    instance !== undefined && instance !== '' ? instance : DEFAULT_INSTANCE,
    reply,
  );
  let observation: Observation;
  try {
    observation = await context.executor.execute(m.tool, chosen.fn.name, chosen.args, call);
  } finally {
    call.release();
  }
  const answer = answerOf(observation, chosen.fn, chosen.warnings);
  if (key !== undefined) context.memo?.set(key, answer);
  return sendAnswer(answer, request, reply);
}

/** `/healthz` and `/`. */
export function registerServiceRoutes(app: FastifyInstance, context: ServeContext): void {
  app.get('/healthz', async () => ({
    status: 'ok',
    tools: context.tools.size,
    executor: context.executor.kind,
  }));
  app.get('/', async () => ({ tools: toolList(context) }));
}

/** fastify's route parameter names: `p0`, `p1`... (see `path-template.ts`). */
const FASTIFY_PARAMS = Array.from({ length: 64 }, (_, i) => `p${i}`);

/** Path values of a candidate from fastify's `p0`, `p1`... parameters. */
function fastifyValues(candidate: RouteCandidate, request: FastifyRequest): Record<string, string> {
  const params = isRecord(request.params) ? request.params : {};
  const names = candidate.template.params;
  const out: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) {
    const value = params[FASTIFY_PARAMS[i] ?? `p${i}`];
    if (typeof value === 'string') out[names[i]!] = value;
  }
  return out;
}

/**
 * The handler of a group served as fastify route number `routeId`: the memoised answer when there is one
 * (see `answer-memo.ts`), else the call.
 */
function routeHandler(context: ServeContext, m: MountedTool, group: RouteGroup, routeId: number) {
  const memo = context.memo;
  if (memo === undefined) {
    return (request: FastifyRequest, reply: FastifyReply) =>
      callFunction(context, m, group, fastifyValues, request, reply);
  }
  const keying = memoKeying(routeId, group);
  return (request: FastifyRequest, reply: FastifyReply) => {
    const key = memoKey(keying, request);
    const answer = key === undefined ? undefined : memo.get(key);
    if (answer === undefined) return callFunction(context, m, group, fastifyValues, request, reply, key);
    // Sent at once; returning nothing spares fastify awaiting the reply as a thenable.
    void sendAnswer(answer, request, reply);
    return undefined;
  };
}

/**
 * A tool's documents and functions as fastify routes, where fastify can express them. Returns the next
 * free route number.
 */
function registerToolRoutes(
  app: FastifyInstance,
  context: ServeContext,
  m: MountedTool,
  firstId: number,
): number {
  let routeId = firstId;
  if (!fastifySafeName(m.tool.name)) return routeId; // served by the not-found handler
  // find-my-way matches static parts against the decoded path, so the prefix is registered decoded.
  const base = `/${m.tool.name}`;
  for (const rest of DOCUMENT_PATHS) {
    try {
      app.get(`${base}/${rest.join('/')}`, async (_request, reply) => sendDocument(context, m, rest, reply));
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
    try {
      app.route({
        method: group.method,
        url: `${base}${path === '/' ? '' : path}`,
        handler: routeHandler(context, m, group, routeId++),
      });
    } catch {
      // Left to the not-found handler's own matcher.
    }
  }
  return routeId;
}

/** Every mounted tool's routes. */
export function registerAllToolRoutes(app: FastifyInstance, context: ServeContext): void {
  let routeId = 0;
  for (const m of context.tools.values()) routeId = registerToolRoutes(app, context, m, routeId);
}

/** A request for a mounted tool that fastify did not route: matched here, or 405/404 with the routes. */
async function routeByMatcher(
  context: ServeContext,
  m: MountedTool,
  rawPath: string,
  rest: string[],
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  // HEAD is answered as GET (node sends no body for HEAD).
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  if (method === 'GET') {
    const fixed = sendDocument(context, m, rest, reply);
    if (fixed !== undefined) return fixed;
  }
  const allowed = new Set<string>();
  for (const group of m.groups) {
    const candidates = group.candidates
      .map((candidate) => ({ candidate, values: matchTemplate(candidate.template, rest) }))
      .filter((c) => c.values !== undefined);
    if (candidates.length === 0) continue;
    if (group.method !== method) {
      allowed.add(group.method);
      if (group.method === 'GET') allowed.add('HEAD');
      continue;
    }
    const subgroup: RouteGroup = { ...group, candidates: candidates.map((c) => c.candidate) };
    const byFunction = new Map(candidates.map((c) => [c.candidate.fn, c.values ?? {}]));
    return callFunction(
      context,
      m,
      subgroup,
      (candidate) => byFunction.get(candidate.fn) ?? {},
      request,
      reply,
    );
  }
  if (allowed.size === 0) return undefined;
  setSource(request, 'not-found');
  return reply
    .code(405)
    .header('allow', [...allowed].join(', '))
    .send({
      error: `method ${request.method} not allowed on ${rawPath}`,
      allowed: [...allowed],
      ...toolIndex(context, m),
    });
}

/** Anything fastify did not route: tools and paths matched here, or a 404 that lists what exists. */
export function registerNotFound(app: FastifyInstance, context: ServeContext): void {
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
    const m = name === undefined ? undefined : context.tools.get(name);
    if (m === undefined) {
      setSource(request, 'not-found');
      return reply.code(404).send({ error: `unknown tool '${name ?? first}'`, tools: toolList(context) });
    }
    const rest = pathSegments(slash < 0 ? '' : rawPath.slice(slash));
    if (rest !== undefined) {
      const answered = await routeByMatcher(context, m, rawPath, rest, request, reply);
      if (answered !== undefined) return answered;
    }
    setSource(request, 'not-found');
    return reply.code(404).send({
      error: `unknown path '${request.method} ${rawPath}' of tool '${m.tool.name}'`,
      ...toolIndex(context, m),
    });
  });
}
