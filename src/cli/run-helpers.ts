/**
 * What the long-running commands (generate, demo, toolset build, eval run, eval judge, solve) share
 * around a durable run: the run flags (--resume, --force, --retry-failed, --circuit-breaker, --grace),
 * Ctrl-C wiring, a progress reporter fed from the run's figures, the library's run errors worded with
 * flag names, the lines and exit codes of a run that ended badly, and the summary plus cost ledger.
 *
 * Exit codes: 0 ok, 2 usage or unreadable input (and a journal that cannot be resumed), 3 a service
 * is unavailable (pre-flight, circuit breaker) or the output is locked by another run, 4 the run
 * finished with instances failed for an infrastructure reason, 130 interrupted.
 */
import type { Command } from 'commander';
import { InputError, ToolalpacaError, messageOf } from '../core/errors.js';
import type { CostLedger } from '../models/ledger.js';
import {
  DEFAULT_BREAKER_THRESHOLD,
  formatParameterChanges,
  RETRY_POLICIES,
  RunError,
  type RetryPolicy,
  type RunErrorDetails,
  type RunStatus,
} from '../run/index.js';
import type { CommandIo } from './context.js';
import { parseIntegerFlag } from './model-options.js';
import {
  createProgressReporter,
  formatRunCost,
  type ProgressOptions,
  type ProgressReporter,
} from './progress.js';
import { ADD_PRICE_HINT } from './flag-wording.js';

/** Exit code of a run that finished with instances failed for an infrastructure reason. */
export const EXIT_INFRASTRUCTURE_FAILURES = 4;
/** Exit code of a run stopped because a service is unavailable. */
export const EXIT_SERVICE_UNAVAILABLE = 3;
export const EXIT_INTERRUPTED = 130;

/** The flags every durable run takes. */
export interface RunFlagValues {
  resume?: boolean;
  force?: boolean;
  retryFailed?: string;
  circuitBreaker?: string;
  grace?: string;
}

/** The run options the flags ask for, checked. */
export interface RunFlagOptions {
  resume: boolean;
  force: boolean;
  retryFailed: RetryPolicy;
  breakerThreshold: number;
  graceMs?: number;
}

/** Adds the durable-run flags; `what` names the run's tasks in the help (instances, tools, items...). */
export function addRunOptions(command: Command, what: string): Command {
  return command
    .option(
      '--resume',
      `continue the run recorded in the journal (same parameters), skipping finished ${what}`,
    )
    .option('--force', 'discard an existing journal and start over')
    .option(
      '--retry-failed <which>',
      `with --resume, failed ${what} run again: infrastructure (default: failures of the service), all, none`,
    )
    .option(
      '--circuit-breaker <k>',
      `stop the run after K consecutive infrastructure failures (default ${DEFAULT_BREAKER_THRESHOLD}; 0 never stops)`,
    )
    .option('--grace <seconds>', `after Ctrl-C, how long ${what} in flight may finish (default 30)`);
}

export function parseRunFlags(flags: RunFlagValues): RunFlagOptions {
  if (flags.resume === true && flags.force === true) {
    throw new InputError('--resume and --force exclude each other');
  }
  const retryFailed = flags.retryFailed ?? 'infrastructure';
  if (!(RETRY_POLICIES as readonly string[]).includes(retryFailed)) {
    throw new InputError(
      `--retry-failed: expected one of ${RETRY_POLICIES.join(', ')}, got "${retryFailed}"`,
    );
  }
  const breakerThreshold = parseIntegerFlag('--circuit-breaker', flags.circuitBreaker, 0);
  const graceSeconds = parseIntegerFlag('--grace', flags.grace, 0);
  return {
    resume: flags.resume === true,
    force: flags.force === true,
    retryFailed: retryFailed as RetryPolicy,
    breakerThreshold: breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD,
    ...(graceSeconds !== undefined ? { graceMs: graceSeconds * 1000 } : {}),
  };
}

/** A library run error as the CLI says it: the same facts, with the flags that resolve it. */
export function describeRunError(details: RunErrorDetails): string {
  switch (details.reason) {
    case 'log-exists':
      return `${details.journal} already holds a run (${details.finished} finished): pass --resume to continue it or --force to start over`;
    case 'parameters-differ':
      return `cannot resume ${details.journal}: it was made with other parameters (${formatParameterChanges(details.changes)}); use the same ones or --force to start over`;
    case 'journal-version':
      return `cannot resume ${details.journal}: it was written by another version of toolalpaca (journal version ${JSON.stringify(details.found ?? null)}), which does not record every parameter of a run; start over with --force`;
    case 'journal-kind':
      return `${details.journal} is the journal of a ${details.found} run, not of a ${details.expected} run: choose another --out, or --force to replace it`;
    case 'not-a-journal':
      return `${details.journal} has no header line; it was not written by toolalpaca: choose another --out, or --force to replace it`;
    case 'locked':
      return `another run is writing this output (pid ${details.pid} on ${details.host}, since ${details.startedAt}): wait for it to end, or remove ${details.lock} if that process is gone`;
    case 'resume-and-force':
      return '--resume and --force exclude each other';
    case 'journal-write':
      return `cannot write ${details.journal}: ${details.error}`;
  }
}

/** Runs `body`, rewording the library's run errors for the command line. */
export async function withRunErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof RunError) {
      throw new ToolalpacaError(describeRunError(error.details), { exitCode: error.exitCode, cause: error });
    }
    throw error;
  }
}

/** The exit code of a run that ended: interrupted, stopped by the breaker, finished with service failures, ok. */
export function exitCodeOf(status: RunStatus): number {
  if (status.interrupted) return EXIT_INTERRUPTED;
  if (status.circuitOpen !== undefined) return EXIT_SERVICE_UNAVAILABLE;
  if (status.infrastructureFailed > 0) return EXIT_INFRASTRUCTURE_FAILURES;
  return 0;
}

/** `1 query`, `3 queries`: `what` is the plural noun. */
function counted(n: number, what: string): string {
  if (n !== 1) return `${n} ${what}`;
  return `1 ${what.endsWith('ies') ? `${what.slice(0, -3)}y` : what.replace(/s$/, '')}`;
}

/**
 * One line on stderr when a run ended badly: the breaker opened (naming the endpoints), or some
 * tasks failed for an infrastructure reason (how many). `what` names the tasks (instances, tools...).
 */
export function reportRunStatus(
  io: Pick<CommandIo, 'stderr'>,
  status: RunStatus,
  endpoints: readonly string[],
  what: string,
): void {
  const where = endpoints.length > 0 ? ` (${endpoints.join(', ')})` : '';
  if (status.circuitOpen !== undefined) {
    const { failures, last } = status.circuitOpen;
    io.stderr.write(
      `toolalpaca: service unavailable${where}: ${counted(failures, what)} in a row failed for an infrastructure reason (last: ${last.message}); the run stopped and wrote what was done: rerun with --resume when the service is back\n`,
    );
  } else if (status.infrastructureFailed > 0) {
    io.stderr.write(
      `toolalpaca: ${counted(status.infrastructureFailed, what)} failed for an infrastructure reason${where}: rerun with --resume to retry ${status.infrastructureFailed === 1 ? 'it' : 'them'}\n`,
    );
  }
}

/**
 * Wires SIGINT to an AbortController for the duration of `run`: the first Ctrl-C stops the run
 * gracefully, a second one exits at once with 130.
 */
export async function withInterrupt<T>(
  run: (signal: AbortSignal) => Promise<T>,
  stderr: { write(text: string): unknown } = process.stderr,
): Promise<{ value: T; interrupted: boolean }> {
  const controller = new AbortController();
  let count = 0;
  const onSigint = (): void => {
    count++;
    if (count === 1) {
      stderr.write('\ninterrupted: finishing the tasks in flight (Ctrl-C again to quit now)\n');
      controller.abort(new Error('interrupted'));
    } else {
      process.exit(EXIT_INTERRUPTED);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const value = await run(controller.signal);
    return { value, interrupted: controller.signal.aborted };
  } catch (error) {
    // Interrupted before the run could write anything useful (e.g. while generating instructions).
    if (controller.signal.aborted)
      throw new ToolalpacaError(`interrupted: ${messageOf(error)}`, { exitCode: EXIT_INTERRUPTED });
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * A command action on the process's streams with Ctrl-C wired (`withInterrupt`); the exit code is 130
 * when the user interrupted, else `exitCode(value)` (default 0).
 */
export async function runInterruptible<T>(
  run: (io: CommandIo) => Promise<T>,
  exitCode: (value: T) => number = () => 0,
): Promise<void> {
  const { value, interrupted } = await withInterrupt((signal) =>
    run({ stdout: process.stdout, stderr: process.stderr, signal }),
  );
  const code = interrupted ? EXIT_INTERRUPTED : exitCode(value);
  if (code !== 0) process.exitCode = code;
}

/** The figures a run (generation, toolset build...) reports as it goes. */
export interface RunFigures {
  done: number;
  total: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface RunProgressReporter extends ProgressReporter {
  /** Passes a run's figures on to `update` (a run's `onProgress`). */
  report(figures: RunFigures): void;
}

/**
 * A progress reporter on `io.stderr` labelled `label`, with `report` for a run's `onProgress`. With a
 * ledger, tokens and cost come from it, and a model without a price shows the cost as `?`.
 */
export function createRunProgress(
  label: string,
  io: Pick<CommandIo, 'stderr' | 'env'>,
  options: Omit<ProgressOptions, 'label' | 'stream' | 'env'> & { ledger?: CostLedger } = {},
): RunProgressReporter {
  const { ledger, ...progressOptions } = options;
  const progress = createProgressReporter({
    label,
    stream: io.stderr,
    ...(io.env !== undefined ? { env: io.env } : {}),
    ...progressOptions,
  });
  return {
    update: (state) => progress.update(state),
    finish: (state) => progress.finish(state),
    report: (p) => {
      const totals = ledger?.totals();
      progress.update({
        done: p.done,
        total: p.total,
        failed: p.failed,
        tokensIn: totals?.promptTokens ?? p.promptTokens,
        tokensOut: totals?.completionTokens ?? p.completionTokens,
        costUsd: totals?.costUsd ?? p.costUsd,
        ...(ledger?.costUnknown() === true ? { costUnknown: true } : {}),
      });
    },
  };
}

/** A summary's cost: `$0.0123`, or `?` / `$0.0123+?` when the ledger has a model without a price. */
export function summaryCost(costUsd: number, ledger: CostLedger | undefined): string {
  return formatRunCost(costUsd, ledger?.costUnknown() === true);
}

/** The cost ledger ends every run's output; on stderr, so that stdout stays the result (JSON or text). */
export function printLedger(io: Pick<CommandIo, 'stderr'>, ledger: CostLedger | undefined): void {
  if (ledger !== undefined) io.stderr.write(ledger.format({ addPrice: ADD_PRICE_HINT }));
}

/**
 * Prints a run's summary: with `json`, the summary and the ledger as one JSON object on stdout;
 * otherwise `format(summary)` on stdout and the cost ledger on stderr.
 */
export function printRunSummary<S extends object>(
  io: Pick<CommandIo, 'stdout' | 'stderr'>,
  json: boolean,
  summary: S,
  format: (summary: S, ledger?: CostLedger) => string,
  ledger: CostLedger | undefined,
): void {
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ ...summary, ...(ledger !== undefined ? { ledger: ledger.toJSON() } : {}) }, null, 2)}\n`,
    );
  } else {
    io.stdout.write(format(summary, ledger));
    printLedger(io, ledger);
  }
}
