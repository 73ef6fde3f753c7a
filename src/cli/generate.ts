/**
 * `toolalpaca generate`: a ToolAlpaca corpus from a toolset. Parses flags, builds the models and the
 * executor, and calls `runGeneration`; Ctrl-C stops starting new instances, lets the ones in flight
 * finish (a second Ctrl-C, or the grace period, cuts them), writes what is done and exits 130.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { AgentMode, PromptLayoutName } from '../agents/episode.js';
import { createExecutor, EXECUTOR_KINDS } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { loadConfig, type ToolalpacaConfig } from '../models/config.js';
import { createChatModel, type CreatedChatModel, type ModelOptions } from '../models/create-model.js';
import { CostLedger } from '../models/ledger.js';
import { loadPriceTable } from '../models/prices.js';
import { formatGenerationSummary, runGeneration, type GenerationSummary } from '../pipeline/generate.js';
import {
  checkReplayFile,
  executorModelSpec,
  executorOptionsFrom,
  parseExecutorFlag,
  type ExecutorFlagValues,
} from './executor-options.js';
import {
  addModelOptions,
  downloadProgressPrinter,
  modelOptionsFrom,
  parseIntegerFlag,
  parseTemperatureFlag,
  type ModelFlagValues,
  type ResolvedModelOptions,
} from './model-options.js';
import type { ProgressStream } from './progress.js';
import { createRunProgress, printRunSummary, runInterruptible } from './run-helpers.js';

export const PROMPT_LAYOUTS: readonly PromptLayoutName[] = [
  'train_v1',
  'train_v2',
  'test_v1',
  'test_v2',
  'lean',
];
export const AGENT_MODES: readonly AgentMode[] = ['react', 'function-calling'];

export interface GenerateFlags extends ModelFlagValues, ExecutorFlagValues {
  tools?: string;
  out?: string;
  userModel?: string;
  prompt?: string;
  mode?: string;
  limit?: string;
  perTool?: string;
  resume?: boolean;
  force?: boolean;
  maxSteps?: string;
  seed?: string;
  temperature?: string;
  grace?: string;
  json?: boolean;
}

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  /** Folder holding toolalpaca.config.json (default: the working directory). */
  cwd?: string;
  /** Aborted to stop the run (the CLI wires SIGINT to it). */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

export function parsePromptFlag(value: string | undefined): PromptLayoutName {
  const prompt = value ?? 'train_v1';
  if (!(PROMPT_LAYOUTS as readonly string[]).includes(prompt)) {
    throw new InputError(
      `--prompt: unknown layout "${prompt}"; expected one of: ${PROMPT_LAYOUTS.join(', ')}`,
    );
  }
  return prompt as PromptLayoutName;
}

export function parseModeFlag(value: string | undefined): AgentMode {
  const mode = value ?? 'react';
  if (!(AGENT_MODES as readonly string[]).includes(mode)) {
    throw new InputError(`--mode: unknown mode "${mode}"; expected one of: ${AGENT_MODES.join(', ')}`);
  }
  return mode as AgentMode;
}

/** Models by spec: the same spec used for several roles is built (and loaded) once. */
export class ModelPool {
  private readonly models = new Map<string, CreatedChatModel>();

  constructor(private readonly options: ModelOptions) {}

  async get(spec: string): Promise<CreatedChatModel> {
    let model = this.models.get(spec);
    if (model === undefined) {
      model = await createChatModel(spec, this.options);
      this.models.set(spec, model);
    }
    return model;
  }

  cacheHits(): number {
    let hits = 0;
    for (const model of this.models.values()) hits += model.cacheStats()?.hits ?? 0;
    return hits;
  }

  async close(): Promise<void> {
    for (const model of this.models.values()) await model.close();
    this.models.clear();
  }
}

/**
 * The cost ledger (priced from the resolved prices file) and a model pool recording into it, with
 * download progress on `io.stderr`.
 */
export async function createModelPool(
  resolved: ResolvedModelOptions,
  io: Pick<CommandIo, 'stderr'>,
): Promise<{ ledger: CostLedger; pool: ModelPool }> {
  const ledger = new CostLedger({ prices: await loadPriceTable(resolved.pricesFile) });
  const pool = new ModelPool({
    ...resolved.options,
    ledger,
    onDownloadProgress: downloadProgressPrinter(io.stderr),
  });
  return { ledger, pool };
}

function stageModel(config: ToolalpacaConfig, stage: string): string | undefined {
  return config.stageModels?.[stage];
}

/** The `generate` action, callable without commander (tests, scripts). Resolves to the summary. */
export async function runGenerateCommand(flags: GenerateFlags, io: CommandIo): Promise<GenerationSummary> {
  if (flags.tools === undefined) throw new InputError('--tools FILE is required');
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  const prompt = parsePromptFlag(flags.prompt);
  const mode = parseModeFlag(flags.mode);
  const limit = parseIntegerFlag('--limit', flags.limit);
  const perTool = parseIntegerFlag('--per-tool', flags.perTool);
  const maxSteps = parseIntegerFlag('--max-steps', flags.maxSteps);
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const graceSeconds = parseIntegerFlag('--grace', flags.grace, 0);
  const temperature = parseTemperatureFlag(flags.temperature);
  const executorKind = parseExecutorFlag(flags.executor, 'schema');
  if (flags.resume === true && flags.force === true)
    throw new InputError('--resume and --force exclude each other');

  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { ledger, pool } = await createModelPool(resolved, io);
  const concurrency = resolved.options.concurrency ?? 4;
  const userSpec = flags.userModel ?? stageModel(config, 'user') ?? resolved.spec;
  const executorSpec = executorModelSpec(executorKind, flags, config, resolved.spec);

  let executor: ToolExecutor | undefined;
  const progress = createRunProgress('generate', io, flags.json === true ? { silent: false } : {});
  try {
    const assistant = await pool.get(resolved.spec);
    const user = await pool.get(userSpec);
    const executorOptions = await executorOptionsFrom(flags, pool, executorSpec);
    checkReplayFile(executorKind, flags.replayFile);
    executor = await createExecutor(executorKind, executorOptions);
    const summary = await runGeneration({
      toolsPath: flags.tools,
      out: flags.out,
      assistant,
      user,
      executor,
      ...(executorSpec !== undefined ? { executorModel: executorSpec } : {}),
      prompt,
      mode,
      concurrency,
      ...(limit !== undefined ? { limit } : {}),
      ...(perTool !== undefined ? { perTool } : {}),
      ...(maxSteps !== undefined ? { maxSteps } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      resume: flags.resume === true,
      force: flags.force === true,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      ...(graceSeconds !== undefined ? { graceMs: graceSeconds * 1000 } : {}),
      ledger,
      cacheHits: () => pool.cacheHits(),
      onProgress: progress.report,
      onInstructions: (report) =>
        io.stderr.write(
          `instructions for "${report.tool}": kept ${report.kept}, dropped ${report.dropped}${report.error !== undefined ? ` (${report.error})` : ''}\n`,
        ),
      onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
    });
    progress.finish();
    printRunSummary(io, flags.json === true, summary, formatGenerationSummary, ledger);
    return summary;
  } finally {
    progress.finish();
    await executor?.close?.();
    await pool.close();
  }
}

export function registerGenerateCommand(program: Command): void {
  const command = program
    .command('generate')
    .description(
      'Simulate tool-use episodes (assistant, user, executor) for every instruction of every tool and write a ToolAlpaca corpus; resumable.',
    )
    .requiredOption('--tools <file>', 'tools: ToolAlpaca JSON, or an OpenAPI file or folder')
    .requiredOption(
      '--out <file>',
      'output ToolAlpaca JSON (the log OUT.log.jsonl and OUT.meta.json go beside it)',
    )
    .option('--executor <kind>', `who answers tool calls: ${EXECUTOR_KINDS.join(', ')} (default schema)`)
    .option('--executor-model <spec>', 'model of the simulated executor (default --model)')
    .option('--user-model <spec>', 'model of the user agent (default --model)')
    .option('--prompt <layout>', `assistant prompt layout: ${PROMPT_LAYOUTS.join(', ')} (default train_v1)`)
    .option('--mode <mode>', 'react (text) or function-calling (native tool calls); default react')
    .option('--limit <n>', 'run at most N instances (the first instruction of every tool first)')
    .option(
      '--per-tool <n>',
      'instructions per tool: generated for tools without any (default 10), and the most used',
    )
    .option('--max-steps <n>', 'steps per episode before it ends as step_limit (default 10)')
    .option('--seed <n>', 'sampling seed')
    .option('--temperature <t>', "assistant's sampling temperature")
    .option('--resume', 'continue the run recorded in the log (same parameters), skipping finished instances')
    .option('--force', 'discard an existing log and start over')
    .option('--replay-file <file>', 'recorded observations (JSONL) for --executor replay')
    .option('--secrets <file>', 'secrets file for --executor real')
    .option('--api-base-url <url>', 'base URL of the real API for --executor real')
    .option('--grace <seconds>', 'after Ctrl-C, how long instances in flight may finish (default 30)')
    .option('--json', 'print the summary as JSON');
  addModelOptions(command);
  command.action(async (flags: GenerateFlags) => {
    await runInterruptible(
      (io) => runGenerateCommand(flags, io),
      (summary) => summary.interrupted,
    );
  });
}
