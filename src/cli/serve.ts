/**
 * `toolalpaca serve`: the virtual API server. Every tool of a ToolAlpaca JSON file or OpenAPI spec is
 * served over HTTP, its calls answered by the chosen executor (schema: offline fake data; simulated: a
 * language model plays the API; replay: recorded observations; real: the real API). Stops cleanly on
 * SIGTERM or SIGINT, letting requests in flight finish.
 */
import { Option, type Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import { createExecutor, type CreateExecutorOptions } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { loadReplayRecords } from '../executors/replay-executor.js';
import { isLoopbackAddress, isWildcardAddress, parseAllowedHost } from '../serve/access.js';
import {
  createToolServer,
  DEFAULT_BODY_LIMIT,
  type ToolServer,
  type ToolServerOptions,
} from '../serve/index.js';
import type { McpStdioServer } from '../serve/mcp.js';
import { readToolSource, toolsOfSource } from '../formats/toolalpaca-json.js';
import { loadConfig } from '../models/config.js';
import { MODEL_SPEC_HELP, parseModelSpec } from '../models/model-spec.js';
import {
  addMcpExecutorOptions,
  mcpExecutorOptionsFrom,
  mcpLimitFlagsGiven,
  type McpLimitFlagValues,
} from './executor-options.js';
import { addModelOptions, modelOptionsFrom, type ModelFlagValues } from './model-options.js';

export const SERVE_EXECUTORS = ['schema', 'simulated', 'replay', 'real', 'mcp'] as const;
export type ServeExecutorKind = (typeof SERVE_EXECUTORS)[number];

/** Environment variable holding the bearer token (instead of `--token`, which `ps` shows). */
export const SERVE_TOKEN_ENV = 'TOOLALPACA_SERVE_TOKEN';

/** Flag values as commander hands them over. */
export interface ServeFlags extends ModelFlagValues, McpLimitFlagValues {
  tools: string[];
  executor: ServeExecutorKind;
  executorModel?: string;
  replayFile?: string;
  secrets?: string;
  apiBaseUrl?: string;
  allowPrivate?: boolean;
  port: string;
  host: string;
  allowHost?: string[];
  token?: string;
  publicUrl?: string;
  bodyLimit?: string;
  quiet?: boolean;
  /** Also (http) or only (stdio) serve the tools as an MCP server. */
  mcp?: 'stdio' | 'http';
  /** Renamed flags, kept to say their new names. */
  replay?: string;
  executorBaseUrl?: string;
}

export interface ServeIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Folder holding toolalpaca.config.json (default: the working directory). */
  cwd?: string;
  /** Where `TOOLALPACA_SERVE_TOKEN` is read (default `process.env`). */
  env?: Record<string, string | undefined>;
}

export interface RunningServe {
  server: ToolServer;
  executor: ToolExecutor;
  tools: Tool[];
  /** Close the server (in-flight requests finish first), then the executor. Idempotent. */
  stop(): Promise<void>;
}

function parseIntegerFlag(flag: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < min || number > max) {
    throw new InputError(`${flag}: expected an integer from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

async function loadServeTools(files: readonly string[], stderr: ServeIo['stderr']): Promise<Tool[]> {
  const tools: Tool[] = [];
  for (const file of files) {
    for (const entry of await toolsOfSource(await readToolSource(file))) {
      if (entry.tool === undefined) {
        stderr.write(
          `toolalpaca: skipping tool "${entry.name}" of ${entry.source}: ${entry.error ?? 'unreadable'}\n`,
        );
      } else {
        tools.push(entry.tool);
      }
    }
  }
  if (tools.length === 0) throw new InputError(`no servable tool in ${files.join(', ')}`);
  return tools;
}

/** Renamed flags and flags that mean nothing for the chosen executor: one line saying what to use. */
function checkFlagVocabulary(flags: ServeFlags): void {
  if (flags.replay !== undefined) throw new InputError('--replay is now --replay-file FILE');
  if (flags.executorBaseUrl !== undefined) {
    throw new InputError('--executor-base-url is now --base-url URL (the model server, as in every command)');
  }
  if (flags.executor !== 'simulated') {
    if (flags.baseUrl !== undefined) {
      throw new InputError(
        `--base-url is the model server's URL, used by --executor simulated only; the real API's base URL is --api-base-url`,
      );
    }
    for (const [flag, value] of [
      ['--model', flags.model],
      ['--executor-model', flags.executorModel],
    ] as const) {
      if (value !== undefined) {
        throw new InputError(
          `${flag}: only --executor simulated uses a model (got --executor ${flags.executor})`,
        );
      }
    }
  }
  if (flags.executor !== 'real') {
    for (const [flag, value] of [
      ['--secrets', flags.secrets],
      ['--api-base-url', flags.apiBaseUrl],
      ['--allow-private', flags.allowPrivate],
    ] as const) {
      if (value !== undefined)
        throw new InputError(`${flag} is for --executor real (got --executor ${flags.executor})`);
    }
  }
  if (flags.executor !== 'mcp') {
    const [given] = mcpLimitFlagsGiven(flags);
    if (given !== undefined) {
      throw new InputError(`${given[0]} is for --executor mcp (got --executor ${flags.executor})`);
    }
  }
  mcpExecutorOptionsFrom(flags); // a bad limit fails before the tools are read
  if (flags.executor !== 'replay' && flags.replayFile !== undefined) {
    throw new InputError(`--replay-file is for --executor replay (got --executor ${flags.executor})`);
  }
}

async function executorOptions(flags: ServeFlags, cwd: string | undefined): Promise<CreateExecutorOptions> {
  switch (flags.executor) {
    case 'schema':
      return {};
    case 'mcp': {
      const mcp = mcpExecutorOptionsFrom(flags);
      return Object.keys(mcp).length > 0 ? { mcp } : {};
    }
    case 'replay': {
      if (flags.replayFile === undefined) {
        throw new InputError('--executor replay needs --replay-file FILE (JSONL of recorded observations)');
      }
      return { replay: { records: await loadReplayRecords(flags.replayFile) } };
    }
    case 'real':
      return {
        real: {
          ...(flags.apiBaseUrl !== undefined ? { baseUrl: flags.apiBaseUrl } : {}),
          ...(flags.secrets !== undefined ? { secretsFile: flags.secrets } : {}),
          ...(flags.allowPrivate === true ? { allowPrivate: true } : {}),
        },
      };
    case 'simulated': {
      const config = await loadConfig(cwd);
      const { executorModel, ...rest } = flags;
      const model = executorModel ?? flags.model ?? config.stageModels?.executor;
      if (model === undefined && config.model === undefined) {
        throw new InputError(`--executor simulated needs --model SPEC (${MODEL_SPEC_HELP})`);
      }
      const resolved = modelOptionsFrom({ ...rest, ...(model !== undefined ? { model } : {}) }, config);
      parseModelSpec(resolved.spec); // a bad spec fails now, not on the first request
      return { simulated: { modelSpec: resolved.spec, modelOptions: resolved.options } };
    }
  }
}

/** The server's access options: allowed hosts, and the token (required off loopback). */
function accessOptions(
  flags: ServeFlags,
  env: Record<string, string | undefined>,
  stderr: ServeIo['stderr'],
): Pick<ToolServerOptions, 'allowedHosts' | 'token'> {
  for (const entry of flags.allowHost ?? []) {
    if (parseAllowedHost(entry) === undefined) {
      throw new InputError(`--allow-host: expected NAME or NAME:PORT, got "${entry}"`);
    }
  }
  const fromEnv = env[SERVE_TOKEN_ENV];
  const token = flags.token ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (token !== undefined && token.trim().length < 16) {
    throw new InputError(`--token / ${SERVE_TOKEN_ENV}: use at least 16 characters`);
  }
  if (!isLoopbackAddress(flags.host) && token === undefined) {
    throw new InputError(
      `--host ${flags.host} is not a loopback address: anyone who reaches it could call the tools; set ${SERVE_TOKEN_ENV} (or pass --token) to require a bearer token`,
    );
  }
  if (isWildcardAddress(flags.host)) {
    stderr.write(
      `toolalpaca: warning: listening on every interface (${flags.host}); requests need the bearer token and a Host this server answers for (--allow-host NAME)\n`,
    );
  }
  return {
    ...(flags.allowHost !== undefined ? { allowedHosts: flags.allowHost } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

function checkExecutorKind(kind: string): void {
  if (!(SERVE_EXECUTORS as readonly string[]).includes(kind)) {
    throw new InputError(`--executor: expected one of ${SERVE_EXECUTORS.join(', ')}, got "${kind}"`);
  }
}

/**
 * MCP over stdio: the tools and executor behind an MCP server on stdin/stdout, nothing listening on the
 * network; the ready line goes to stderr (stdout carries the protocol).
 */
export async function startMcpStdioServe(
  flags: ServeFlags,
  io: ServeIo,
): Promise<{ mcp: McpStdioServer; stop(): Promise<void> }> {
  checkExecutorKind(flags.executor);
  if (flags.tools.length === 0) throw new InputError('--tools FILE is required');
  checkFlagVocabulary(flags);
  const tools = await loadServeTools(flags.tools, io.stderr);
  const executor = await createExecutor(flags.executor, await executorOptions(flags, io.cwd));
  const { serveMcpStdio } = await import('../serve/mcp.js');
  const mcp = await serveMcpStdio(tools, executor, {
    ...(flags.quiet === true ? {} : { log: (line: string) => void io.stderr.write(`${line}\n`) }),
  });
  const functions = tools.reduce((sum, tool) => sum + tool.functions.length, 0);
  io.stderr.write(`serving ${tools.length} tools (${functions} MCP tools) over stdio\n`);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await mcp.close();
      await executor.close?.();
    })();
    return stopping;
  };
  void mcp.done.then(stop);
  return { mcp, stop };
}

/** Read the tools, build the executor and start listening; prints the ready line on stdout. */
export async function startServe(flags: ServeFlags, io: ServeIo): Promise<RunningServe> {
  checkExecutorKind(flags.executor);
  const port = parseIntegerFlag('--port', flags.port, 0, 65535);
  const bodyLimit =
    flags.bodyLimit !== undefined
      ? parseIntegerFlag('--body-limit', flags.bodyLimit, 1, 2 ** 31 - 1)
      : DEFAULT_BODY_LIMIT;
  if (flags.tools.length === 0) throw new InputError('--tools FILE is required');
  checkFlagVocabulary(flags);
  const access = accessOptions(flags, io.env ?? process.env, io.stderr);
  const tools = await loadServeTools(flags.tools, io.stderr);
  const executor = await createExecutor(flags.executor, await executorOptions(flags, io.cwd));
  let server: ToolServer;
  try {
    server = await createToolServer(tools, executor, {
      host: flags.host,
      port,
      bodyLimit,
      ...access,
      ...(flags.mcp === 'http' ? { mcp: true } : {}),
      ...(flags.publicUrl !== undefined ? { publicUrl: flags.publicUrl } : {}),
      ...(flags.quiet === true ? {} : { log: (line: string) => void io.stderr.write(`${line}\n`) }),
    });
  } catch (error) {
    await executor.close?.();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new InputError(`cannot listen on ${flags.host}:${port}: ${code}`, { cause: error });
    }
    throw error;
  }
  io.stdout.write(
    `serving ${tools.length} tools at ${server.url}${flags.mcp === 'http' ? ` (MCP at ${server.url}/mcp)` : ''}\n`,
  );
  let stopping: Promise<void> | undefined;
  return {
    server,
    executor,
    tools,
    stop() {
      stopping ??= (async () => {
        await server.close();
        await executor.close?.();
      })();
      return stopping;
    },
  };
}

/** Resolves after SIGTERM or SIGINT once the server is closed. */
function untilSignal(running: RunningServe, stderr: ServeIo['stderr']): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      stderr.write(`toolalpaca: ${signal}: closing the server\n`);
      running.stop().then(resolve, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Resolves once `done` resolves (the MCP client left), or after SIGTERM/SIGINT once `stop` is done. */
async function untilDoneOrSignal(
  done: Promise<void>,
  stop: () => Promise<void>,
  stderr: ServeIo['stderr'],
): Promise<void> {
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const signalled = new Promise<void>((resolve, reject) => {
    onSignal = (signal) => {
      stderr.write(`toolalpaca: ${signal}: closing the MCP server\n`);
      stop().then(resolve, reject);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await Promise.race([done.then(stop), signalled]);
  if (onSignal !== undefined) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'Serve every tool as a virtual HTTP API under /{tool}/, answered by an executor; also /{tool}/openapi.json, /{tool}/.well-known/ai-plugin.json and /healthz. Only loopback Host names are answered unless --allow-host.',
    )
    .requiredOption(
      '--tools <file>',
      'ToolAlpaca JSON file, OpenAPI spec or folder of specs (repeatable)',
      collect,
    )
    .addOption(
      new Option('--executor <kind>', 'who answers the calls')
        .choices([...SERVE_EXECUTORS])
        .default('schema'),
    )
    .option('--executor-model <spec>', 'simulated: the model playing the API (default --model)')
    .option('--replay-file <file>', 'replay: JSONL of recorded observations')
    .option('--secrets <file>', 'real: JSON secrets file (keys per tool, tied to hosts)')
    .option('--api-base-url <url>', "real: call this URL instead of the tool's server")
    .option('--allow-private', 'real: allow calls to loopback, private and link-local addresses')
    .option('--port <port>', 'port to listen on (0: any free port)', '8000')
    .option('--host <host>', 'interface to listen on (not loopback: needs a token)', '127.0.0.1')
    .option(
      '--allow-host <name>',
      'answer requests whose Host is NAME or NAME:PORT, besides localhost, 127.0.0.1 and [::1] (repeatable)',
      collect,
    )
    .option('--token <token>', `require "Authorization: Bearer TOKEN" (default ${SERVE_TOKEN_ENV})`)
    .option(
      '--public-url <url>',
      'base URL written into openapi.json and ai-plugin.json (default: the listen URL); its host is allowed',
    )
    .option('--body-limit <bytes>', 'largest request body accepted', String(DEFAULT_BODY_LIMIT))
    .option('--quiet', 'no per-request log lines on stderr')
    .addOption(
      new Option(
        '--mcp <transport>',
        'serve the tools as an MCP server: over stdio (instead of HTTP), or over streamable HTTP at /mcp beside the REST routes (default off: REST only)',
      ).choices(['stdio', 'http']),
    )
    .addOption(new Option('--replay <file>').hideHelp())
    .addOption(new Option('--executor-base-url <url>').hideHelp());
  addMcpExecutorOptions(command);
  addModelOptions(command);
  command.action(async (flags: ServeFlags) => {
    const io: ServeIo = { stdout: process.stdout, stderr: process.stderr };
    if (flags.mcp === 'stdio') {
      const running = await startMcpStdioServe(flags, io);
      await untilDoneOrSignal(running.mcp.done, running.stop, io.stderr);
      return;
    }
    const running = await startServe(flags, io);
    await untilSignal(running, io.stderr);
  });
}
