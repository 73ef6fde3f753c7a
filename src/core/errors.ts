/**
 * Why an error happened, as data: `reason` is a stable code a caller can branch on, the other keys are
 * the facts (paths, URLs, names). Library messages name options in library terms (`cacheDir`, `from`);
 * a front end words known reasons its own way (the CLI with its flag names, src/cli/error-wording.ts).
 */
export interface ErrorDetails {
  reason: string;
  [fact: string]: unknown;
}

/**
 * Errors a user can act on. The CLI prints `message` on one line and exits with `exitCode`;
 * stack traces appear only with `--debug`.
 */
export class ToolalpacaError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;
  /** The reason and its facts, when a caller may want to act on them or word them differently. */
  readonly details?: ErrorDetails;

  constructor(message: string, options: { exitCode?: number; cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ToolalpacaError';
    this.exitCode = options.exitCode ?? 1;
    if (options.details !== undefined) this.details = options.details;
  }

  /** `details.reason`, when the error carries one. */
  get reason(): string | undefined {
    return this.details?.reason;
  }
}

/** Input that cannot be read or understood (missing file, broken JSON/YAML, not an OpenAPI spec...). Exit 2. */
export class InputError extends ToolalpacaError {
  constructor(message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, { exitCode: 2, cause: options.cause, details: options.details });
    this.name = 'InputError';
  }
}

/** A remote service (model endpoint, real API, download) could not be reached or failed for good. */
export class ServiceError extends ToolalpacaError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, { exitCode: options.exitCode ?? 3, cause: options.cause, details: options.details });
    this.name = 'ServiceError';
  }
}

/** Collapse any message to a single line so that CLI errors stay one line. */
export function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The message of an unknown thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
