/**
 * Operations on a queue: what is in it (`queueStatus`: jobs by state, per run, failed ones with their
 * reasons), `drainQueue` (remove the jobs no worker took yet) and `cleanQueue` (remove finished jobs
 * and the records of runs that have no job left).
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueJobData, QueueRunRecord } from './queue-scheduler.js';
import { callsKey, runKey, runsKey } from './queue-scheduler.js';
import { redisClient, type QueueLocation } from './queue-url.js';

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;
type State = (typeof STATES)[number];
const PAGE = 1_000;

export interface RunStatusLine {
  id: string;
  kind?: string;
  host?: string;
  pid?: number;
  journal?: string;
  startedAt?: string;
  jobs: Record<State, number>;
  /** Failed jobs by reason. */
  failedReasons: Record<string, number>;
}

export interface QueueStatus {
  queue: string;
  jobs: Record<State, number>;
  runs: RunStatusLine[];
}

function zero(): Record<State, number> {
  return { waiting: 0, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
}

async function withQueue<T>(
  location: QueueLocation,
  body: (queue: Queue<QueueJobData>) => Promise<T>,
): Promise<T> {
  const queue = new Queue<QueueJobData>(location.name, { connection: location.connection });
  queue.on('error', () => undefined);
  try {
    return await body(queue);
  } finally {
    await queue.close();
  }
}

async function forEachJob(
  queue: Queue<QueueJobData>,
  state: State,
  visit: (job: Job<QueueJobData>) => void | Promise<void>,
): Promise<void> {
  for (let start = 0; ; start += PAGE) {
    const jobs = await queue.getJobs([state], start, start + PAGE - 1, true);
    for (const job of jobs) if (job !== undefined) await visit(job);
    if (jobs.length < PAGE) return;
  }
}

async function runRecords(location: QueueLocation): Promise<Map<string, QueueRunRecord | undefined>> {
  const client = redisClient(location);
  try {
    const ids = await client.smembers(runsKey(location.name));
    const records = new Map<string, QueueRunRecord | undefined>();
    for (const id of ids.sort()) {
      const text = await client.get(runKey(location.name, id));
      records.set(id, text !== null ? (JSON.parse(text) as QueueRunRecord) : undefined);
    }
    return records;
  } finally {
    client.disconnect();
  }
}

/** Jobs by state, and per run (the runs recorded on the queue, and any run a job names). */
export async function queueStatus(location: QueueLocation): Promise<QueueStatus> {
  const records = await runRecords(location);
  return withQueue(location, async (queue) => {
    const runs = new Map<string, RunStatusLine>();
    const lineOf = (id: string): RunStatusLine => {
      let line = runs.get(id);
      if (line === undefined) {
        const record = records.get(id);
        line = {
          id,
          ...(record !== undefined
            ? {
                kind: record.kind,
                host: record.host,
                pid: record.pid,
                journal: record.journal,
                startedAt: record.startedAt,
              }
            : {}),
          jobs: zero(),
          failedReasons: {},
        };
        runs.set(id, line);
      }
      return line;
    };
    for (const id of records.keys()) lineOf(id);
    const jobs = zero();
    for (const state of STATES) {
      await forEachJob(queue, state, (job) => {
        jobs[state]++;
        const line = lineOf(String(job.data?.run ?? 'unknown'));
        line.jobs[state]++;
        if (state === 'failed') {
          const reason = (job.failedReason ?? 'failed').slice(0, 200);
          line.failedReasons[reason] = (line.failedReasons[reason] ?? 0) + 1;
        }
      });
    }
    return { queue: location.display, jobs, runs: [...runs.values()] };
  });
}

/** Removes the jobs no worker took yet (of one run, or all); resolves to how many. */
export async function drainQueue(location: QueueLocation, run?: string): Promise<number> {
  return withQueue(location, async (queue) => {
    let removed = 0;
    for (const state of ['waiting', 'prioritized', 'delayed'] as const) {
      const ids: string[] = [];
      await forEachJob(queue, state, (job) => {
        if (run === undefined || job.data?.run === run) ids.push(String(job.id));
      });
      for (const id of ids) removed += await queue.remove(id);
    }
    return removed;
  });
}

/** Removes the call lists of a run's jobs (see `callsKey`), scanning rather than blocking Redis. */
async function removeCallLists(client: Redis, queueName: string, runId: string): Promise<void> {
  const stream = client.scanStream({ match: `${callsKey(queueName, runId)}.*`, count: 500 });
  for await (const keys of stream as AsyncIterable<string[]>) {
    if (keys.length > 0) await client.unlink(...keys);
  }
}

/**
 * Removes finished jobs (completed and failed; of one run, or all) and the records of runs without
 * any job left; resolves to the jobs and runs removed.
 */
export async function cleanQueue(
  location: QueueLocation,
  run?: string,
): Promise<{ jobs: number; runs: number }> {
  const records = await runRecords(location);
  const live = new Set<string>();
  const jobs = await withQueue(location, async (queue) => {
    let removed = 0;
    for (const state of ['completed', 'failed'] as const) {
      const ids: string[] = [];
      await forEachJob(queue, state, (job) => {
        if (run === undefined || job.data?.run === run) ids.push(String(job.id));
      });
      for (const id of ids) removed += await queue.remove(id);
    }
    for (const state of ['waiting', 'prioritized', 'delayed', 'active'] as const) {
      await forEachJob(queue, state, (job) => void live.add(String(job.data?.run)));
    }
    return removed;
  });
  const client = redisClient(location);
  let runs = 0;
  try {
    for (const id of records.keys()) {
      if (live.has(id) || (run !== undefined && id !== run)) continue;
      await client.del(runKey(location.name, id));
      await removeCallLists(client, location.name, id);
      runs += await client.srem(runsKey(location.name), id);
    }
  } finally {
    client.disconnect();
  }
  return { jobs, runs };
}
