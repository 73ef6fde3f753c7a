/**
 * Any toolset served as an MCP server (`serve --mcp stdio|http`), its calls answered by a `ToolExecutor`:
 * every function of every tool is one MCP tool. Built on the official SDK's low-level `Server`.
 *
 * - Names: a function's own name when one tool is served, `{tool}_{function}` when several are; characters
 *   MCP clients refuse become `_`, names are cut to 64 characters, and a clash gets a numeric suffix, so
 *   every name matches `^[a-zA-Z0-9_-]{1,64}$` and is unique.
 * - Schemas: `inputSchema` is the function's arguments schema; `outputSchema` is declared when the
 *   function's success schema describes an object (MCP allows no other kind).
 * - Results: the observation's body as text content; a JSON object body is also `structuredContent` (it
 *   is checked against the declared output schema first, as clients check it: an answer that does not match
 *   is reported as a tool error, so clients never receive what they would reject). Non-2xx answers,
 *   rejected arguments and executor failures are results with `isError`. `_meta["toolalpaca/source"]`
 *   says who answered (schema, simulated, mcp...).
 * - Instances: over stdio one instance (`mcp`); over HTTP one per session (`mcp-{session id}`), or the
 *   `X-Toolalpaca-Instance` header's, so the simulated executor's memory and per-instance MCP servers
 *   follow the session. A closed session ends its instance (`ToolExecutor.endInstance`).
 * - HTTP: streamable HTTP at `/mcp` on the REST server, behind the same access checks (Host allow-list,
 *   token); sessions are kept in memory, at most `maxSessions` (the least recently used is closed first).
 */
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool as McpTool,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';
import { normalizeSchema, type JsonSchema } from '../core/json-schema.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import { VERSION } from '../core/version.js';
import { bodyText, type Observation, type ToolExecutor } from '../executors/executor.js';
import { headerValue } from './arguments.js';
import { INSTANCE_HEADER } from './options.js';

const MAX_NAME = 64;
/** `_meta` key naming who answered a call. */
export const SOURCE_META_KEY = 'toolalpaca/source';
/** Instance of the calls of a stdio session. */
export const STDIO_INSTANCE = 'mcp';
/** Path of the streamable HTTP endpoint. */
export const MCP_PATH = '/mcp';
/** Sessions kept at once over HTTP by default. */
export const DEFAULT_MAX_SESSIONS = 64;

/** One served function: its MCP name and definition, and where calls go. */
export interface McpServedTool {
  name: string;
  tool: Tool;
  fn: ToolFunction;
  definition: McpTool;
  /** Checks an object body against the declared output schema; undefined when none is declared. */
  checkOutput?: (value: unknown) => string | undefined;
}

/** `name` with characters MCP clients refuse replaced by `_`, at most 64 characters, never empty. */
export function mcpSafeName(name: string): string {
  const safe = name
    .replace(/[^a-zA-Z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_NAME);
  return safe === '' ? 'tool' : safe;
}

/** The names of `wanted` made valid and unique (a clash gets `_2`, `_3`...), in order. */
export function uniqueMcpNames(wanted: readonly string[]): string[] {
  const used = new Set<string>();
  return wanted.map((raw) => {
    const base = mcpSafeName(raw);
    let name = base;
    for (let n = 2; used.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, MAX_NAME - suffix.length)}${suffix}`;
    }
    used.add(name);
    return name;
  });
}

/** The arguments schema as MCP wants it: JSON Schema (OpenAPI 3.0 quirks normalised), an object. */
function inputSchemaOf(fn: ToolFunction): JsonSchema {
  return { ...normalizeSchema(fn.inputSchema), type: 'object' };
}

/** The success schema, when it describes an object (the only output schemas MCP allows). */
function outputSchemaOf(fn: ToolFunction): JsonSchema | undefined {
  if (fn.outputSchema === undefined) return undefined;
  const schema = normalizeSchema(fn.outputSchema);
  const type = schema.type;
  const isObject = type === 'object' || (type === undefined && isRecord(schema.properties));
  return isObject ? { ...schema, type: 'object' } : undefined;
}

/** An MCP function's own annotations; hints from the HTTP method otherwise. */
function annotationsOf(fn: ToolFunction): McpTool['annotations'] | undefined {
  const binding = fn.binding;
  if (binding?.kind === 'mcp') return binding.annotations;
  const method = binding?.method;
  if (method === 'get' || method === 'head') return { readOnlyHint: true, idempotentHint: true };
  if (method === 'delete') return { readOnlyHint: false, destructiveHint: true };
  return undefined;
}

function descriptionOf(tool: Tool, fn: ToolFunction): string {
  const own = (fn.description ?? fn.summary ?? '').trim();
  const about =
    tool.description.trim() === '' ? tool.name : `${tool.name}: ${oneLine(tool.description, 300)}`;
  return own === '' ? `A function of ${about}` : `${own}\n\n(A function of ${about})`;
}

/** Every function of `tools` as an MCP tool (see the module comment for names and schemas). */
export function mcpServedTools(tools: readonly Tool[]): McpServedTool[] {
  const pairs = tools.flatMap((tool) => tool.functions.map((fn) => ({ tool, fn })));
  const names = uniqueMcpNames(
    pairs.map(({ tool, fn }) => (tools.length === 1 ? fn.name : `${tool.name}_${fn.name}`)),
  );
  const validator = new AjvJsonSchemaValidator();
  return pairs.map(({ tool, fn }, i) => {
    const name = names[i] ?? mcpSafeName(fn.name);
    const outputSchema = outputSchemaOf(fn);
    const annotations = annotationsOf(fn);
    const definition: McpTool = {
      name,
      title: `${tool.name} › ${fn.name}`,
      description: descriptionOf(tool, fn),
      inputSchema: inputSchemaOf(fn) as McpTool['inputSchema'],
      ...(outputSchema !== undefined ? { outputSchema: outputSchema as McpTool['outputSchema'] } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    };
    let checkOutput: McpServedTool['checkOutput'];
    if (outputSchema !== undefined) {
      try {
        const check = validator.getValidator(outputSchema);
        checkOutput = (value) => {
          const result = check(value);
          return result.valid ? undefined : (result.errorMessage ?? 'does not match');
        };
      } catch (error) {
        // A schema the validator cannot compile is not declared: clients could not check against it either.
        delete definition.outputSchema;
        void error;
      }
    }
    return { name, tool, fn, definition, ...(checkOutput !== undefined ? { checkOutput } : {}) };
  });
}

/** An observation as an MCP tool result (see the module comment). */
export function observationToCallResult(served: McpServedTool, observation: Observation): CallToolResult {
  const meta = { [SOURCE_META_KEY]: observation.source };
  const errors = observation.validationErrors ?? [];
  if (errors.length > 0) {
    const text = `Invalid arguments for ${served.name}:\n${errors.join('\n')}`;
    return { content: [{ type: 'text', text }], isError: true, _meta: meta };
  }
  const ok = observation.status >= 200 && observation.status < 300 && observation.error === undefined;
  let text = bodyText(observation.body);
  if (!ok) {
    const detail = text !== '' ? text : (observation.error ?? '');
    return {
      content: [{ type: 'text', text: `Status ${observation.status}: ${detail}` }],
      isError: true,
      _meta: meta,
    };
  }
  if (observation.truncated === true) text += ' [truncated]';
  const structured = isRecord(observation.body) ? observation.body : undefined;
  if (served.checkOutput !== undefined) {
    const problem = structured === undefined ? 'not a JSON object' : served.checkOutput(structured);
    if (problem !== undefined) {
      return {
        content: [
          { type: 'text', text: `The answer does not match the output schema (${problem}): ${text}` },
        ],
        isError: true,
        _meta: meta,
      };
    }
  }
  return {
    content: [{ type: 'text', text }],
    ...(structured !== undefined ? { structuredContent: structured } : {}),
    _meta: meta,
  };
}

export interface McpServerOptions {
  /** The `ExecutionContext.instanceId` of each call. */
  instanceId: () => string;
  /** One line per call: `mcp NAME source status ms`. */
  log?: (line: string) => void;
}

/** An SDK `Server` answering `tools/list` and `tools/call` for `served` through `executor`. */
export function createMcpToolServer(
  served: readonly McpServedTool[],
  executor: ToolExecutor,
  options: McpServerOptions,
): Server {
  const byName = new Map(served.map((entry) => [entry.name, entry]));
  const server = new Server(
    { name: 'toolalpaca', version: VERSION },
    {
      capabilities: { tools: {} },
      instructions: 'Tools served by toolalpaca; their answers come from an executor.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: served.map((entry) => entry.definition),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const entry = byName.get(request.params.name);
    if (entry === undefined)
      throw new McpError(ErrorCode.InvalidParams, `unknown tool: ${request.params.name}`);
    const start = performance.now();
    let result: CallToolResult;
    let source = '-';
    try {
      const observation = await executor.execute(entry.tool, entry.fn.name, request.params.arguments ?? {}, {
        instanceId: options.instanceId(),
        signal: extra.signal,
      });
      source = observation.source;
      result = observationToCallResult(entry, observation);
    } catch (error) {
      result = {
        content: [
          { type: 'text', text: `The ${executor.kind} executor failed: ${oneLine(messageOf(error))}` },
        ],
        isError: true,
      };
    }
    options.log?.(
      `mcp ${entry.name} ${source} ${result.isError === true ? 'error' : 'ok'} ${(performance.now() - start).toFixed(1)}ms`,
    );
    return result;
  });
  return server;
}

export interface McpStdioOptions {
  stdin?: Readable;
  stdout?: Writable;
  log?: (line: string) => void;
}

export interface McpStdioServer {
  /** Resolves when the client closes the connection (stdin ends) or `close` is called. */
  done: Promise<void>;
  close(): Promise<void>;
}

/** Serve `tools` over stdio (the process's own stdin/stdout by default). */
export async function serveMcpStdio(
  tools: readonly Tool[],
  executor: ToolExecutor,
  options: McpStdioOptions = {},
): Promise<McpStdioServer> {
  const stdin = options.stdin ?? process.stdin;
  const server = createMcpToolServer(mcpServedTools(tools), executor, {
    instanceId: () => STDIO_INSTANCE,
    ...(options.log ? { log: options.log } : {}),
  });
  let closing: Promise<void> | undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await server.close().catch(() => undefined);
      await executor.endInstance?.(STDIO_INSTANCE);
      finish();
    })();
    return closing;
  };
  server.onclose = () => void close();
  // The SDK's stdio transport does not watch for the end of its input: the client leaving is seen here.
  stdin.once('end', () => void close());
  stdin.once('close', () => void close());
  await server.connect(new StdioServerTransport(stdin, options.stdout ?? process.stdout));
  return { done, close };
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: Server;
  readonly instanceId: string;
}

export interface McpHttpRouteOptions {
  maxSessions?: number;
  log?: (line: string) => void;
}

function jsonRpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * Streamable HTTP at `/mcp` (POST, GET and DELETE) on `app`, behind its hooks. Sessions are closed when the
 * app closes. Returns the number of open sessions, for tests and logs.
 */
export function registerMcpRoute(
  app: FastifyInstance,
  tools: readonly Tool[],
  executor: ToolExecutor,
  options: McpHttpRouteOptions = {},
): { sessions: () => number } {
  if (tools.some((tool) => tool.name === 'mcp')) {
    throw new InputError(`a tool named "mcp" cannot be served beside the MCP endpoint ${MCP_PATH}`);
  }
  const served = mcpServedTools(tools);
  const maxSessions = Math.max(1, options.maxSessions ?? DEFAULT_MAX_SESSIONS);
  // Insertion order is use order: a session is moved to the end on each request.
  const sessions = new Map<string, Session>();

  const endSession = async (id: string, session: Session): Promise<void> => {
    if (sessions.get(id) !== session) return;
    sessions.delete(id);
    await session.server.close().catch(() => undefined);
    await executor.endInstance?.(session.instanceId);
  };

  const openSession = async (request: FastifyRequest): Promise<StreamableHTTPServerTransport> => {
    const named = headerValue(request.headers[INSTANCE_HEADER]);
    // The session's instance is known once the transport has made up the session id.
    const state = { instanceId: named ?? 'mcp' };
    const server = createMcpToolServer(served, executor, {
      instanceId: () => state.instanceId,
      ...(options.log ? { log: options.log } : {}),
    });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        state.instanceId = named ?? `mcp-${id}`;
        sessions.set(id, session);
        for (const [oldId, old] of sessions) {
          if (sessions.size <= maxSessions) break;
          void endSession(oldId, old);
        }
      },
    });
    const session: Session = {
      transport,
      server,
      get instanceId() {
        return state.instanceId;
      },
    };
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined) void endSession(id, session);
    };
    await server.connect(transport);
    return transport;
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const id = headerValue(request.headers['mcp-session-id']);
    let transport: StreamableHTTPServerTransport;
    if (id !== undefined) {
      const session = sessions.get(id);
      if (session === undefined) return jsonRpcError(reply, 404, -32001, 'Session not found');
      sessions.delete(id);
      sessions.set(id, session);
      transport = session.transport;
    } else if (request.method === 'POST' && isInitializeRequest(request.body)) {
      transport = await openSession(request);
    } else {
      return jsonRpcError(reply, 400, ErrorCode.InvalidRequest, 'Bad Request: no valid session ID');
    }
    // The transport writes the answer itself.
    reply.hijack();
    await transport.handleRequest(request.raw, reply.raw, request.body);
  };

  app.route({ method: ['GET', 'POST', 'DELETE'], url: MCP_PATH, handler });
  app.addHook('preClose', async () => {
    await Promise.all([...sessions].map(([id, session]) => endSession(id, session)));
  });
  return { sessions: () => sessions.size };
}
