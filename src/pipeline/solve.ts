/**
 * `solve`: run a solver over ToolBench tasks and write one answer file per query, in ToolBench's answer
 * layout, as `{queryId}_{method}.json` with ToolBench's method names (`DFS_woFilter_w2`, `CoT@1`), so
 * StableToolBench's conversion and evaluation scripts read the folder as is (written atomically, so a
 * file that exists is complete).
 *
 * It runs on the durable-run engine (`src/run`), one task per query: every solved (or failed) query is
 * journaled in `OUT.log.jsonl` beside the answer folder before it counts, and the answer files are
 * written from the journal. `resume` skips the queries already journaled and solves again those that
 * failed for an infrastructure reason (model unreachable...); a journal made with other parameters is
 * refused.
 */
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import type { ToolExecutor } from '../executors/executor.js';
import type { ChatModel } from '../models/chat-model.js';
import { endpointOf } from '../models/preflight.js';
import type { SolverPromptSet } from '../search/prompts.js';
import type { Solver, SolverTask, SolveResult } from '../search/solver.js';
import {
  executionOptionsOf,
  failureOf,
  startOptionsOf,
  withDurableRun,
  type CircuitOpen,
  type DurableRunOptions,
  type ExecutionOutcome,
  type JournalTask,
  type TaskRunner,
} from '../run/index.js';

export interface SolveProgress {
  done: number;
  total: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

/** A solve run's options; `concurrency` (queries solved at once) defaults to 2. */
export interface SolveRunOptions extends DurableRunOptions {
  tasks: readonly SolverTask[];
  solver: Solver;
  /** The solver's settings that change answers (width, depth, call limit...), recorded in the parameters. */
  solverParameters?: Record<string, unknown>;
  model: ChatModel;
  executor: ToolExecutor;
  /** The simulated executor's model (or its spec), recorded in the parameters. */
  executorModel?: ChatModel | string;
  /** Executor settings that change observations (cache file, replay file...), recorded in the parameters. */
  executorOptions?: Record<string, unknown>;
  /** Answer folder; the journal and the lock go beside it (`OUT.log.jsonl`, `OUT.lock`). */
  out: string;
  /** Solve the first N tasks only. */
  limit?: number;
  temperature?: number;
  maxTokens?: number;
  maxObservationChars?: number;
  /** Prompts and Finish function (default: the project's; `loadToolBenchPromptSet` for ToolBench's). */
  prompts?: SolverPromptSet;
  /** The answer file name of a query (default `answerFileName`). */
  answerFile?: (queryId: string, method: string) => string;
  onProgress?: (progress: SolveProgress) => void;
  /** A query failed (nothing written for it). */
  onFailure?: (queryId: string, message: string) => void;
}

export interface SolveSummary {
  out: string;
  solver: string;
  total: number;
  /** Read back from the journal (`resume`). */
  skipped: number;
  /** Failed queries from the journal solved again. */
  retried: number;
  /** Answer files written for queries solved by this run. */
  written: number;
  /** ...of which ended with Finish → give_answer. */
  answered: number;
  /** ...of which only gave up. */
  gaveUp: number;
  /** ...of which found neither (limits, empty replies). */
  noAnswer: number;
  failed: number;
  failures: { queryId: string; message: string }[];
  queryCount: number;
  promptTokens: number;
  completionTokens: number;
  interrupted: boolean;
  /** Set when the circuit breaker stopped the run. */
  circuitOpen?: CircuitOpen;
  /** Queries that failed for an infrastructure reason (a resume solves them again). */
  infrastructureFailed: number;
}

/**
 * `{queryId}_{method}.json` (`method`: ToolBench's, e.g. `DFS_woFilter_w2`); the query id is made safe
 * for a file name. ToolBench's scripts take the query id as the text before the first `_`.
 */
export function answerFileName(queryId: string, method: string): string {
  const safe = queryId.replace(/[^A-Za-z0-9.-]/g, '-') || 'query';
  return `${safe}_${method}.json`;
}

/** A solve task's output (plain JSON): the answer file's content and its figures. */
export type SolveTaskOutput = Omit<SolveResult, 'finalAnswer' | 'stopReason'> & {
  stopReason: string;
};

type SolveRecord = JournalTask<SolveTaskOutput | null>;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function checkTasks(tasks: readonly SolverTask[]): void {
  const seen = new Set<string>();
  for (const task of tasks) {
    if (seen.has(task.queryId)) throw new InputError(`tasks: query id ${task.queryId} appears twice`);
    seen.add(task.queryId);
  }
}

/** Every parameter that changes an answer, for the journal's header. */
function solveParameters(options: SolveRunOptions): Record<string, unknown> {
  const executorModel = options.executorModel;
  return {
    solver: options.solver.name,
    solverOptions: options.solverParameters ?? {},
    prompts: options.prompts?.name ?? 'project',
    model: options.model.id,
    endpoint: endpointOf(options.model),
    executor: options.executor.kind,
    executorModel:
      executorModel === undefined
        ? null
        : typeof executorModel === 'string'
          ? executorModel
          : executorModel.id,
    executorEndpoint:
      executorModel === undefined || typeof executorModel === 'string' ? null : endpointOf(executorModel),
    executorOptions: options.executorOptions ?? {},
    temperature: options.temperature ?? null,
    maxTokens: options.maxTokens ?? null,
    maxObservationChars: options.maxObservationChars ?? null,
    tasksHash: `sha256:${createHash('sha256').update(JSON.stringify(options.tasks)).digest('hex')}`,
  };
}

/** What solving one query needs (a queue worker builds it from the run's flags). */
export type SolveTaskOptions = Pick<
  SolveRunOptions,
  'solver' | 'model' | 'executor' | 'temperature' | 'maxTokens' | 'maxObservationChars' | 'prompts'
>;

/**
 * The task runner of a solve run: one query through the solver; a throw (model unreachable...) is a
 * failed result. Input (the query with its tools) and output are plain JSON.
 */
export function solveTaskRunner(options: SolveTaskOptions): TaskRunner<SolverTask, SolveTaskOutput | null> {
  return async (task, { signal }) => {
    let result: SolveResult;
    try {
      result = await options.solver.solve(task, {
        model: options.model,
        executor: options.executor,
        signal,
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
        ...(options.maxObservationChars !== undefined
          ? { maxObservationChars: options.maxObservationChars }
          : {}),
        ...(options.prompts !== undefined ? { prompts: options.prompts } : {}),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      return { status: 'failed', output: null, failure: failureOf(error, 'solver_error') };
    } finally {
      // Per-instance state (an MCP server started for this query) ends with the query.
      await options.executor.endInstance?.(task.queryId).catch(() => undefined);
    }
    const { finalAnswer: _answer, ...output } = result;
    return { status: 'completed', output };
  };
}

/**
 * Writes the answer file of every solved query: those solved by this run, and those of the journal
 * whose file is missing (the process that solved them was killed before writing it).
 */
async function writeAnswerFiles(
  options: SolveRunOptions,
  records: readonly SolveRecord[],
  ranHere: ReadonlySet<string>,
): Promise<number> {
  const fileName = options.answerFile ?? answerFileName;
  let written = 0;
  for (const record of records) {
    if (record.status !== 'completed' || record.output === null) continue;
    const file = join(options.out, fileName(record.id, options.solver.method));
    if (!ranHere.has(record.id) && (await exists(file))) continue;
    await writeFileAtomic(file, `${JSON.stringify(record.output.answer, null, 2)}\n`);
    if (ranHere.has(record.id)) written++;
  }
  return written;
}

function solveSummary(
  options: SolveRunOptions,
  outcome: ExecutionOutcome<SolverTask, SolveTaskOutput | null>,
  ranHere: ReadonlySet<string>,
  written: number,
): SolveSummary {
  const summary: SolveSummary = {
    out: options.out,
    solver: options.solver.name,
    total: outcome.total,
    skipped: outcome.resumed,
    retried: outcome.retried,
    written,
    answered: 0,
    gaveUp: 0,
    noAnswer: 0,
    failed: 0,
    failures: [],
    queryCount: 0,
    promptTokens: 0,
    completionTokens: 0,
    interrupted: outcome.interrupted,
    ...(outcome.circuitOpen !== undefined ? { circuitOpen: outcome.circuitOpen } : {}),
    infrastructureFailed: outcome.infrastructureFailed,
  };
  for (const record of outcome.finished) {
    if (record.status === 'failed' || record.output === null) {
      summary.failed++;
      summary.failures.push({ queryId: record.id, message: record.failure?.message ?? 'failed' });
      continue;
    }
    if (!ranHere.has(record.id)) continue;
    const output = record.output;
    if (output.finishType === 'give_answer') summary.answered++;
    else if (output.finishType === 'give_up') summary.gaveUp++;
    else summary.noAnswer++;
    summary.queryCount += output.queryCount;
    summary.promptTokens += output.promptTokens;
    summary.completionTokens += output.completionTokens;
  }
  return summary;
}

export async function runSolve(options: SolveRunOptions): Promise<SolveSummary> {
  checkTasks(options.tasks);
  const tasks = options.limit !== undefined ? options.tasks.slice(0, options.limit) : [...options.tasks];
  return withDurableRun<SolveTaskOutput | null, Record<string, unknown>, SolveSummary>(
    {
      kind: 'solve',
      out: options.out,
      outIsFolder: true,
      parameters: solveParameters(options),
      context: { out: options.out },
      ...startOptionsOf(options),
    },
    async (run) => {
      const ranHere = new Set<string>();
      const tokens = { promptTokens: 0, completionTokens: 0 };
      const outcome = await run.execute({
        tasks: tasks.map((task) => ({ id: task.queryId, input: task })),
        runTask: solveTaskRunner(options),
        ...executionOptionsOf(options, 2),
        onFinished: (record) => {
          ranHere.add(record.id);
          tokens.promptTokens += record.output?.promptTokens ?? 0;
          tokens.completionTokens += record.output?.completionTokens ?? 0;
          if (record.status === 'failed') options.onFailure?.(record.id, record.failure?.message ?? 'failed');
        },
        onProgress: (progress) =>
          options.onProgress?.({
            done: progress.done,
            total: progress.total,
            failed: progress.failed,
            ...tokens,
          }),
      });
      const written = await writeAnswerFiles(options, outcome.finished, ranHere);
      await run.end(outcome);
      return solveSummary(options, outcome, ranHere, written);
    },
  );
}
