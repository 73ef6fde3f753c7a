/**
 * What a queue's workers share on Redis besides the jobs: the response cache (so that a re-run of a
 * job on any worker costs nothing) and the rate limits (so that `--rpm/--tpm` hold across workers, per
 * endpoint and model). Both live on the queue's Redis by default; the cache may live on another Redis
 * (one with an eviction policy: BullMQ's own Redis must not evict) or stay the worker's SQLite file.
 */
import type { ResponseStore } from '../../models/cache-store.js';
import { redisResponseStore } from '../../models/cache-redis.js';
import type { RateLimitStore } from '../../models/rate-limit.js';
import { redisRateLimitStore } from '../../models/rate-limit-redis.js';
import { checkRedis, parseQueueUrl, redisClient, type QueueLocation } from './queue-url.js';

/** Where a worker's response cache lives: `redis` (the queue's), `local` (its SQLite file), or a Redis URL. */
export type CacheStoreChoice = 'redis' | 'local' | { url: string };

export interface SharedStoresOptions {
  cache: CacheStoreChoice;
  /** Cache entries expire this many seconds after they were written (default never). */
  cacheTtlSeconds?: number;
  env?: Record<string, string | undefined>;
}

export interface SharedStores {
  /** Undefined when the cache stays the worker's own file. */
  cache?: ResponseStore;
  limits: RateLimitStore;
  close(): void;
}

/** `redis`, `local` or a redis:// / rediss:// URL (checked when opened, or first by the CLI). */
export function parseCacheStoreChoice(value: string | undefined): CacheStoreChoice {
  if (value === undefined || value === 'redis') return 'redis';
  if (value === 'local') return 'local';
  // Validated (scheme, database) by parseQueueUrl when opened.
  return { url: value };
}

/**
 * Opens the stores on the queue's Redis (and the cache's, when it is another one: checked first, one
 * line and exit 3 when it does not answer).
 */
export async function openSharedStores(
  location: QueueLocation,
  options: SharedStoresOptions,
): Promise<SharedStores> {
  const clients = [redisClient(location)];
  const limits = redisRateLimitStore({ client: clients[0]!, location: location.display });
  let cache: ResponseStore | undefined;
  if (options.cache !== 'local') {
    let cacheLocation = location;
    if (options.cache !== 'redis') {
      try {
        cacheLocation = parseQueueUrl(options.cache.url, options.env ?? {}, 'cacheStore');
        await checkRedis(cacheLocation, undefined, 'response cache');
      } catch (error) {
        clients[0]!.disconnect();
        throw error;
      }
      clients.push(redisClient(cacheLocation));
    }
    cache = redisResponseStore({
      client: clients[clients.length - 1]!,
      location: cacheLocation.display,
      ...(options.cacheTtlSeconds !== undefined ? { ttlSeconds: options.cacheTtlSeconds } : {}),
    });
  }
  return {
    ...(cache !== undefined ? { cache } : {}),
    limits,
    close: () => {
      for (const client of clients) client.disconnect();
    },
  };
}
