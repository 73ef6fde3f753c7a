/**
 * Client-side limits on a model: concurrent requests, requests per minute (spread evenly) and a
 * tokens-per-minute budget (each request's tokens estimated before sending, actual usage booked after).
 * Concurrency is always this process's; rpm and tpm are this process's too, unless a shared
 * `RateLimitStore` is given (Redis, src/models/rate-limit-redis.ts): then they hold across every
 * process using that store under the same key (queue workers calling one endpoint).
 */
import { createHash } from 'node:crypto';
import PQueue from 'p-queue';
import { messageOf } from '../core/errors.js';
import {
  identityOf,
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
} from './chat-model.js';
import { ModelCallError, abortedError } from './model-errors.js';
import { sleep } from './retry.js';

export interface RateLimitOptions {
  /** Requests in flight at once (default unlimited). */
  concurrency?: number;
  /** Requests started per window, spaced evenly (window/requestsPerMinute apart). */
  requestsPerMinute?: number;
  /** Prompt + completion tokens per window. */
  tokensPerMinute?: number;
  /** Length of the "minute" in ms (default 60 000; tests shorten it). */
  windowMs?: number;
  /** Hold rpm and tpm across processes: every limiter on `store` with the same `key` shares them. */
  shared?: SharedRateLimit;
}

/** Rate limits kept outside the process, where several processes book against one budget. */
export interface RateLimitStore {
  /** What and where the store is, for messages (without credentials). */
  readonly location: string;
  /**
   * Books the next request start of `key`, at least `intervalMs` after the previous one booked by any
   * process; resolves to the ms to wait before sending (0: now).
   */
  reserveRequest(key: string, intervalMs: number): Promise<number>;
  /**
   * Books `tokens` in `key`'s sliding window when they fit under `budget` (or the window is empty):
   * resolves to the booking's id, or to the ms to wait before asking again.
   */
  reserveTokens(
    key: string,
    tokens: number,
    budget: number,
    windowMs: number,
  ): Promise<{ booking: string } | { waitMs: number }>;
  /** Replaces a booking's estimate with the tokens actually used. */
  settleTokens(key: string, booking: string, tokens: number): Promise<void>;
}

export interface SharedRateLimit {
  store: RateLimitStore;
  /** The budget's name, e.g. `rateLimitKey(endpoint, model)`: never a credential. */
  key: string;
}

/** Completion tokens assumed for a request without `maxTokens`, until the real usage is known. */
export const DEFAULT_COMPLETION_ESTIMATE = 256;

/** A rough token count for a request (~4 characters per token, plus per-message overhead). */
export function estimateRequestTokens(request: ChatRequest): number {
  let chars = 0;
  let messages = 0;
  for (const message of request.messages) {
    messages++;
    chars += message.content.length;
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) chars += call.name.length + call.arguments.length;
    }
  }
  if (request.tools !== undefined) chars += JSON.stringify(request.tools).length;
  if (request.jsonSchema !== undefined) chars += JSON.stringify(request.jsonSchema.schema).length;
  const prompt = Math.ceil(chars / 4) + 4 * messages;
  return prompt + (request.maxTokens ?? DEFAULT_COMPLETION_ESTIMATE);
}

interface Booking {
  at: number;
  tokens: number;
}

/**
 * A sliding-window token budget. `reserve` waits (in FIFO order) until the estimate fits, books it,
 * and returns the booking so the caller can replace the estimate with the actual usage.
 */
export class TokenBudget {
  private readonly bookings: Booking[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly tokensPerWindow: number,
    readonly windowMs: number = 60_000,
  ) {}

  /** Tokens booked in the current window. */
  used(now: number = Date.now()): number {
    this.expire(now);
    return this.bookings.reduce((sum, booking) => sum + booking.tokens, 0);
  }

  private expire(now: number): void {
    while (this.bookings.length > 0 && now - (this.bookings[0] as Booking).at >= this.windowMs)
      this.bookings.shift();
  }

  reserve(estimate: number, signal?: AbortSignal): Promise<Booking> {
    const turn = this.tail.then(() => this.waitFor(estimate, signal));
    // The next reservation waits for this one, whether it succeeded or was aborted.
    this.tail = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  private async waitFor(estimate: number, signal?: AbortSignal): Promise<Booking> {
    for (;;) {
      const now = Date.now();
      this.expire(now);
      const used = this.bookings.reduce((sum, booking) => sum + booking.tokens, 0);
      // A request larger than the whole budget still runs, alone, when the window is empty.
      if (used + estimate <= this.tokensPerWindow || this.bookings.length === 0) {
        const booking = { at: now, tokens: estimate };
        this.bookings.push(booking);
        return booking;
      }
      const oldest = this.bookings[0] as Booking;
      await sleep(Math.max(1, oldest.at + this.windowMs - now), signal);
    }
  }

  /** Replaces a booking's estimate with the tokens actually used. */
  settle(booking: Booking, actualTokens: number): void {
    booking.tokens = actualTokens;
  }
}

/** A budget of requests or tokens per window: waits until a call may start, books what it used. */
interface Limiter {
  /** Waits for the request's turn; resolves to a settle function for its actual token usage. */
  admit(request: ChatRequest, signal?: AbortSignal): Promise<(actualTokens: number | undefined) => void>;
}

/** rpm is kept by the process queue (`interval`); tpm by a `TokenBudget`. */
function localLimiter(budget: TokenBudget | undefined): Limiter {
  return {
    async admit(request, signal) {
      if (budget === undefined) return () => undefined;
      const booking = await budget.reserve(estimateRequestTokens(request), signal);
      return (actual) =>
        budget.settle(
          booking,
          // The server may or may not have counted a failed request; keep only the prompt's share.
          actual ?? Math.max(0, booking.tokens - (request.maxTokens ?? DEFAULT_COMPLETION_ESTIMATE)),
        );
    },
  };
}

/** rpm and tpm booked in a shared store, so they hold across processes. */
function sharedLimiter(
  shared: SharedRateLimit,
  options: { rpm?: number; tpm?: number; windowMs: number },
): Limiter {
  const { store, key } = shared;
  const failed = (error: unknown): ModelCallError =>
    error instanceof ModelCallError
      ? error
      : new ModelCallError(`rate limits at ${store.location}: ${messageOf(error)}`, {
          kind: 'connection',
          cause: error,
        });
  return {
    async admit(request, signal) {
      try {
        if (options.rpm !== undefined) {
          const wait = await store.reserveRequest(key, options.windowMs / options.rpm);
          if (wait > 0) await sleep(wait, signal);
        }
        if (options.tpm === undefined) return () => undefined;
        const estimate = estimateRequestTokens(request);
        for (;;) {
          const booked = await store.reserveTokens(key, estimate, options.tpm, options.windowMs);
          if ('booking' in booked) {
            return (actual) => {
              const tokens =
                actual ?? Math.max(0, estimate - (request.maxTokens ?? DEFAULT_COMPLETION_ESTIMATE));
              // A lost settle only leaves the estimate booked (more cautious, never less).
              store.settleTokens(key, booked.booking, tokens).catch(() => undefined);
            };
          }
          await sleep(booked.waitMs, signal);
        }
      } catch (error) {
        throw failed(error);
      }
    },
  };
}

export function withRateLimit(model: ChatModel, options: RateLimitOptions): ChatModel {
  const windowMs = options.windowMs ?? 60_000;
  const rpm =
    options.requestsPerMinute !== undefined && options.requestsPerMinute > 0
      ? options.requestsPerMinute
      : undefined;
  const tpm =
    options.tokensPerMinute !== undefined && options.tokensPerMinute > 0
      ? options.tokensPerMinute
      : undefined;
  const shared = options.shared;
  const queue = new PQueue({
    concurrency:
      options.concurrency !== undefined && options.concurrency > 0 ? options.concurrency : Infinity,
    ...(rpm !== undefined && shared === undefined
      ? { interval: Math.max(1, Math.floor(windowMs / rpm)), intervalCap: 1, strict: true }
      : {}),
  });
  const limiter =
    shared !== undefined
      ? sharedLimiter(shared, {
          ...(rpm !== undefined ? { rpm } : {}),
          ...(tpm !== undefined ? { tpm } : {}),
          windowMs,
        })
      : localLimiter(tpm !== undefined ? new TokenBudget(tpm, windowMs) : undefined);

  async function run(request: ChatRequest, callOptions: ChatCallOptions): Promise<ChatResponse> {
    const settle = await limiter.admit(request, callOptions.signal);
    try {
      const response = await model.chat(request, callOptions);
      settle(response.usage.promptTokens + response.usage.completionTokens);
      return response;
    } catch (error) {
      settle(undefined);
      throw error;
    }
  }

  return {
    ...identityOf(model),
    async chat(request: ChatRequest, callOptions: ChatCallOptions = {}): Promise<ChatResponse> {
      const signal = callOptions.signal;
      if (signal?.aborted) throw abortedError(signal.reason);
      try {
        return await queue.add(() => run(request, callOptions), signal !== undefined ? { signal } : {});
      } catch (error) {
        if (signal?.aborted && !(error instanceof ModelCallError)) {
          throw abortedError(error);
        }
        throw error;
      }
    },
    close: model.close?.bind(model),
  };
}

/**
 * The shared budget's key of a model at an endpoint: a hash of the normalised endpoint (no credentials)
 * and the model id, so the limits are per endpoint and model as the local ones are per model.
 */
export function rateLimitKey(endpoint: string, modelId: string): string {
  return createHash('sha256').update(`${endpoint}\0${modelId}`).digest('hex').slice(0, 24);
}
