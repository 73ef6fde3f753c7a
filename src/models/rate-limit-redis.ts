/**
 * Rate limits on Redis, shared by every process that books against the same key (queue workers on
 * several machines calling one endpoint). Each booking is one Lua script, atomic on the server, timed
 * by the server's clock (`TIME`), so machines whose clocks disagree still share one window:
 *
 * - requests per window: the next free start time of the key (`reserveRequest`): a request starts at
 *   the later of now and that time, which moves `intervalMs` on; requests are spaced evenly, as the
 *   local limiter spaces them, so no window of `windowMs` holds more than `rpm` starts;
 * - tokens per window: a sorted set of bookings (id by time) and a hash of their tokens; a booking
 *   fits when the window's tokens plus it stay under the budget (or the window is empty), else the
 *   caller waits until the oldest booking leaves the window.
 *
 * Keys (`toolalpaca:limit:{KEY}:...`, KEY a hash of endpoint and model) expire once their window has
 * passed; they hold no credential.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RateLimitStore } from './rate-limit.js';

/** Prefix of the limits' keys in Redis. */
export const REDIS_LIMIT_PREFIX = 'toolalpaca:limit:';

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** KEYS[1] next free start; ARGV[1] interval ms. Returns the ms to wait. */
const RESERVE_REQUEST = `${NOW}
local interval = tonumber(ARGV[1])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, nextFree)
local following = math.ceil(start + interval)
redis.call('SET', KEYS[1], string.format('%.0f', following), 'PX', math.max(1, math.ceil(following - now)))
return math.ceil(start - now)
`;

/**
 * KEYS[1] bookings by time (zset), KEYS[2] tokens by booking (hash); ARGV tokens, budget, window ms,
 * booking id. Returns 0 when booked, else the ms to wait.
 */
const RESERVE_TOKENS = `${NOW}
local tokens = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local used = 0
for _, id in ipairs(ids) do used = used + (tonumber(redis.call('HGET', KEYS[2], id)) or 0) end
if #ids == 0 or used + tokens <= budget then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[4], tokens)
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[2], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(oldest[2]) + window - now))
`;

/** KEYS[2] tokens by booking; ARGV booking id, tokens. Only a booking still in the window is changed. */
const SETTLE_TOKENS = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 0
`;

export interface RedisRateLimitOptions {
  /** A connected ioredis client; the caller owns it. */
  client: Redis;
  /** The server, without credentials, for messages. */
  location: string;
  /** Key prefix (default `toolalpaca:limit:`). */
  prefix?: string;
}

/** A rate-limit store on Redis; see the module comment. */
export function redisRateLimitStore(options: RedisRateLimitOptions): RateLimitStore {
  const { client } = options;
  const prefix = options.prefix ?? REDIS_LIMIT_PREFIX;
  // Braces: the keys of one budget share a hash slot (Redis Cluster runs a script on one slot only).
  const keys = (key: string) => ({
    next: `${prefix}{${key}}:rpm`,
    bookings: `${prefix}{${key}}:tpm`,
    tokens: `${prefix}{${key}}:tpm-tokens`,
  });
  return {
    location: options.location,
    async reserveRequest(key, intervalMs) {
      const wait = await client.eval(RESERVE_REQUEST, 1, keys(key).next, String(Math.max(1, intervalMs)));
      return Number(wait);
    },
    async reserveTokens(key, tokens, budget, windowMs) {
      const { bookings, tokens: tokenKey } = keys(key);
      const booking = randomUUID();
      const wait = Number(
        await client.eval(
          RESERVE_TOKENS,
          2,
          bookings,
          tokenKey,
          String(tokens),
          String(budget),
          String(windowMs),
          booking,
        ),
      );
      return wait === 0 ? { booking } : { waitMs: wait };
    },
    async settleTokens(key, booking, tokens) {
      const { bookings, tokens: tokenKey } = keys(key);
      await client.eval(SETTLE_TOKENS, 2, bookings, tokenKey, booking, String(tokens));
    },
  };
}
