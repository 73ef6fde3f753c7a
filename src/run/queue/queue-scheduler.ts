/**
 * The BullMQ adapter of the scheduler port: the run's process is the producer and the collector,
 * `toolalpaca worker` processes (anywhere that reaches Redis) run the tasks.
 *
 * - **Producer.** The run's spec (what a worker needs to build the task runner: the command's
 *   parameters and inputs, never a secret) is stored under the run's id; each task becomes a job whose
 *   id is derived from the run and the task (and, for a task retried on resume, from the journal line
 *   that failed), so a restarted producer, or a task enqueued twice, never makes a second job.
 * - **Collector.** Finished jobs (BullMQ's events, and a periodic sweep for events missed while Redis
 *   or this process was away) are handed to `collect` once each; the engine journals them. A job that
 *   was already finished when the producer (re)started is collected without running again. Collected
 *   jobs are removed from Redis a sweep later (after their journal line is written).
 * - **Stop.** `stopStarting` removes this run's jobs that no worker took yet; jobs in flight finish.
 *   After the hard stop the collector stops waiting; jobs still running stay in Redis, and a resume
 *   collects them.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { LedgerRow } from '../../models/ledger.js';
import { thrownResult, type Scheduler, type SchedulerContext, type SchedulerFactory } from '../scheduler.js';
import type { TaskFailure, TaskResult, TaskSpec } from '../task.js';
import { cleanQueue } from './queue-admin.js';
import { redisClient, type QueueLocation } from './queue-url.js';

/** Attempts of a job whose processor threw (a worker lost its Redis connection mid-job...). */
export const DEFAULT_JOB_ATTEMPTS = 3;
/** How often outstanding jobs are checked besides the events. */
export const DEFAULT_SWEEP_MS = 2_000;
const ADD_BATCH = 500;
const SWEEP_BATCH = 2_000;

/** What a job carries: its run, the task's id and plain-JSON input. */
export interface QueueJobData {
  run: string;
  task: string;
  input: unknown;
}

/** What a worker returns for a job: the task's result and the calls it made (for the ledger). */
export interface QueueJobResult {
  result: TaskResult<unknown>;
  ledger?: Omit<LedgerRow, 'costUsd'>[];
}

/** A run as stored in Redis: who produces it, and the spec workers build the task runner from. */
export interface QueueRunRecord {
  id: string;
  kind: string;
  host: string;
  pid: number;
  journal: string;
  startedAt: string;
  spec: Record<string, unknown>;
}

export interface QueueSchedulerOptions {
  location: QueueLocation;
  /** What a worker needs to build this run's task runner (plain JSON; no secrets). */
  spec: Record<string, unknown>;
  /** The output of a task whose job failed for good (the kind's empty output); default null. */
  failedOutput?: (input: unknown) => unknown;
  /** Called with the calls a worker made for each collected task. */
  onLedger?: (rows: Omit<LedgerRow, 'costUsd'>[]) => void;
  /** Called for something the operator should know (jobs removed from the queue by someone else). */
  onWarning?: (message: string) => void;
  attempts?: number;
  sweepMs?: number;
}

/** Redis keys of the project's own records beside BullMQ's. */
export function runKey(queueName: string, runId: string): string {
  return `toolalpaca:${queueName}:run:${runId}`;
}
export function runsKey(queueName: string): string {
  return `toolalpaca:${queueName}:runs`;
}

/** A run's id: the same for a resumed run (same journal, same header), new after --force. */
export function queueRunId(journalPath: string, kind: string, startedAt: string): string {
  const hash = createHash('sha256')
    .update(`${hostname()}\0${resolve(journalPath)}\0${kind}\0${startedAt}`)
    .digest('hex');
  return `${kind}-${hash.slice(0, 16)}`;
}

/** A task's job id in a run; `attempt` (the finishedAt of a journaled failure) separates retries. */
export function queueJobId(runId: string, taskId: string, attempt = ''): string {
  const hash = createHash('sha256').update(`${taskId}\0${attempt}`).digest('hex');
  return `${runId}.${hash.slice(0, 24)}`;
}

/** The failure recorded for a job that failed for good in the queue. */
export function jobFailure(job: Pick<Job, 'failedReason' | 'stacktrace'>): TaskFailure {
  const reason = job.failedReason ?? 'failed';
  if (/stalled more than/i.test(reason)) {
    // The job's workers died (or hung) every time it was taken: it must not be taken again and again.
    return { reason: 'worker_lost', message: `the job's worker stopped every time it ran it (${reason})` };
  }
  return { reason: 'queue_failed', message: reason.slice(0, 300) };
}

function isQueueJobResult(value: unknown): value is QueueJobResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { result?: unknown }).result === 'object' &&
    (value as { result: unknown }).result !== null
  );
}

/** A scheduler factory running tasks on the queue at `options.location`; see the module comment. */
export function createQueueScheduler(options: QueueSchedulerOptions): SchedulerFactory {
  return <I, O>(context: SchedulerContext<I, O>): Scheduler<I> => openQueueScheduler(options, context);
}

function openQueueScheduler<I, O>(
  options: QueueSchedulerOptions,
  context: SchedulerContext<I, O>,
): Scheduler<I> {
  const journal = context.journal;
  if (journal === undefined) throw new Error('a queue scheduler needs the run journal');
  const kind = journal.header.kind;
  const runId = queueRunId(journal.path, kind, journal.header.startedAt);
  const { location } = options;
  const queue = new Queue<QueueJobData, QueueJobResult>(location.name, { connection: location.connection });
  const events = new QueueEvents(location.name, { connection: location.connection });
  // Connection errors are retried by ioredis (Redis restarting); they must not crash the process.
  queue.on('error', () => undefined);
  events.on('error', () => undefined);

  const outstanding = new Map<string, TaskSpec<I>>();
  const added = new Set<string>();
  const collected: string[] = [];
  let pending: { id: string; task: TaskSpec<I> }[] = [];
  let stopped = false;
  let closed = false;
  let failure: unknown;
  const waiters: (() => void)[] = [];

  const record: QueueRunRecord = {
    id: runId,
    kind,
    host: hostname(),
    pid: process.pid,
    journal: resolve(journal.path),
    startedAt: journal.header.startedAt,
    spec: options.spec,
  };
  const client = redisClient(location);
  const ready = (async () => {
    await client.set(runKey(location.name, runId), JSON.stringify(record));
    await client.sadd(runsKey(location.name), runId);
  })();

  const wake = (): void => {
    if (!isIdle()) return;
    for (const resolveIdle of waiters.splice(0)) resolveIdle();
  };
  const isIdle = (): boolean =>
    failure !== undefined ||
    context.signal.aborted ||
    (pending.length === 0 && outstanding.size === 0 && !flushing);

  const settleResult = (jobId: string, task: TaskSpec<I>, result: TaskResult<O>): void => {
    outstanding.delete(jobId);
    collected.push(jobId);
    context.collect(task, result);
  };

  /** Looks at one outstanding job and collects it when it has finished for good. */
  const settle = async (jobId: string): Promise<void> => {
    const task = outstanding.get(jobId);
    if (task === undefined || !added.has(jobId)) return;
    // The state first, then the job: a job read before it finished would have no return value yet.
    const state = await queue.getJobState(jobId);
    if (!outstanding.has(jobId)) return;
    if (state === 'unknown') {
      // Removed by someone else (`queue drain`, `queue clean`): it counts as not started.
      outstanding.delete(jobId);
      options.onWarning?.(`job of task ${task.id} was removed from the queue; a resume runs it`);
      return;
    }
    if (state !== 'completed' && state !== 'failed') return;
    const job = await Job.fromId<QueueJobData, QueueJobResult>(queue, jobId);
    if (!outstanding.has(jobId) || job === undefined) return;
    if (state === 'completed') {
      const value: unknown = job.returnvalue;
      if (isQueueJobResult(value)) {
        if (value.ledger !== undefined) options.onLedger?.(value.ledger);
        settleResult(jobId, task, value.result as TaskResult<O>);
      } else {
        settleResult(jobId, task, failedResult(task, { reason: 'queue_failed', message: 'no result' }));
      }
    } else {
      settleResult(jobId, task, failedResult(task, jobFailure(job)));
    }
  };

  const failedResult = (task: TaskSpec<I>, why: TaskFailure): TaskResult<O> => ({
    ...thrownResult<O>(new Error(why.message)),
    output: (options.failedOutput?.(task.input) ?? null) as O,
    failure: why,
  });

  const guard = (work: Promise<void>): void => {
    work.then(wake, (error: unknown) => {
      failure ??= error;
      wake();
    });
  };

  let flushing = false;
  const flush = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    try {
      await ready;
      while (pending.length > 0 && !stopped) {
        const batch = pending.splice(0, ADD_BATCH);
        const jobOptions = (id: string): JobsOptions => ({
          jobId: id,
          attempts: options.attempts ?? DEFAULT_JOB_ATTEMPTS,
          backoff: { type: 'exponential', delay: 1_000 },
          removeOnComplete: false,
          removeOnFail: false,
        });
        await queue.addBulk(
          batch.map(({ id, task }) => ({
            name: kind as never,
            data: { run: runId, task: task.id, input: task.input },
            opts: jobOptions(id),
          })),
        );
        for (const { id } of batch) added.add(id);
        // A job finished before this producer (re)started is collected now, without running again.
        await Promise.all(batch.map(({ id }) => settle(id)));
      }
    } finally {
      flushing = false;
    }
  };

  const onFinished = ({ jobId }: { jobId: string }): void => {
    if (jobId.startsWith(`${runId}.`)) guard(settle(jobId));
  };
  events.on('completed', onFinished);
  events.on('failed', onFinished);

  let cursor = 0;
  const sweep = async (): Promise<void> => {
    const ids = [...outstanding.keys()].filter((id) => added.has(id));
    if (ids.length > 0) {
      cursor %= ids.length;
      const slice = ids.slice(cursor, cursor + SWEEP_BATCH);
      cursor += slice.length;
      await Promise.all(slice.map((id) => settle(id)));
    }
    // Collected two sweeps ago: their journal lines are written by now.
    const done = collected.splice(0, collected.length);
    if (done.length > 0) await Promise.all(done.map((id) => queue.remove(id).catch(() => 0)));
  };
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping || closed) return;
    sweeping = true;
    guard(sweep().finally(() => (sweeping = false)));
  }, options.sweepMs ?? DEFAULT_SWEEP_MS);
  timer.unref();
  context.signal.addEventListener('abort', wake, { once: true });

  return {
    submit(task) {
      if (stopped) return;
      const previous = journal.previousOf(task.id);
      const id = queueJobId(runId, task.id, previous?.finishedAt ?? '');
      if (outstanding.has(id)) return;
      outstanding.set(id, task);
      pending.push({ id, task });
      if (pending.length === 1) queueMicrotask(() => guard(flush()));
    },
    stopStarting() {
      if (stopped) return;
      stopped = true;
      for (const { id } of pending) outstanding.delete(id);
      pending = [];
      // Jobs no worker took yet are removed; a job in flight is locked by its worker and stays.
      const waiting = [...outstanding.keys()];
      guard(
        (async () => {
          await ready;
          await Promise.all(
            waiting.map(async (id) => {
              const state = await queue.getJobState(id);
              if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return;
              if ((await queue.remove(id)) === 1) outstanding.delete(id);
            }),
          );
        })(),
      );
    },
    idle() {
      return new Promise<void>((resolveIdle, reject) => {
        const check = (): void => (failure !== undefined ? reject(failure as Error) : resolveIdle());
        if (isIdle()) check();
        else waiters.push(check);
      });
    },
    async close() {
      closed = true;
      clearInterval(timer);
      context.signal.removeEventListener('abort', wake);
      try {
        const done = collected.splice(0, collected.length);
        await Promise.all(done.map((id) => queue.remove(id).catch(() => 0)));
        if (outstanding.size === 0 && !stopped && !context.signal.aborted) {
          // Finished jobs a killed producer journaled but had not removed yet, and the run's record.
          await cleanQueue(location, runId);
        }
      } finally {
        await events.close();
        await queue.close();
        client.disconnect();
      }
    },
  };
}
