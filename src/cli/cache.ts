/**
 * `toolalpaca cache stats|export|prune`: inspect and trim the response cache (src/models/cache.ts).
 * The cache folder is --cache-dir, else TOOLALPACA_CACHE_DIR, else .toolalpaca-cache in the working directory.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import {
  cacheDbPath,
  cacheExists,
  openResponseCache,
  resolveCacheDir,
  type CacheStats,
  type ResponseCache,
} from '../models/cache.js';

const CACHE_DIR_HELP = 'response cache folder (default: TOOLALPACA_CACHE_DIR, else .toolalpaca-cache)';

/** Opens the cache, or returns undefined when the folder holds none (read-only commands never create one). */
function openExisting(dir: string): ResponseCache | undefined {
  return cacheExists(dir) ? openResponseCache(dir) : undefined;
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

type StatsJson = Omit<CacheStats, 'hits' | 'misses'> & { exists: boolean };

function statsJson(dir: string, cache: ResponseCache | undefined): StatsJson {
  if (cache === undefined) {
    return {
      path: cacheDbPath(dir),
      exists: false,
      rows: 0,
      bytes: 0,
      responseBytes: 0,
      legacyRows: 0,
      oldest: null,
      newest: null,
      byModel: [],
    };
  }
  // Hits and misses count this process's lookups: meaningless for a command that makes none.
  const { hits: _hits, misses: _misses, ...stats } = cache.stats();
  return { ...stats, exists: true };
}

function formatStats(stats: StatsJson): string {
  if (!stats.exists) return `no response cache at ${stats.path}\n`;
  let text =
    `cache   ${stats.path}\n` +
    `rows    ${stats.rows}\n` +
    `size    ${humanBytes(stats.bytes)} on disk, ${humanBytes(stats.responseBytes)} of responses\n`;
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
async function exportToFile(cache: ResponseCache, out: string, model: string | undefined): Promise<number> {
  await mkdir(dirname(out), { recursive: true });
  const temp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const stream = createWriteStream(temp);
  try {
    const count = await cache.export(stream, model !== undefined ? { model } : {});
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
working directory. API keys and credentials in URLs are never stored.`,
    );

  cache
    .command('stats')
    .description('Rows, size and age of the response cache, per model.')
    .option('--cache-dir <dir>', CACHE_DIR_HELP)
    .option('--json', 'print the figures as JSON')
    .action((options: { cacheDir?: string; json?: boolean }) => {
      const dir = resolveCacheDir(options.cacheDir);
      const opened = openExisting(dir);
      try {
        const stats = statsJson(dir, opened);
        process.stdout.write(
          options.json === true ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats),
        );
      } finally {
        opened?.close();
      }
    });

  cache
    .command('export')
    .description(
      'Write every cached response as JSON lines {key, requestHash, backend, model, stage, createdAt, response}.',
    )
    .option('--cache-dir <dir>', CACHE_DIR_HELP)
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--model <spec>', 'only this model (e.g. openai:gpt-4o-mini) or backend (openai, llama)')
    .action(async (options: { cacheDir?: string; out?: string; model?: string }) => {
      const dir = resolveCacheDir(options.cacheDir);
      const opened = openExisting(dir);
      if (opened === undefined) {
        if (options.out === undefined) {
          process.stderr.write(`no response cache at ${cacheDbPath(dir)}\n`);
          return;
        }
        throw new InputError(`no response cache at ${cacheDbPath(dir)} (nothing to export)`);
      }
      try {
        if (options.out !== undefined) {
          const count = await exportToFile(opened, options.out, options.model);
          process.stderr.write(`exported ${count} responses to ${options.out}\n`);
        } else {
          await opened.export(process.stdout, options.model !== undefined ? { model: options.model } : {});
        }
      } finally {
        opened.close();
      }
    });

  cache
    .command('prune')
    .description('Delete cached responses older than some days and/or of one model.')
    .option('--cache-dir <dir>', CACHE_DIR_HELP)
    .option(
      '--older-than <days>',
      'delete responses written more than DAYS days ago (fractions allowed; default any age)',
    )
    .option(
      '--model <spec>',
      'delete responses of this model (e.g. openai:gpt-4o-mini) or backend (openai, llama)',
    )
    .option('--all', 'delete every response (needed when neither --older-than nor --model is given)')
    .option('--json', 'print {deleted, rows, bytesBefore, bytesAfter} as JSON')
    .action(
      (options: { cacheDir?: string; olderThan?: string; model?: string; all?: boolean; json?: boolean }) => {
        const olderThanDays = parseDays(options.olderThan);
        if (olderThanDays === undefined && options.model === undefined && options.all !== true) {
          throw new InputError('cache prune: give --older-than DAYS, --model SPEC, or --all');
        }
        const dir = resolveCacheDir(options.cacheDir);
        const opened = openExisting(dir);
        let result = { path: cacheDbPath(dir), deleted: 0, rows: 0, bytesBefore: 0, bytesAfter: 0 };
        if (opened !== undefined) {
          try {
            const bytesBefore = opened.stats().bytes;
            const deleted = opened.prune({
              ...(olderThanDays !== undefined ? { olderThanDays } : {}),
              ...(options.model !== undefined ? { model: options.model } : {}),
              all: options.all === true,
            });
            const after = opened.stats();
            result = { path: after.path, deleted, rows: after.rows, bytesBefore, bytesAfter: after.bytes };
          } finally {
            opened.close();
          }
        }
        if (options.json === true) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else if (opened === undefined) process.stdout.write(`no response cache at ${result.path}\n`);
        else {
          process.stdout.write(
            `deleted ${result.deleted} responses, ${result.rows} left (${humanBytes(result.bytesBefore)} -> ${humanBytes(result.bytesAfter)})\n`,
          );
        }
      },
    );
}
