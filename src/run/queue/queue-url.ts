/**
 * Where a queue lives: `redis://[USER:PASSWORD@]HOST[:PORT][/DB][?queue=NAME]` (or `rediss://` for
 * TLS), given by the queue option or `REDIS_URL`. The password is only ever handed to the Redis client: what
 * is shown (`display`) never carries credentials.
 */
import { InputError, ServiceError, messageOf, oneLine } from '../../core/errors.js';
import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';

/** The queue's name when the URL does not give one (`?queue=NAME`). */
export const DEFAULT_QUEUE_NAME = 'toolalpaca';

export interface QueueLocation {
  /** Options for ioredis (and BullMQ's `connection`); hold the credentials. */
  connection: RedisOptions;
  /** The BullMQ queue name. */
  name: string;
  /** `redis://HOST:PORT/DB` without credentials, for messages. */
  display: string;
}

/** The queue URL of `value`, else `REDIS_URL`; an InputError (exit 2) when neither is given or it is not a Redis URL. */
export function parseQueueUrl(
  value: string | undefined,
  env: Record<string, string | undefined> = process.env,
  /** What the value is called in messages: the option name here, the flag (`--queue`) in the CLI. */
  flag = 'queue',
): QueueLocation {
  const text = value ?? env.REDIS_URL;
  if (text === undefined || text.trim() === '') {
    throw new InputError(`a queue URL is required: ${flag} redis://HOST:PORT/DB, or REDIS_URL`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text may hold a password: it is not repeated.
    throw new InputError(`${flag}: not a URL; expected redis://HOST:PORT/DB or rediss://HOST:PORT/DB`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InputError(
      `${flag}: unsupported scheme "${url.protocol.replace(/:$/, '')}"; expected redis:// or rediss://`,
    );
  }
  const dbText = url.pathname.replace(/^\/+/, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new InputError(`${flag}: the database must be a number (redis://HOST:PORT/DB), got "${dbText}"`);
  }
  const name = url.searchParams.get('queue') ?? DEFAULT_QUEUE_NAME;
  if (name === '' || name.includes(':')) {
    throw new InputError(`${flag}: the queue name must be non-empty and without ":", got "${name}"`);
  }
  const host = url.hostname === '' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 6379 : Number(url.port);
  const tls = url.protocol === 'rediss:';
  const connection: RedisOptions = {
    host,
    port,
    db,
    ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
    ...(tls ? { tls: { servername: host } } : {}),
    // BullMQ's workers need blocking commands that never give up; the reachability check has its own timeout.
    maxRetriesPerRequest: null,
  };
  const shown = `${url.protocol}//${url.host}/${db}${name !== DEFAULT_QUEUE_NAME ? `?queue=${name}` : ''}`;
  return { connection, name, display: shown };
}

/**
 * Checks that Redis answers (PING within `timeoutMs`); a ServiceError (exit 3) with one line naming the
 * server (never its credentials) otherwise.
 */
export async function checkRedis(location: QueueLocation, timeoutMs = 5_000, what = 'queue'): Promise<void> {
  const client = new Redis({
    ...location.connection,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The listener keeps ioredis from printing errors; the first one says why (refused, DNS, TLS).
  let first: unknown;
  client.on('error', (error: unknown) => (first ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new ServiceError(
      oneLine(`${what} ${location.display} is unavailable: ${redact(messageOf(first ?? error), location)}`),
      { cause: error },
    );
  } finally {
    client.disconnect();
  }
}

/** A plain ioredis client on the queue's Redis (for the project's own keys beside BullMQ's). */
export function redisClient(location: QueueLocation): Redis {
  const client = new Redis({ ...location.connection, maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  return client;
}

/** `message` with the location's password (if any) masked, for errors from the Redis client. */
export function redact(message: string, location: QueueLocation): string {
  const password = location.connection.password;
  return password !== undefined && password !== '' ? message.split(password).join('***') : message;
}
