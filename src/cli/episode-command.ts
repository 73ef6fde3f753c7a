/**
 * What `generate` and `eval run` share: both run episodes (assistant, user agent, executor) over the
 * instructions of a toolset on the durable-run engine. Their flags, the models and executor they
 * build, the pre-flight, progress, summary and exit status are the same; they differ in defaults
 * and in the library function they call.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { AgentMode, PromptLayoutName } from '../agents/episode.js';
import { DEFAULT_MAX_STEPS } from '../agents/episode.js';
import { createExecutor, EXECUTOR_KINDS, type ExecutorKind } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { loadConfig } from '../models/config.js';
import type { CostLedger } from '../models/ledger.js';
import type { EpisodeRunOptions, EpisodeTaskInput, EpisodeTaskOutput } from '../pipeline/episode-run.js';
import { createModelPool, type CommandIo, type ModelPool } from './context.js';
import { addQueueOption, queueSchedulerOf, type QueueFlagValues } from './queue-producer.js';
import {
  addMcpExecutorOptions,
  checkReplayFile,
  executorModelSpec,
  executorOptionsFrom,
  executorParameters,
  mcpExecutorOptionsFrom,
  parseExecutorFlag,
  type ExecutorFlagValues,
} from './executor-options.js';
import {
  addModelOptions,
  modelOptionsFrom,
  parseIntegerFlag,
  parseTemperatureFlag,
  type ModelFlagValues,
} from './model-options.js';
import {
  addRunOptions,
  createRunProgress,
  parseRunFlags,
  withRunErrors,
  type RunFlagOptions,
  type RunFlagValues,
  type RunProgressReporter,
} from './run-helpers.js';
import { checkRunOutput } from '../run/index.js';

export const PROMPT_LAYOUTS: readonly PromptLayoutName[] = [
  'train_v1',
  'train_v2',
  'test_v1',
  'test_v2',
  'lean',
];
export const AGENT_MODES: readonly AgentMode[] = ['react', 'function-calling'];

/** The flags of a run of episodes. */
export interface EpisodeFlags extends ModelFlagValues, ExecutorFlagValues, RunFlagValues, QueueFlagValues {
  tools?: string;
  out?: string;
  userModel?: string;
  prompt?: string;
  mode?: string;
  limit?: string;
  maxSteps?: string;
  seed?: string;
  temperature?: string;
  json?: boolean;
}

/** What differs between the commands: their defaults and who plays the user by default. */
export interface EpisodeCommandDefaults {
  label: string;
  prompt: PromptLayoutName;
  executor: ExecutorKind;
  /** `model`: the user agent is `--model` unless `--user-model`; `none`: fixed answers unless given. */
  user: 'model' | 'none';
}

export function parsePromptFlag(value: string | undefined, fallback: PromptLayoutName): PromptLayoutName {
  const prompt = value ?? fallback;
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

/** The flags of a run of episodes, checked. */
export interface EpisodeSettings {
  tools: string;
  out: string;
  prompt: PromptLayoutName;
  mode: AgentMode;
  limit?: number;
  maxSteps?: number;
  seed?: number;
  temperature?: number;
  executorKind: ExecutorKind;
  run: RunFlagOptions;
}

export function parseEpisodeFlags(flags: EpisodeFlags, defaults: EpisodeCommandDefaults): EpisodeSettings {
  if (flags.tools === undefined) throw new InputError('--tools FILE is required');
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  const executorKind = parseExecutorFlag(flags.executor, defaults.executor);
  checkReplayFile(executorKind, flags.replayFile);
  mcpExecutorOptionsFrom(flags); // a bad limit fails before anything starts
  const limit = parseIntegerFlag('--limit', flags.limit);
  const maxSteps = parseIntegerFlag('--max-steps', flags.maxSteps);
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const temperature = parseTemperatureFlag(flags.temperature);
  return {
    tools: flags.tools,
    out: flags.out,
    prompt: parsePromptFlag(flags.prompt, defaults.prompt),
    mode: parseModeFlag(flags.mode),
    ...(limit !== undefined ? { limit } : {}),
    ...(maxSteps !== undefined ? { maxSteps } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    executorKind,
    run: parseRunFlags(flags),
  };
}

/** The flags of a run of episodes on `command`, with the command's defaults in the help. */
export function addEpisodeOptions(command: Command, defaults: EpisodeCommandDefaults): Command {
  command
    .option(
      '--executor <kind>',
      `who answers tool calls: ${EXECUTOR_KINDS.join(', ')} (default ${defaults.executor})`,
    )
    .option('--executor-model <spec>', 'model of the simulated executor (default --model)')
    .option(
      '--user-model <spec>',
      `model of the user agent answering getDetails (default ${defaults.user === 'model' ? '--model' : 'fixed answers'})`,
    )
    .option(
      '--prompt <layout>',
      `assistant prompt layout: ${PROMPT_LAYOUTS.join(', ')} (default ${defaults.prompt})`,
    )
    .option('--mode <mode>', 'react (text) or function-calling (native tool calls); default react')
    .option(
      '--limit <n>',
      'run at most N instructions (the first instruction of every tool first; default all)',
    )
    .option(
      '--max-steps <n>',
      `steps per episode before it ends as step_limit (default ${DEFAULT_MAX_STEPS})`,
    )
    .option('--seed <n>', 'sampling seed (default none)')
    .option('--temperature <t>', "assistant's sampling temperature (default 0)")
    .option('--replay-file <file>', 'recorded observations (JSONL) for --executor replay')
    .option('--secrets <file>', 'secrets file (API keys per tool) for --executor real')
    .option('--api-base-url <url>', "base URL used instead of the tools' servers for --executor real")
    .option('--allow-private', '--executor real: allow loopback, private and link-local addresses');
  addMcpExecutorOptions(command);
  addRunOptions(command, 'instances');
  addQueueOption(command);
  command.option('--json', 'print the summary as JSON');
  return addModelOptions(command, { concurrency: 4 });
}

/** What a command body gets: the pool and ledger, the progress bar, and the episode options built. */
export interface EpisodeResources {
  pool: ModelPool;
  ledger: CostLedger;
  progress: RunProgressReporter;
  options: EpisodeRunOptions;
}

/**
 * Builds the models (assistant, user agent, simulated executor's model) and the executor, probes every
 * endpoint (pre-flight: a dead one is one line and exit 3 before anything is written), then runs
 * `body`; closes everything at the end and words the library's run errors with flag names.
 */
export async function withEpisodeResources<T>(
  flags: EpisodeFlags,
  settings: EpisodeSettings,
  defaults: EpisodeCommandDefaults,
  io: CommandIo,
  body: (resources: EpisodeResources) => Promise<T>,
): Promise<T> {
  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { ledger, pool } = await createModelPool(resolved, io);
  const progress = createRunProgress(defaults.label, io, { ledger });
  let executor: ToolExecutor | undefined;
  try {
    const assistant = await pool.get(resolved.spec);
    const userSpec =
      flags.userModel ?? config.stageModels?.user ?? (defaults.user === 'model' ? resolved.spec : undefined);
    const user = userSpec !== undefined ? await pool.get(userSpec) : undefined;
    const executorSpec = executorModelSpec(settings.executorKind, flags, config, resolved.spec);
    const executorModel = executorSpec !== undefined ? await pool.get(executorSpec) : undefined;
    executor = await createExecutor(
      settings.executorKind,
      await executorOptionsFrom(flags, pool, executorSpec),
    );
    const scheduler = await queueSchedulerOf(flags, io, {
      command: defaults.label.replace(' ', '-'),
      flags,
      inputs: { tools: settings.tools, replayFile: flags.replayFile },
      failedOutput: emptyEpisodeOutput,
    });
    // A bad --out is a usage error (2) even when the server is down too (3): checked first.
    await checkRunOutput(settings.out);
    // With a queue, the workers call the models (each probes its own); this process may have none.
    if (scheduler === undefined) await pool.probe(io.signal);
    const options: EpisodeRunOptions = {
      toolsPath: settings.tools,
      out: settings.out,
      assistant,
      ...(user !== undefined ? { user } : {}),
      executor,
      ...(executorModel !== undefined ? { executorModel } : {}),
      executorOptions: executorParameters(flags),
      prompt: settings.prompt,
      mode: settings.mode,
      concurrency: resolved.options.concurrency ?? 4,
      ...(settings.limit !== undefined ? { limit: settings.limit } : {}),
      ...(settings.maxSteps !== undefined ? { maxSteps: settings.maxSteps } : {}),
      ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
      ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
      ...settings.run,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      ledger,
      ...(scheduler !== undefined
        ? { scheduler, cacheHits: () => ledger.totals().cachedCalls }
        : { cacheHits: () => pool.cacheHits() }),
      onProgress: progress.report,
      onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
    };
    return await withRunErrors(() => body({ pool, ledger, progress, options }));
  } finally {
    progress.finish();
    await executor?.close?.();
    await pool.close();
  }
}

/** The output of an episode whose queue job failed for good (nothing was done). */
function emptyEpisodeOutput(input: unknown): EpisodeTaskOutput {
  const task = input as EpisodeTaskInput;
  return {
    tool: task.tool,
    index: task.index,
    steps: 0,
    usage: { promptTokens: 0, completionTokens: 0, calls: 0 },
    instance: { input: task.instruction },
  };
}
