/**
 * The response cache on Redis: what queue workers on different machines share, so that a re-run of a
 * job on any worker costs nothing. Keys are `PREFIX` + the cache key of src/models/cache-keys.ts
 * (backend, model id, endpoint identity and request, hashed: the identity the SQLite file uses, so an
 * entry never answers for another server or model). Values are the response and the row's metadata as
 * JSON, without credentials (responses hold none; identities are base URLs without credentials, or file
 * hashes). The first write of a key wins (`SET NX`); an optional TTL lets Redis forget old entries.
 *
 * `stats`, `export` and `prune` (what `toolalpaca cache` runs) walk the prefix with SCAN in batches
 * (never KEYS, which blocks the server on a large cache), read each batch with one pipeline and delete
 * with UNLINK (freed in the background), so that the workers sharing the cache are never held up.
 */
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { ServiceError, messageOf, oneLine } from '../core/errors.js';
import { backendOf } from './cache-keys.js';
import { drained, modelMatcher } from './cache-lines.js';
import type { CacheEntry, CacheModelStats, PruneOptions } from './cache-sqlite.js';
import {
  emptyStoreStats,
  type InspectableResponseStore,
  type StorePruneResult,
  type StoreStats,
} from './cache-store.js';

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
  /** Keys read per SCAN step and pipeline by `stats`, `export` and `prune` (default 500). */
  batchSize?: number;
  /** The clock (ms since the epoch) for entries' `createdAt` and prune's age cut (default `Date.now`). */
  now?: () => number;
}

/** What is stored per key: the SQLite cache's row (its key is the Redis key), with a format version. */
type StoredEntry = { v: 1 } & Omit<CacheEntry, 'key'>;

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

/** A response store on Redis (with `stats`, `export` and `prune`); see the module comment. */
export function redisResponseStore(options: RedisResponseStoreOptions): InspectableResponseStore {
  const { client } = options;
  const prefix = options.prefix ?? REDIS_CACHE_PREFIX;
  const now = options.now ?? Date.now;
  const ttl =
    options.ttlSeconds !== undefined && options.ttlSeconds > 0 ? Math.ceil(options.ttlSeconds) : undefined;
  const scan: Scan = { client, prefix, batchSize: options.batchSize ?? 500 };
  /** Redis failures as one line naming the server (its location holds no credentials). */
  const failing = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      throw new ServiceError(
        oneLine(`response cache ${options.location}: ${what} failed: ${messageOf(error)}`),
        { cause: error },
      );
    }
  };
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
        createdAt: new Date(now()).toISOString(),
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
    stats: () => failing('stats', () => readStats(scan, options.location)),
    export: (stream, filter = {}) => failing('export', () => exportEntries(scan, stream, filter.model)),
    async prune(pruneOptions) {
      const select = pruneSelector(pruneOptions, now());
      return failing('prune', () => pruneEntries(scan, select));
    },
  };
}

interface Scan {
  client: Redis;
  prefix: string;
  batchSize: number;
}

/** `text` with the glob characters of SCAN's MATCH escaped. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The keys under the prefix, a batch per SCAN step. SCAN may return a key twice (while Redis resizes
 * its table): each key is given once.
 */
async function* scanKeys(scan: Scan): AsyncGenerator<string[]> {
  const seen = new Set<string>();
  const pattern = `${globEscape(scan.prefix)}*`;
  let cursor = '0';
  do {
    const [next, keys] = await scan.client.scan(cursor, 'MATCH', pattern, 'COUNT', scan.batchSize);
    cursor = next;
    const fresh = keys.filter((key) => !seen.has(key) && seen.add(key) !== undefined);
    if (fresh.length > 0) yield fresh;
  } while (cursor !== '0');
}

interface ReadEntry {
  /** The full Redis key. */
  key: string;
  /** Bytes of the key and its value. */
  bytes: number;
  /** Undefined for a value that is not an entry (someone else's under the prefix). */
  entry?: StoredEntry;
}

/** The values of a batch of keys, in one pipeline; keys gone meanwhile (expired, pruned) are left out. */
async function readBatch(client: Redis, keys: readonly string[]): Promise<ReadEntry[]> {
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.get(key);
  const replies = (await pipeline.exec()) ?? [];
  const read: ReadEntry[] = [];
  keys.forEach((key, index) => {
    const [error, value] = replies[index] ?? [new Error('no reply')];
    if (error !== null && error !== undefined) {
      // Another type of value under the prefix is not ours; any other failure (permissions) is.
      if (/^WRONGTYPE/.test(messageOf(error))) return;
      throw error;
    }
    if (typeof value !== 'string') return;
    const entry = parseEntry(value);
    read.push({
      key,
      bytes: Buffer.byteLength(key) + Buffer.byteLength(value),
      ...(entry !== undefined ? { entry } : {}),
    });
  });
  return read;
}

function responseBytes(entry: StoredEntry): number {
  return Buffer.byteLength(JSON.stringify(entry.response));
}

/** The figures of the SQLite file's stats, from every entry under the prefix. */
async function readStats(scan: Scan, location: string): Promise<StoreStats> {
  const stats = emptyStoreStats(location);
  const models = new Map<string, CacheModelStats>();
  for await (const keys of scanKeys(scan)) {
    for (const { bytes, entry } of await readBatch(scan.client, keys)) {
      if (entry === undefined) continue;
      stats.bytes += bytes;
      const size = responseBytes(entry);
      stats.rows++;
      stats.responseBytes += size;
      if (entry.identity === null) stats.legacyRows++;
      if (stats.oldest === null || entry.createdAt < stats.oldest) stats.oldest = entry.createdAt;
      if (stats.newest === null || entry.createdAt > stats.newest) stats.newest = entry.createdAt;
      const id = `${entry.backend}\u0000${entry.model}`;
      const model = models.get(id);
      if (model === undefined) {
        models.set(id, {
          model: entry.model,
          backend: entry.backend,
          rows: 1,
          responseBytes: size,
          oldest: entry.createdAt,
          newest: entry.createdAt,
        });
      } else {
        model.rows++;
        model.responseBytes += size;
        if (entry.createdAt < model.oldest) model.oldest = entry.createdAt;
        if (entry.createdAt > model.newest) model.newest = entry.createdAt;
      }
    }
  }
  // As the SQLite file orders them: most rows first, then by model id.
  stats.byModel = [...models.values()].sort((a, b) =>
    b.rows !== a.rows ? b.rows - a.rows : a.model < b.model ? -1 : a.model > b.model ? 1 : 0,
  );
  return stats;
}

/** Writes the entries as the SQLite export does (one `CacheEntry` per line), in SCAN's order. */
async function exportEntries(scan: Scan, stream: Writable, model: string | undefined): Promise<number> {
  const matches = modelMatcher(model);
  let count = 0;
  for await (const keys of scanKeys(scan)) {
    for (const { key, entry } of await readBatch(scan.client, keys)) {
      if (entry === undefined || !matches(entry.model, entry.backend)) continue;
      const line: CacheEntry = {
        key: key.slice(scan.prefix.length),
        requestHash: entry.requestHash,
        backend: entry.backend,
        model: entry.model,
        identity: entry.identity,
        stage: entry.stage,
        createdAt: entry.createdAt,
        response: entry.response,
      };
      count++;
      if (!stream.write(`${JSON.stringify(line)}\n`) && !(await drained(stream))) return count;
    }
  }
  return count;
}

/** Which entries a prune deletes. */
function pruneSelector(options: PruneOptions, nowMs: number): (entry: StoredEntry) => boolean {
  const { olderThanDays } = options;
  if (olderThanDays !== undefined && (!Number.isFinite(olderThanDays) || olderThanDays < 0)) {
    throw new RangeError(`prune: olderThanDays must be a number >= 0, got ${olderThanDays}`);
  }
  if (olderThanDays === undefined && options.model === undefined) {
    if (options.all !== true) throw new RangeError('prune: give olderThanDays, model, or all: true');
    return () => true;
  }
  const cut = olderThanDays !== undefined ? nowMs - olderThanDays * 86_400_000 : undefined;
  const matches = modelMatcher(options.model);
  return (entry) =>
    matches(entry.model, entry.backend) && (cut === undefined || Date.parse(entry.createdAt) < cut);
}

const sumBytes = (entries: readonly ReadEntry[]): number =>
  entries.reduce((sum, { bytes }) => sum + bytes, 0);

/**
 * Deletes the selected entries by UNLINK, a batch per SCAN step; counts the bytes before and after and
 * the entries left. Values under the prefix that are not entries (anything else a user keeps there) are
 * never deleted.
 */
async function pruneEntries(scan: Scan, select: (entry: StoredEntry) => boolean): Promise<StorePruneResult> {
  const result: StorePruneResult = { deleted: 0, rows: 0, bytesBefore: 0, bytesAfter: 0 };
  for await (const keys of scanKeys(scan)) {
    const read = (await readBatch(scan.client, keys)).filter(({ entry }) => entry !== undefined);
    const doomed = read.filter(({ entry }) => select(entry!));
    if (doomed.length > 0) result.deleted += await scan.client.unlink(...doomed.map(({ key }) => key));
    result.rows += read.length - doomed.length;
    result.bytesBefore += sumBytes(read);
    result.bytesAfter += sumBytes(read) - sumBytes(doomed);
  }
  return result;
}
