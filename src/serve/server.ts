/**
 * The virtual API server behind `toolalpaca serve`: every tool mounted under `/{encodeURIComponent(name)}/`
 * with its OpenAPI paths and methods, each call answered by a `ToolExecutor` (schema, simulated, replay,
 * real...). Built on fastify.
 *
 * Routing (`routes.ts`): each (method, path) of a tool becomes a fastify route (`{param}` → `:pN`). Paths
 * fastify cannot express (wildcards, adjacent parameters, tool names with reserved characters...) are
 * matched by this folder's own segment matcher from the not-found handler, which also answers the 404s.
 * Functions whose paths differ only in parameter names (Cataas' `/cat/{id}` and `/cat/{tag}`) share one
 * route; the first whose arguments validate answers.
 *
 * Arguments (`arguments.ts`) come from path, query, declared headers and cookies, and the body. They are
 * checked (`checkArguments`) before the executor runs: a bad call gets 400 `{error: 'invalid request',
 * details}` and never reaches the executor.
 *
 * Access (`access.ts`): the `Host` header must name this server (loopback names by default; 421
 * otherwise), browsers' cross-site requests get 403, and with a token every request needs it (401). A
 * request body must be JSON unless the function's spec declares another media type (415): the media types
 * a browser may send cross-origin without a preflight (text/plain, forms) are refused for JSON APIs. HEAD
 * is answered on every GET route.
 *
 * With a deterministic executor (`ToolExecutor.deterministic`, the schema executor) answers are memoised
 * (`answer-memo.ts`): a request carrying the same inputs as an earlier one on the same route gets the
 * earlier answer, after the access checks, without calling the executor again.
 *
 * Optional request header `X-Toolalpaca-Instance` is passed as `ExecutionContext.instanceId` (the
 * simulated executor's memory is per instance; default `serve`). Responses carry `X-Toolalpaca-Source`
 * (where the observation came from) and, when arguments were ignored or coerced, `X-Toolalpaca-Warnings`.
 */
import fastifyFactory from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Tool } from '../core/tool.js';
import type { ToolExecutor } from '../executors/executor.js';
import { InputError } from '../core/errors.js';
import { accessRules, isLoopbackAddress } from './access.js';
import { createAnswerMemo, DEFAULT_ANSWER_MEMO_SIZE } from './answer-memo.js';
import { SOURCE_PROPERTY, type ServeContext } from './context.js';
import { installAccessChecks, installBodyParsers, installErrorHandler, installRequestLog } from './hooks.js';
import { mountTools } from './mount.js';
import { DEFAULT_BODY_LIMIT, listenUrl, type ToolServer, type ToolServerOptions } from './options.js';
import { registerAllToolRoutes, registerNotFound, registerServiceRoutes } from './routes.js';

function createApp(bodyLimit: number): FastifyInstance {
  return fastifyFactory({
    logger: false,
    bodyLimit,
    exposeHeadRoutes: true,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 2000 },
  });
}

/** Stops accepting connections and resolves once requests in flight are answered. */
async function closeApp(app: FastifyInstance): Promise<void> {
  // fastify closes the keep-alive connections that are idle when close starts; those busy then
  // become idle when their response is sent, and are closed here instead of at their keep-alive timeout.
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  sweep.unref();
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

/**
 * Serve `tools` through `executor` over HTTP (see the module comment). Resolves once listening. Throws
 * `InputError` for two tools with one name, a malformed allowed host, or a non-loopback address without a
 * token.
 */
export async function createToolServer(
  tools: Tool[],
  executor: ToolExecutor,
  options: ToolServerOptions = {},
): Promise<ToolServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackAddress(host) && (options.token === undefined || options.token === '')) {
    throw new InputError(`listening on ${host}, which is not a loopback address, needs a bearer token`);
  }
  const rules = accessRules({
    listenHost: host,
    ...(options.allowedHosts !== undefined ? { extraHosts: options.allowedHosts } : {}),
    ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
    ...(options.token !== undefined && options.token !== '' ? { token: options.token } : {}),
  });
  const context: ServeContext = {
    tools: mountTools(tools),
    executor,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    baseUrl: options.publicUrl?.replace(/\/+$/, '') ?? '',
  };
  const memo =
    executor.deterministic === true
      ? createAnswerMemo(options.answerMemoSize ?? DEFAULT_ANSWER_MEMO_SIZE)
      : undefined;
  if (memo !== undefined) context.memo = memo;
  const app = createApp(context.bodyLimit);
  app.decorateRequest(SOURCE_PROPERTY, '');
  if (options.log !== undefined) installRequestLog(app, context, options.log);
  installAccessChecks(app, context, rules);
  installBodyParsers(app);
  installErrorHandler(app, context);
  registerServiceRoutes(app, context);
  registerAllToolRoutes(app, context);
  if (options.mcp !== undefined && options.mcp !== false) {
    // Loaded only when asked for: the MCP SDK is not needed by the REST server.
    const { registerMcpRoute } = await import('./mcp.js');
    registerMcpRoute(app, tools, executor, {
      ...(options.mcp === true ? {} : options.mcp),
      ...(options.log !== undefined ? { log: options.log } : {}),
    });
  }
  registerNotFound(app, context);

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const url = listenUrl(host, port);
  if (context.baseUrl === '') context.baseUrl = url;

  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    close() {
      closing ??= closeApp(app);
      return closing;
    },
  };
}
