/**
 * Builds a ready-to-use ChatModel from a `--model SPEC` string: the registered backend's model, wrapped
 * (inside out) with the reply checks (size cap, JSON re-validation) → retries and per-request timeout →
 * rate limits → response cache → cost ledger. Every backend, built-in or registered, gets the same stack.
 */
import { identityOf, type ChatModel } from './chat-model.js';
import { processFileHash } from './cache-file-hash.js';
import { openResponseCache, resolveCacheDir } from './cache-sqlite.js';
import { sqliteResponseStore, withCache, type CachedChatModel, type ResponseStore } from './cache-store.js';
import { withLedger } from './ledger.js';
import { backendOptionsOf, type ModelOptions } from './options.js';
import { endpointOf } from './preflight.js';
import { rateLimitKey, withRateLimit } from './rate-limit.js';
import { resolveModelSpec } from './registry.js';
import { withReplyChecks } from './reply-checks.js';
import { withRetries } from './retry.js';

export type {
  CommonModelOptions,
  LlamaBackendOptions,
  ModelOptions,
  OpenAIBackendOptions,
  TextBackendOptions,
} from './options.js';

/** A model built by `createChatModel`: `cacheStats()` reports this model's cache hits and misses. */
export type CreatedChatModel = ChatModel & {
  /** Cache lookups of this model in this process; undefined when the cache is off. */
  cacheStats(): { hits: number; misses: number } | undefined;
  close(): Promise<void>;
};

export async function createChatModel(spec: string, options: ModelOptions = {}): Promise<CreatedChatModel> {
  const parsed = resolveModelSpec(spec);
  const { backend } = parsed;
  const cacheDir = resolveCacheDir(options.cacheDir);
  const bare = await backend.create(parsed.spec, {
    id: parsed.id,
    options: backendOptionsOf(options, backend.prefix),
    common: options,
    cacheDir,
    optionsOf: (prefix) => backendOptionsOf(options, prefix),
  });
  try {
    const kind = backend.kind ?? 'remote';
    let model: ChatModel = withReplyChecks(
      bare,
      options.maxReplyBytes !== undefined ? { maxReplyBytes: options.maxReplyBytes } : {},
    );
    if (kind === 'recorded') return finish(model, undefined, options);
    model =
      kind === 'remote'
        ? withRetries(model, {
            ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
            ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
            ...(options.retryBaseDelayMs !== undefined ? { baseDelayMs: options.retryBaseDelayMs } : {}),
            ...(options.retryMaxDelayMs !== undefined ? { maxDelayMs: options.retryMaxDelayMs } : {}),
          })
        : // A local engine does not fail transiently; only the per-request timeout applies.
          withRetries(model, { maxRetries: 0, timeoutMs: options.timeoutMs ?? 0 });
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
        ...(options.sharedRateLimits !== undefined && kind === 'remote'
          ? { shared: { store: options.sharedRateLimits, key: rateLimitKey(endpointOf(bare), parsed.id) } }
          : {}),
      });
    }
    let cached: CachedChatModel | undefined;
    if (options.noCache !== true) {
      // A shared store belongs to the caller; the SQLite file is opened for this model and closed with it.
      const shared = options.sharedCache;
      const store: ResponseStore = shared ?? sqliteResponseStore(openResponseCache(cacheDir));
      try {
        const fileHash = store.fileHash?.bind(store) ?? processFileHash;
        const identity = (await backend.cacheIdentity?.(bare, { fileHash })) ?? endpointOf(bare);
        cached = withCache(model, store, { closeCache: shared === undefined, identity });
      } catch (error) {
        if (shared === undefined) await store.close();
        throw error;
      }
      model = cached;
    }
    return finish(model, cached, options);
  } catch (error) {
    await bare.close?.();
    throw error;
  }
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
