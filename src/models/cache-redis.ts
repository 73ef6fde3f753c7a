/**
 * The response cache on Redis: what queue workers on different machines share, so that a re-run of a
 * job on any worker costs nothing. Keys are `PREFIX` + the cache key of src/models/cache-keys.ts
 * (backend, model id, endpoint identity and request, hashed: the identity the SQLite file uses, so an
 * entry never answers for another server or model). Values are the response and the row's metadata as
 * JSON, without credentials (responses hold none; identities are base URLs without credentials, or file
 * hashes). The first write of a key wins (`SET NX`); an optional TTL lets Redis forget old entries.
 */
import type { Redis } from 'ioredis';
import type { ChatResponse } from './chat-model.js';
import { backendOf } from './cache-keys.js';
import type { ResponseStore } from './cache-store.js';

/** Prefix of the cache's keys in Redis (beside the queue's). */
export const REDIS_CACHE_PREFIX = 'toolalpaca:cache:';

export interface RedisResponseStoreOptions {
  /** A connected ioredis client; the caller owns it unless `closeClient`. */
  client: Redis;
  /** The server, without credentials, for messages. */
  location: string;
  /** Entries expire this many seconds after they were written (default: never). */
  ttlSeconds?: number;
  /** Key prefix (default `toolalpaca:cache:`). */
  prefix?: string;
  /** Disconnect the client on `close()`. */
  closeClient?: boolean;
}

/** What is stored per key. */
interface StoredEntry {
  v: 1;
  requestHash: string;
  backend: string;
  model: string;
  identity: string | null;
  stage: string | null;
  createdAt: string;
  response: ChatResponse;
}

function parseEntry(text: string): StoredEntry | undefined {
  try {
    const entry = JSON.parse(text) as Partial<StoredEntry>;
    return entry.v === 1 && typeof entry.response === 'object' && entry.response !== null
      ? (entry as StoredEntry)
      : undefined;
  } catch {
    // A value someone else wrote under our prefix is a miss, not a failure.
    return undefined;
  }
}

/** A response store on Redis; see the module comment. */
export function redisResponseStore(options: RedisResponseStoreOptions): ResponseStore {
  const { client } = options;
  const prefix = options.prefix ?? REDIS_CACHE_PREFIX;
  const ttl =
    options.ttlSeconds !== undefined && options.ttlSeconds > 0 ? Math.ceil(options.ttlSeconds) : undefined;
  return {
    location: options.location,
    async get(key) {
      const text = await client.get(`${prefix}${key}`);
      return text === null ? undefined : parseEntry(text)?.response;
    },
    async put(key, requestHash, response, meta) {
      const model = meta.model ?? response.model;
      const entry: StoredEntry = {
        v: 1,
        requestHash,
        backend: meta.backend ?? backendOf(model),
        model,
        identity: meta.identity ?? null,
        stage: meta.stage ?? null,
        createdAt: new Date().toISOString(),
        response,
      };
      const text = JSON.stringify(entry);
      const written =
        ttl === undefined
          ? await client.set(`${prefix}${key}`, text, 'NX')
          : await client.set(`${prefix}${key}`, text, 'EX', ttl, 'NX');
      return written === 'OK';
    },
    async close() {
      if (options.closeClient === true) client.disconnect();
    },
  };
}
