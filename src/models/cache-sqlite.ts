/**
 * The response cache in one SQLite file (better-sqlite3) in WAL mode: the machine-local store of the
 * cache port (src/models/cache-store.ts), and what `toolalpaca cache stats|export|prune` and `replay:`
 * read. See src/models/cache.ts for concurrency, identity and what is cached.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ServiceError, messageOf, oneLine } from '../core/errors.js';
import type { ChatResponse } from './chat-model.js';
import { backendOf } from './cache-keys.js';
import { rememberedFileHash } from './cache-file-hash.js';
import { drained } from './cache-lines.js';
import {
  busyRetry,
  isBusy,
  openDatabase,
  type BusyRetry,
  type Database,
  type Statement,
} from './cache-sqlite-db.js';

/** File name of the cache database inside the cache folder. */
export const CACHE_FILE_NAME = 'responses.sqlite';
/** Default cache folder (relative to the working directory). */
export const DEFAULT_CACHE_DIR = '.toolalpaca-cache';

/**
 * The cache folder to use: an explicit `--cache-dir`, else `TOOLALPACA_CACHE_DIR`, else
 * `.toolalpaca-cache` (relative to the working directory).
 */
export function resolveCacheDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  const fromEnv = env.TOOLALPACA_CACHE_DIR;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CACHE_DIR;
}

/** One stored row. */
export interface CacheEntry {
  key: string;
  requestHash: string;
  backend: string;
  model: string;
  /** The endpoint identity the answer came from; null for rows written before it was recorded. */
  identity: string | null;
  stage: string | null;
  /** ISO 8601 time the row was written. */
  createdAt: string;
  response: ChatResponse;
}

export interface CacheModelStats {
  model: string;
  backend: string;
  rows: number;
  /** Bytes of the stored response JSON. */
  responseBytes: number;
  oldest: string;
  newest: string;
}

export interface CacheStats {
  /** Absolute path of the database file. */
  path: string;
  rows: number;
  /** Bytes on disk: database + WAL + shared-memory files. */
  bytes: number;
  /** Bytes of stored response JSON (the payload, without SQLite overhead). */
  responseBytes: number;
  /** Rows written before the endpoint identity was part of the key: only `replay:` reads them. */
  legacyRows: number;
  oldest: string | null;
  newest: string | null;
  byModel: CacheModelStats[];
  /** Lookups made through this handle in this process. */
  hits: number;
  misses: number;
}

export interface PruneOptions {
  /** Delete rows written more than this many days ago (fractions allowed). */
  olderThanDays?: number;
  /** Delete rows of this model id (e.g. "openai:gpt-4o-mini"), or of a whole backend ("openai", "llama"). */
  model?: string;
  /** Required to delete everything when neither filter is given (guards against an accidental wipe). */
  all?: boolean;
}

export interface PutMeta {
  /** Pipeline stage that made the call (informational; not part of the key). */
  stage?: string;
  /** Backend and model id of the row; by default taken from `response.model` ("backend:..."). */
  backend?: string;
  model?: string;
  /** The endpoint identity that is part of the key. */
  identity?: string;
}

export interface ResponseCache {
  /** Absolute path of the SQLite file. */
  readonly path: string;
  /** The stored response for a key (counts a hit or a miss). */
  get(key: string): ChatResponse | undefined;
  /** Stores a response; false when the key was already there (the first write wins). */
  put(key: string, requestHash: string, response: ChatResponse, meta?: PutMeta): boolean;
  /**
   * The most recently stored entry for a request hash, whatever the model (or only `model`'s), for
   * `replay:`. Rows of every schema version are read.
   */
  findByRequest(requestHash: string, filter?: { model?: string }): CacheEntry | undefined;
  /**
   * sha256 (hex) of a file's content, remembered in the cache per absolute path, size and mtime, so a
   * multi-gigabyte model file is hashed once, not per run (and never per call).
   */
  fileHash(path: string): Promise<string>;
  stats(): CacheStats;
  /** Writes every row as one JSON line (`CacheEntry`) in insertion order; resolves to the rows written. */
  export(stream: Writable, filter?: { model?: string }): Promise<number>;
  /** Deletes matching rows and resolves to how many were deleted. */
  prune(options: PruneOptions): number;
  close(): void;
  /** Lookups through this handle in this process. */
  readonly hits: number;
  readonly misses: number;
}

interface Row {
  key: string;
  request_hash: string;
  backend: string;
  model: string;
  identity: string | null;
  stage: string | null;
  created_at: number;
  response: string;
}

/** Path of the database file a cache folder holds. */
export function cacheDbPath(dir: string): string {
  return resolve(join(dir, CACHE_FILE_NAME));
}

/** Whether a cache folder already holds a database (lets read-only commands avoid creating one). */
export function cacheExists(dir: string): boolean {
  return existsSync(cacheDbPath(dir));
}

/**
 * Opens (creating when needed) the cache database in `dir`. Safe to call from several processes at once.
 * Throws a one-line ServiceError naming the file when it cannot be opened.
 */
export function openResponseCache(dir: string): ResponseCache {
  const path = cacheDbPath(dir);
  let db: Database;
  try {
    mkdirSync(resolve(dir), { recursive: true });
    db = openDatabase(path);
  } catch (error) {
    throw new ServiceError(oneLine(`cannot open the response cache ${path}: ${messageOf(error)}`), {
      cause: error,
    });
  }
  const retry = busyRetry(path);
  const rows = rowAccess(db, retry);
  const counts = { hits: 0, misses: 0 };
  let closed = false;
  return {
    path,
    get hits() {
      return counts.hits;
    },
    get misses() {
      return counts.misses;
    },
    get(key) {
      const response = rows.get(key);
      if (response === undefined) counts.misses++;
      else counts.hits++;
      return response;
    },
    put: rows.put,
    findByRequest: rows.findByRequest,
    fileHash: fileHashes(db, retry),
    stats: () => ({ ...readStats(db, retry, path), ...counts }),
    export: (stream, filter = {}) => exportRows(db, retry, stream, filter.model),
    prune: (options) => pruneRows(db, retry, options),
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

/** Reads and writes of single rows, through prepared statements. */
function rowAccess(
  db: Database,
  retry: BusyRetry,
): Pick<ResponseCache, 'put' | 'findByRequest'> & { get(key: string): ChatResponse | undefined } {
  const getStmt = db.prepare<{ response: string }>('SELECT response FROM responses WHERE key = ?');
  const putStmt = db.prepare(
    `INSERT OR IGNORE INTO responses (key, request_hash, backend, model, identity, stage, created_at, response)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byRequestStmt = db.prepare<Row>(
    'SELECT * FROM responses WHERE request_hash = ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
  );
  const byRequestAndModelStmt = db.prepare<Row>(
    `SELECT * FROM responses WHERE request_hash = ? AND model = ?
     ORDER BY created_at DESC, rowid DESC LIMIT 1`,
  );
  return {
    get(key) {
      const row = retry('read', () => getStmt.get(key));
      return row === undefined ? undefined : (JSON.parse(row.response) as ChatResponse);
    },
    put(key, hash, response, meta = {}) {
      const model = meta.model ?? response.model;
      const backend = meta.backend ?? backendOf(model);
      const json = JSON.stringify(response);
      const result = retry('write', () =>
        putStmt.run(key, hash, backend, model, meta.identity ?? null, meta.stage ?? null, Date.now(), json),
      );
      return result.changes > 0;
    },
    findByRequest(hash, filter = {}) {
      const row = retry('read', () =>
        filter.model === undefined ? byRequestStmt.get(hash) : byRequestAndModelStmt.get(hash, filter.model),
      );
      return row === undefined ? undefined : toEntry(row);
    },
  };
}

/** File content hashes remembered in the `file_hashes` table. */
function fileHashes(db: Database, retry: BusyRetry): (path: string) => Promise<string> {
  const getStmt = db.prepare<{ sha256: string }>(
    'SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ms = ?',
  );
  const putStmt = db.prepare(
    'INSERT OR REPLACE INTO file_hashes (path, size, mtime_ms, sha256) VALUES (?, ?, ?, ?)',
  );
  return rememberedFileHash({
    recall: (path, size, mtimeMs) => retry('read', () => getStmt.get(path, size, mtimeMs))?.sha256,
    remember: (path, size, mtimeMs, sha256) =>
      void retry('write', () => putStmt.run(path, size, mtimeMs, sha256)),
  });
}

function toEntry(row: Row): CacheEntry {
  return {
    key: row.key,
    requestHash: row.request_hash,
    backend: row.backend,
    model: row.model,
    identity: row.identity,
    stage: row.stage,
    createdAt: new Date(row.created_at).toISOString(),
    response: JSON.parse(row.response) as ChatResponse,
  };
}

/** A WHERE clause for a model id ("openai:gpt-4o") or a whole backend ("openai"). */
function modelFilter(model: string | undefined): { sql: string; params: string[] } {
  if (model === undefined) return { sql: '', params: [] };
  const trimmed = model.endsWith(':') ? model.slice(0, -1) : model;
  return trimmed.includes(':')
    ? { sql: 'model = ?', params: [trimmed] }
    : { sql: 'backend = ?', params: [trimmed] };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function readStats(db: Database, retry: BusyRetry, path: string): Omit<CacheStats, 'hits' | 'misses'> {
  return retry('stats', () => {
    const total = db
      .prepare<{
        rows: number;
        bytes: number | null;
        legacy: number | null;
        oldest: number | null;
        newest: number | null;
      }>(
        `SELECT count(*) AS rows, sum(length(response)) AS bytes, sum(identity IS NULL) AS legacy,
                min(created_at) AS oldest, max(created_at) AS newest FROM responses`,
      )
      .get() ?? { rows: 0, bytes: 0, legacy: 0, oldest: null, newest: null };
    const byModel = db
      .prepare<{
        model: string;
        backend: string;
        rows: number;
        bytes: number;
        oldest: number;
        newest: number;
      }>(
        `SELECT model, backend, count(*) AS rows, sum(length(response)) AS bytes,
                min(created_at) AS oldest, max(created_at) AS newest
         FROM responses GROUP BY model, backend ORDER BY rows DESC, model`,
      )
      .all();
    return {
      path,
      rows: total.rows,
      bytes: fileSize(path) + fileSize(`${path}-wal`) + fileSize(`${path}-shm`),
      responseBytes: total.bytes ?? 0,
      legacyRows: total.legacy ?? 0,
      oldest: iso(total.oldest),
      newest: iso(total.newest),
      byModel: byModel.map((row) => ({
        model: row.model,
        backend: row.backend,
        rows: row.rows,
        responseBytes: row.bytes,
        oldest: iso(row.oldest) ?? '',
        newest: iso(row.newest) ?? '',
      })),
    };
  });
}

/**
 * Writes the rows as JSON lines, paged by rowid (insertion order), so a large cache is never held in
 * memory at once and the connection stays usable by other calls between pages.
 */
async function exportRows(
  db: Database,
  retry: BusyRetry,
  stream: Writable,
  model: string | undefined,
): Promise<number> {
  const where = modelFilter(model);
  const page: Statement<Row & { rowid: number }> = db.prepare(
    `SELECT rowid, * FROM responses WHERE rowid > ? ${where.sql === '' ? '' : `AND ${where.sql}`}
     ORDER BY rowid LIMIT 500`,
  );
  let count = 0;
  let after = 0;
  for (;;) {
    const rows = retry('export', () => page.all(after, ...where.params));
    if (rows.length === 0) return count;
    for (const { rowid, ...row } of rows) {
      after = rowid;
      count++;
      if (!stream.write(`${JSON.stringify(toEntry(row))}\n`) && !(await drained(stream))) return count;
    }
  }
}

function pruneRows(db: Database, retry: BusyRetry, options: PruneOptions): number {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (options.olderThanDays !== undefined) {
    if (!Number.isFinite(options.olderThanDays) || options.olderThanDays < 0) {
      throw new RangeError(`prune: olderThanDays must be a number >= 0, got ${options.olderThanDays}`);
    }
    clauses.push('created_at < ?');
    params.push(Date.now() - options.olderThanDays * 86_400_000);
  }
  const where = modelFilter(options.model);
  if (where.sql !== '') {
    clauses.push(where.sql);
    params.push(...where.params);
  }
  if (clauses.length === 0 && options.all !== true) {
    throw new RangeError('prune: give olderThanDays, model, or all: true');
  }
  const sql = `DELETE FROM responses${clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : ''}`;
  const deleted = retry('prune', () => db.prepare(sql).run(...params).changes);
  if (deleted > 0) reclaimSpace(db);
  return deleted;
}

/** Gives the space back; another process holding a read transaction only makes this a no-op. */
function reclaimSpace(db: Database): void {
  try {
    // VACUUM rewrites the database through the WAL: checkpoint afterwards to shrink the files.
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    if (!isBusy(error)) throw error;
  }
}
