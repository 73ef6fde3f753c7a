/**
 * The `--executor` flags the running commands (generate, eval run, solve) share: the kind, checked,
 * the simulated executor's model spec, and the executor options built from the flags.
 */
import { InputError } from '../core/errors.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import { executorNames, findExecutor } from '../executors/registry.js';
import type { ToolalpacaConfig } from '../models/config.js';
import type { ModelPool } from './context.js';

export interface ExecutorFlagValues {
  executor?: string;
  executorModel?: string;
  replayFile?: string;
  secrets?: string;
  apiBaseUrl?: string;
  allowPrivate?: boolean;
  /** StableToolBench's `tool_response_cache` folder, for `--executor stabletoolbench`. */
  toolResponseCache?: string;
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
  };
}

/** `createExecutor`'s options from the flags; the simulated executor gets `pool`'s model `executorSpec`. */
export async function executorOptionsFrom(
  flags: ExecutorFlagValues,
  pool: ModelPool,
  executorSpec: string | undefined,
): Promise<CreateExecutorOptions> {
  const options: CreateExecutorOptions = {
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
