/**
 * `--queue URL` on the run commands: the command stays the producer and collector of its run (plan,
 * journal, final files, progress) and its tasks run on `toolalpaca worker` processes through BullMQ.
 * This file builds the queue scheduler of a run: Redis checked first (unavailable → one line, exit 3),
 * the run's spec for the workers (the command's flags that change a task, its input files bundled;
 * never a secret, the output or the run-control flags). The workers' calls come back with each result
 * and reach the run's ledger through the engine (journaled, so that a resume keeps them).
 */
import type { Command } from 'commander';
import type { SchedulerFactory } from '../run/scheduler.js';
import { bundleInput, type InputBundle } from '../run/queue/run-inputs.js';
import { createQueueScheduler } from '../run/queue/queue-scheduler.js';
import { checkRedis, parseQueueUrl } from '../run/queue/queue-url.js';
import type { CommandIo } from './context.js';

export interface QueueFlagValues {
  queue?: string;
}

/** Adds `--queue URL` to a run command. */
export function addQueueOption(command: Command): Command {
  return command.option(
    '--queue <url>',
    'run the tasks on `toolalpaca worker` processes through a Redis queue (redis://HOST:PORT/DB or rediss://; REDIS_URL); this command plans, collects and writes the files',
  );
}

/** Flags that never travel to workers: run control, outputs, the producer's own files and secrets. */
const LOCAL_FLAGS = new Set([
  'queue',
  'out',
  'resume',
  'force',
  'retryFailed',
  'circuitBreaker',
  'grace',
  'json',
  'secrets',
  'cacheDir',
  'prices',
  'concurrency',
]);

/** What a worker builds a run's task runner from (stored in Redis under the run's id). */
export interface QueueRunSpec {
  /** The command: generate, eval-run, toolset-build, judge, solve. */
  command: string;
  /** The command's flags (commander's values) that change a task, input paths left out. */
  flags: Record<string, unknown>;
  /** Input files by flag name, bundled. */
  inputs: Record<string, InputBundle>;
  [key: string]: unknown;
}

export interface QueueRunOptions {
  command: string;
  flags: object;
  /** Flag names holding input paths to bundle (`tools`, `replayFile`...), with their values. */
  inputs: Record<string, string | undefined>;
  /** Flags the workers do not need (what they say is in the tasks already: `solve --tasks`...). */
  omit?: readonly string[];
  /** Plain-JSON values the workers build the runner from besides the flags (read here once). */
  extra?: Record<string, unknown>;
  /** The kind's output for a task whose job failed for good. */
  failedOutput?: (input: unknown) => unknown;
}

/**
 * The queue scheduler for a run when `--queue` (or REDIS_URL with `--queue` given empty) is set, else
 * undefined. Throws a ServiceError (exit 3) when Redis does not answer.
 */
export async function queueSchedulerOf(
  flags: QueueFlagValues,
  io: Pick<CommandIo, 'stderr' | 'env'>,
  options: QueueRunOptions,
): Promise<SchedulerFactory | undefined> {
  if (flags.queue === undefined) return undefined;
  const location = parseQueueUrl(
    flags.queue === '' ? undefined : flags.queue,
    io.env ?? process.env,
    '--queue',
  );
  await checkRedis(location);
  const specFlags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options.flags)) {
    if (LOCAL_FLAGS.has(key) || key in options.inputs || options.omit?.includes(key) === true) continue;
    if (value === undefined) continue;
    specFlags[key] = value;
  }
  const inputs: Record<string, InputBundle> = {};
  for (const [key, path] of Object.entries(options.inputs)) {
    if (path !== undefined) inputs[key] = await bundleInput(path);
  }
  const spec: QueueRunSpec = { ...options.extra, command: options.command, flags: specFlags, inputs };
  return createQueueScheduler({
    location,
    spec,
    ...(options.failedOutput !== undefined ? { failedOutput: options.failedOutput } : {}),
    onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
  });
}
