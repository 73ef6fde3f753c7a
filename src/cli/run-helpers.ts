/**
 * What the long-running commands (generate, demo, toolset build) share around their run: Ctrl-C wiring,
 * a progress reporter fed from the run's figures, and the summary plus cost ledger at the end.
 */
import { ToolalpacaError, messageOf } from '../core/errors.js';
import type { CostLedger } from '../models/ledger.js';
import type { CommandIo } from './generate.js';
import { createProgressReporter, type ProgressOptions, type ProgressReporter } from './progress.js';

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
      stderr.write('\ninterrupted: finishing the instances in flight (Ctrl-C again to quit now)\n');
      controller.abort(new Error('interrupted'));
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const value = await run(controller.signal);
    return { value, interrupted: controller.signal.aborted };
  } catch (error) {
    // Interrupted before the run could write anything useful (e.g. while generating instructions).
    if (controller.signal.aborted)
      throw new ToolalpacaError(`interrupted: ${messageOf(error)}`, { exitCode: 130 });
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * A command action on the process's streams with Ctrl-C wired (`withInterrupt`); the exit code is 130
 * when the user interrupted or the run reports (`wasInterrupted`) that it stopped early.
 */
export async function runInterruptible<T>(
  run: (io: CommandIo) => Promise<T>,
  wasInterrupted: (value: T) => boolean,
): Promise<void> {
  const { value, interrupted } = await withInterrupt((signal) =>
    run({ stdout: process.stdout, stderr: process.stderr, signal }),
  );
  if (interrupted || wasInterrupted(value)) process.exitCode = 130;
}

/** The figures a run (generation, toolset build) reports as it goes. */
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

/** A progress reporter on `io.stderr` labelled `label`, with `report` for a run's `onProgress`. */
export function createRunProgress(
  label: string,
  io: Pick<CommandIo, 'stderr' | 'env'>,
  options: Omit<ProgressOptions, 'label' | 'stream' | 'env'> = {},
): RunProgressReporter {
  const progress = createProgressReporter({
    label,
    stream: io.stderr,
    ...(io.env !== undefined ? { env: io.env } : {}),
    ...options,
  });
  return {
    update: (state) => progress.update(state),
    finish: (state) => progress.finish(state),
    report: (p) =>
      progress.update({
        done: p.done,
        total: p.total,
        failed: p.failed,
        tokensIn: p.promptTokens,
        tokensOut: p.completionTokens,
        costUsd: p.costUsd,
      }),
  };
}

/**
 * Prints a run's summary: with `json`, the summary and the ledger as one JSON object on stdout;
 * otherwise `format(summary)` on stdout and the cost ledger on stderr.
 */
/** The cost ledger ends every run's output; on stderr, so that stdout stays the result (JSON or text). */
export function printLedger(io: Pick<CommandIo, 'stderr'>, ledger: CostLedger | undefined): void {
  if (ledger !== undefined) io.stderr.write(ledger.format());
}

export function printRunSummary<S extends object>(
  io: Pick<CommandIo, 'stdout' | 'stderr'>,
  json: boolean,
  summary: S,
  format: (summary: S) => string,
  ledger: CostLedger,
): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ ...summary, ledger: ledger.toJSON() }, null, 2)}\n`);
  } else {
    io.stdout.write(format(summary));
    io.stderr.write(ledger.format());
  }
}
