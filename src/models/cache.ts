/**
 * Persistent, content-addressed response cache: (backend, model, canonical request) -> ChatResponse.
 * This module gathers the cache's parts: the keys (cache-keys.ts), the store port and `withCache`
 * (cache-store.ts), the SQLite file (cache-sqlite.ts, the default: one file per machine, in WAL mode)
 * and Redis (cache-redis.ts, shared by the workers of a queue).
 *
 * Concurrency and crash safety of the SQLite file: WAL lets readers and one writer work at once; `busy_timeout` makes a
 * second writer process wait for the lock instead of failing with SQLITE_BUSY; each put is one
 * autocommit `INSERT OR IGNORE`, so identical concurrent writes are harmless and a kill -9 loses at most
 * the row being written. `synchronous = NORMAL` keeps every committed row through a process crash (only
 * an OS crash / power loss can drop the last commits, which a cache can afford).
 *
 * Identity: the key is backend + model id + the endpoint's identity + request. The identity is the
 * normalised base URL of a server, or the GGUF file's content hash for llama (see the backends'
 * `cacheIdentity`), so a new checkpoint served under the same model name at another URL, or written over
 * the same file, never gets the old answers. Rows written before the identity was part of the key
 * (schema 1, `identity` NULL) are kept: `replay:` still reads them by request, live models never match them.
 *
 * Secrets: base URLs are stored without credentials, query or fragment; API keys never reach a store,
 * and responses hold no credentials.
 *
 * What is cached: every successful response whose finishReason is 'stop', 'tool_calls' or 'length'
 * (all three are what the request deterministically asked for: 'length' follows from maxTokens).
 * 'content_filter' and 'other' are treated as anomalies and not stored, so a re-run asks again. Errors
 * are never cached. Calls at any temperature are cached, keyed with their sampling parameters and seed:
 * to draw several samples of one request, vary the seed (or run with --no-cache).
 */
export {
  backendOf,
  cacheKey,
  cacheKeyOfCanonical,
  canonicalJson,
  isCacheable,
  requestHash,
} from './cache-keys.js';
export {
  CACHE_FILE_NAME,
  DEFAULT_CACHE_DIR,
  cacheDbPath,
  cacheExists,
  openResponseCache,
  resolveCacheDir,
  type CacheEntry,
  type CacheModelStats,
  type CacheStats,
  type PruneOptions,
  type PutMeta,
  type ResponseCache,
} from './cache-sqlite.js';
export {
  sqliteResponseStore,
  withCache,
  type CachedChatModel,
  type InspectableResponseStore,
  type ResponseStore,
  type StorePruneResult,
  type StoreStats,
} from './cache-store.js';
export { REDIS_CACHE_PREFIX, redisResponseStore, type RedisResponseStoreOptions } from './cache-redis.js';
export { hashFile, processFileHash } from './cache-file-hash.js';
