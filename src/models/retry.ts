/**
 * The one retry policy for every backend: bounded attempts, exponential backoff with full jitter,
 * the server's Retry-After honoured, a per-attempt timeout, and an abort that stops waiting at once.
 */
import {
  identityOf,
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
} from './chat-model.js';
import { ModelCallError, abortedError } from './model-errors.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 3, so at most 4 attempts). */
  maxRetries?: number;
  /** Backoff base: the n-th retry waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. Default 500. */
  baseDelayMs?: number;
  /** Upper bound of one backoff wait (default 30 s). */
  maxDelayMs?: number;
  /**
   * Longest Retry-After honoured (default 120 s, and never more than `timeoutMs` when that is set): a
   * server asking for a longer wait fails the call at once (as unavailable), since waiting would outlast
   * what the run allows a call.
   */
  maxRetryAfterMs?: number;
  /** Timeout of one attempt in ms (default 120 s); 0 disables it. */
  timeoutMs?: number;
  /** Source of randomness for the jitter, in [0, 1) (tests pin it). */
  random?: () => number;
  /** Called before each wait. */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  error: ModelCallError;
}

export const DEFAULT_RETRY_OPTIONS = {
  maxRetries: 3,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
  timeoutMs: 120_000,
} as const;

/** How long to wait before retry number `retry` (from 1) after `error`. */
export function retryDelayMs(
  retry: number,
  error: ModelCallError,
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs' | 'random'> = {},
): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY_OPTIONS.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY_OPTIONS.maxDelayMs;
  const random = options.random ?? Math.random;
  const jittered = random() * Math.min(cap, base * 2 ** (retry - 1));
  if (error.retryAfterMs === undefined) return jittered;
  const retryAfter = Math.min(
    error.retryAfterMs,
    options.maxRetryAfterMs ?? DEFAULT_RETRY_OPTIONS.maxRetryAfterMs,
  );
  return Math.max(retryAfter, jittered);
}

/** Resolves after `ms`, or rejects with an 'aborted' ModelCallError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

export function withRetries(model: ChatModel, options: RetryOptions = {}): ChatModel {
  const maxRetries = Math.max(0, options.maxRetries ?? DEFAULT_RETRY_OPTIONS.maxRetries);
  const timeoutMs = options.timeoutMs ?? DEFAULT_RETRY_OPTIONS.timeoutMs;

  async function attempt(request: ChatRequest, callOptions: ChatCallOptions): Promise<ChatResponse> {
    const caller = callOptions.signal;
    if (timeoutMs <= 0) {
      try {
        return await model.chat(request, callOptions);
      } catch (error) {
        if (caller?.aborted)
          throw error instanceof ModelCallError && error.kind === 'aborted' ? error : abortedError(error);
        throw error;
      }
    }
    // One controller per attempt, fed by the caller's signal and a timer. Not AbortSignal.any(): on
    // Node 20 it leaks when combined with a long-lived signal (a run-wide Ctrl-C controller).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(
        new ModelCallError(`${model.id} did not answer within ${timeoutMs} ms`, { kind: 'timeout' }),
      );
    }, timeoutMs);
    const onCallerAbort = (): void => controller.abort(caller?.reason);
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      return await model.chat(request, { ...callOptions, signal: controller.signal });
    } catch (error) {
      if (caller?.aborted) {
        throw error instanceof ModelCallError && error.kind === 'aborted' ? error : abortedError(error);
      }
      if (timedOut) {
        throw new ModelCallError(`${model.id} did not answer within ${timeoutMs} ms`, {
          kind: 'timeout',
          cause: error,
        });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    }
  }

  return {
    ...identityOf(model),
    async chat(request: ChatRequest, callOptions: ChatCallOptions = {}): Promise<ChatResponse> {
      const started = performance.now();
      for (let attemptNo = 1; ; attemptNo++) {
        if (callOptions.signal?.aborted) throw abortedError(callOptions.signal.reason);
        try {
          const response = await attempt(request, callOptions);
          return attemptNo === 1 ? response : { ...response, latencyMs: performance.now() - started };
        } catch (error) {
          if (!(error instanceof ModelCallError) || !error.retryable) throw error;
          if (attemptNo > maxRetries) {
            if (attemptNo === 1) throw error;
            throw new ModelCallError(`gave up after ${attemptNo} attempts: ${error.message}`, {
              kind: error.kind,
              ...(error.status !== undefined ? { status: error.status } : {}),
              ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
              cause: error,
            });
          }
          const waitLimit = Math.min(
            options.maxRetryAfterMs ?? DEFAULT_RETRY_OPTIONS.maxRetryAfterMs,
            timeoutMs > 0 ? timeoutMs : Infinity,
          );
          if (error.retryAfterMs !== undefined && error.retryAfterMs > waitLimit) {
            throw new ModelCallError(
              `${error.message}; the server asks to retry after ${seconds(error.retryAfterMs)} s, longer than the ${seconds(waitLimit)} s a call may take`,
              {
                kind: error.kind,
                ...(error.status !== undefined ? { status: error.status } : {}),
                retryAfterMs: error.retryAfterMs,
                retryable: false,
                cause: error,
              },
            );
          }
          const delayMs = retryDelayMs(attemptNo, error, { ...options, maxRetryAfterMs: waitLimit });
          options.onRetry?.({ attempt: attemptNo, delayMs, error });
          await sleep(delayMs, callOptions.signal);
        }
      }
    },
    close: model.close?.bind(model),
  };
}
