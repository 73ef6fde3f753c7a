/**
 * What generation runs (`generate`) and evaluation runs (`eval run`) share on the durable-run engine:
 * one task per (tool, instruction), planned round-robin over tools; the task runs one episode; the
 * parameters that change an episode go into the journal's header; the summary counts the outcome.
 * They differ in what they assemble (a ToolAlpaca corpus, a run file) and in their defaults.
 */
import type { ToolExecutor } from '../executors/executor.js';
import type { Tool } from '../core/tool.js';
import {
  INSTANCE_KINDS,
  type Instance,
  type InstructionKindSpec,
  type ToolAlpacaRecord,
} from '../core/toolalpaca-record.js';
import {
  DEFAULT_MAX_STEPS,
  runEpisode as defaultRunEpisode,
  type AgentMode,
  type EpisodeInput,
  type EpisodeOptions,
  type EpisodeResult,
  type PromptLayoutName,
} from '../agents/episode.js';
import { DEFAULT_RETRIEVAL_THRESHOLD } from '../agents/builtin-tools.js';
import type { ChatModel } from '../models/chat-model.js';
import type { CostLedger } from '../models/ledger.js';
import { endpointOf } from '../models/preflight.js';
import {
  failureOf,
  type CircuitOpen,
  type DurableRunOptions,
  type ExecuteOptions,
  type ExecutionOutcome,
  type JournalTask,
  type TaskRunner,
  type TaskSpec,
} from '../run/index.js';

/** A tool of the run: its ToolAlpaca record (documentation, instructions) and the project's model of it. */
export interface LoadedTool {
  record: ToolAlpacaRecord;
  tool: Tool;
}

/** Finds a run's tool by name (see `lookupRunTools`); undefined when the run has no such tool. */
export type ToolLookup = (name: string) => Promise<LoadedTool | undefined>;

export interface EpisodeProgress {
  /** Instances finished, those read from the journal on resume included. */
  done: number;
  total: number;
  failed: number;
  /** Instances finished by this process (the rate is computed from these). */
  doneThisRun: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** The options of a run of episodes (see `GenerationOptions` and `EvaluationOptions`). */
export interface EpisodeRunOptions extends DurableRunOptions {
  /** ToolAlpaca JSON file, or an OpenAPI file or folder. */
  toolsPath: string;
  /** Output file; the journal, metadata and lock go beside it (`.log.jsonl`, `.meta.json`, `.lock`). */
  out: string;
  assistant: ChatModel;
  /** The user agent's model (answers getDetails); default none (fixed answers). */
  user?: ChatModel;
  executor: ToolExecutor;
  /** The simulated executor's model (or its spec), recorded in the run's parameters. */
  executorModel?: ChatModel | string;
  /** Executor settings that change observations (replay file, API base URL...), recorded in the parameters. */
  executorOptions?: Record<string, unknown>;
  prompt?: PromptLayoutName;
  mode?: AgentMode;
  /** Run at most this many instances (taken round-robin over tools: every tool's first instruction first). */
  limit?: number;
  /** Instructions generated for a tool without any (default 10); also caps the instructions used per tool. */
  perTool?: number;
  maxSteps?: number;
  seed?: number;
  temperature?: number;
  retrievalThreshold?: number;
  authValues?: Record<string, string>;
  ledger?: CostLedger;
  /** Cache hits of the models used (summed by the caller); default the ledger's cached calls. */
  cacheHits?: () => number;
  onProgress?: (progress: EpisodeProgress) => void;
  /** Called for every tool that could not be read (skipped). */
  onWarning?: (message: string) => void;
  /** The episode runner (tests may replace it). */
  runEpisode?: (input: EpisodeInput, options: EpisodeOptions) => Promise<EpisodeResult>;
}

/** The input of one episode task: which instruction of which tool (plain JSON). */
export interface EpisodeTaskInput {
  tool: string;
  index: number;
  instruction: string;
  /** Position in the whole plan (before a limit): the episode's seed is `seed + order`. */
  order: number;
  /** The instruction's kind (the record's `Instruction_Kinds` entry), when it has one. */
  kind?: InstructionKindSpec;
}

/** The output of one episode task (plain JSON): the ToolAlpaca instance and its figures. */
export interface EpisodeTaskOutput {
  tool: string;
  index: number;
  steps: number;
  usage: { promptTokens: number; completionTokens: number; calls: number };
  instance: Instance;
}

export type EpisodeRecord = JournalTask<EpisodeTaskOutput>;

/** `${tool}#${index}`: an instance's id, stable across runs. */
export function episodeId(tool: string, index: number): string {
  return `${tool}#${index}`;
}

/** A model as the parameters record it: its spec and its endpoint. */
function modelParameters(model: ChatModel | string | undefined): {
  model: string | null;
  endpoint: string | null;
} {
  if (model === undefined) return { model: null, endpoint: null };
  if (typeof model === 'string') return { model, endpoint: null };
  return { model: model.id, endpoint: endpointOf(model) };
}

/** Every parameter that changes an episode, defaults resolved, for the journal's header. */
export function episodeParameters(
  options: EpisodeRunOptions,
  defaults: { prompt: PromptLayoutName },
  toolsHash: string,
): Record<string, unknown> {
  const assistant = modelParameters(options.assistant);
  const user = modelParameters(options.user);
  const executorModel = modelParameters(options.executorModel);
  return {
    model: assistant.model,
    endpoint: assistant.endpoint,
    userModel: user.model,
    userEndpoint: user.endpoint,
    executor: options.executor.kind,
    executorModel: executorModel.model,
    executorEndpoint: executorModel.endpoint,
    executorOptions: options.executorOptions ?? {},
    prompt: options.prompt ?? defaults.prompt,
    mode: options.mode ?? 'react',
    temperature: options.temperature ?? 0,
    seed: options.seed ?? null,
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
    retrievalThreshold: options.retrievalThreshold ?? DEFAULT_RETRIEVAL_THRESHOLD,
    perTool: options.perTool ?? null,
    toolsHash,
  };
}

/**
 * One task per (tool, instruction), round-robin over tools so that a limit covers every tool first;
 * `perTool` caps the instructions used per tool.
 */
export function planEpisodeTasks(
  tools: readonly LoadedTool[],
  options: { perTool?: number; limit?: number },
): TaskSpec<EpisodeTaskInput>[] {
  const lists = tools.map(({ record }) => {
    const all = record.Instructions ?? [];
    return options.perTool !== undefined ? all.slice(0, options.perTool) : all;
  });
  const tasks: TaskSpec<EpisodeTaskInput>[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let index = 0; index < longest; index++) {
    tools.forEach(({ record }, toolIndex) => {
      const instruction = lists[toolIndex]?.[index];
      if (instruction === undefined) return;
      const kind = record.Instruction_Kinds?.[index] ?? undefined;
      tasks.push({
        id: episodeId(record.Name, index),
        input: {
          tool: record.Name,
          index,
          instruction,
          order: tasks.length,
          ...(kind !== undefined ? { kind } : {}),
        },
      });
    });
  }
  return options.limit !== undefined ? tasks.slice(0, options.limit) : tasks;
}

function episodeOptionsOf(
  options: EpisodeRunOptions,
  prompt: PromptLayoutName,
  order: number,
  signal: AbortSignal,
): EpisodeOptions {
  return {
    assistant: options.assistant,
    executor: options.executor,
    prompt,
    mode: options.mode ?? 'react',
    signal,
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
    ...(options.retrievalThreshold !== undefined ? { retrievalThreshold: options.retrievalThreshold } : {}),
    ...(options.authValues !== undefined ? { authValues: options.authValues } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.seed !== undefined ? { seed: options.seed + order } : {}),
  };
}

function lookupOf(tools: readonly LoadedTool[]): ToolLookup {
  const byName = new Map(tools.map((loaded) => [loaded.record.Name, loaded]));
  return (name) => Promise.resolve(byName.get(name));
}

/**
 * The task runner: one episode for one (tool, instruction). Failures come back as failed results.
 * `tools`: the run's tools, or a lookup that finds (and may convert) one by name.
 */
export function episodeTaskRunner(
  tools: readonly LoadedTool[] | ToolLookup,
  options: EpisodeRunOptions,
  prompt: PromptLayoutName,
): TaskRunner<EpisodeTaskInput, EpisodeTaskOutput> {
  const lookup = typeof tools === 'function' ? tools : lookupOf(tools);
  const runEpisode = options.runEpisode ?? defaultRunEpisode;
  return async (input, { signal }) => {
    const loaded = await lookup(input.tool);
    if (loaded === undefined) throw new Error(`no tool "${input.tool}" in this run`);
    let result: EpisodeResult;
    try {
      result = await runEpisode(
        {
          instanceId: episodeId(input.tool, input.index),
          record: loaded.record,
          tool: loaded.tool,
          instruction: input.instruction,
          ...(input.kind !== undefined ? { kind: input.kind } : {}),
        },
        episodeOptionsOf(options, prompt, input.order, signal),
      );
    } catch (error) {
      // runEpisode reports failures in its result; a throw is unexpected but must not stop the run.
      result = {
        instance: {
          input: input.instruction,
          output: '',
          'Final Thought': '',
          intermediate_steps: [],
          ...(input.kind !== undefined ? { kind: input.kind.kind } : {}),
        },
        status: 'failed',
        failure: failureOf(error, signal.aborted ? 'aborted' : 'model_error') as EpisodeResult['failure'],
        steps: 0,
        usage: { promptTokens: 0, completionTokens: 0, calls: 0 },
      };
    }
    return {
      status: result.status,
      ...(result.failure !== undefined ? { failure: result.failure } : {}),
      output: {
        tool: input.tool,
        index: input.index,
        steps: result.steps,
        usage: result.usage,
        instance: result.instance,
      },
    };
  };
}

/**
 * Progress of an episode run for `onProgress`: the engine's counts, and tokens and cost from the
 * ledger (else summed over the episodes finished here).
 */
export function episodeProgressReporter(
  options: EpisodeRunOptions,
): Pick<ExecuteOptions<EpisodeTaskInput, EpisodeTaskOutput>, 'onProgress' | 'onFinished'> {
  let promptTokens = 0;
  let completionTokens = 0;
  return {
    onFinished: (record) => {
      promptTokens += record.output.usage.promptTokens;
      completionTokens += record.output.usage.completionTokens;
    },
    onProgress: (progress) => {
      const totals = options.ledger?.totals();
      options.onProgress?.({
        done: progress.done,
        total: progress.total,
        failed: progress.failed,
        doneThisRun: progress.doneThisRun,
        promptTokens: totals?.promptTokens ?? promptTokens,
        completionTokens: totals?.completionTokens ?? completionTokens,
        costUsd: totals?.costUsd ?? 0,
      });
    },
  };
}

/** An instance as the corpus shows it: a failed one carries `status: 'failed'` and its `failure`. */
export function instanceOf(record: Pick<EpisodeRecord, 'output' | 'status' | 'failure'>): Instance {
  if (record.status === 'completed') return record.output.instance;
  return { ...record.output.instance, status: 'failed', failure: record.failure };
}

/** Instances cut in flight by an interruption, as failed records with reason `aborted` (not journaled). */
export function cutRecords(outcome: ExecutionOutcome<EpisodeTaskInput, EpisodeTaskOutput>): EpisodeRecord[] {
  return outcome.cut.map(({ task, result }) => ({
    type: 'task',
    id: task.id,
    status: 'failed',
    failure: { reason: 'aborted', message: result.failure?.message ?? 'interrupted' },
    output: result.output ?? {
      tool: task.input.tool,
      index: task.input.index,
      steps: 0,
      usage: { promptTokens: 0, completionTokens: 0, calls: 0 },
      instance: {
        input: task.input.instruction,
        ...(task.input.kind !== undefined ? { kind: task.input.kind.kind } : {}),
      },
    },
    finishedAt: new Date().toISOString(),
  }));
}

/** What a run of episodes did (generation and evaluation summaries share these figures). */
export interface EpisodeRunFigures {
  /** Instances in the plan (after `limit`). */
  total: number;
  /** Finished (journaled) instances: completed + failed. Cut ones are counted apart. */
  done: number;
  completed: number;
  failed: number;
  failedByReason: Record<string, number>;
  /** Instances read back from the journal (resume). */
  resumed: number;
  /** Failed instances from the journal run again (resume). */
  retried: number;
  /** In-flight instances cut by an interruption (shown as failed, not journaled: a resume reruns them). */
  aborted: number;
  /** Instances never started because the run stopped. */
  notStarted: number;
  interrupted: boolean;
  /** Set when the circuit breaker stopped the run. */
  circuitOpen?: CircuitOpen;
  /** Finished instances that failed for an infrastructure reason (a resume retries them). */
  infrastructureFailed: number;
  meanSteps: number;
  /**
   * Finished instances per kind (completed, failed), when any instruction has a kind; `unlabelled`
   * counts ToolAlpaca's original instances (no kind).
   */
  kinds?: Record<string, { completed: number; failed: number }>;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  cacheHits: number;
}

export function episodeRunFigures(
  outcome: ExecutionOutcome<EpisodeTaskInput, EpisodeTaskOutput>,
  options: EpisodeRunOptions,
): EpisodeRunFigures {
  const all = outcome.finished;
  const failedByReason: Record<string, number> = {};
  for (const record of all) {
    if (record.status !== 'failed') continue;
    const reason = record.failure?.reason ?? 'unknown';
    failedByReason[reason] = (failedByReason[reason] ?? 0) + 1;
  }
  const kinds = kindCounts(all);
  const totals = options.ledger?.totals();
  const sum = (pick: (record: EpisodeRecord) => number): number =>
    all.reduce((total, record) => total + pick(record), 0);
  return {
    total: outcome.total,
    done: all.length,
    completed: all.length - outcome.failed,
    failed: outcome.failed,
    failedByReason,
    resumed: outcome.resumed,
    retried: outcome.retried,
    aborted: outcome.cut.length,
    notStarted: outcome.notStarted,
    interrupted: outcome.interrupted,
    ...(outcome.circuitOpen !== undefined ? { circuitOpen: outcome.circuitOpen } : {}),
    infrastructureFailed: outcome.infrastructureFailed,
    meanSteps: all.length === 0 ? 0 : sum((r) => r.output.steps) / all.length,
    ...(kinds !== undefined ? { kinds } : {}),
    promptTokens: totals?.promptTokens ?? sum((r) => r.output.usage.promptTokens),
    completionTokens: totals?.completionTokens ?? sum((r) => r.output.usage.completionTokens),
    costUsd: totals?.costUsd ?? 0,
    cacheHits: options.cacheHits?.() ?? totals?.cachedCalls ?? 0,
  };
}

/** Instances per kind (completed, failed), or undefined when none has a kind. */
export function kindCounts(
  records: readonly Pick<EpisodeRecord, 'output' | 'status'>[],
): Record<string, { completed: number; failed: number }> | undefined {
  if (!records.some((r) => r.output.instance.kind !== undefined)) return undefined;
  const counts: Record<string, { completed: number; failed: number }> = {};
  // The kinds in their usual order, then ToolAlpaca's unlabelled instances.
  for (const kind of [...INSTANCE_KINDS, 'unlabelled']) {
    if (records.some((r) => (r.output.instance.kind ?? 'unlabelled') === kind))
      counts[kind] = { completed: 0, failed: 0 };
  }
  for (const record of records) {
    const kind = record.output.instance.kind ?? 'unlabelled';
    const entry = (counts[kind] ??= { completed: 0, failed: 0 });
    if (record.status === 'completed') entry.completed++;
    else entry.failed++;
  }
  return counts;
}
