/**
 * A durable run from start to end: take the output's lock, open the journal (checked on resume),
 * execute the plan, assemble the final files, journal the end, close the journal and release the
 * lock — on success, on error and on interruption alike.
 */
import { executeTasks, type ExecuteOptions, type ExecutionOutcome } from './engine.js';
import { memoryJournal, openJournal, type Journal, type OpenJournalOptions } from './journal.js';
import { stat } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import type { CostLedger } from '../models/ledger.js';
import { acquireRunLock, type RunLock } from './lock.js';
import type { SchedulerFactory } from './scheduler.js';
import type { RetryPolicy } from './task.js';

/** The files a run writes beside its output `out`. */
export interface RunFiles {
  journal: string;
  meta: string;
  lock: string;
}

export function runFiles(out: string): RunFiles {
  return { journal: `${out}.log.jsonl`, meta: `${out}.meta.json`, lock: `${out}.lock` };
}

export interface StartRunOptions<P> extends Omit<OpenJournalOptions<P>, 'path'> {
  /** The run's output; its journal and lock go beside it. Without one the run is kept in memory only. */
  out?: string;
  /** The output is a folder (solve's answers); otherwise a folder at `out` is refused before any work. */
  outIsFolder?: boolean;
}

/**
 * A usage error (exit 2) when `out` cannot be the run's output: an output file that names an existing
 * folder (found now, not at the final rename), an output folder that names an existing file. Cheap (one
 * stat), so commands call it before their pre-flight call: a bad --out is reported as such (exit 2)
 * even when the model server is down too (exit 3).
 */
export async function checkRunOutput(out: string, outIsFolder = false): Promise<void> {
  const info = await stat(out).catch(() => undefined);
  if (info === undefined) return;
  if (!outIsFolder && info.isDirectory()) {
    throw new InputError(`${out}: is a folder; the output needs a file path`, {
      details: { reason: 'output-is-folder', out },
    });
  }
  if (outIsFolder && !info.isDirectory()) {
    throw new InputError(`${out}: is a file; the output needs a folder`, {
      details: { reason: 'output-is-file', out },
    });
  }
}

export interface DurableRun<O, P> {
  readonly files?: RunFiles;
  readonly journal: Journal<O, P>;
  /** Runs the plan (see `executeTasks`). */
  execute<I>(options: Omit<ExecuteOptions<I, O>, 'journal'>): Promise<ExecutionOutcome<I, O>>;
  /** Journals a value kept beside the tasks (last one of a key wins). */
  note(key: string, value: unknown): Promise<void>;
  /** Journals the end of the run once its final files are written. */
  end(outcome: Pick<ExecutionOutcome<unknown, O>, 'finished' | 'total'>): Promise<void>;
}

/**
 * Runs `body` inside a durable run on `options.out`: the lock is held and the journal open for its
 * whole length, and both are closed whatever happens.
 */
export async function withDurableRun<O, P extends object, R>(
  options: StartRunOptions<P>,
  body: (run: DurableRun<O, P>) => Promise<R>,
): Promise<R> {
  const files = options.out !== undefined ? runFiles(options.out) : undefined;
  let lock: RunLock | undefined;
  let journal: Journal<O, P> | undefined;
  try {
    if (files !== undefined) {
      if (options.out !== undefined) await checkRunOutput(options.out, options.outIsFolder === true);
      lock = await acquireRunLock(files.lock);
      journal = await openJournal<O, P>({ ...options, path: files.journal });
    } else {
      journal = memoryJournal<O, P>(options.kind, options.parameters);
    }
    const opened = journal;
    return await body({
      ...(files !== undefined ? { files } : {}),
      journal: opened,
      execute: (execute) => executeTasks({ ...execute, journal: opened }),
      note: (key, value) => opened.append({ type: 'note', key, value }),
      end: (outcome) =>
        opened.append({
          type: 'end',
          complete: outcome.finished.length === outcome.total,
          tasks: outcome.finished.length,
          finishedAt: new Date().toISOString(),
        }),
    });
  } finally {
    await journal?.close();
    await lock?.release();
  }
}

/** What every durable run takes from its caller, besides its own options. */
export interface DurableRunOptions {
  /** Continue the run in the existing journal (same kind, version and parameters). */
  resume?: boolean;
  /** Discard an existing journal and start over. */
  force?: boolean;
  /** On resume, which failed tasks run again (default `infrastructure`). */
  retryFailed?: RetryPolicy;
  /** Consecutive infrastructure failures that stop the run (default 5; 0 never stops). */
  breakerThreshold?: number;
  /** Aborting it stops the run: no new task starts, those in flight get `graceMs` to finish. */
  signal?: AbortSignal;
  /** Default 30 s. */
  graceMs?: number;
  /** Where tasks run (default: this process). */
  scheduler?: SchedulerFactory;
  /** Tasks at once. */
  concurrency?: number;
  /** The run's cost ledger (see `ExecuteOptions.ledger` for the calls the engine adds to it). */
  ledger?: CostLedger;
}

/** The resume/force part of `options`, for `withDurableRun`. */
export function startOptionsOf(
  options: DurableRunOptions,
): Pick<StartRunOptions<unknown>, 'resume' | 'force'> {
  return {
    ...(options.resume !== undefined ? { resume: options.resume } : {}),
    ...(options.force !== undefined ? { force: options.force } : {}),
  };
}

/** The part of `options` `execute` takes; `concurrency` defaults to `defaultConcurrency`. */
export function executionOptionsOf(
  options: DurableRunOptions,
  defaultConcurrency: number,
): Pick<
  ExecuteOptions<unknown, unknown>,
  'retryFailed' | 'breakerThreshold' | 'signal' | 'graceMs' | 'scheduler' | 'concurrency' | 'ledger'
> {
  return {
    concurrency: Math.max(1, options.concurrency ?? defaultConcurrency),
    ...(options.retryFailed !== undefined ? { retryFailed: options.retryFailed } : {}),
    ...(options.breakerThreshold !== undefined ? { breakerThreshold: options.breakerThreshold } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
    ...(options.scheduler !== undefined ? { scheduler: options.scheduler } : {}),
    ...(options.ledger !== undefined ? { ledger: options.ledger } : {}),
  };
}
