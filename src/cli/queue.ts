/**
 * `toolalpaca queue status|drain|clean [URL]`: what a queue holds (jobs waiting, active, failed with
 * their reasons, per run), remove the jobs no worker took yet, remove finished jobs and the records of
 * runs without jobs. The URL (or REDIS_URL) may carry a password; it is never printed. Redis
 * unavailable: one line, exit 3.
 */
import type { Command } from 'commander';
import { cleanQueue, drainQueue, queueStatus, type QueueStatus } from '../run/queue/queue-admin.js';
import { checkRedis, parseQueueUrl, type QueueLocation } from '../run/queue/queue-url.js';
import type { CommandIo } from './context.js';

export interface QueueCommandFlags {
  run?: string;
  json?: boolean;
}

async function locate(url: string | undefined, io: Pick<CommandIo, 'env'>): Promise<QueueLocation> {
  const location = parseQueueUrl(url, io.env ?? process.env, '--queue');
  await checkRedis(location);
  return location;
}

/** The status as a few lines: totals, then one line per run (and its failure reasons). */
export function formatQueueStatus(status: QueueStatus): string {
  const counts = (jobs: QueueStatus['jobs']): string =>
    `${jobs.waiting + jobs.prioritized} waiting, ${jobs.delayed} delayed, ${jobs.active} active, ${jobs.completed} completed, ${jobs.failed} failed`;
  const lines = [`queue ${status.queue}: ${counts(status.jobs)}`];
  if (status.runs.length === 0) lines.push('no runs');
  for (const run of status.runs) {
    const who = run.kind !== undefined ? ` ${run.kind} from ${run.host} pid ${run.pid} (${run.journal})` : '';
    lines.push(`run ${run.id}${who}: ${counts(run.jobs)}`);
    for (const [reason, count] of Object.entries(run.failedReasons))
      lines.push(`  failed ${count}: ${reason}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runQueueStatusCommand(
  url: string | undefined,
  flags: QueueCommandFlags,
  io: CommandIo,
): Promise<QueueStatus> {
  const status = await queueStatus(await locate(url, io));
  io.stdout.write(
    flags.json === true || io.json === true
      ? `${JSON.stringify(status, null, 2)}\n`
      : formatQueueStatus(status),
  );
  return status;
}

export async function runQueueDrainCommand(
  url: string | undefined,
  flags: QueueCommandFlags,
  io: CommandIo,
): Promise<number> {
  const removed = await drainQueue(await locate(url, io), flags.run);
  io.stdout.write(
    flags.json === true ? `${JSON.stringify({ removed })}\n` : `removed ${removed} waiting jobs\n`,
  );
  return removed;
}

export async function runQueueCleanCommand(
  url: string | undefined,
  flags: QueueCommandFlags,
  io: CommandIo,
): Promise<{ jobs: number; runs: number }> {
  const removed = await cleanQueue(await locate(url, io), flags.run);
  io.stdout.write(
    flags.json === true
      ? `${JSON.stringify(removed)}\n`
      : `removed ${removed.jobs} finished jobs and ${removed.runs} run records\n`,
  );
  return removed;
}

export function registerQueueCommands(program: Command): void {
  const queue = program
    .command('queue')
    .description('Look at and tidy the Redis queue that runs started with --queue use.');
  const io = (): CommandIo => ({ stdout: process.stdout, stderr: process.stderr });
  queue
    .command('status [url]')
    .description('jobs waiting, active, completed and failed (with reasons), per run (URL default REDIS_URL)')
    .option('--json', 'print the status as JSON')
    .action(async (url: string | undefined, flags: QueueCommandFlags) => {
      await runQueueStatusCommand(url, flags, io());
    });
  queue
    .command('drain [url]')
    .description(
      'remove the jobs no worker took yet; their runs end with them not started (--resume enqueues them again)',
    )
    .option('--run <id>', 'only the jobs of this run (ids as `queue status` shows them; default every run)')
    .option('--json', 'print the count as JSON')
    .action(async (url: string | undefined, flags: QueueCommandFlags) => {
      await runQueueDrainCommand(url, flags, io());
    });
  queue
    .command('clean [url]')
    .description('remove finished jobs (completed, failed) and the records of runs without jobs')
    .option('--run <id>', 'only this run (default every run)')
    .option('--json', 'print the counts as JSON')
    .action(async (url: string | undefined, flags: QueueCommandFlags) => {
      await runQueueCleanCommand(url, flags, io());
    });
}
