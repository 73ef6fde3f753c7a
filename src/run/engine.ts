/**
 * The execution loop of a durable run: decide which planned tasks are still to do (the journal says
 * what finished; a resume runs failed tasks again as the retry policy says), hand them to a scheduler,
 * journal every result (fsynced) before it counts, and stop gracefully:
 *
 * - **Interrupt** (`signal`, Ctrl-C): no new task starts; tasks in flight get `graceMs` to finish, then
 *   the hard-stop signal cuts them. A cut task is not journaled (a resume runs it again).
 * - **Circuit breaker**: after `breakerThreshold` consecutive results that failed for an
 *   infrastructure reason, the run stops the same way and reports it (`circuitOpen`).
 * - **Journal write failure**: the run stops at once and the error is thrown.
 */
import { setMaxListeners } from 'node:events';
import type { CostLedger } from '../models/ledger.js';
import type { Journal, JournalTask } from './journal.js';
import { createInProcessScheduler, type SchedulerFactory } from './scheduler.js';
import {
  shouldRetry,
  type RetryPolicy,
  type TaskFailure,
  type TaskResult,
  type TaskRunner,
  type TaskSpec,
} from './task.js';

/** Default consecutive infrastructure failures that stop a run. */
export const DEFAULT_BREAKER_THRESHOLD = 5;
/** Default time tasks in flight get to finish after a stop. */
export const DEFAULT_GRACE_MS = 30_000;

export interface ExecutionProgress {
  /** Planned tasks finished (those read from the journal included). */
  done: number;
  total: number;
  failed: number;
  infrastructureFailed: number;
  /** Tasks finished by this execution (a rate is computed from these). */
  doneThisRun: number;
}

export interface ExecuteOptions<I, O> {
  journal: Journal<O, unknown>;
  /** Every task of the run, in order (those already finished included). */
  tasks: readonly TaskSpec<I>[];
  runTask: TaskRunner<I, O>;
  /** Failed tasks run again (default `infrastructure`). */
  retryFailed?: RetryPolicy;
  concurrency?: number;
  /** Where tasks run (default: in this process). */
  scheduler?: SchedulerFactory;
  /** Aborting it stops the run gracefully. */
  signal?: AbortSignal;
  graceMs?: number;
  /** Consecutive infrastructure failures that stop the run (default 5; 0 never stops). */
  breakerThreshold?: number;
  onProgress?: (progress: ExecutionProgress) => void;
  /** A task's result was journaled. */
  onFinished?: (record: JournalTask<O>) => void;
  /**
   * The run's ledger, for the calls it did not see: those results carry (a queue worker's), added once
   * journaled, and those of earlier invocations' journal lines, added at the start of a resume.
   */
  ledger?: CostLedger;
}

export interface CircuitOpen {
  /** Consecutive infrastructure failures seen. */
  failures: number;
  /** The last of them. */
  last: TaskFailure;
}

export interface ExecutionOutcome<I, O> {
  /** The finished planned tasks in plan order (journal records; the last one of a retried id). */
  finished: JournalTask<O>[];
  /** Tasks cut in flight by the hard stop (not journaled: a resume runs them again). */
  cut: { task: TaskSpec<I>; result: TaskResult<O> }[];
  total: number;
  /** Planned tasks taken from the journal as finished. */
  resumed: number;
  /** Failed tasks from the journal that were run again. */
  retried: number;
  /** Tasks finished by this execution. */
  ran: number;
  /** Tasks neither finished nor cut (never started because the run stopped). */
  notStarted: number;
  interrupted: boolean;
  circuitOpen?: CircuitOpen;
  failed: number;
  infrastructureFailed: number;
}

interface StopControl {
  readonly hardStop: AbortController;
  stop(): void;
  readonly stopping: boolean;
  dispose(): void;
}

function createStopControl(graceMs: number, onStop: () => void): StopControl {
  const hardStop = new AbortController();
  // Every task in flight listens to it.
  setMaxListeners(0, hardStop.signal);
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  return {
    hardStop,
    get stopping() {
      return stopping;
    },
    stop() {
      if (stopping) return;
      stopping = true;
      onStop();
      timer = setTimeout(() => hardStop.abort(new Error('interrupted')), graceMs);
      timer.unref?.();
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/** Splits the plan into tasks already finished (kept) and tasks to run (new, or failed and retried). */
function partitionPlan<I, O>(
  tasks: readonly TaskSpec<I>[],
  journal: Journal<O, unknown>,
  policy: RetryPolicy,
): { kept: Map<string, JournalTask<O>>; retrying: Map<string, JournalTask<O>>; todo: TaskSpec<I>[] } {
  const kept = new Map<string, JournalTask<O>>();
  const retrying = new Map<string, JournalTask<O>>();
  const todo: TaskSpec<I>[] = [];
  const seen = new Set<string>();
  for (const task of tasks) {
    if (seen.has(task.id)) throw new Error(`task id ${task.id} is planned twice`);
    seen.add(task.id);
    const previous = journal.previous.tasks.get(task.id);
    if (previous === undefined) {
      todo.push(task);
    } else if (previous.status === 'failed' && shouldRetry(previous.failure, policy)) {
      retrying.set(task.id, previous);
      todo.push(task);
    } else {
      kept.set(task.id, previous);
    }
  }
  return { kept, retrying, todo };
}

/** Counts consecutive infrastructure failures; `onTrip` is called once when they reach `threshold`. */
function createBreaker(
  threshold: number,
  onTrip: () => void,
): { track(result: TaskResult<unknown>): void; readonly open: CircuitOpen | undefined } {
  let consecutive = 0;
  let open: CircuitOpen | undefined;
  return {
    get open() {
      return open;
    },
    track(result) {
      if (result.failure?.infrastructure !== true) {
        consecutive = 0;
        return;
      }
      consecutive++;
      if (open !== undefined) {
        open.failures = Math.max(open.failures, consecutive);
      } else if (threshold > 0 && consecutive >= threshold) {
        open = { failures: consecutive, last: result.failure };
        onTrip();
      }
    },
  };
}

/** The progress figures: finished tasks, failed ones (infrastructure apart), and those of this run. */
function createProgress<O>(
  options: Pick<ExecuteOptions<unknown, O>, 'onProgress' | 'tasks'>,
  finished: ReadonlyMap<string, JournalTask<O>>,
): { count(record: JournalTask<O>): void; report(ran: number): void } {
  const counts = { failed: 0, infrastructureFailed: 0 };
  return {
    count(record) {
      if (record.status !== 'failed') return;
      counts.failed++;
      if (record.failure?.infrastructure === true) counts.infrastructureFailed++;
    },
    report(ran) {
      options.onProgress?.({ done: finished.size, total: options.tasks.length, ...counts, doneThisRun: ran });
    },
  };
}

/** A finished task's journal line. */
function recordOf<O>(id: string, result: TaskResult<O>): JournalTask<O> {
  return {
    type: 'task',
    id,
    status: result.status,
    ...(result.failure !== undefined ? { failure: result.failure } : {}),
    output: result.output,
    ...(result.calls !== undefined && result.calls.length > 0 ? { calls: result.calls } : {}),
    finishedAt: new Date().toISOString(),
  };
}

/** Runs the tasks of a plan that are still to do; see the module comment. */
export async function executeTasks<I, O>(options: ExecuteOptions<I, O>): Promise<ExecutionOutcome<I, O>> {
  const { kept, retrying, todo } = partitionPlan(
    options.tasks,
    options.journal,
    options.retryFailed ?? 'infrastructure',
  );
  const finished = new Map(kept);
  const cut: ExecutionOutcome<I, O>['cut'] = [];
  const writes = new Set<Promise<void>>();
  let ran = 0;
  let fatal: unknown;
  const progress = createProgress(options, finished);
  for (const record of kept.values()) progress.count(record);
  // Calls journaled by earlier invocations (a killed queue producer's) count once more in this ledger.
  options.ledger?.merge(options.journal.previous.calls);

  // The stop control and the scheduler need each other: the scheduler is filled in once built.
  const ref: { scheduler?: { stopStarting(): void } } = {};
  const control = createStopControl(options.graceMs ?? DEFAULT_GRACE_MS, () => ref.scheduler?.stopStarting());
  const breaker = createBreaker(options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD, () => control.stop());
  const onAbort = (): void => control.stop();
  if (options.signal?.aborted === true) control.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const collect = (task: TaskSpec<I>, result: TaskResult<O>): void => {
    if (fatal !== undefined) return;
    if (control.hardStop.signal.aborted && result.status === 'failed') {
      cut.push({ task, result });
      return;
    }
    breaker.track(result);
    const record = recordOf(task.id, result);
    // The slot is free for the next task while this line is written (group commit); the task
    // counts as done only once its line is durable.
    const write = options.journal.append(record).then(
      () => {
        if (record.calls !== undefined) options.ledger?.merge(record.calls);
        finished.set(task.id, record);
        progress.count(record);
        ran++;
        options.onFinished?.(record);
        progress.report(ran);
      },
      (error: unknown) => {
        fatal ??= error;
        ref.scheduler?.stopStarting();
        control.hardStop.abort(error);
      },
    );
    writes.add(write);
    void write.finally(() => writes.delete(write));
  };

  const scheduler = (options.scheduler ?? createInProcessScheduler)<I, O>({
    concurrency: Math.max(1, options.concurrency ?? 4),
    runTask: options.runTask,
    signal: control.hardStop.signal,
    collect,
    journal: {
      path: options.journal.path,
      header: options.journal.header,
      previousOf: (id) => options.journal.previous.tasks.get(id),
    },
  });
  ref.scheduler = scheduler;
  progress.report(ran);
  try {
    if (!control.stopping) for (const task of todo) scheduler.submit(task);
    await scheduler.idle();
    while (writes.size > 0) await Promise.all([...writes]);
  } finally {
    control.dispose();
    options.signal?.removeEventListener('abort', onAbort);
    await scheduler.close();
  }
  if (fatal !== undefined) throw fatal;

  // A retried task that did not finish again keeps its journaled record (the journal's last line).
  for (const [id, record] of retrying) if (!finished.has(id)) finished.set(id, record);
  const ordered = options.tasks.flatMap((task) => {
    const record = finished.get(task.id);
    return record !== undefined ? [record] : [];
  });
  const failed = ordered.filter((r) => r.status === 'failed');
  const circuitOpen = breaker.open;
  return {
    finished: ordered,
    cut,
    total: options.tasks.length,
    resumed: kept.size,
    retried: retrying.size,
    ran,
    notStarted: todo.length - ran - cut.length,
    interrupted: options.signal?.aborted === true,
    ...(circuitOpen !== undefined ? { circuitOpen } : {}),
    failed: failed.length,
    infrastructureFailed: failed.filter((r) => r.failure?.infrastructure === true).length,
  };
}

/** How a run ended, as every run's summary reports it (the CLI turns it into an exit code). */
export interface RunStatus {
  /** Stopped by the caller's signal (Ctrl-C). */
  interrupted: boolean;
  /** Stopped by the circuit breaker. */
  circuitOpen?: CircuitOpen;
  /** Finished tasks that failed for an infrastructure reason (a resume retries them). */
  infrastructureFailed: number;
}

export function runStatusOf(outcome: ExecutionOutcome<unknown, unknown>): RunStatus {
  return {
    interrupted: outcome.interrupted,
    ...(outcome.circuitOpen !== undefined ? { circuitOpen: outcome.circuitOpen } : {}),
    infrastructureFailed: outcome.infrastructureFailed,
  };
}
