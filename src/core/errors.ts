/**
 * Errors a user can act on. The CLI prints `message` on one line and exits with `exitCode`;
 * stack traces appear only with `--debug`.
 */
export class ToolalpacaError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ToolalpacaError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Input that cannot be read or understood (missing file, broken JSON/YAML, not an OpenAPI spec...). Exit 2. */
export class InputError extends ToolalpacaError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { exitCode: 2, cause: options.cause });
    this.name = 'InputError';
  }
}

/** A remote service (model endpoint, real API, download) could not be reached or failed for good. */
export class ServiceError extends ToolalpacaError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { exitCode: options.exitCode ?? 3, cause: options.cause });
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
