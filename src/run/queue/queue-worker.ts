/**
 * A queue worker: takes jobs of any run on the queue, builds each run's task runner once (from the
 * run's spec stored beside the jobs, with the worker's own keys, model location and limits) and runs
 * the task. The task's result and the calls it made go back as the job's return value; each call is
 * also listed in Redis as it is made (`callsKey`), for the ledger of an attempt that never returns.
 *
 * Stalled jobs: a worker killed mid-job stops renewing its lock; after `lockDurationMs` another
 * worker's stalled check puts the job back in the queue (up to `maxStalledCount` times, then it fails
 * for good and the collector records the failure). A graceful stop (`stop()`, SIGTERM) takes no new job
 * and lets the jobs in flight finish; `stop({ now: true })` cuts them (they are recovered as stalled).
 */
import { randomUUID } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { messageOf, oneLine } from '../../core/errors.js';
import { CostLedger, ledgerScope, type LedgerRow } from '../../models/ledger.js';
import { thrownResult } from '../scheduler.js';
import type { TaskResult, TaskRunner } from '../task.js';
import {
  CALL_LIST_TTL_SECONDS,
  callsKey,
  runKey,
  type QueueCallEntry,
  type QueueJobData,
  type QueueJobResult,
  type QueueRunRecord,
} from './queue-scheduler.js';
import { redact, redisClient, type QueueLocation } from './queue-url.js';

/** A run's task runner as a worker holds it. */
export interface OpenedRunner {
  runTask: TaskRunner<unknown, unknown>;
  close(): Promise<void>;
}

/** Builds the task runner of a run from its record (the worker's own overrides applied by the caller). */
export type RunnerOpener = (run: QueueRunRecord) => Promise<OpenedRunner>;

export interface QueueWorkerOptions {
  location: QueueLocation;
  /** Jobs at once. */
  concurrency: number;
  open: RunnerOpener;
  /** How long a job's lock lasts without renewal (a killed worker's jobs come back after it). */
  lockDurationMs?: number;
  /** Times a job may be found stalled before it fails for good. */
  maxStalledCount?: number;
  /** Runners kept open at once (one per run); the least recently used is closed beyond it. */
  maxRunners?: number;
  onEvent?: (line: string) => void;
}

export interface QueueWorker {
  /** Resolves once the worker is connected and taking jobs. */
  readonly ready: Promise<void>;
  /** Jobs finished by this worker. */
  readonly processed: number;
  /** Stops taking jobs; jobs in flight finish (or, with `now`, are cut). Closes the runners. */
  stop(options?: { now?: boolean }): Promise<void>;
  /** Resolves when the worker has stopped. */
  readonly stopped: Promise<void>;
}

export const DEFAULT_LOCK_DURATION_MS = 30_000;
export const DEFAULT_MAX_STALLED_COUNT = 2;

/**
 * Lists each call of a job attempt in Redis as it is counted, so that the calls of an attempt that
 * never returns (its worker killed mid-job) still reach the run's ledger. A call that cannot be listed
 * (Redis away a moment) is lost only if this attempt never returns: its result carries its calls too.
 */
function listCalls(
  client: Redis,
  key: string,
  attempt: string,
): { add(call: Omit<LedgerRow, 'costUsd'>): void; settled(): Promise<void> } {
  const writes: Promise<unknown>[] = [];
  return {
    add: (call) => {
      const entry: QueueCallEntry = { attempt, ...call };
      writes.push(
        client
          .multi()
          .rpush(key, JSON.stringify(entry))
          .expire(key, CALL_LIST_TTL_SECONDS)
          .exec()
          .catch(() => undefined),
      );
    },
    settled: () => Promise.all(writes).then(() => undefined),
  };
}

/** Starts a worker on `options.location`; see the module comment. */
export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const { location } = options;
  const runners = new Map<string, Promise<OpenedRunner>>();
  const hardStop = new AbortController();
  let processed = 0;
  const lockDuration = options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;

  const client = redisClient(location);
  const runnerOf = async (job: Job<QueueJobData>): Promise<OpenedRunner> => {
    const runId = job.data.run;
    let runner = runners.get(runId);
    if (runner !== undefined) {
      // Most recently used last.
      runners.delete(runId);
      runners.set(runId, runner);
      return runner;
    }
    runner = (async () => {
      const text = await client.get(runKey(location.name, runId));
      if (text === null)
        throw new Error(`run ${runId} is not on the queue any more (its record was removed)`);
      const record = JSON.parse(text) as QueueRunRecord;
      options.onEvent?.(`run ${runId} (${record.kind}): opening its task runner`);
      return options.open(record);
    })();
    runners.set(runId, runner);
    // A runner that cannot be opened is not kept: the next job of the run tries again.
    runner.catch(() => runners.delete(runId));
    while (runners.size > (options.maxRunners ?? 4)) {
      const [oldest, opened] = runners.entries().next().value as [string, Promise<OpenedRunner>];
      runners.delete(oldest);
      void opened.then((r) => r.close()).catch(() => undefined);
    }
    return runner;
  };

  const worker: Worker<QueueJobData, QueueJobResult> = new Worker<QueueJobData, QueueJobResult>(
    location.name,
    async (job) => {
      let opened: OpenedRunner;
      try {
        opened = await runnerOf(job);
      } catch (error) {
        // This worker cannot run the run's tasks (its model is unreachable, an input is unreadable):
        // the task fails for an infrastructure reason, which the run counts (breaker, resume).
        const result: TaskResult<unknown> = {
          ...thrownResult(error),
          failure: {
            reason: 'worker_error',
            message: oneLine(`worker: ${redact(messageOf(error), location)}`, 300),
            infrastructure: true,
          },
        };
        return { result };
      }
      const attempt = randomUUID();
      const listing = listCalls(client, callsKey(location.name, job.id ?? ''), attempt);
      const ledger = new CostLedger({ onCall: listing.add });
      let result: TaskResult<unknown>;
      try {
        result = await ledgerScope.run(ledger, () =>
          opened.runTask(job.data.input, { signal: hardStop.signal }),
        );
      } catch (error) {
        result = thrownResult(error);
      }
      await listing.settled();
      // Cut by a hard stop: the job goes back to the queue (another worker runs it), not recorded
      // (its calls are, from the job's call list).
      if (hardStop.signal.aborted) throw new Error('the worker stopped during the job');
      processed++;
      return { result, ledger: ledger.rows().map(({ costUsd: _cost, ...row }) => row), attempt };
    },
    {
      connection: location.connection,
      concurrency: Math.max(1, options.concurrency),
      lockDuration,
      stalledInterval: Math.max(500, Math.round(lockDuration / 2)),
      maxStalledCount: options.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT,
      autorun: true,
    },
  );
  worker.on('error', (error) => options.onEvent?.(`queue error: ${redact(messageOf(error), location)}`));

  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;

  return {
    ready: worker.waitUntilReady().then(() => undefined),
    get processed() {
      return processed;
    },
    stopped,
    stop(stopOptions = {}) {
      if (stopOptions.now === true) hardStop.abort(new Error('worker stopped'));
      stopping ??= (async () => {
        try {
          await worker.close(stopOptions.now === true);
        } finally {
          for (const runner of runners.values()) await runner.then((r) => r.close()).catch(() => undefined);
          runners.clear();
          client.disconnect();
          resolveStopped();
        }
      })();
      return stopping;
    },
  };
}
