/**
 * `solve`: run a solver over ToolBench tasks and write one answer file per query, in ToolBench's answer
 * layout, as `{queryId}_{method}.json` with ToolBench's method names (`DFS_woFilter_w2`, `CoT@1`), so
 * StableToolBench's conversion and evaluation scripts read the folder as is (written atomically, so a file that exists is complete). With
 * `resume`, queries whose answer file exists are skipped; a query that fails (model unreachable...)
 * writes nothing, so a resumed run retries it.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { ToolExecutor } from '../executors/executor.js';
import type { ChatModel } from '../models/chat-model.js';
import type { SolverPromptSet } from '../search/prompts.js';
import type { Solver, SolverTask } from '../search/solver.js';

export interface SolveProgress {
  done: number;
  total: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

export interface SolveRunOptions {
  tasks: readonly SolverTask[];
  solver: Solver;
  model: ChatModel;
  executor: ToolExecutor;
  /** Answer folder. */
  out: string;
  /** Solve the first N tasks only. */
  limit?: number;
  /** Queries solved at once. Default 2. */
  concurrency?: number;
  /** Skip queries whose answer file exists. */
  resume?: boolean;
  signal?: AbortSignal;
  temperature?: number;
  maxTokens?: number;
  maxObservationChars?: number;
  /** Prompts and Finish function (default: the project's; `loadToolBenchPromptSet` for ToolBench's). */
  prompts?: SolverPromptSet;
  onProgress?: (progress: SolveProgress) => void;
  /** A query failed (nothing written for it). */
  onFailure?: (queryId: string, message: string) => void;
}

export interface SolveSummary {
  out: string;
  solver: string;
  total: number;
  /** Skipped because their answer file existed (`resume`). */
  skipped: number;
  /** Answer files written. */
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
}

/**
 * `{queryId}_{method}.json` (`method`: ToolBench's, e.g. `DFS_woFilter_w2`); the query id is made safe
 * for a file name. ToolBench's scripts take the query id as the text before the first `_`.
 */
export function answerFileName(queryId: string, method: string): string {
  const safe = queryId.replace(/[^A-Za-z0-9.-]/g, '-') || 'query';
  return `${safe}_${method}.json`;
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function runSolve(options: SolveRunOptions): Promise<SolveSummary> {
  const seen = new Set<string>();
  for (const task of options.tasks) {
    if (seen.has(task.queryId)) throw new InputError(`tasks: query id ${task.queryId} appears twice`);
    seen.add(task.queryId);
  }
  const tasks = options.limit !== undefined ? options.tasks.slice(0, options.limit) : [...options.tasks];
  const summary: SolveSummary = {
    out: options.out,
    solver: options.solver.name,
    total: tasks.length,
    skipped: 0,
    written: 0,
    answered: 0,
    gaveUp: 0,
    noAnswer: 0,
    failed: 0,
    failures: [],
    queryCount: 0,
    promptTokens: 0,
    completionTokens: 0,
    interrupted: false,
  };
  const pending: SolverTask[] = [];
  for (const task of tasks) {
    if (
      options.resume === true &&
      (await exists(join(options.out, answerFileName(task.queryId, options.solver.method))))
    ) {
      summary.skipped++;
    } else {
      pending.push(task);
    }
  }
  let done = summary.skipped;
  const report = (): void =>
    options.onProgress?.({
      done,
      total: summary.total,
      failed: summary.failed,
      promptTokens: summary.promptTokens,
      completionTokens: summary.completionTokens,
    });
  report();
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 2) });
  for (const task of pending) {
    void queue.add(async () => {
      if (options.signal?.aborted === true) {
        summary.interrupted = true;
        return;
      }
      try {
        const result = await options.solver.solve(task, {
          model: options.model,
          executor: options.executor,
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
          ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
          ...(options.maxObservationChars !== undefined
            ? { maxObservationChars: options.maxObservationChars }
            : {}),
          ...(options.prompts !== undefined ? { prompts: options.prompts } : {}),
        });
        const file = join(options.out, answerFileName(task.queryId, options.solver.method));
        await writeFileAtomic(file, `${JSON.stringify(result.answer, null, 2)}\n`);
        summary.written++;
        if (result.finishType === 'give_answer') summary.answered++;
        else if (result.finishType === 'give_up') summary.gaveUp++;
        else summary.noAnswer++;
        summary.queryCount += result.queryCount;
        summary.promptTokens += result.promptTokens;
        summary.completionTokens += result.completionTokens;
      } catch (error) {
        if (aborted(options.signal)) {
          summary.interrupted = true;
          return;
        }
        const message = oneLine(messageOf(error));
        summary.failed++;
        summary.failures.push({ queryId: task.queryId, message });
        options.onFailure?.(task.queryId, message);
      } finally {
        done++;
        report();
      }
    });
  }
  await queue.onIdle();
  if (aborted(options.signal)) summary.interrupted = true;
  return summary;
}

/** The summary as a few lines for a terminal. */
export function formatSolveSummary(summary: SolveSummary): string {
  const lines = [
    `solved ${summary.written} of ${summary.total} queries with ${summary.solver} → ${summary.out}`,
    `  answered ${summary.answered}, gave up ${summary.gaveUp}, no answer ${summary.noAnswer}, failed ${summary.failed}, skipped (existing) ${summary.skipped}`,
    `  model calls ${summary.queryCount}, tokens ${summary.promptTokens + summary.completionTokens}`,
  ];
  if (summary.interrupted) lines.push('  interrupted: run again with --resume to finish');
  for (const failure of summary.failures.slice(0, 10))
    lines.push(`  failed ${failure.queryId}: ${failure.message}`);
  return `${lines.join('\n')}\n`;
}
