/**
 * The scheduler port of the durable-run engine: where tasks run. The engine is the producer (it
 * submits task specs: an id and a plain-JSON input) and the collector (it receives each task's
 * plain-JSON result through `collect`, journals it and counts it). An adapter decides where and how
 * many tasks run at once.
 *
 * `createInProcessScheduler` (p-queue, this process) is the first adapter. A queue adapter (BullMQ)
 * slots in behind the same port: `submit` adds a job holding the task spec, workers in other processes
 * build the runner from the run's parameters and run it, and the adapter's listener for finished jobs
 * calls `collect` with the job's return value; `stopStarting` drains the waiting jobs.
 */
import PQueue from 'p-queue';
import type { JournalHeader, JournalTask } from './journal.js';
import { failureOf, type TaskResult, type TaskRunner, type TaskSpec } from './task.js';

export interface SchedulerContext<I, O> {
  /** Tasks at once (in-process: slots; a queue: the workers' concurrency). */
  concurrency: number;
  runTask: TaskRunner<I, O>;
  /** Aborted when the run stops hard: tasks in flight are cut. */
  signal: AbortSignal;
  /** Called once per task that ran, with its result (a throw arrives as a failed result). */
  collect(task: TaskSpec<I>, result: TaskResult<O>): void;
  /**
   * The run's journal: its path and header identify the run (a queue derives stable job ids from
   * them), and `previous` says which tasks finished before (a retried task gets a new job id).
   */
  journal?: {
    readonly path: string;
    readonly header: JournalHeader<unknown>;
    previousOf(id: string): JournalTask<unknown> | undefined;
  };
}

export interface Scheduler<I> {
  /** Hands a task over; it runs when a slot (or worker) is free. */
  submit(task: TaskSpec<I>): void;
  /** Drops every task not started yet; tasks in flight go on (until the context's signal). */
  stopStarting(): void;
  /** Resolves when no task is waiting or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Builds a scheduler for one run's execution. */
export type SchedulerFactory = <I, O>(context: SchedulerContext<I, O>) => Scheduler<I>;

/** The failed result of a task whose runner threw (the output is empty). */
export function thrownResult<O>(error: unknown): TaskResult<O> {
  return { status: 'failed', output: null as O, failure: failureOf(error) };
}

/** Tasks run in this process, `concurrency` at once, in submission order. */
export const createInProcessScheduler: SchedulerFactory = <I, O>(
  context: SchedulerContext<I, O>,
): Scheduler<I> => {
  const queue = new PQueue({ concurrency: Math.max(1, context.concurrency) });
  let stopped = false;
  return {
    submit(task) {
      void queue.add(async () => {
        if (stopped) return;
        let result: TaskResult<O>;
        try {
          result = await context.runTask(task.input, { signal: context.signal });
        } catch (error) {
          result = thrownResult(error);
        }
        context.collect(task, result);
      });
    },
    stopStarting() {
      stopped = true;
      queue.clear();
    },
    idle: () => queue.onIdle(),
    close: () => Promise.resolve(),
  };
};
