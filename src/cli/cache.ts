/**
 * `toolalpaca cache stats|export|prune`: inspect and trim the response cache (src/models/cache.ts).
 * The cache folder is --cache-dir, else TOOLALPACA_CACHE_DIR, else .toolalpaca-cache in the working
 * directory; `--cache-store redis://...` (or `redis`: REDIS_URL) names the cache queue workers share on
 * Redis instead, read with the same figures and formats. A Redis URL's password is never printed.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { Writable } from 'node:stream';
import { InputError, ServiceError, ToolalpacaError, messageOf } from '../core/errors.js';
import {
  cacheDbPath,
  cacheExists,
  openResponseCache,
  resolveCacheDir,
  sqliteResponseStore,
  type InspectableResponseStore,
  type StoreStats,
} from '../models/cache.js';
import { emptyStoreStats } from '../models/cache-store.js';

const CACHE_DIR_HELP = 'response cache folder (default: TOOLALPACA_CACHE_DIR, else .toolalpaca-cache)';
const CACHE_STORE_HELP =
  'the cache queue workers share on Redis: a redis:// or rediss:// URL, or redis (REDIS_URL), as `worker --cache-store` takes it; local (default) is the SQLite file in --cache-dir';

interface StoreFlags {
  cacheDir?: string;
  cacheStore?: string;
}

/** The cache a command reads: the SQLite file (absent: `store` undefined) or the Redis cache. */
interface CacheTarget {
  kind: 'sqlite' | 'redis';
  /** The file path, or the Redis URL without credentials. */
  where: string;
  store?: Pick<InspectableResponseStore, 'stats' | 'export' | 'prune'>;
  close(): Promise<void>;
}

/** The SQLite file, or undefined when the folder holds none (read-only commands never create one). */
function openSqliteTarget(dir: string): CacheTarget {
  const where = cacheDbPath(dir);
  if (!cacheExists(dir)) return { kind: 'sqlite', where, close: () => Promise.resolve() };
  const store = sqliteResponseStore(openResponseCache(dir));
  return { kind: 'sqlite', where, store, close: () => store.close() };
}

/**
 * The Redis cache of `--cache-store`: checked first (one line naming the server, exit 3, when it does
 * not answer); its commands give up on a lost connection instead of waiting for it to come back.
 */
async function openRedisTarget(value: string, env: Record<string, string | undefined>): Promise<CacheTarget> {
  const { checkRedis, parseQueueUrl } = await import('../run/queue/queue-url.js');
  if (value === 'redis' && (env.REDIS_URL === undefined || env.REDIS_URL.trim() === '')) {
    throw new InputError(
      '--cache-store redis: REDIS_URL is not set; give the URL: --cache-store redis://HOST:PORT/DB',
    );
  }
  const location = parseQueueUrl(value === 'redis' ? undefined : value, env, '--cache-store');
  await checkRedis(location, undefined, 'response cache');
  const [{ Redis }, { redisResponseStore }] = await Promise.all([
    import('ioredis'),
    import('../models/cache-redis.js'),
  ]);
  const client = new Redis({ ...location.connection, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const store = redisResponseStore({ client, location: location.display, closeClient: true });
  const password = location.connection.password;
  /** Errors from Redis with the password (if any) masked, whatever they quote. */
  const masked = async <T>(action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      if (password === undefined || password === '' || !messageOf(error).includes(password)) throw error;
      const message = messageOf(error).split(password).join('***');
      throw error instanceof ToolalpacaError && !(error instanceof ServiceError)
        ? new InputError(message)
        : new ServiceError(message);
    }
  };
  return {
    kind: 'redis',
    where: location.display,
    store: {
      stats: () => masked(() => store.stats()),
      export: (stream, filter) => masked(() => store.export(stream, filter)),
      prune: (options) => masked(() => store.prune(options)),
    },
    close: () => store.close(),
  };
}

/** The cache the flags name: `--cache-store` local (or none) is the SQLite file of `--cache-dir`. */
async function openTarget(flags: StoreFlags): Promise<CacheTarget> {
  // Loaded only for Redis: the SQLite commands stay free of the Redis client.
  const choice =
    flags.cacheStore === undefined || flags.cacheStore === 'local'
      ? 'local'
      : (await import('../run/queue/shared-stores.js')).parseCacheStoreChoice(flags.cacheStore);
  if (choice === 'local') return openSqliteTarget(resolveCacheDir(flags.cacheDir));
  if (flags.cacheDir !== undefined) {
    throw new InputError('--cache-dir names a SQLite cache and --cache-store a Redis one: give one of them');
  }
  return openRedisTarget(choice === 'redis' ? 'redis' : choice.url, process.env);
}

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number>,
): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return (
    all
      .map((row) =>
        row
          .map((cell, column) =>
            numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
          )
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

type StatsJson = StoreStats & { exists: boolean };

async function statsJson(target: CacheTarget): Promise<StatsJson> {
  if (target.store === undefined) {
    return { ...emptyStoreStats(target.where), exists: false };
  }
  return { ...(await target.store.stats()), exists: true };
}

function formatStats(stats: StatsJson, kind: CacheTarget['kind']): string {
  if (!stats.exists) return `no response cache at ${stats.path}\n`;
  const stored = kind === 'redis' ? 'in keys and values' : 'on disk';
  let text =
    `cache   ${stats.path}\n` +
    `rows    ${stats.rows}\n` +
    `size    ${humanBytes(stats.bytes)} ${stored}, ${humanBytes(stats.responseBytes)} of responses\n`;
  if (stats.oldest !== null) text += `oldest  ${stats.oldest}\nnewest  ${stats.newest}\n`;
  if (stats.legacyRows > 0) {
    text += `older   ${stats.legacyRows} rows recorded before answers were keyed by endpoint: only replay: reads them\n`;
  }
  if (stats.byModel.length > 0) {
    text +=
      '\n' +
      table(
        ['model', 'rows', 'size', 'newest'],
        stats.byModel.map((m) => [m.model, String(m.rows), humanBytes(m.responseBytes), m.newest]),
        new Set([1, 2]),
      );
  }
  return text;
}

function parseDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const days = Number(value);
  if (value.trim() === '' || !Number.isFinite(days) || days < 0) {
    throw new InputError(`--older-than: expected a number of days >= 0, got "${value}"`);
  }
  return days;
}

/** Streams the export into a temp file beside `out`, then renames it, so `out` is never half-written. */
async function exportToFile(write: (stream: Writable) => Promise<number>, out: string): Promise<number> {
  await mkdir(dirname(out), { recursive: true });
  const temp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const stream = createWriteStream(temp);
  try {
    const count = await write(stream);
    await new Promise<void>((resolveEnd, reject) => {
      stream.once('error', reject);
      stream.end(() => resolveEnd());
    });
    await rename(temp, out);
    return count;
  } catch (error) {
    stream.destroy();
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Runs `body` on the cache the flags name, and closes it. */
async function withTarget<T>(flags: StoreFlags, body: (target: CacheTarget) => Promise<T>): Promise<T> {
  const target = await openTarget(flags);
  try {
    return await body(target);
  } finally {
    await target.close();
  }
}

interface PruneFlags extends StoreFlags {
  olderThan?: string;
  model?: string;
  all?: boolean;
  json?: boolean;
}

async function runPrune(options: PruneFlags): Promise<void> {
  const olderThanDays = parseDays(options.olderThan);
  if (olderThanDays === undefined && options.model === undefined && options.all !== true) {
    throw new InputError('cache prune: give --older-than DAYS, --model SPEC, or --all');
  }
  const { target, result } = await withTarget(options, async (target) => {
    const pruned =
      target.store === undefined
        ? { deleted: 0, rows: 0, bytesBefore: 0, bytesAfter: 0 }
        : await target.store.prune({
            ...(olderThanDays !== undefined ? { olderThanDays } : {}),
            ...(options.model !== undefined ? { model: options.model } : {}),
            all: options.all === true,
          });
    return { target, result: { path: target.where, ...pruned } };
  });
  if (options.json === true) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (target.store === undefined) process.stdout.write(`no response cache at ${result.path}\n`);
  else {
    process.stdout.write(
      `deleted ${result.deleted} responses, ${result.rows} left (${humanBytes(result.bytesBefore)} -> ${humanBytes(result.bytesAfter)})\n`,
    );
  }
}

export function registerCacheCommands(program: Command): void {
  const cache = program
    .command('cache')
    .description('Inspect, export and prune the response cache of model calls.')
    .addHelpText(
      'after',
      `
The cache holds every model answer keyed by backend, model, the endpoint that gave it (the server's
normalised base URL, or the GGUF file's content hash) and the exact request (messages, sampling
parameters, seed). It lives in --cache-dir, else TOOLALPACA_CACHE_DIR, else .toolalpaca-cache in the
working directory. API keys and credentials in URLs are never stored.

--cache-store redis://HOST:PORT/DB (or redis: REDIS_URL) reads the cache queue workers share on Redis
(keys toolalpaca:cache:*) instead: walked with SCAN in batches and deleted with UNLINK, so the workers
using it are not held up. A password in the URL is never printed; an unreachable Redis is one line, exit 3.`,
    );

  cache
    .command('stats')
    .description('Rows, size and age of the response cache, per model.')
    .option('--cache-dir <dir>', CACHE_DIR_HELP)
    .option('--cache-store <where>', CACHE_STORE_HELP)
    .option('--json', 'print the figures as JSON')
    .action(async (options: StoreFlags & { json?: boolean }) => {
      await withTarget(options, async (target) => {
        const stats = await statsJson(target);
        process.stdout.write(
          options.json === true ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats, target.kind),
        );
      });
    });

  cache
    .command('export')
    .description(
      'Write every cached response as JSON lines {key, requestHash, backend, model, identity, stage, createdAt, response} (Redis: in no particular order).',
    )
    .option('--cache-dir <dir>', CACHE_DIR_HELP)
    .option('--cache-store <where>', CACHE_STORE_HELP)
    .option('--out <file>', 'write to this file (written whole or not at all) instead of stdout')
    .option('--model <spec>', 'only this model (e.g. openai:gpt-4o-mini) or backend (openai, llama)')
    .action(async (options: StoreFlags & { out?: string; model?: string }) => {
      await withTarget(options, async ({ store, where }) => {
        if (store === undefined) {
          if (options.out === undefined) {
            process.stderr.write(`no response cache at ${where}\n`);
            return;
          }
          throw new InputError(`no response cache at ${where} (nothing to export)`);
        }
        const filter = options.model !== undefined ? { model: options.model } : {};
        if (options.out !== undefined) {
          const count = await exportToFile((stream) => store.export(stream, filter), options.out);
          process.stderr.write(`exported ${count} responses to ${options.out}\n`);
        } else {
          await store.export(process.stdout, filter);
        }
      });
    });

  cache
    .command('prune')
    .description('Delete cached responses older than some days and/or of one model.')
    .option('--cache-dir <dir>', CACHE_DIR_HELP)
    .option('--cache-store <where>', CACHE_STORE_HELP)
    .option(
      '--older-than <days>',
      'delete responses written more than DAYS days ago (fractions allowed; default any age)',
    )
    .option(
      '--model <spec>',
      'delete responses of this model (e.g. openai:gpt-4o-mini) or backend (openai, llama)',
    )
    .option('--all', 'delete every response (needed when neither --older-than nor --model is given)')
    .option('--json', 'print {path, deleted, rows, bytesBefore, bytesAfter} as JSON')
    .action(runPrune);
}
