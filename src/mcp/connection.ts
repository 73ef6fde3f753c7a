/**
 * One live connection to an MCP server through the official SDK's client: a stdio server started with a
 * minimal environment (its stderr kept, last lines only, for error messages), or a streamable HTTP server
 * reached with the configured headers. Every way a server can misbehave ends as an `McpServerError` with
 * one line naming the server: it cannot be started, exits before answering, does not answer in time,
 * closes the connection during a call, or sends a message over the size cap. Nothing waits unbounded.
 *
 * Progress and other notifications the client did not ask for are ignored; requests from the server
 * (sampling, roots...) are refused by the SDK because the client declares no capabilities.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
  type Tool as McpTool,
} from '@modelcontextprotocol/sdk/types.js';
import { messageOf, oneLine, ServiceError } from '../core/errors.js';
import { isStdioServer, type McpServerSpec } from '../core/mcp-config.js';
import { VERSION } from '../core/version.js';
import { resolveConfigString, serverEnvironment, usesInstanceDir } from './config.js';

/** A tool as the server lists it (`tools/list`). */
export type McpListedTool = McpTool;

/** An MCP server that could not be started or reached, or that misbehaved; one line, names the server. */
export class McpServerError extends ServiceError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(oneLine(message, 600), options);
    this.name = 'McpServerError';
  }
}

export interface McpConnectOptions {
  /** Where `${env:NAME}` references and the inherited variables are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** What `{instanceDir}` stands for (the caller creates and removes the folder). */
  instanceDir?: string;
  /** Milliseconds for the server to start and answer `initialize`. Default 20 000. */
  connectTimeoutMs?: number;
  /** Largest message accepted from the server, in bytes. Default 4 MiB. */
  maxMessageBytes?: number;
  /** Each line the server writes on stderr (stdio servers). Default: kept for error messages only. */
  log?: (line: string) => void;
}

export interface McpCallOptions {
  /** Milliseconds the call may take. Default 30 000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const STDERR_LINES_KEPT = 5;
const MAX_LIST_PAGES = 100;

/** Server identity from the `initialize` answer. */
export interface McpServerIdentity {
  name?: string;
  title?: string;
  version?: string;
  /** The server's `instructions` for models, when it gives them. */
  instructions?: string;
}

export interface McpConnection {
  /** The server's name (its key in the configuration). */
  readonly name: string;
  readonly identity: McpServerIdentity;
  /** True once the connection is closed, by `close()` or because the server went away. */
  readonly closed: boolean;
  /** Every tool of `tools/list`, all pages. */
  listTools(options?: McpCallOptions): Promise<McpListedTool[]>;
  /** `tools/call`: the result as the server sent it (a result with `isError` is a result, not a throw). */
  callTool(tool: string, args: Record<string, unknown>, options?: McpCallOptions): Promise<CallToolResult>;
  /** Stop the server (stdio) or end the session (HTTP). Idempotent. */
  close(): Promise<void>;
}

/** A `fetch` whose response bodies stop with an error past `maxBytes`. */
function cappedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.body === null) return response;
    let seen = 0;
    const limit = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) controller.error(new Error(`answer larger than ${maxBytes} bytes`));
        else controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(limit), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** Replaces every configured secret (header value) in a message by `***`. */
function redactor(secrets: readonly string[]): (text: string) => string {
  const values = secrets.filter((value) => value.length >= 4);
  return (text) => values.reduce((out, value) => out.split(value).join('***'), text);
}

/** Keeps the last lines a process wrote on stderr. */
class StderrTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly log?: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = (parts.pop() ?? '').slice(-2000);
    for (const line of parts) {
      if (line.trim() === '') continue;
      this.log?.(line);
      this.lines.push(oneLine(line, 300));
      if (this.lines.length > STDERR_LINES_KEPT) this.lines.shift();
    }
  }

  /** ` (stderr: last line)` or ''. */
  suffix(): string {
    const last = [...this.lines, oneLine(this.partial, 300)].filter((line) => line !== '').at(-1);
    return last === undefined ? '' : ` (stderr: ${last})`;
  }
}

interface Prepared {
  transport: Transport;
  describe: string;
  redact: (text: string) => string;
  tail?: StderrTail;
}

function prepareTransport(name: string, spec: McpServerSpec, options: McpConnectOptions): Prepared {
  const env = options.env ?? process.env;
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const where = `MCP server "${name}"`;
  if (isStdioServer(spec)) {
    const resolve = (text: string, what: string): string =>
      resolveConfigString(text, env, `${where}: ${what}`, options.instanceDir);
    const command = resolve(spec.command, 'command');
    const args = (spec.args ?? []).map((arg, i) => resolve(arg, `args[${i}]`));
    const cwd = spec.cwd !== undefined ? resolve(spec.cwd, 'cwd') : options.instanceDir;
    const transport = new StdioClientTransport({
      command,
      args,
      env: serverEnvironment(name, spec.env, env, options.instanceDir),
      stderr: 'pipe',
      maxBufferSize: maxBytes,
      ...(cwd !== undefined ? { cwd } : {}),
    });
    const tail = new StderrTail(options.log);
    transport.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
    return { transport, describe: command, redact: (text) => text, tail };
  }
  const url = resolveConfigString(spec.url, env, `${where}: url`, options.instanceDir);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.headers ?? {})) {
    headers[key] = resolveConfigString(value, env, `${where}: header ${key}`, options.instanceDir);
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
    fetch: cappedFetch(maxBytes),
  });
  // The URL is shown without its query, which may carry a key.
  const shown = new URL(url);
  return {
    transport,
    describe: `${shown.origin}${shown.pathname}`,
    redact: redactor([...Object.values(headers), shown.search.slice(1)]),
  };
}

/**
 * Start (stdio) or reach (HTTP) the server `name` and complete the MCP handshake. Throws
 * `McpServerError` (one line) when it cannot; `InputError` for a `${env:NAME}` that is not set.
 */
export async function connectMcpServer(
  name: string,
  spec: McpServerSpec,
  options: McpConnectOptions = {},
): Promise<McpConnection> {
  const where = `MCP server "${name}"`;
  const prepared = prepareTransport(name, spec, options);
  const { transport, redact, tail } = prepared;
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const client = new Client({ name: 'toolalpaca', version: VERSION }, { capabilities: {} });
  let closed = false;
  let oversized = false;
  client.onclose = () => {
    closed = true;
  };
  client.onerror = (error) => {
    // Unasked-for progress notifications and stray messages land here too: never fatal. An answer over the
    // size cap is remembered, to say so when the request then fails.
    if (/exceeded maximum size|larger than \d+ bytes/.test(messageOf(error))) oversized = true;
  };
  const stderr = (): string => tail?.suffix() ?? '';
  const oversize = (): boolean => oversized;

  const connectTimeoutMs = spec.startTimeout ?? options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    await client.connect(transport, { timeout: connectTimeoutMs });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new McpServerError(
      redact(`${where}: ${startFailure(error, prepared.describe, connectTimeoutMs)}${stderr()}`),
      {
        cause: error,
      },
    );
  }

  /** What went wrong with a request, as one line. */
  const describeFailure = (error: unknown, what: string, timeoutMs: number): string => {
    if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
      if (oversize())
        return `${where} sent an answer to ${what} larger than ${maxBytes} bytes; connection closed`;
      return `${where} closed the connection during ${what} (it exited or crashed)${stderr()}`;
    }
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      if (oversize()) return `${where} sent an answer to ${what} larger than ${maxBytes} bytes`;
      return `${where} did not answer ${what} within ${timeoutMs} ms`;
    }
    if (closed) return `${where} is gone (${messageOf(error)})${stderr()}`;
    return `${where}: ${what} failed: ${messageOf(error)}`;
  };

  const request = async <T>(what: string, options: McpCallOptions, run: (timeout: number) => Promise<T>) => {
    if (closed)
      throw new McpServerError(redact(`${where} is not connected (it exited or was closed)${stderr()}`));
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    try {
      return await run(timeoutMs);
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      // A JSON-RPC error the server sent (unknown tool, bad arguments...) is an answer: the caller maps it.
      if (
        error instanceof McpError &&
        error.code !== ErrorCode.ConnectionClosed &&
        error.code !== ErrorCode.RequestTimeout
      ) {
        throw error;
      }
      throw new McpServerError(redact(describeFailure(error, what, timeoutMs)), { cause: error });
    }
  };

  const version = client.getServerVersion();
  const instructions = client.getInstructions();
  const identity: McpServerIdentity = {
    ...(version?.name !== undefined ? { name: version.name } : {}),
    ...(typeof version?.title === 'string' ? { title: version.title } : {}),
    ...(version?.version !== undefined ? { version: version.version } : {}),
    ...(instructions !== undefined && instructions.trim() !== '' ? { instructions } : {}),
  };

  return {
    name,
    identity,
    get closed() {
      return closed;
    },
    listTools(options = {}) {
      return request('tools/list', options, async (timeout) => {
        const tools: McpListedTool[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < MAX_LIST_PAGES; page++) {
          const result = await client.listTools(cursor !== undefined ? { cursor } : undefined, {
            timeout,
            ...(options.signal ? { signal: options.signal } : {}),
          });
          tools.push(...result.tools);
          cursor = result.nextCursor;
          if (cursor === undefined) break;
        }
        return tools;
      });
    },
    callTool(tool, args, options = {}) {
      return request(`tools/call ${tool}`, options, async (timeout) => {
        // The plain request, not client.callTool: an answer that does not match the tool's output schema is
        // still an answer (the executor reports it), not a thrown error.
        const result = await client.request(
          { method: 'tools/call', params: { name: tool, arguments: args } },
          CallToolResultSchema,
          { timeout, ...(options.signal ? { signal: options.signal } : {}) },
        );
        return result as CallToolResult;
      });
    },
    async close() {
      closed = true;
      // Also after a crash: the transport's close reaps a process that is still there.
      await client.close().catch(() => undefined);
    },
  };
}

/** Why the server could not be started or reached, as a phrase. */
function startFailure(error: unknown, describe: string, timeoutMs: number): string {
  if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
    return `exited before answering initialize (${describe})`;
  }
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
    return `did not answer initialize within ${timeoutMs} ms (${describe})`;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `cannot start "${describe}": no such command`;
  if (code === 'EACCES') return `cannot start "${describe}": permission denied`;
  const cause = error instanceof Error && error.cause !== undefined ? `: ${messageOf(error.cause)}` : '';
  return `cannot connect (${describe}): ${messageOf(error)}${cause}`;
}

/**
 * `connectMcpServer` with the server's own fresh folder when its entry wants one (`perInstance`, or
 * `{instanceDir}` anywhere): made empty under the OS temp folder, the server's working folder unless the
 * entry names a `cwd`, and removed when the connection is closed (or when the server cannot be started).
 */
export async function startMcpServer(
  name: string,
  spec: McpServerSpec,
  options: Omit<McpConnectOptions, 'instanceDir'> = {},
): Promise<McpConnection> {
  if (spec.perInstance !== true && !usesInstanceDir(spec)) return connectMcpServer(name, spec, options);
  const dir = await mkdtemp(join(tmpdir(), 'toolalpaca-mcp-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true }).catch(() => undefined);
  let connection: McpConnection;
  try {
    connection = await connectMcpServer(name, spec, { ...options, instanceDir: dir });
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    name: connection.name,
    identity: connection.identity,
    get closed() {
      return connection.closed;
    },
    listTools: (callOptions) => connection.listTools(callOptions),
    callTool: (tool, args, callOptions) => connection.callTool(tool, args, callOptions),
    async close() {
      await connection.close();
      await remove();
    },
  };
}
