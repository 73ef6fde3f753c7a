/**
 * `toolalpaca solve`: run ReAct (CoT@1) or DFSDT over ToolBench tasks and write one answer file per
 * query in ToolBench's answer layout.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { createExecutor, EXECUTOR_KINDS } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { readToolBenchQueries } from '../formats/toolbench.js';
import { loadConfig } from '../models/config.js';
import { formatSolveSummary, runSolve, type SolveSummary } from '../pipeline/solve.js';
import { createSolver } from '../search/create-solver.js';
import { loadToolBenchPromptSet } from '../search/toolbench-prompts.js';
import { SOLVER_NAMES } from '../search/solver.js';
import {
  checkReplayFile,
  executorModelSpec,
  executorOptionsFrom,
  parseExecutorFlag,
  type ExecutorFlagValues,
} from './executor-options.js';
import { createModelPool, type CommandIo } from './generate.js';
import {
  addModelOptions,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
  parseTemperatureFlag,
} from './model-options.js';
import { createRunProgress, printRunSummary, withInterrupt } from './run-helpers.js';

export interface SolveFlags extends ModelFlagValues, ExecutorFlagValues {
  tasks?: string;
  solver?: string;
  executorCache?: string;
  out?: string;
  limit?: string;
  resume?: boolean;
  width?: string;
  maxDepth?: string;
  maxCalls?: string;
  temperature?: string;
  maxObservation?: string;
  promptSet?: string;
  toolbenchPrompts?: string;
  json?: boolean;
}

const PROMPT_SETS = ['project', 'toolbench'] as const;

/** The `solve` action, callable without commander (tests, scripts). */
export async function runSolveCommand(flags: SolveFlags, io: CommandIo): Promise<SolveSummary> {
  if (flags.tasks === undefined) throw new InputError('--tasks FILE is required');
  if (flags.out === undefined) throw new InputError('--out DIR is required');
  const solverName = flags.solver ?? 'dfsdt';
  if (!(SOLVER_NAMES as readonly string[]).includes(solverName)) {
    throw new InputError(
      `--solver: unknown solver "${solverName}"; expected one of: ${SOLVER_NAMES.join(', ')}`,
    );
  }
  const executorKind = parseExecutorFlag(flags.executor, 'schema');
  checkReplayFile(executorKind, flags.replayFile);
  const limit = parseIntegerFlag('--limit', flags.limit);
  const width = parseIntegerFlag('--width', flags.width);
  const maxDepth = parseIntegerFlag('--max-depth', flags.maxDepth);
  const maxCalls = parseIntegerFlag('--max-calls', flags.maxCalls);
  const maxObservationChars = parseIntegerFlag('--max-observation', flags.maxObservation);
  const temperature = parseTemperatureFlag(flags.temperature);
  const promptSet = flags.promptSet ?? 'project';
  if (!(PROMPT_SETS as readonly string[]).includes(promptSet))
    throw new InputError(`--prompt-set: expected ${PROMPT_SETS.join(' or ')}, got "${promptSet}"`);
  // ToolBench's prompts are read from the fetched module before any model is built.
  const prompts =
    promptSet === 'toolbench'
      ? await loadToolBenchPromptSet(
          flags.toolbenchPrompts !== undefined ? { dir: flags.toolbenchPrompts } : {},
        )
      : undefined;
  const tasks = await readToolBenchQueries(flags.tasks);
  const solver = createSolver(solverName, {
    ...(width !== undefined ? { width } : {}),
    ...(maxDepth !== undefined ? { maxDepth } : {}),
    ...(maxCalls !== undefined ? { maxCalls } : {}),
  });

  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { ledger, pool } = await createModelPool(resolved, io);
  const progress = createRunProgress('solve', io);
  let executor: ToolExecutor | undefined;
  try {
    const model = await pool.get(resolved.spec);
    const executorOptions = await executorOptionsFrom(
      flags,
      pool,
      executorModelSpec(executorKind, flags, config, resolved.spec),
    );
    if (flags.executorCache !== undefined) {
      // Any executor behind a JSONL cache: a call answered once is answered the same way again (StableToolBench's cache).
      const order = executorKind === 'chain' ? undefined : [executorKind];
      executorOptions.chain = { ...(order !== undefined ? { order } : {}), cacheFile: flags.executorCache };
      executor = await createExecutor('chain', executorOptions);
    } else {
      executor = await createExecutor(executorKind, executorOptions);
    }
    const summary = await runSolve({
      tasks,
      solver,
      model,
      executor,
      out: flags.out,
      ...(limit !== undefined ? { limit } : {}),
      concurrency: resolved.options.concurrency ?? 2,
      resume: flags.resume === true,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxObservationChars !== undefined ? { maxObservationChars } : {}),
      ...(prompts !== undefined ? { prompts } : {}),
      onProgress: (p) => progress.report({ ...p, costUsd: ledger.totals().costUsd }),
      onFailure: (queryId, message) => io.stderr.write(`query ${queryId} failed: ${message}\n`),
    });
    progress.finish();
    // Like every run, the cost ledger ends the output (in the JSON, or on stderr).
    printRunSummary(io, flags.json === true, summary, formatSolveSummary, ledger);
    return summary;
  } finally {
    progress.finish();
    await executor?.close?.();
    await pool.close();
  }
}

export function registerSolveCommand(program: Command): void {
  const command = program
    .command('solve')
    .description(
      "Solve ToolBench tasks with ReAct (CoT@1) or DFSDT; one answer file per query, in ToolBench's answer layout",
    )
    .requiredOption(
      '--tasks <file>',
      'ToolBench / StableToolBench query file, or a tasks file from `toolbench import`',
    )
    .requiredOption(
      '--out <dir>',
      'answer folder ({queryId}_DFS_woFilter_w2.json or {queryId}_CoT@1.json per query, ToolBench method names)',
    )
    .option('--solver <name>', `${SOLVER_NAMES.join(' or ')} (default dfsdt)`)
    .option('--executor <kind>', `who answers tool calls: ${EXECUTOR_KINDS.join(', ')} (default schema)`)
    .option('--executor-model <spec>', 'model of the simulated executor (default --model)')
    .option('--executor-cache <file>', 'JSONL cache in front of the executor (same call, same answer)')
    .option('--replay-file <file>', 'recorded observations (JSONL) for --executor replay')
    .option('--secrets <file>', 'secrets file for --executor real')
    .option('--api-base-url <url>', 'base URL of the real API for --executor real')
    .option('--limit <n>', 'solve the first N queries only')
    .option('--resume', 'skip queries whose answer file exists')
    .option('--width <n>', 'DFSDT: children per node (default 2)')
    .option('--max-depth <n>', 'tree levels at most (default 12, as ToolBench)')
    .option('--max-calls <n>', 'model calls per query at most (default 200, as ToolBench)')
    .option('--max-observation <n>', 'observation characters shown to the model (default 1024)')
    .option('--temperature <t>', 'sampling temperature')
    .option(
      '--prompt-set <name>',
      "project (default) or toolbench: ToolBench's system, user and diversity prompts and Finish function, read from the fetched module (ToolLLaMA's input format)",
    )
    .option(
      '--toolbench-prompts <dir>',
      'folder of `datasets fetch toolbench-prompts` (default: where that command puts it)',
    )
    .option('--json', 'print the summary as JSON');
  addModelOptions(command);
  command.action(async (flags: SolveFlags) => {
    const { value, interrupted } = await withInterrupt((signal) =>
      runSolveCommand(flags, { stdout: process.stdout, stderr: process.stderr, signal }),
    );
    if (interrupted || value.interrupted) process.exitCode = 130;
    else if (value.failed > 0) process.exitCode = 1;
  });
}
