/**
 * `toolalpaca solve`: run ReAct (CoT@1) or DFSDT over ToolBench tasks and write one answer file per
 * query in ToolBench's answer layout. A durable run (journal `OUT.log.jsonl` beside the answer folder):
 * `--resume`, `--retry-failed`, `--circuit-breaker`, Ctrl-C and the exit codes are those of every run.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { createExecutor, EXECUTOR_KINDS, type ExecutorKind } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { bindTaskTools, readSourceTools } from '../formats/task-tools.js';
import { readToolBenchQueries } from '../formats/toolbench.js';
import { loadConfig } from '../models/config.js';
import type { ChatModel } from '../models/chat-model.js';
import type { CostLedger } from '../models/ledger.js';
import {
  runSolve,
  solveTaskRunner,
  type SolveRunOptions,
  type SolveSummary,
  type SolveTaskOptions,
} from '../pipeline/solve.js';
import { createSolver, type SolverConfig } from '../search/create-solver.js';
import type { SolverPromptSet } from '../search/prompts.js';
import {
  readToolBenchPromptTexts,
  toolBenchPromptSet,
  type ToolBenchPromptTexts,
} from '../search/toolbench-prompts.js';
import type { TaskRunner } from '../run/task.js';
import { openDomainTasks, readRetrievalCorpus } from '../retrieval/open-domain.js';
import { SOLVER_NAMES, type SolverName, type SolverTask } from '../search/solver.js';
import { createModelPool, type CommandIo, type ModelPool } from './context.js';
import { addQueueOption, queueSchedulerOf, type QueueFlagValues } from './queue-producer.js';
import {
  addMcpExecutorOptions,
  checkReplayFile,
  checkToolResponseCache,
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
  type ModelFlagValues,
  parseIntegerFlag,
  parseTemperatureFlag,
} from './model-options.js';
import {
  addRunOptions,
  createRunProgress,
  exitCodeOf,
  parseRunFlags,
  printRunSummary,
  reportRunStatus,
  runInterruptible,
  withRunErrors,
  type RunFlagOptions,
  type RunFlagValues,
} from './run-helpers.js';
import { checkRunOutput } from '../run/index.js';

export interface SolveFlags extends ModelFlagValues, ExecutorFlagValues, RunFlagValues, QueueFlagValues {
  tasks?: string;
  /** Tool source the tasks' tools are taken from (an MCP configuration...), see formats/task-tools.ts. */
  tools?: string;
  solver?: string;
  executorCache?: string;
  out?: string;
  limit?: string;
  width?: string;
  maxDepth?: string;
  maxCalls?: string;
  temperature?: string;
  maxObservation?: string;
  promptSet?: string;
  toolbenchPrompts?: string;
  retrieve?: string;
  retrievalCorpus?: string[];
  json?: boolean;
}

const PROMPT_SETS = ['project', 'toolbench'] as const;

/** The summary `solve` prints: the library's, with the models' cache hits. */
export type SolveCommandSummary = SolveSummary & { cacheHits: number };

/** The `solve` flags, checked. Add a flag here, in `registerSolveCommand` and where it is used. */
export interface SolveSettings {
  tasks: string;
  tools?: string;
  out: string;
  solver: SolverName;
  /** The solver's settings (recorded in the run's parameters). */
  solverConfig: SolverConfig;
  executorKind: ExecutorKind;
  limit?: number;
  temperature?: number;
  maxObservationChars?: number;
  promptSet: (typeof PROMPT_SETS)[number];
  /** `--retrieve K`: the open-domain setting. */
  retrieve?: number;
  retrievalCorpus?: string[];
  run: RunFlagOptions;
}

export function parseSolveFlags(flags: SolveFlags): SolveSettings {
  if (flags.tasks === undefined) throw new InputError('--tasks FILE is required');
  if (flags.out === undefined) throw new InputError('--out DIR is required');
  const solver = flags.solver ?? 'dfsdt';
  if (!(SOLVER_NAMES as readonly string[]).includes(solver)) {
    throw new InputError(`--solver: unknown solver "${solver}"; expected one of: ${SOLVER_NAMES.join(', ')}`);
  }
  const executorKind = parseExecutorFlag(flags.executor, 'schema');
  checkReplayFile(executorKind, flags.replayFile);
  checkToolResponseCache(executorKind, flags.toolResponseCache);
  mcpExecutorOptionsFrom(flags); // a bad limit fails before anything starts
  const limit = parseIntegerFlag('--limit', flags.limit);
  const width = parseIntegerFlag('--width', flags.width);
  const maxDepth = parseIntegerFlag('--max-depth', flags.maxDepth);
  const maxCalls = parseIntegerFlag('--max-calls', flags.maxCalls);
  const maxObservationChars = parseIntegerFlag('--max-observation', flags.maxObservation);
  const temperature = parseTemperatureFlag(flags.temperature);
  const promptSet = flags.promptSet ?? 'project';
  if (!(PROMPT_SETS as readonly string[]).includes(promptSet))
    throw new InputError(`--prompt-set: expected ${PROMPT_SETS.join(' or ')}, got "${promptSet}"`);
  const retrieve = parseIntegerFlag('--retrieve', flags.retrieve);
  if (flags.retrievalCorpus !== undefined && retrieve === undefined)
    throw new InputError('--retrieval-corpus needs --retrieve K');
  return {
    tasks: flags.tasks,
    ...(flags.tools !== undefined ? { tools: flags.tools } : {}),
    out: flags.out,
    solver: solver as SolverName,
    solverConfig: {
      ...(width !== undefined ? { width } : {}),
      ...(maxDepth !== undefined ? { maxDepth } : {}),
      ...(maxCalls !== undefined ? { maxCalls } : {}),
    },
    executorKind,
    ...(limit !== undefined ? { limit } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(maxObservationChars !== undefined ? { maxObservationChars } : {}),
    promptSet: promptSet as SolveSettings['promptSet'],
    ...(retrieve !== undefined ? { retrieve } : {}),
    ...(flags.retrievalCorpus !== undefined ? { retrievalCorpus: flags.retrievalCorpus } : {}),
    run: parseRunFlags(flags),
  };
}

/** The summary as a few lines for a terminal. */
export function formatSolveSummary(summary: SolveCommandSummary): string {
  const lines = [
    `solved ${summary.written} of ${summary.total} queries with ${summary.solver} → ${summary.out}`,
    `  answered ${summary.answered}, gave up ${summary.gaveUp}, no answer ${summary.noAnswer}, failed ${summary.failed}, skipped (existing) ${summary.skipped}`,
    `  model calls ${summary.queryCount}, tokens ${summary.promptTokens + summary.completionTokens}, cache hits ${summary.cacheHits}`,
  ];
  if (summary.retried > 0) lines.push(`  failed queries solved again: ${summary.retried}`);
  if (summary.interrupted) lines.push('  interrupted: run again with --resume to finish');
  for (const failure of summary.failures.slice(0, 10))
    lines.push(`  failed ${failure.queryId}: ${failure.message}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The executor the flags ask for, its simulated model's spec when it has one; behind a JSONL cache with
 * `--executor-cache` (a call answered once is answered the same way again: StableToolBench's cache).
 */
async function createSolveExecutor(
  flags: SolveFlags,
  settings: SolveSettings,
  pool: ModelPool,
  executorSpec: string | undefined,
): Promise<ToolExecutor> {
  const executorOptions = await executorOptionsFrom(flags, pool, executorSpec);
  if (flags.executorCache === undefined) return createExecutor(settings.executorKind, executorOptions);
  const order = settings.executorKind === 'chain' ? undefined : [settings.executorKind];
  executorOptions.chain = { ...(order !== undefined ? { order } : {}), cacheFile: flags.executorCache };
  return createExecutor('chain', executorOptions);
}

/** The solver's model and its executor, built from the flags; `close` ends both. */
interface SolveResources {
  pool: ModelPool;
  ledger: CostLedger;
  model: ChatModel;
  executor: ToolExecutor;
  executorSpec?: string;
  /** `--concurrency`, if given. */
  concurrency?: number;
  close(): Promise<void>;
}

/**
 * Opens the models and the executor of a solve run (the command's, or a queue worker's from the run's
 * flags); pre-flight probed unless `probe` is false (a queue's producer: the workers call the models).
 */
async function openSolveResources(
  flags: SolveFlags,
  settings: SolveSettings,
  io: CommandIo,
  probe: boolean,
): Promise<SolveResources> {
  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { ledger, pool } = await createModelPool(resolved, io);
  let executor: ToolExecutor | undefined;
  try {
    const model = await pool.get(resolved.spec);
    const executorSpec = executorModelSpec(settings.executorKind, flags, config, resolved.spec);
    executor = await createSolveExecutor(flags, settings, pool, executorSpec);
    if (probe) await pool.probe(io.signal);
    const opened = executor;
    return {
      pool,
      ledger,
      model,
      executor: opened,
      ...(executorSpec !== undefined ? { executorSpec } : {}),
      ...(resolved.options.concurrency !== undefined ? { concurrency: resolved.options.concurrency } : {}),
      close: async () => {
        await opened.close?.();
        await pool.close();
      },
    };
  } catch (error) {
    await executor?.close?.();
    await pool.close();
    throw error;
  }
}

/** What solving one query needs besides the model and executor, from the checked flags. */
function solveTaskOptionsOf(
  settings: SolveSettings,
  resources: SolveResources,
  prompts: SolverPromptSet | undefined,
): SolveTaskOptions {
  return {
    solver: createSolver(settings.solver, settings.solverConfig),
    model: resources.model,
    executor: resources.executor,
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
    ...(settings.maxObservationChars !== undefined
      ? { maxObservationChars: settings.maxObservationChars }
      : {}),
    ...(prompts !== undefined ? { prompts } : {}),
  };
}

/** The spec fields a queue worker builds a solve run's runner from besides its flags. */
export interface SolveQueueExtra {
  /** ToolBench's prompt texts (`--prompt-set toolbench`), read by the producer. */
  promptTexts?: ToolBenchPromptTexts;
}

/**
 * A queue worker's task runner for a solve run: the run's flags (with the worker's own on top) build
 * the model, the executor and the solver; the queries come with their tools in the tasks.
 */
export async function openSolveTaskRunner(
  flags: SolveFlags,
  extra: SolveQueueExtra,
  io: CommandIo,
): Promise<{ runTask: TaskRunner<unknown, unknown>; close(): Promise<void> }> {
  // The tasks file and the output are the producer's: they only need to be named here.
  const settings = parseSolveFlags({
    ...flags,
    tasks: flags.tasks ?? '(queue)',
    out: flags.out ?? '(queue)',
  });
  const resources = await openSolveResources(flags, settings, io, true);
  const prompts = extra.promptTexts !== undefined ? toolBenchPromptSet(extra.promptTexts) : undefined;
  const runTask = solveTaskRunner(solveTaskOptionsOf(settings, resources, prompts));
  return { runTask: runTask as TaskRunner<unknown, unknown>, close: resources.close };
}

/** Flags a solve run's workers do not need: the queries (and their tools) travel in the tasks. */
const SOLVE_PRODUCER_FLAGS = [
  'tasks',
  'tools',
  'limit',
  'retrieve',
  'retrievalCorpus',
  'promptSet',
  'toolbenchPrompts',
  'executorCache',
];

/** The queries to solve: read, narrowed to the retrieved APIs (`--retrieve`), bound to `--tools`. */
async function solveQueries(settings: SolveSettings, io: CommandIo): Promise<SolverTask[]> {
  let tasks = await readToolBenchQueries(settings.tasks);
  if (settings.retrieve !== undefined) {
    // ToolBench's open-domain setting: the solver sees only the K APIs the retriever picks.
    const corpus = await readRetrievalCorpus(settings.retrievalCorpus ?? [settings.tasks]);
    // Every task is retrieved for (so the run's tasks do not depend on --limit); recall of those solved.
    const retrieved = openDomainTasks(tasks, corpus, settings.retrieve);
    tasks = retrieved.tasks;
    const solved = retrieved.recall.slice(0, settings.limit ?? retrieved.recall.length);
    const found = solved.reduce((n, r) => n + r.found, 0);
    const relevant = solved.reduce((n, r) => n + r.relevant, 0);
    io.stderr.write(
      `retrieval: ${settings.retrieve} APIs per query from ${corpus.documents.length}; relevant APIs retrieved: ${found} of ${relevant}\n`,
    );
  }
  if (settings.tools !== undefined)
    tasks = bindTaskTools(tasks, await readSourceTools(settings.tools), settings.tasks);
  return tasks;
}

/** The `solve` action, callable without commander (tests, scripts). */
export async function runSolveCommand(flags: SolveFlags, io: CommandIo): Promise<SolveCommandSummary> {
  const settings = parseSolveFlags(flags);
  // ToolBench's prompts are read from the fetched module before any model is built.
  const promptTexts: ToolBenchPromptTexts | undefined =
    settings.promptSet === 'toolbench'
      ? await readToolBenchPromptTexts(
          flags.toolbenchPrompts !== undefined ? { dir: flags.toolbenchPrompts } : {},
        )
      : undefined;
  const prompts = promptTexts !== undefined ? toolBenchPromptSet(promptTexts) : undefined;
  const tasks = await solveQueries(settings, io);
  const extra: SolveQueueExtra = promptTexts !== undefined ? { promptTexts } : {};
  // With a queue the workers solve: the queries travel in the tasks, the flags in the run's spec.
  const scheduler = await queueSchedulerOf(flags, io, {
    command: 'solve',
    flags,
    inputs: { replayFile: flags.replayFile },
    omit: SOLVE_PRODUCER_FLAGS,
    extra: { ...extra },
    failedOutput: () => null,
  });
  // A bad --out is a usage error (2) even when the server is down too (3): checked before the probe.
  await checkRunOutput(settings.out, true);
  const resources = await openSolveResources(flags, settings, io, scheduler === undefined);
  const { ledger, pool } = resources;
  const progress = createRunProgress('solve', io, { ledger });
  try {
    const options: SolveRunOptions = {
      ...solveTaskOptionsOf(settings, resources, prompts),
      tasks,
      solverParameters: { ...settings.solverConfig },
      ...(resources.executorSpec !== undefined
        ? { executorModel: await pool.get(resources.executorSpec) }
        : {}),
      executorOptions: { ...executorParameters(flags), cacheFile: flags.executorCache ?? null },
      out: settings.out,
      ...(settings.limit !== undefined ? { limit: settings.limit } : {}),
      concurrency: resources.concurrency ?? 2,
      ...settings.run,
      ledger,
      ...(scheduler !== undefined ? { scheduler } : {}),
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      onProgress: (p) => progress.report({ ...p, costUsd: ledger.totals().costUsd }),
      onFailure: (queryId, message) => io.stderr.write(`query ${queryId} failed: ${message}\n`),
    };
    const summary: SolveCommandSummary = {
      ...(await withRunErrors(() => runSolve(options))),
      cacheHits: scheduler !== undefined ? ledger.totals().cachedCalls : pool.cacheHits(),
    };
    progress.finish();
    // Like every run, the cost ledger ends the output (in the JSON, or on stderr).
    printRunSummary(io, flags.json === true || io.json === true, summary, formatSolveSummary, ledger);
    reportRunStatus(io, summary, pool.endpoints(), 'queries');
    return summary;
  } finally {
    progress.finish();
    await resources.close();
  }
}

export function registerSolveCommand(program: Command): void {
  const command = program
    .command('solve')
    .description(
      "Solve ToolBench tasks with ReAct (CoT@1) or DFSDT; one answer file per query, in ToolBench's answer layout; resumable",
    )
    .requiredOption(
      '--tasks <file>',
      'ToolBench / StableToolBench query file, or a tasks file from `toolbench import`',
    )
    .option(
      '--tools <file>',
      "take the tasks' tools from this tool source (an MCP configuration, ToolAlpaca JSON, OpenAPI), matched by tool and API name, so that --executor mcp or real can call them (docs/mcp.md)",
    )
    .requiredOption(
      '--out <dir>',
      'answer folder ({queryId}_DFS_woFilter_w2.json or {queryId}_CoT@1.json per query, ToolBench method names; the journal OUT.log.jsonl and the lock OUT.lock beside it)',
    )
    .option('--solver <name>', `${SOLVER_NAMES.join(' or ')} (default dfsdt)`)
    .option(
      '--executor <kind>',
      `who answers tool calls: ${[...EXECUTOR_KINDS, 'stabletoolbench'].join(', ')} (default schema)`,
    )
    .option(
      '--tool-response-cache <dir>',
      "StableToolBench's tool_response_cache folder for --executor stabletoolbench (recorded real responses first, --executor-model simulates misses)",
    )
    .option('--executor-model <spec>', 'model of the simulated executor (default --model)')
    .option('--executor-cache <file>', 'JSONL cache in front of the executor (same call, same answer)')
    .option('--replay-file <file>', 'recorded observations (JSONL) for --executor replay')
    .option('--secrets <file>', 'secrets file for --executor real')
    .option('--api-base-url <url>', 'base URL of the real API for --executor real')
    .option('--allow-private', '--executor real: allow loopback, private and link-local addresses')
    .option('--limit <n>', 'solve the first N queries only (default all)')
    .option('--width <n>', 'DFSDT: children per node (default 2)')
    .option('--max-depth <n>', 'tree levels at most (default 12, as ToolBench)')
    .option('--max-calls <n>', 'model calls per query at most (default 200, as ToolBench)')
    .option('--max-observation <n>', 'observation characters shown to the model (default 1024)')
    .option('--temperature <t>', "sampling temperature (default the server's)")
    .option(
      '--retrieve <k>',
      "ToolBench's open-domain setting: the solver sees only the K APIs the lexical retriever picks for the query (default off: the query's own APIs)",
    )
    .option(
      '--retrieval-corpus <file...>',
      'query files whose APIs (all together, deduplicated) the retriever picks from (default: the --tasks file)',
    )
    .option(
      '--prompt-set <name>',
      "project (default) or toolbench: ToolBench's system, user and diversity prompts and Finish function, read from the fetched module (ToolLLaMA's input format)",
    )
    .option(
      '--toolbench-prompts <dir>',
      'folder of `datasets fetch toolbench-prompts` (default: where that command puts it)',
    )
    .option('--json', 'print the summary as JSON');
  addMcpExecutorOptions(command);
  addRunOptions(command, 'queries');
  addQueueOption(command);
  addModelOptions(command, { concurrency: 2 });
  command.action(async (flags: SolveFlags) => {
    await runInterruptible((io) => runSolveCommand(flags, io), exitCodeOf);
  });
}
