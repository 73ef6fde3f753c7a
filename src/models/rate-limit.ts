/**
 * Client-side limits on a model: concurrent requests, requests per minute (spread evenly) and a
 * tokens-per-minute budget (each request's tokens estimated before sending, actual usage booked after).
 */
import PQueue from 'p-queue';
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

export function withRateLimit(model: ChatModel, options: RateLimitOptions): ChatModel {
  const windowMs = options.windowMs ?? 60_000;
  const rpm = options.requestsPerMinute;
  const queue = new PQueue({
    concurrency:
      options.concurrency !== undefined && options.concurrency > 0 ? options.concurrency : Infinity,
    ...(rpm !== undefined && rpm > 0
      ? { interval: Math.max(1, Math.floor(windowMs / rpm)), intervalCap: 1, strict: true }
      : {}),
  });
  const budget =
    options.tokensPerMinute !== undefined && options.tokensPerMinute > 0
      ? new TokenBudget(options.tokensPerMinute, windowMs)
      : undefined;

  async function run(request: ChatRequest, callOptions: ChatCallOptions): Promise<ChatResponse> {
    if (budget === undefined) return model.chat(request, callOptions);
    const booking = await budget.reserve(estimateRequestTokens(request), callOptions.signal);
    try {
      const response = await model.chat(request, callOptions);
      budget.settle(booking, response.usage.promptTokens + response.usage.completionTokens);
      return response;
    } catch (error) {
      // The server may or may not have counted a failed request; keep only the prompt's share.
      budget.settle(
        booking,
        Math.max(0, booking.tokens - (request.maxTokens ?? DEFAULT_COMPLETION_ESTIMATE)),
      );
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
