/**
 * The response cache port: where cached answers live, asynchronously, so that a store may be a local
 * SQLite file (`sqliteResponseStore`) or a server every queue worker reaches (Redis,
 * src/models/cache-redis.ts). `withCache` puts any store in front of a model; keys come from
 * src/models/cache-keys.ts, the same for every store.
 */
import type { Writable } from 'node:stream';
import { messageOf } from '../core/errors.js';
import {
  identityOf,
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
} from './chat-model.js';
import { cacheKeyOfCanonical, canonicalJson, isCacheable, sha256 } from './cache-keys.js';
import type { CacheStats, PruneOptions, PutMeta, ResponseCache } from './cache-sqlite.js';
import { ModelCallError } from './model-errors.js';

/** Where cached responses live. */
export interface ResponseStore {
  /** What and where the store is, for messages (a file path, a Redis URL without credentials). */
  readonly location: string;
  /** The stored response for a key. */
  get(key: string): Promise<ChatResponse | undefined>;
  /** Stores a response; false when the key was already there (the first write wins). */
  put(key: string, requestHash: string, response: ChatResponse, meta: PutMeta): Promise<boolean>;
  /**
   * sha256 of a file's content (a GGUF's identity), remembered where the store can; optional: callers
   * fall back to hashing once per process.
   */
  fileHash?(path: string): Promise<string>;
  close(): Promise<void>;
  /** Rows, size and age of what the store holds, per model (optional: the built-in stores have it). */
  stats?(): Promise<StoreStats>;
  /** Writes every entry as one JSON line (`CacheEntry`); resolves to the entries written. */
  export?(stream: Writable, filter?: { model?: string }): Promise<number>;
  /** Deletes the matching entries. */
  prune?(options: PruneOptions): Promise<StorePruneResult>;
}

/**
 * What `stats()` of a store gives: the SQLite file's figures (`CacheStats` without this process's
 * hits and misses). `path` is where the store is (a file path, or a Redis URL without credentials);
 * `bytes` the file sizes on disk for SQLite, the bytes of keys and values for Redis.
 */
export type StoreStats = Omit<CacheStats, 'hits' | 'misses'>;

/** The stats of an empty store at `path` (nothing counted yet). */
export function emptyStoreStats(path: string): StoreStats {
  return {
    path,
    rows: 0,
    bytes: 0,
    responseBytes: 0,
    legacyRows: 0,
    oldest: null,
    newest: null,
    byModel: [],
  };
}

/** What `prune()` of a store did: entries deleted and left, and the store's bytes before and after. */
export interface StorePruneResult {
  deleted: number;
  rows: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** A store that can be inspected and trimmed (the built-in ones). */
export type InspectableResponseStore = ResponseStore &
  Required<Pick<ResponseStore, 'stats' | 'export' | 'prune'>>;

/** The SQLite cache file as a store (its synchronous calls wrapped). */
export function sqliteResponseStore(cache: ResponseCache): InspectableResponseStore {
  return {
    location: cache.path,
    get: (key) => Promise.resolve().then(() => cache.get(key)),
    put: (key, hash, response, meta) => Promise.resolve().then(() => cache.put(key, hash, response, meta)),
    fileHash: (path) => cache.fileHash(path),
    close: () => Promise.resolve().then(() => cache.close()),
    stats: () =>
      Promise.resolve().then(() => {
        // Hits and misses count this handle's lookups, not what the store holds.
        const { hits: _hits, misses: _misses, ...stats } = cache.stats();
        return stats;
      }),
    export: (stream, filter) => cache.export(stream, filter),
    prune: (options) =>
      Promise.resolve().then(() => {
        const bytesBefore = cache.stats().bytes;
        const deleted = cache.prune(options);
        const after = cache.stats();
        return { deleted, rows: after.rows, bytesBefore, bytesAfter: after.bytes };
      }),
  };
}

function isResponseCache(cache: ResponseCache | ResponseStore): cache is ResponseCache {
  return 'findByRequest' in cache;
}

export type CachedChatModel = ChatModel & { readonly hits: number; readonly misses: number };

function abortError(model: string, signal: AbortSignal): ModelCallError {
  return new ModelCallError(`${model}: call aborted`, { kind: 'aborted', cause: signal.reason });
}

/**
 * Wraps a model with a cache (the SQLite `ResponseCache`, or any `ResponseStore`): a hit answers
 * without calling the model (`cached: true`, `latencyMs` the lookup time, `originalLatencyMs` the
 * recorded call's); a miss calls the model and stores cacheable responses (see `isCacheable`). A
 * failing cache write does not fail the call: it emits one process warning and the response is
 * returned.
 */
export function withCache(
  model: ChatModel,
  cache: ResponseCache | ResponseStore,
  wrapOptions: {
    /** Close the cache when the wrapped model is closed (when the caller opened it for this model). */
    closeCache?: boolean;
    /** The endpoint identity in the key (see `cacheKey`); default `endpointOf(model)`. */
    identity?: string;
  } = {},
): CachedChatModel {
  const store = isResponseCache(cache) ? sqliteResponseStore(cache) : cache;
  let hits = 0;
  let misses = 0;
  let warned = false;
  const identity = wrapOptions.identity ?? model.endpoint ?? model.id;
  const storeResponse = async (key: string, hash: string, response: ChatResponse, stage?: string) => {
    try {
      await store.put(key, hash, response, {
        ...(stage !== undefined ? { stage } : {}),
        backend: model.backend,
        model: model.id,
        identity,
      });
    } catch (error) {
      if (!warned) {
        warned = true;
        process.emitWarning(`response not cached: ${messageOf(error)}`, { code: 'TOOLALPACA_CACHE' });
      }
    }
  };
  return {
    ...identityOf(model),
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
    async chat(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResponse> {
      if (options?.signal?.aborted) throw abortError(model.id, options.signal);
      const started = performance.now();
      const canonicalRequest = canonicalJson(request);
      const key = cacheKeyOfCanonical(model.backend, model.id, identity, canonicalRequest);
      const stored = await store.get(key);
      if (stored !== undefined) {
        hits++;
        return {
          ...stored,
          cached: true,
          latencyMs: performance.now() - started,
          originalLatencyMs: stored.originalLatencyMs ?? stored.latencyMs,
        };
      }
      misses++;
      const response = await model.chat(request, options);
      if (!response.cached && isCacheable(response)) {
        await storeResponse(key, sha256(canonicalRequest), response, options?.stage);
      }
      return response;
    },
    async close() {
      await model.close?.();
      if (wrapOptions.closeCache === true) await store.close();
    },
  };
}
