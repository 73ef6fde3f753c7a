/**
 * Builds a ready-to-use ChatModel from a `--model SPEC` string: the backend adapter, wrapped (inside out)
 * with retries and per-request timeout → rate limits → response cache → cost ledger.
 */
import { identityOf, type ChatModel } from './chat-model.js';
import { resolveCacheDir, cacheExists, openResponseCache, withCache, type CachedChatModel } from './cache.js';
import type { CostLedger } from './ledger.js';
import { withLedger } from './ledger.js';
import { parseModelSpec } from './model-spec.js';
import { createOpenAIChatModel } from './openai-compatible/openai-model.js';
import { withRateLimit } from './rate-limit.js';
import { createReplayChatModel } from './replay/replay-model.js';
import { withRetries } from './retry.js';
import { InputError } from '../core/errors.js';

export interface ModelOptions {
  /** OpenAI-compatible base URL; default OPENAI_BASE_URL, else the OpenAI API. */
  baseUrl?: string;
  /** API key; default OPENAI_API_KEY (may be absent for local servers). */
  apiKey?: string;
  /** Per-request timeout in ms (default 120 s). */
  timeoutMs?: number;
  /** Retries after a failed attempt on 429/5xx/timeouts/dropped connections (default 3). */
  maxRetries?: number;
  /** First backoff step in ms (default 500); the wait doubles per retry, with full jitter. */
  retryBaseDelayMs?: number;
  /** Longest backoff wait in ms (default 30 s). */
  retryMaxDelayMs?: number;
  concurrency?: number;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Length of the rate-limit "minute" in ms (default 60 000; for tests). */
  rateWindowMs?: number;
  /** Response cache folder (default `.toolalpaca-cache` in the working directory). */
  cacheDir?: string;
  noCache?: boolean;
  /** When given, every call's tokens are recorded in it. */
  ledger?: CostLedger;
  /** openai backend: stream answers (SSE). */
  stream?: boolean;
  /** llama backend options. */
  lora?: string;
  threads?: number;
  contextSize?: number;
  sequences?: number;
  modelsDir?: string;
  /** llama hub downloads: called as bytes arrive (the CLI draws a progress bar from it). */
  onDownloadProgress?: (progress: { downloadedBytes: number; totalBytes: number }) => void;
}

/** A model built by `createChatModel`: `cacheStats()` reports this model's cache hits and misses. */
export type CreatedChatModel = ChatModel & {
  cacheStats(): { hits: number; misses: number } | undefined;
  close(): Promise<void>;
};

export async function createChatModel(spec: string, options: ModelOptions = {}): Promise<CreatedChatModel> {
  const parsed = parseModelSpec(spec);
  const cacheDir = resolveCacheDir(options.cacheDir);
  let model: ChatModel;
  switch (parsed.backend) {
    case 'openai': {
      const base = createOpenAIChatModel({
        model: parsed.model,
        ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
        ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
        ...(options.stream !== undefined ? { stream: options.stream } : {}),
      });
      model = withRetries(base, {
        ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.retryBaseDelayMs !== undefined ? { baseDelayMs: options.retryBaseDelayMs } : {}),
        ...(options.retryMaxDelayMs !== undefined ? { maxDelayMs: options.retryMaxDelayMs } : {}),
      });
      break;
    }
    case 'llama': {
      // Loaded on demand: node-llama-cpp is heavy and only this backend needs it.
      const { createLlamaChatModel } = await import('./llama-cpp/llama-model.js');
      const base = await createLlamaChatModel('path' in parsed ? { path: parsed.path } : { hf: parsed.hf }, {
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.contextSize !== undefined ? { contextSize: options.contextSize } : {}),
        ...(options.sequences !== undefined ? { sequences: options.sequences } : {}),
        ...(options.lora !== undefined ? { lora: options.lora } : {}),
        ...(options.modelsDir !== undefined ? { modelsDir: options.modelsDir } : {}),
        ...(options.onDownloadProgress !== undefined
          ? { onDownloadProgress: options.onDownloadProgress }
          : {}),
      });
      // A local engine does not fail transiently; only the per-request timeout applies.
      model = withRetries(base, { maxRetries: 0, timeoutMs: options.timeoutMs ?? 0 });
      break;
    }
    case 'replay': {
      if (!cacheExists(cacheDir)) {
        throw new InputError(
          `${spec}: no response cache in ${cacheDir}; replay answers only from a cache recorded by an earlier run (set --cache-dir)`,
        );
      }
      const replay = createReplayChatModel(openResponseCache(cacheDir), parsed.of, { closeCache: true });
      return finish(replay, undefined, options);
    }
  }
  if (
    options.concurrency !== undefined ||
    options.requestsPerMinute !== undefined ||
    options.tokensPerMinute !== undefined
  ) {
    model = withRateLimit(model, {
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.requestsPerMinute !== undefined ? { requestsPerMinute: options.requestsPerMinute } : {}),
      ...(options.tokensPerMinute !== undefined ? { tokensPerMinute: options.tokensPerMinute } : {}),
      ...(options.rateWindowMs !== undefined ? { windowMs: options.rateWindowMs } : {}),
    });
  }
  let cached: CachedChatModel | undefined;
  if (options.noCache !== true) {
    try {
      cached = withCache(model, openResponseCache(cacheDir), { closeCache: true });
    } catch (error) {
      await model.close?.();
      throw error;
    }
    model = cached;
  }
  return finish(model, cached, options);
}

function finish(
  model: ChatModel,
  cached: CachedChatModel | undefined,
  options: ModelOptions,
): CreatedChatModel {
  const outer = options.ledger !== undefined ? withLedger(model, options.ledger) : model;
  let closed = false;
  return {
    ...identityOf(outer),
    chat: (request, callOptions) => outer.chat(request, callOptions),
    cacheStats: () => (cached === undefined ? undefined : { hits: cached.hits, misses: cached.misses }),
    async close() {
      if (closed) return;
      closed = true;
      await outer.close?.();
    },
  };
}
