/**
 * Why a durable run cannot start or go on, as data: `reason` says what happened and `details` carries
 * the facts (paths, counts, the parameters that differ). The message is a neutral sentence for library
 * users; the CLI words it again with its flag names (`src/cli/run-helpers.ts`).
 */
import { ToolalpacaError } from '../core/errors.js';

/** One parameter whose value in the journal's header differs from the run asking to resume it. */
export interface ParameterChange {
  name: string;
  /** The value in the journal (null when absent). */
  logged: unknown;
  /** The value asked for now (null when absent). */
  requested: unknown;
}

export type RunErrorDetails =
  /** The journal holds a run and neither resume nor force was asked. */
  | { reason: 'log-exists'; journal: string; finished: number }
  /** Resume asked with other parameters than the journal's header. */
  | { reason: 'parameters-differ'; journal: string; changes: ParameterChange[] }
  /** The journal was written by another version of the journal format. */
  | { reason: 'journal-version'; journal: string; found: unknown; expected: number }
  /** The journal belongs to another kind of run (a judge log given to generate...). */
  | { reason: 'journal-kind'; journal: string; found: string; expected: string }
  /** The file has lines but no header: not a journal. */
  | { reason: 'not-a-journal'; journal: string }
  /** Another live process holds the output's lock. */
  | { reason: 'locked'; lock: string; pid: number; host: string; startedAt: string }
  /** resume and force were both asked. */
  | { reason: 'resume-and-force' }
  /** A journal line could not be written (disk full, permissions...). */
  | { reason: 'journal-write'; journal: string; error: string };

export type RunErrorReason = RunErrorDetails['reason'];

/** Exit codes: a busy output is "unavailable, try later" (3); everything else is about the input (2). */
const EXIT_CODES: Record<RunErrorReason, number> = {
  'log-exists': 2,
  'parameters-differ': 2,
  'journal-version': 2,
  'journal-kind': 2,
  'not-a-journal': 2,
  locked: 3,
  'resume-and-force': 2,
  'journal-write': 2,
};

export class RunError extends ToolalpacaError {
  override readonly details: RunErrorDetails;

  constructor(details: RunErrorDetails, options: { cause?: unknown } = {}) {
    super(runErrorMessage(details), { exitCode: EXIT_CODES[details.reason], cause: options.cause });
    this.name = 'RunError';
    this.details = details;
  }

  override get reason(): RunErrorReason {
    return this.details.reason;
  }
}

/** `name old → new, …` with absent values as null. */
export function formatParameterChanges(changes: readonly ParameterChange[]): string {
  return changes
    .map(
      (change) =>
        `${change.name} ${JSON.stringify(change.logged ?? null)} → ${JSON.stringify(change.requested ?? null)}`,
    )
    .join(', ');
}

/** The neutral one-line message of a run error (no flag names). */
export function runErrorMessage(details: RunErrorDetails): string {
  switch (details.reason) {
    case 'log-exists':
      return `${details.journal} already holds a run (${details.finished} finished tasks); resume it or start over`;
    case 'parameters-differ':
      return `cannot resume ${details.journal}: it was made with other parameters (${formatParameterChanges(details.changes)})`;
    case 'journal-version':
      return `cannot resume ${details.journal}: it was written by another version of toolalpaca (journal version ${JSON.stringify(details.found ?? null)}, this one writes ${details.expected}), which does not record every parameter of a run`;
    case 'journal-kind':
      return `${details.journal} is the journal of a ${details.found} run, not of a ${details.expected} run`;
    case 'not-a-journal':
      return `${details.journal} has no header line; it was not written by toolalpaca`;
    case 'locked':
      return `the output is in use by another run (pid ${details.pid} on ${details.host}, since ${details.startedAt}; lock ${details.lock})`;
    case 'resume-and-force':
      return 'resume and force exclude each other';
    case 'journal-write':
      return `cannot write ${details.journal}: ${details.error}`;
  }
}
