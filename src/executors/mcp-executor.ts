/**
 * The `mcp` executor: calls a function with an `mcp` binding on its live MCP server (`tools/call`) and
 * reads the result as an observation with source `mcp` (see src/mcp/result.ts: structuredContent, else
 * the content as text; `isError` is status 400; text past the cap is cut and marked truncated).
 *
 * Servers are started on first use from the tool's launch spec (`tool.mcpServers`, or `servers` given
 * here, which win), kept for later calls and stopped by `close`. A server whose entry has `perInstance`
 * gets its own process and folder per `ExecutionContext.instanceId`, stopped by `endInstance` (at most
 * `maxInstances` are kept; the least recently used idle one goes first). A server that went away (crash,
 * oversize answer) is started again on the next call; one that failed to start `maxFailedStarts` times in
 * a row is not tried again. Infrastructure failures (cannot start, crash, timeout, oversize) throw an
 * `McpServerError`, one line naming the server, so the instance is recorded as failed (and a chain falls
 * through); a JSON-RPC error from the server (unknown tool, bad arguments) is an answer: 400, or 500 for
 * its internal errors. A function without an `mcp` binding answers 501, as the real executor does for
 * functions without an HTTP one.
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { canonicalJson } from '../core/json-schema.js';
import type { McpServerSpec } from '../core/mcp-config.js';
import type { McpBinding, Tool } from '../core/tool.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  McpServerError,
  startMcpServer,
  type McpConnectOptions,
  type McpConnection,
} from '../mcp/connection.js';
import { mcpResultView } from '../mcp/result.js';
import { prepareCall, type CheckOptions } from './arguments.js';
import { elapsedMs, type ExecutionContext, type Observation, type ToolExecutor } from './executor.js';

export interface McpExecutorOptions extends CheckOptions {
  /** Launch specs by server name, used before the tools' own `mcpServers`. */
  servers?: Readonly<Record<string, McpServerSpec>>;
  /** Where `${env:NAME}` references and the inherited variables are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds a call may take, unless the server's entry sets `timeout`. Default 30 000. */
  timeoutMs?: number;
  /** Milliseconds for a server to start and answer `initialize`. Default 20 000. */
  connectTimeoutMs?: number;
  /** Largest message accepted from a server, in bytes. Default 4 MiB. */
  maxMessageBytes?: number;
  /** Characters of body text kept. Default 20 000. */
  maxBodyChars?: number;
  /** Per-instance servers kept running at once. Default 8. */
  maxInstances?: number;
  /** Failed starts in a row after which a server is not tried again. Default 3. */
  maxFailedStarts?: number;
  /** Lines servers write on stderr, prefixed with `[mcp NAME] `. Default: not shown. */
  log?: (line: string) => void;
}

/** Per-instance servers kept running at once, unless `maxInstances` says otherwise. */
export const DEFAULT_MAX_INSTANCES = 8;
/** Failed starts in a row after which a server is not tried again, unless `maxFailedStarts` says otherwise. */
export const DEFAULT_MAX_FAILED_STARTS = 3;

interface Entry {
  server: string;
  /** The instance it belongs to (per-instance servers), else undefined. */
  instance: string | undefined;
  connection: Promise<McpConnection>;
  lastUsed: number;
  inFlight: number;
}

/** JSON-RPC errors that mean the call itself was wrong. */
const CLIENT_ERRORS = new Set<number>([
  ErrorCode.InvalidParams,
  ErrorCode.InvalidRequest,
  ErrorCode.MethodNotFound,
]);

/**
 * The running servers, by server, launch spec and (for per-instance servers) instance: started on first
 * use, started again when gone, given up after `maxFailedStarts` failed starts in a row.
 */
class McpServerPool {
  private readonly entries = new Map<string, Entry>();
  private readonly failedStarts = new Map<string, { count: number; message: string }>();
  private readonly maxInstances: number;
  private readonly maxFailedStarts: number;
  private useCounter = 0;

  constructor(private readonly options: McpExecutorOptions) {
    this.maxInstances = Math.max(1, options.maxInstances ?? DEFAULT_MAX_INSTANCES);
    this.maxFailedStarts = Math.max(1, options.maxFailedStarts ?? DEFAULT_MAX_FAILED_STARTS);
  }

  /** A live connection's entry for the server, marked in use; `release` it when the call ends. */
  async acquire(server: string, spec: McpServerSpec, instanceId: string | undefined): Promise<Entry> {
    const specKey = `${server}\u0000${canonicalJson(spec)}`;
    const instance = spec.perInstance === true ? (instanceId ?? '') : undefined;
    const key = `${specKey}\u0000${instance ?? ''}`;
    // No await before `start` when there is no entry: concurrent first calls must share one start.
    let entry = this.entries.get(key);
    if (entry !== undefined && !(await this.stillRunning(key, entry))) entry = undefined;
    entry ??= await this.start(key, specKey, server, spec, instance);
    entry.inFlight++;
    entry.lastUsed = ++this.useCounter;
    return entry;
  }

  release(entry: Entry): void {
    entry.inFlight--;
  }

  /** Stops the servers of one instance. */
  async endInstance(instanceId: string): Promise<void> {
    const ending = [...this.entries].filter(([, entry]) => entry.instance === instanceId);
    await Promise.all(ending.map(([key, entry]) => this.drop(key, entry)));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries].map(([key, entry]) => this.drop(key, entry)));
  }

  /** Whether the entry's server still runs; one that went away (crash, oversize answer) is dropped. */
  private async stillRunning(key: string, entry: Entry): Promise<boolean> {
    const connection = await entry.connection.catch(() => undefined);
    if (connection !== undefined && !connection.closed) return true;
    await this.drop(key, entry);
    return false;
  }

  private async start(
    key: string,
    specKey: string,
    server: string,
    spec: McpServerSpec,
    instance: string | undefined,
  ): Promise<Entry> {
    const failed = this.failedStarts.get(specKey);
    if (failed !== undefined && failed.count >= this.maxFailedStarts) {
      throw new McpServerError(`${failed.message}; not started again after ${failed.count} failed starts`);
    }
    if (instance !== undefined) this.trimInstances();
    const entry: Entry = {
      server,
      instance,
      connection: startMcpServer(server, spec, this.connectOptions(server)),
      lastUsed: ++this.useCounter,
      inFlight: 0,
    };
    this.entries.set(key, entry);
    try {
      await entry.connection;
      this.failedStarts.delete(specKey);
    } catch (error) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      if (error instanceof McpServerError) {
        const count = (this.failedStarts.get(specKey)?.count ?? 0) + 1;
        this.failedStarts.set(specKey, { count, message: error.message });
      }
      throw error;
    }
    return entry;
  }

  private connectOptions(server: string): Omit<McpConnectOptions, 'instanceDir'> {
    const { options } = this;
    return {
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
      ...(options.log !== undefined
        ? { log: (line: string) => options.log?.(`[mcp ${server}] ${line}`) }
        : {}),
    };
  }

  private async drop(key: string, entry: Entry): Promise<void> {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    await entry.connection.then((connection) => connection.close()).catch(() => undefined);
  }

  /** Stops the least recently used idle per-instance servers while there are too many. */
  private trimInstances(): void {
    const perInstance = [...this.entries].filter(([, entry]) => entry.instance !== undefined);
    if (perInstance.length < this.maxInstances) return;
    const idle = perInstance
      .filter(([, entry]) => entry.inFlight === 0)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of idle.slice(0, perInstance.length - this.maxInstances + 1)) {
      void this.drop(key, entry);
    }
  }
}

function specOf(options: McpExecutorOptions, tool: Tool, binding: McpBinding): McpServerSpec {
  const spec = options.servers?.[binding.server] ?? tool.mcpServers?.[binding.server];
  if (spec === undefined) {
    throw new InputError(
      `tool "${tool.name}": no launch spec for MCP server "${binding.server}" (read the tools from an MCP configuration, or give the server's entry)`,
    );
  }
  return spec;
}

/** An MCP-bound call whose arguments were checked. */
interface McpCall {
  tool: Tool;
  binding: McpBinding;
  args: Record<string, unknown>;
  context: ExecutionContext | undefined;
  start: number;
  warnings: { warnings?: string[] };
}

/** Calls the tool on its server; a JSON-RPC error from the server is its answer (400, or 500). */
async function callOnServer(
  pool: McpServerPool,
  options: McpExecutorOptions,
  call: McpCall,
): Promise<Observation> {
  const { binding, context } = call;
  const spec = specOf(options, call.tool, binding);
  const entry = await pool.acquire(binding.server, spec, context?.instanceId);
  try {
    const connection = await entry.connection;
    const result = await connection.callTool(binding.tool, call.args, {
      timeoutMs: spec.timeout ?? options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      ...(context?.signal !== undefined ? { signal: context.signal } : {}),
    });
    const view = mcpResultView(
      result,
      options.maxBodyChars !== undefined ? { maxBodyChars: options.maxBodyChars } : {},
    );
    return {
      status: view.status,
      body: view.body,
      headers: { 'content-type': view.contentType },
      source: 'mcp',
      latencyMs: elapsedMs(call.start),
      ...(view.truncated ? { truncated: true } : {}),
      ...call.warnings,
    };
  } catch (error) {
    if (context?.signal?.aborted === true || !(error instanceof McpError)) throw error;
    // The server answered with a JSON-RPC error: that is its answer to this call.
    const message = oneLine(messageOf(error));
    return {
      status: CLIENT_ERRORS.has(error.code) ? 400 : 500,
      body: { error: message },
      headers: { 'content-type': 'application/json' },
      source: 'mcp',
      latencyMs: elapsedMs(call.start),
      ...call.warnings,
    };
  } finally {
    pool.release(entry);
  }
}

/** The `mcp` executor (see the module comment). */
export function createMcpExecutor(options: McpExecutorOptions = {}): ToolExecutor {
  const pool = new McpServerPool(options);
  return {
    kind: 'mcp',
    async execute(tool, functionName, args, context?: ExecutionContext): Promise<Observation> {
      const start = performance.now();
      const prepared = prepareCall(tool, functionName, args, 'mcp', options);
      if (!prepared.ok) return prepared.observation;
      const warnings = prepared.warnings.length > 0 ? { warnings: prepared.warnings } : {};
      const binding = prepared.fn.binding;
      if (binding?.kind !== 'mcp') {
        const error = `function ${prepared.fn.name} of tool "${tool.name}" is not an MCP tool`;
        return {
          status: 501,
          body: { error },
          headers: {},
          source: 'mcp',
          latencyMs: elapsedMs(start),
          error,
          ...warnings,
        };
      }
      return callOnServer(pool, options, { tool, binding, args: prepared.args, context, start, warnings });
    },
    endInstance(instanceId) {
      return pool.endInstance(instanceId);
    },
    close() {
      return pool.closeAll();
    },
  };
}
