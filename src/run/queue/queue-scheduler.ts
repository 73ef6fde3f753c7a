/**
 * The BullMQ adapter of the scheduler port: the run's process is the producer and the collector,
 * `toolalpaca worker` processes (anywhere that reaches Redis) run the tasks.
 *
 * - **Producer.** The run's spec (what a worker needs to build the task runner: the command's
 *   parameters and inputs, never a secret) is stored under the run's id; each task becomes a job whose
 *   id is derived from the run and the task (and, for a task retried on resume, from the journal line
 *   that failed), so a restarted producer, or a task enqueued twice, never makes a second job.
 * - **Collector.** Finished jobs (BullMQ's events, and a periodic sweep for events missed while Redis
 *   or this process was away) are handed to `collect` once each; the engine journals them, with the
 *   calls the worker made (`TaskResult.calls`: the ledger of a resumed run is rebuilt from them),
 *   and those of the job's attempts that never returned (a worker killed or cut mid-job), which the
 *   workers list under `callsKey` as each call is made. A
 *   job that was already finished when the producer (re)started is collected without running again.
 *   Collected jobs are removed from Redis a sweep later (after their journal line is written).
 * - **Stop.** `stopStarting` removes this run's jobs that no worker took yet; jobs in flight finish.
 *   After the hard stop the collector stops waiting; jobs still running stay in Redis, and a resume
 *   collects them.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { LedgerRow } from '../../models/ledger.js';
import { sumCalls } from '../journal.js';
import { thrownResult, type Scheduler, type SchedulerContext, type SchedulerFactory } from '../scheduler.js';
import type { TaskCalls, TaskFailure, TaskResult, TaskSpec } from '../task.js';
import { cleanQueue } from './queue-admin.js';
import { redisClient, type QueueLocation } from './queue-url.js';
import type { Redis } from 'ioredis';

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
  /** The attempt that returned (its calls are `ledger`; those of other attempts are in the job's call list). */
  attempt?: string;
}

/** One call of one attempt at a job, as a worker lists it in Redis the moment the call is counted. */
export interface QueueCallEntry extends Omit<LedgerRow, 'costUsd'> {
  attempt: string;
}

/** How long a job's call list outlives its last call when no producer collects it (7 days). */
export const CALL_LIST_TTL_SECONDS = 7 * 86_400;

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
  /** Called for something the operator should know (jobs removed from the queue by someone else). */
  onWarning?: (message: string) => void;
  attempts?: number;
  sweepMs?: number;
}

/**
 * Prefix of the project's own records of a queue beside BullMQ's (`toolalpaca:queue:NAME:`): apart from
 * the response cache's and the rate limits' prefixes whatever the queue is called.
 */
export const QUEUE_RECORD_PREFIX = 'toolalpaca:queue:';

export function runKey(queueName: string, runId: string): string {
  return `${QUEUE_RECORD_PREFIX}${queueName}:run:${runId}`;
}
export function runsKey(queueName: string): string {
  return `${QUEUE_RECORD_PREFIX}${queueName}:runs`;
}
/**
 * The calls a job's attempts made, listed by the workers as they are made: the calls of an attempt
 * that never returned (its worker killed, or cut) reach the ledger from here.
 */
export function callsKey(queueName: string, jobId: string): string {
  return `${QUEUE_RECORD_PREFIX}${queueName}:calls:${jobId}`;
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

/** The listed calls of every attempt but `returned` (unreadable entries are left out). */
export function lostAttemptCalls(listed: readonly string[], returned: string | undefined): TaskCalls {
  const calls: TaskCalls = [];
  for (const text of listed) {
    let entry: Partial<QueueCallEntry>;
    try {
      entry = JSON.parse(text) as Partial<QueueCallEntry>;
    } catch {
      continue;
    }
    if (entry.attempt === returned || typeof entry.stage !== 'string' || typeof entry.model !== 'string') {
      continue;
    }
    const { attempt: _attempt, ...row } = entry as QueueCallEntry;
    calls.push(row);
  }
  return calls;
}

/** A scheduler factory running tasks on the queue at `options.location`; see the module comment. */
export function createQueueScheduler(options: QueueSchedulerOptions): SchedulerFactory {
  return <I, O>(context: SchedulerContext<I, O>): Scheduler<I> =>
    new QueueRunScheduler<I, O>(options, context);
}

/** The options of a job: its idempotent id, retries of a thrown processor, kept once finished. */
function jobOptions(id: string, attempts: number): JobsOptions {
  return {
    jobId: id,
    attempts,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: false,
    removeOnFail: false,
  };
}

/** Stores the run's record (its spec for the workers) and lists the run among the queue's runs. */
async function registerRun(client: Redis, queueName: string, record: QueueRunRecord): Promise<void> {
  await client.set(runKey(queueName, record.id), JSON.stringify(record));
  await client.sadd(runsKey(queueName), record.id);
}

/** One run's side of the queue: its jobs added, watched, collected and removed. */
class QueueRunScheduler<I, O> implements Scheduler<I> {
  private readonly runId: string;
  private readonly kind: string;
  private readonly previousOf: (id: string) => { finishedAt: string } | undefined;
  private readonly queue: Queue<QueueJobData, QueueJobResult>;
  private readonly events: QueueEvents;
  private readonly client: Redis;
  /** The run's record stored (jobs are added only after it: a worker reads it for their runner). */
  private readonly ready: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  /** Jobs submitted and not collected yet, by job id. */
  private readonly outstanding = new Map<string, TaskSpec<I>>();
  /** Jobs known to be in Redis (added, or found there). */
  private readonly added = new Set<string>();
  /** Jobs collected since the last sweep: removed from Redis by the next one. */
  private collected: string[] = [];
  /** Jobs submitted and not added yet. */
  private pending: { id: string; task: TaskSpec<I> }[] = [];
  private readonly waiters: (() => void)[] = [];
  private stopped = false;
  private closed = false;
  private flushing = false;
  private sweeping = false;
  private cursor = 0;
  private failure: unknown;

  constructor(
    private readonly options: QueueSchedulerOptions,
    private readonly context: SchedulerContext<I, O>,
  ) {
    const journal = context.journal;
    if (journal === undefined) throw new Error('a queue scheduler needs the run journal');
    this.kind = journal.header.kind;
    this.runId = queueRunId(journal.path, this.kind, journal.header.startedAt);
    this.previousOf = (id) => journal.previousOf(id);
    const { location } = options;
    this.queue = new Queue<QueueJobData, QueueJobResult>(location.name, { connection: location.connection });
    this.events = new QueueEvents(location.name, { connection: location.connection });
    // Connection errors are retried by ioredis (Redis restarting); they must not crash the process.
    this.queue.on('error', () => undefined);
    this.events.on('error', () => undefined);
    this.client = redisClient(location);
    this.ready = registerRun(this.client, location.name, {
      id: this.runId,
      kind: this.kind,
      host: hostname(),
      pid: process.pid,
      journal: resolve(journal.path),
      startedAt: journal.header.startedAt,
      spec: options.spec,
    });
    const onFinished = ({ jobId }: { jobId: string }): void => {
      if (jobId.startsWith(`${this.runId}.`)) this.guard(this.settle(jobId));
    };
    this.events.on('completed', onFinished);
    this.events.on('failed', onFinished);
    this.timer = setInterval(() => this.tick(), options.sweepMs ?? DEFAULT_SWEEP_MS);
    this.timer.unref();
    context.signal.addEventListener('abort', this.wake, { once: true });
  }

  submit(task: TaskSpec<I>): void {
    if (this.stopped) return;
    const id = queueJobId(this.runId, task.id, this.previousOf(task.id)?.finishedAt ?? '');
    if (this.outstanding.has(id)) return;
    this.outstanding.set(id, task);
    this.pending.push({ id, task });
    if (this.pending.length === 1) queueMicrotask(() => this.guard(this.flush()));
  }

  stopStarting(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const { id } of this.pending) this.outstanding.delete(id);
    this.pending = [];
    this.guard(this.removeWaiting([...this.outstanding.keys()]));
  }

  idle(): Promise<void> {
    return new Promise<void>((resolveIdle, reject) => {
      const check = (): void => (this.failure !== undefined ? reject(this.failure as Error) : resolveIdle());
      if (this.isIdle()) check();
      else this.waiters.push(check);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.context.signal.removeEventListener('abort', this.wake);
    try {
      await this.removeCollected();
      if (this.outstanding.size === 0 && !this.stopped && !this.context.signal.aborted) {
        // Finished jobs a killed producer journaled but had not removed yet, and the run's record.
        await cleanQueue(this.options.location, this.runId);
      }
    } finally {
      await this.events.close();
      await this.queue.close();
      this.client.disconnect();
    }
  }

  private isIdle(): boolean {
    return (
      this.failure !== undefined ||
      this.context.signal.aborted ||
      (this.pending.length === 0 && this.outstanding.size === 0 && !this.flushing)
    );
  }

  /** Resolves the `idle()` waiters once nothing is left (or the run failed or stopped hard). */
  private readonly wake = (): void => {
    if (!this.isIdle()) return;
    for (const resolveIdle of this.waiters.splice(0)) resolveIdle();
  };

  /** Background work: its end may make the run idle; its error fails the run. */
  private guard(work: Promise<void>): void {
    work.then(this.wake, (error: unknown) => {
      this.failure ??= error;
      this.wake();
    });
  }

  /** Adds the pending jobs in batches; a job already finished in Redis is collected at once. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      await this.ready;
      while (this.pending.length > 0 && !this.stopped) {
        const batch = this.pending.splice(0, ADD_BATCH);
        await this.queue.addBulk(
          batch.map(({ id, task }) => ({
            name: this.kind as never,
            data: { run: this.runId, task: task.id, input: task.input },
            opts: jobOptions(id, this.options.attempts ?? DEFAULT_JOB_ATTEMPTS),
          })),
        );
        for (const { id } of batch) this.added.add(id);
        // A job finished before this producer (re)started is collected now, without running again.
        await Promise.all(batch.map(({ id }) => this.settle(id)));
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Looks at one outstanding job and collects it when it has finished for good. */
  private async settle(jobId: string): Promise<void> {
    const task = this.outstanding.get(jobId);
    if (task === undefined || !this.added.has(jobId)) return;
    // The state first, then the job: a job read before it finished would have no return value yet.
    const state = await this.queue.getJobState(jobId);
    if (!this.outstanding.has(jobId)) return;
    if (state === 'unknown') {
      // Removed by someone else (`queue drain`, `queue clean`): it counts as not started.
      this.outstanding.delete(jobId);
      this.options.onWarning?.(`job of task ${task.id} was removed from the queue; a resume runs it`);
      return;
    }
    if (state !== 'completed' && state !== 'failed') return;
    const job = await Job.fromId<QueueJobData, QueueJobResult>(this.queue, jobId);
    if (!this.outstanding.has(jobId) || job === undefined) return;
    const listed = await this.client.lrange(callsKey(this.options.location.name, jobId), 0, -1);
    if (!this.outstanding.has(jobId)) return;
    this.outstanding.delete(jobId);
    this.collected.push(jobId);
    this.context.collect(task, this.resultOf(task, job, state, listed));
  }

  /**
   * A finished job's task result: the worker's, or the failure of the job; with the calls of the
   * attempt that returned and of every attempt that did not (from the job's call list).
   */
  private resultOf(
    task: TaskSpec<I>,
    job: Job<QueueJobData, QueueJobResult>,
    state: string,
    listed: readonly string[],
  ): TaskResult<O> {
    const value: unknown = job.returnvalue;
    const returned = state === 'completed' && isQueueJobResult(value) ? value : undefined;
    const result =
      returned !== undefined
        ? (returned.result as TaskResult<O>)
        : this.failedResult(
            task,
            state === 'failed' ? jobFailure(job) : { reason: 'queue_failed', message: 'no result' },
          );
    const calls = sumCalls([...(returned?.ledger ?? []), ...lostAttemptCalls(listed, returned?.attempt)]);
    return calls.length > 0 ? { ...result, calls } : result;
  }

  private failedResult(task: TaskSpec<I>, why: TaskFailure): TaskResult<O> {
    return {
      ...thrownResult<O>(new Error(why.message)),
      output: (this.options.failedOutput?.(task.input) ?? null) as O,
      failure: why,
    };
  }

  private tick(): void {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    this.guard(this.sweep().finally(() => (this.sweeping = false)));
  }

  /** Settles the next slice of outstanding jobs (events missed), then removes those collected. */
  private async sweep(): Promise<void> {
    const ids = [...this.outstanding.keys()].filter((id) => this.added.has(id));
    if (ids.length > 0) {
      this.cursor %= ids.length;
      const slice = ids.slice(this.cursor, this.cursor + SWEEP_BATCH);
      this.cursor += slice.length;
      await Promise.all(slice.map((id) => this.settle(id)));
    }
    await this.removeCollected();
  }

  /** Removes the jobs collected before, and their call lists: their journal lines are written by now. */
  private async removeCollected(): Promise<void> {
    const done = this.collected.splice(0, this.collected.length);
    if (done.length === 0) return;
    const name = this.options.location.name;
    await Promise.all(done.map((id) => this.queue.remove(id).catch(() => 0)));
    await this.client.unlink(...done.map((id) => callsKey(name, id))).catch(() => 0);
  }

  /** Removes the jobs no worker took yet; a job in flight is locked by its worker and stays. */
  private async removeWaiting(ids: readonly string[]): Promise<void> {
    await this.ready;
    await Promise.all(
      ids.map(async (id) => {
        const state = await this.queue.getJobState(id);
        if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return;
        if ((await this.queue.remove(id)) === 1) this.outstanding.delete(id);
      }),
    );
  }
}
