import { ServiceError, type ErrorDetails } from '../core/errors.js';

export type ModelFailureKind =
  | 'rate_limited' // 429
  | 'server_error' // 5xx
  | 'timeout'
  | 'connection' // refused, reset, dropped stream
  | 'bad_response' // malformed JSON / unexpected shape from the server
  | 'client_error' // other 4xx: bad request, auth, model not found
  | 'aborted'
  | 'cache_miss'; // replay backend: the request is not in the cache

/**
 * A failed model call. Adapters classify failures so that one retry policy serves every backend.
 * Messages are one line and never contain API keys.
 */
export class ModelCallError extends ServiceError {
  readonly kind: ModelFailureKind;
  readonly status?: number;
  /** Server's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMs?: number;
  private readonly retryOverride?: boolean;

  constructor(
    message: string,
    options: {
      kind: ModelFailureKind;
      status?: number;
      retryAfterMs?: number;
      cause?: unknown;
      /** Overrides whether the kind is retried (e.g. an oversized reply would only come again). */
      retryable?: boolean;
      details?: ErrorDetails;
    },
  ) {
    super(message, { cause: options.cause, details: options.details });
    this.name = 'ModelCallError';
    this.kind = options.kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.retryOverride = options.retryable;
  }

  get retryable(): boolean {
    return (
      this.retryOverride ??
      ['rate_limited', 'server_error', 'timeout', 'connection', 'bad_response'].includes(this.kind)
    );
  }
}

/** The error of a call stopped by its abort signal (or by a caller that gave up on it). */
export function abortedError(cause?: unknown): ModelCallError {
  return new ModelCallError('the model call was aborted', { kind: 'aborted', cause });
}

const INFRASTRUCTURE_KINDS: ReadonlySet<ModelFailureKind> = new Set([
  'connection',
  'timeout',
  'server_error',
  'rate_limited',
]);

/**
 * Whether a failed call says something about the model's infrastructure (server down, overloaded,
 * wrong key or model name) rather than about the model's answer. Runs retry such failures on resume
 * and count them towards the circuit breaker; behavioural failures (an unusable reply) are kept.
 * True for a ModelCallError of kind connection, timeout, server_error, rate_limited (after the retries
 * gave up) and client_error with status 401/403/404; false for anything else.
 */
export function isInfrastructureFailure(error: unknown): boolean {
  if (!(error instanceof ModelCallError)) return false;
  if (INFRASTRUCTURE_KINDS.has(error.kind)) return true;
  return (
    error.kind === 'client_error' && (error.status === 401 || error.status === 403 || error.status === 404)
  );
}
