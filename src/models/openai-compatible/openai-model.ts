/**
 * ChatModel over any OpenAI-compatible chat-completions endpoint. Plain answers go over undici's
 * `request` (completions-http.ts: the cheap path that high-concurrency runs need); streamed answers (SSE)
 * through the official `openai` SDK. Neither retries: `withRetries` (src/models/retry.ts) is the single
 * retry policy.
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResponse } from '../chat-model.js';
import { ModelCallError, abortedError } from '../model-errors.js';
import { DEFAULT_MAX_REPLY_BYTES, replyTooLarge } from '../reply-checks.js';
import { StreamAccumulator, fromOpenAICompletion, toOpenAIRequest, type BackendReply } from './convert.js';
import { BodyTooLargeError, postChatCompletion } from './completions-http.js';
import { normaliseBaseUrl, probeOpenAICompatible } from './endpoint.js';
import { classifyOpenAIError } from './errors.js';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAIChatModelOptions {
  /** Model name the server knows, e.g. "gpt-4o-mini". */
  model: string;
  /** Base URL ending in /v1; default OPENAI_BASE_URL, else the OpenAI API. */
  baseUrl?: string;
  /** API key; default OPENAI_API_KEY. May be absent for local servers. */
  apiKey?: string;
  /** Stream the answer (SSE) instead of one JSON body. Default false. */
  stream?: boolean;
  /** Hard cap per HTTP request (default 10 min); `withRetries` applies the real per-request timeout. */
  timeoutMs?: number;
  /** Extra HTTP headers sent with every request. */
  headers?: Record<string, string>;
  /** Replaces the global fetch under the SDK for streamed answers (tests, proxies). */
  fetch?: typeof fetch;
  /** Largest HTTP body (or streamed text) accepted, in bytes (default 8 MiB). */
  maxReplyBytes?: number;
}

/** Resolves base URL and key from options, then the environment. */
export function resolveOpenAIEndpoint(options: { baseUrl?: string; apiKey?: string }): {
  baseUrl: string;
  apiKey?: string;
} {
  const baseUrl = (options.baseUrl ?? process.env.OPENAI_BASE_URL ?? DEFAULT_OPENAI_BASE_URL).replace(
    /\/+$/,
    '',
  );
  const apiKey = options.apiKey ?? (process.env.OPENAI_API_KEY || undefined);
  return apiKey !== undefined ? { baseUrl, apiKey } : { baseUrl };
}

export function createOpenAIChatModel(options: OpenAIChatModelOptions): ChatModel {
  if (options.model.trim() === '')
    throw new ModelCallError('the OpenAI model name is empty', { kind: 'client_error' });
  const { baseUrl, apiKey } = resolveOpenAIEndpoint(options);
  const endpoint = normaliseBaseUrl(baseUrl);
  const timeoutMs = options.timeoutMs ?? 600_000;
  // Only streamed answers need the SDK; it is made on first use.
  let sdk: OpenAI | undefined;
  const client = (): OpenAI =>
    (sdk ??= new OpenAI({
      baseURL: baseUrl,
      // The SDK refuses to start without a key; local servers do not need one.
      apiKey: apiKey ?? 'no-key',
      maxRetries: 0,
      // The SDK prints parse failures to the console; we report them as one-line errors instead.
      // OPENAI_LOG=debug still turns its logging on.
      ...(process.env.OPENAI_LOG === undefined ? { logLevel: 'off' as const } : {}),
      timeout: timeoutMs,
      ...(options.headers !== undefined ? { defaultHeaders: options.headers } : {}),
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    }));
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  const post = {
    baseUrl,
    maxBodyBytes: maxReplyBytes,
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(options.headers !== undefined ? { headers: options.headers } : {}),
    timeoutMs,
  };
  const context = { baseUrl, ...(apiKey !== undefined ? { apiKey } : {}) };
  const id = `openai:${options.model}`;
  const stream = options.stream ?? false;

  async function callOnce(request: ChatRequest, signal: AbortSignal | undefined): Promise<BackendReply> {
    const body = toOpenAIRequest(options.model, request);
    if (!stream) return fromOpenAICompletion(await postChatCompletion(post, body, signal));
    const chunks = await client().chat.completions.create(
      { ...body, stream: true, stream_options: { include_usage: true } },
      signal !== undefined ? { signal } : {},
    );
    const accumulator = new StreamAccumulator();
    for await (const chunk of chunks as AsyncIterable<ChatCompletionChunk>) {
      accumulator.add(chunk);
      if (accumulator.bytes > maxReplyBytes) {
        chunks.controller.abort();
        throw replyTooLarge(id, maxReplyBytes, 'the streamed reply');
      }
    }
    return accumulator.result();
  }

  return {
    id,
    backend: 'openai',
    endpoint,
    probe: (probeOptions) =>
      probeOpenAICompatible(
        {
          baseUrl,
          endpoint,
          route: '/chat/completions',
          ...(apiKey !== undefined ? { apiKey } : {}),
          ...(options.headers !== undefined ? { headers: options.headers } : {}),
        },
        probeOptions,
      ),
    async chat(request: ChatRequest, callOptions: ChatCallOptions = {}): Promise<ChatResponse> {
      const { signal } = callOptions;
      if (signal?.aborted) throw abortedError(signal.reason);
      const started = performance.now();
      let reply: BackendReply;
      try {
        reply = await callOnce(request, signal);
      } catch (error) {
        if (error instanceof BodyTooLargeError) throw replyTooLarge(id, error.limit, 'the HTTP body');
        const classified = classifyOpenAIError(error, context);
        // A signal that fired means the caller (or withRetries' timeout) stopped us, whatever fetch says.
        if (signal?.aborted && classified.kind !== 'aborted') {
          throw abortedError(error);
        }
        throw classified;
      }
      return { ...reply, latencyMs: performance.now() - started, cached: false, model: id };
    },
    async close(): Promise<void> {
      // fetch keeps no per-client sockets we own; nothing to release.
    },
  };
}
