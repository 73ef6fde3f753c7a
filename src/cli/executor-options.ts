/**
 * The `--executor` flags the running commands (generate, eval run, solve, verify) share: the kind,
 * checked, the simulated executor's model spec, the MCP executor's limits (also on `serve`), and the
 * executor options built from the flags.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import type { McpExecutorOptions } from '../executors/mcp-executor.js';
import { executorNames, findExecutor } from '../executors/registry.js';
import type { ToolalpacaConfig } from '../models/config.js';
import type { ModelPool } from './context.js';
import { parseIntegerFlag } from './model-options.js';

/** The MCP executor's limits (`--mcp-timeout`...), as commander hands them over. */
export interface McpLimitFlagValues {
  mcpTimeout?: string;
  mcpStartTimeout?: string;
  mcpMaxMessage?: string;
  mcpMaxBody?: string;
  mcpMaxInstances?: string;
  mcpMaxFailedStarts?: string;
}

export interface ExecutorFlagValues extends McpLimitFlagValues {
  executor?: string;
  executorModel?: string;
  replayFile?: string;
  secrets?: string;
  apiBaseUrl?: string;
  allowPrivate?: boolean;
  /** StableToolBench's `tool_response_cache` folder, for `--executor stabletoolbench`. */
  toolResponseCache?: string;
}

/**
 * The MCP executor's limits as flags: the flag, its value's key among the flags, the option it sets, its
 * placeholder, and its help (the defaults are the library's, checked by a test against its constants; the
 * MCP modules are not loaded for a help text).
 */
const MCP_LIMIT_FLAGS = [
  {
    flag: '--mcp-timeout',
    key: 'mcpTimeout',
    option: 'timeoutMs',
    value: '<ms>',
    help: "MCP executor: milliseconds a tools/call may take, unless the server's entry sets timeout (default 30000)",
  },
  {
    flag: '--mcp-start-timeout',
    key: 'mcpStartTimeout',
    option: 'connectTimeoutMs',
    value: '<ms>',
    help: 'MCP executor: milliseconds a server may take to start and answer initialize, unless its entry sets startTimeout (default 20000)',
  },
  {
    flag: '--mcp-max-message',
    key: 'mcpMaxMessage',
    option: 'maxMessageBytes',
    value: '<bytes>',
    help: 'MCP executor: largest message accepted from a server; a larger one closes its connection (default 4194304, 4 MiB)',
  },
  {
    flag: '--mcp-max-body',
    key: 'mcpMaxBody',
    option: 'maxBodyChars',
    value: '<chars>',
    help: 'MCP executor: characters of body text kept in an observation, the rest cut and marked truncated (default 20000)',
  },
  {
    flag: '--mcp-max-instances',
    key: 'mcpMaxInstances',
    option: 'maxInstances',
    value: '<n>',
    help: 'MCP executor: per-instance servers kept running at once (default 8)',
  },
  {
    flag: '--mcp-max-failed-starts',
    key: 'mcpMaxFailedStarts',
    option: 'maxFailedStarts',
    value: '<n>',
    help: 'MCP executor: failed starts in a row after which a server is not tried again in the run (default 3)',
  },
] as const satisfies readonly {
  flag: string;
  key: keyof McpLimitFlagValues;
  option: keyof McpExecutorOptions;
  value: string;
  help: string;
}[];

/** The MCP executor's limit flags given, as `[flag, value]` (for a command that refuses them without it). */
export function mcpLimitFlagsGiven(flags: McpLimitFlagValues): [string, string][] {
  return MCP_LIMIT_FLAGS.flatMap(({ flag, key }) => {
    const value = flags[key];
    return value !== undefined ? [[flag, value] as [string, string]] : [];
  });
}

/** The MCP executor's limit flags (`--mcp-timeout`...), on a command that can run `--executor mcp`. */
export function addMcpExecutorOptions(command: Command): Command {
  for (const { flag, value, help } of MCP_LIMIT_FLAGS) command.option(`${flag} ${value}`, help);
  return command;
}

/**
 * The MCP executor's limits from their flags (only those given: the others keep the library's
 * defaults); a value that is not a positive integer is a one-line InputError naming the flag.
 */
export function mcpExecutorOptionsFrom(flags: McpLimitFlagValues): McpExecutorOptions {
  const options: McpExecutorOptions = {};
  for (const { flag, key, option } of MCP_LIMIT_FLAGS) {
    const value = parseIntegerFlag(flag, flags[key]);
    if (value !== undefined) options[option] = value;
  }
  return options;
}

/** `--executor` (default `fallback`), one-line InputError for a kind nobody registered. */
export function parseExecutorFlag(value: string | undefined, fallback: ExecutorKind): ExecutorKind {
  const kind = value ?? fallback;
  if (findExecutor(kind) === undefined) {
    throw new InputError(
      `--executor: unknown executor "${kind}"; expected one of: ${executorNames().join(', ')}`,
    );
  }
  return kind;
}

/** The replay executor answers from recorded observations only: it needs `--replay-file`. */
export function checkReplayFile(kind: ExecutorKind, replayFile: string | undefined): void {
  if (kind === 'replay' && replayFile === undefined) {
    throw new InputError('--executor replay needs --replay-file FILE (recorded observations, JSONL)');
  }
}

/** StableToolBench's environment answers from its response cache: it needs `--tool-response-cache`. */
export function checkToolResponseCache(kind: ExecutorKind, dir: string | undefined): void {
  if (kind === 'stabletoolbench' && dir === undefined) {
    throw new InputError(
      "--executor stabletoolbench needs --tool-response-cache DIR (StableToolBench's tool_response_cache folder)",
    );
  }
}

/**
 * The simulated executor's model (`--executor-model`, else the config's executor stage model, else
 * `spec`), for the kinds that simulate (simulated, chain); undefined for the others.
 */
export function executorModelSpec(
  kind: ExecutorKind,
  flags: ExecutorFlagValues,
  config: ToolalpacaConfig,
  spec: string,
): string | undefined {
  if (kind !== 'simulated' && kind !== 'chain' && kind !== 'stabletoolbench') return undefined;
  return flags.executorModel ?? config.stageModels?.executor ?? spec;
}

/**
 * The executor flags that change observations, for a run's parameters (compared on resume). Paths are
 * recorded, never the secrets themselves.
 */
export function executorParameters(flags: ExecutorFlagValues): Record<string, string | null> {
  return {
    replayFile: flags.replayFile ?? null,
    secretsFile: flags.secrets ?? null,
    apiBaseUrl: flags.apiBaseUrl ?? null,
    toolResponseCache: flags.toolResponseCache ?? null,
    // Cut observations differ from whole ones; recorded only when set, so runs without it resume as before.
    ...(flags.mcpMaxBody !== undefined
      ? { mcpMaxBody: String(parseIntegerFlag('--mcp-max-body', flags.mcpMaxBody)) }
      : {}),
  };
}

/** `createExecutor`'s options from the flags; the simulated executor gets `pool`'s model `executorSpec`. */
export async function executorOptionsFrom(
  flags: ExecutorFlagValues,
  pool: ModelPool,
  executorSpec: string | undefined,
): Promise<CreateExecutorOptions> {
  const mcp = mcpExecutorOptionsFrom(flags);
  const options: CreateExecutorOptions = {
    ...(Object.keys(mcp).length > 0 ? { mcp } : {}),
    ...(flags.replayFile !== undefined ? { replay: { file: flags.replayFile } } : {}),
    ...(flags.toolResponseCache !== undefined
      ? { stabletoolbench: { cacheDir: flags.toolResponseCache } }
      : {}),
    real: {
      ...(flags.secrets !== undefined ? { secretsFile: flags.secrets } : {}),
      ...(flags.apiBaseUrl !== undefined ? { baseUrl: flags.apiBaseUrl } : {}),
      ...(flags.allowPrivate === true ? { allowPrivate: true } : {}),
    },
  };
  if (executorSpec !== undefined) options.simulated = { model: await pool.get(executorSpec) };
  return options;
}
