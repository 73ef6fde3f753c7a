/**
 * Persistent, content-addressed response cache: (backend, model, canonical request) -> ChatResponse,
 * in one SQLite file (better-sqlite3) in WAL mode.
 *
 * Concurrency and crash safety: WAL lets readers and one writer work at once; `busy_timeout` makes a
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
 * Secrets: base URLs are stored without credentials, query or fragment; API keys never reach this file,
 * and responses hold no credentials.
 *
 * What is cached: every successful response whose finishReason is 'stop', 'tool_calls' or 'length'
 * (all three are what the request deterministically asked for: 'length' follows from maxTokens).
 * 'content_filter' and 'other' are treated as anomalies and not stored, so a re-run asks again. Errors
 * are never cached. Calls at any temperature are cached, keyed with their sampling parameters and seed:
 * to draw several samples of one request, vary the seed (or run with --no-cache).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ServiceError, messageOf, oneLine } from '../core/errors.js';
import { canonicalJson } from '../core/json-schema.js';
import {
  identityOf,
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
  type FinishReason,
} from './chat-model.js';
import { ModelCallError } from './model-errors.js';

// The project's one canonical JSON (core/json-schema.ts), re-exported for the cache's users.
export { canonicalJson };

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
/** How long a writer waits for another process's lock before giving up (ms). */
const BUSY_TIMEOUT_MS = 30_000;
/** Bumped when the key derivation changes, so old rows simply stop matching. */
const KEY_VERSION = 2;
/** 1: responses without `identity`; 2: `identity` column and the `file_hashes` table. */
const SCHEMA_VERSION = 2;

const CACHEABLE_FINISH_REASONS: ReadonlySet<FinishReason> = new Set(['stop', 'tool_calls', 'length']);

/** Whether a response is stored (see the file comment for the reasoning). */
export function isCacheable(response: ChatResponse): boolean {
  return CACHEABLE_FINISH_REASONS.has(response.finishReason);
}

// ---------------------------------------------------------------------------------------------------
// Keys

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 (hex) of the canonical request: the same for every backend and model. */
export function requestHash(request: ChatRequest): string {
  return sha256(canonicalJson(request));
}

/**
 * The cache key (sha256 hex) of a request to one model at one endpoint. `model` is the model's id, i.e.
 * its spec (e.g. "openai:gpt-4o-mini"), as `ChatModel.id` gives it; `identity` what tells its answers
 * apart from another server's or file's (the normalised base URL, a GGUF content hash). The request
 * includes sampling parameters and seed; call options (abort signal, stage) are not part of it.
 */
export function cacheKey(backend: string, model: string, request: ChatRequest, identity: string): string {
  return keyOfCanonical(backend, model, identity, canonicalJson(request));
}

/**
 * `sha256(canonicalJson({backend, identity, model, request, v}))` from the request's canonical JSON,
 * written out in sorted key order so that a call canonicalises its request once for both the key and
 * `requestHash`.
 */
function keyOfCanonical(backend: string, model: string, identity: string, canonicalRequest: string): string {
  return sha256(
    `{"backend":${JSON.stringify(backend)},"identity":${JSON.stringify(identity)},"model":${JSON.stringify(model)},"request":${canonicalRequest},"v":${KEY_VERSION}}`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Minimal typing of better-sqlite3 (the package ships no types and @types/better-sqlite3 is not installed)

interface RunResult {
  changes: number;
}
interface Statement<Row> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
  iterate(...params: unknown[]): IterableIterator<Row>;
}
interface Database {
  prepare<Row = unknown>(sql: string): Statement<Row>;
  exec(sql: string): void;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  close(): void;
  readonly open: boolean;
}
type DatabaseConstructor = new (
  file: string,
  options?: { timeout?: number; readonly?: boolean; fileMustExist?: boolean },
) => Database;

const require = createRequire(import.meta.url);
let databaseConstructor: DatabaseConstructor | undefined;
function loadSqlite(): DatabaseConstructor {
  databaseConstructor ??= require('better-sqlite3') as DatabaseConstructor;
  return databaseConstructor;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ---------------------------------------------------------------------------------------------------
// The cache

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

/** Waits for a stream to drain; false when it closed or failed instead (e.g. `| head` closed the pipe). */
function drained(stream: Writable): Promise<boolean> {
  return new Promise((resolveDrain) => {
    const finish = (open: boolean) => () => {
      stream.off('drain', onDrain);
      stream.off('error', onEnd);
      stream.off('close', onEnd);
      resolveDrain(open);
    };
    const onDrain = finish(true);
    const onEnd = finish(false);
    stream.once('drain', onDrain);
    stream.once('error', onEnd);
    stream.once('close', onEnd);
  });
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

function backendOf(modelId: string): string {
  const colon = modelId.indexOf(':');
  return colon > 0 ? modelId.slice(0, colon) : modelId;
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
  const hashGetStmt = db.prepare<{ sha256: string }>(
    'SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ms = ?',
  );
  const hashPutStmt = db.prepare(
    'INSERT OR REPLACE INTO file_hashes (path, size, mtime_ms, sha256) VALUES (?, ?, ?, ?)',
  );
  const hashesInFlight = new Map<string, Promise<string>>();
  let hits = 0;
  let misses = 0;

  const wrapError = (what: string, error: unknown): never => {
    throw new ServiceError(oneLine(`response cache ${path}: ${what} failed: ${messageOf(error)}`), {
      cause: error,
    });
  };
  // A read or write racing a checkpoint or another process's open can still see SQLITE_BUSY after
  // busy_timeout in rare cases (e.g. while another process switches the file to WAL): retry briefly.
  const withBusyRetry = <T>(what: string, action: () => T): T => {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return action();
      } catch (error) {
        if (!isBusy(error) || Date.now() > deadline) return wrapError(what, error);
        sleepSync(Math.min(5 * 2 ** attempt, 100));
      }
    }
  };

  const toEntry = (row: Row): CacheEntry => ({
    key: row.key,
    requestHash: row.request_hash,
    backend: row.backend,
    model: row.model,
    identity: row.identity,
    stage: row.stage,
    createdAt: new Date(row.created_at).toISOString(),
    response: JSON.parse(row.response) as ChatResponse,
  });

  const modelFilter = (model: string | undefined): { sql: string; params: string[] } => {
    if (model === undefined) return { sql: '', params: [] };
    const trimmed = model.endsWith(':') ? model.slice(0, -1) : model;
    return trimmed.includes(':')
      ? { sql: 'model = ?', params: [trimmed] }
      : { sql: 'backend = ?', params: [trimmed] };
  };

  let closed = false;
  const cache: ResponseCache = {
    path,
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
    get(key) {
      const row = withBusyRetry('read', () => getStmt.get(key));
      if (row === undefined) {
        misses++;
        return undefined;
      }
      hits++;
      return JSON.parse(row.response) as ChatResponse;
    },
    put(key, hash, response, meta = {}) {
      const model = meta.model ?? response.model;
      const backend = meta.backend ?? backendOf(model);
      const json = JSON.stringify(response);
      const result = withBusyRetry('write', () =>
        putStmt.run(key, hash, backend, model, meta.identity ?? null, meta.stage ?? null, Date.now(), json),
      );
      return result.changes > 0;
    },
    findByRequest(hash, filter = {}) {
      const row = withBusyRetry('read', () =>
        filter.model === undefined ? byRequestStmt.get(hash) : byRequestAndModelStmt.get(hash, filter.model),
      );
      return row === undefined ? undefined : toEntry(row);
    },
    fileHash(file) {
      const path = resolve(file);
      let pending = hashesInFlight.get(path);
      if (pending === undefined) {
        pending = (async () => {
          const info = await stat(path);
          const remembered = withBusyRetry('read', () => hashGetStmt.get(path, info.size, info.mtimeMs));
          if (remembered !== undefined) return remembered.sha256;
          const digest = await hashFile(path);
          withBusyRetry('write', () => hashPutStmt.run(path, info.size, info.mtimeMs, digest));
          return digest;
        })().finally(() => hashesInFlight.delete(path));
        hashesInFlight.set(path, pending);
      }
      return pending;
    },
    stats() {
      return withBusyRetry('stats', () => {
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
          hits,
          misses,
        };
      });
    },
    async export(stream, filter = {}) {
      const where = modelFilter(filter.model);
      // Pages by rowid (insertion order), so a large cache is never held in memory at once and the
      // connection stays usable by other calls between pages.
      const page = db.prepare<Row & { rowid: number }>(
        `SELECT rowid, * FROM responses WHERE rowid > ? ${where.sql === '' ? '' : `AND ${where.sql}`}
         ORDER BY rowid LIMIT 500`,
      );
      let count = 0;
      let after = 0;
      for (;;) {
        const rows = withBusyRetry('export', () => page.all(after, ...where.params));
        if (rows.length === 0) return count;
        for (const { rowid, ...row } of rows) {
          after = rowid;
          count++;
          if (!stream.write(`${JSON.stringify(toEntry(row))}\n`) && !(await drained(stream))) return count;
        }
      }
    },
    prune(options) {
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
      const deleted = withBusyRetry('prune', () => db.prepare(sql).run(...params).changes);
      if (deleted > 0) {
        // Give the space back; another process holding a read transaction only makes this a no-op.
        try {
          // VACUUM rewrites the database through the WAL: checkpoint afterwards to shrink the files.
          db.exec('VACUUM');
          db.pragma('wal_checkpoint(TRUNCATE)');
        } catch (error) {
          if (!isBusy(error)) throw error;
        }
      }
      return deleted;
    },
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return cache;
}

function openDatabase(path: string): Database {
  const Sqlite = loadSqlite();
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    let db: Database | undefined;
    try {
      db = new Sqlite(path, { timeout: BUSY_TIMEOUT_MS });
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Switching to WAL needs a moment of exclusive access: when several processes create the file at
      // once, the losers see SQLITE_BUSY here and retry below.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal')
        throw new Error(`could not switch to WAL (journal_mode=${String(mode)})`);
      db.pragma('synchronous = NORMAL');
      migrate(db);
      return db;
    } catch (error) {
      db?.close();
      if (!isBusy(error) || Date.now() > deadline) throw error;
      sleepSync(Math.min(10 * 2 ** attempt, 200));
    }
  }
}

/**
 * Creates the tables, or brings a schema-1 cache to schema 2 (one added column, one added table: old
 * rows stay, marked by their NULL identity), in one write transaction so that concurrent openers agree.
 */
function migrate(db: Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `written by a newer toolalpaca (schema ${version}, this version reads ${SCHEMA_VERSION})`,
    );
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    // (BEGIN is outside the try: when it fails there is no transaction to roll back.)
    // Read again under the lock: another process may have migrated meanwhile.
    const current = Number(db.pragma('user_version', { simple: true }));
    if (current < SCHEMA_VERSION) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS responses (
          key TEXT PRIMARY KEY,
          request_hash TEXT NOT NULL,
          backend TEXT NOT NULL,
          model TEXT NOT NULL,
          stage TEXT,
          created_at INTEGER NOT NULL,
          response TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS responses_request_hash ON responses (request_hash);
        CREATE INDEX IF NOT EXISTS responses_model ON responses (model);
        CREATE INDEX IF NOT EXISTS responses_created_at ON responses (created_at);
        CREATE TABLE IF NOT EXISTS file_hashes (
          path TEXT PRIMARY KEY,
          size INTEGER NOT NULL,
          mtime_ms REAL NOT NULL,
          sha256 TEXT NOT NULL
        );
      `);
      const columns = db.prepare<{ name: string }>('PRAGMA table_info(responses)').all();
      if (!columns.some((column) => column.name === 'identity')) {
        db.exec('ALTER TABLE responses ADD COLUMN identity TEXT');
      }
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/** sha256 (hex) of a file's content, read as a stream. */
function hashFile(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolveHash(hash.digest('hex')));
  });
}

// ---------------------------------------------------------------------------------------------------
// The wrapper

export type CachedChatModel = ChatModel & { readonly hits: number; readonly misses: number };

function abortError(model: string, signal: AbortSignal): ModelCallError {
  return new ModelCallError(`${model}: call aborted`, { kind: 'aborted', cause: signal.reason });
}

/**
 * Wraps a model with the cache: a hit answers without calling the model (`cached: true`, `latencyMs` the
 * lookup time, `originalLatencyMs` the recorded call's); a miss calls the model and stores cacheable
 * responses (see `isCacheable`). A failing cache write does not fail the call: it emits one process
 * warning and the response is returned.
 */
export function withCache(
  model: ChatModel,
  cache: ResponseCache,
  wrapOptions: {
    /** Close the cache when the wrapped model is closed (when the caller opened it for this model). */
    closeCache?: boolean;
    /** The endpoint identity in the key (see `cacheKey`); default `endpointOf(model)`. */
    identity?: string;
  } = {},
): CachedChatModel {
  let hits = 0;
  let misses = 0;
  let warned = false;
  const identity = wrapOptions.identity ?? model.endpoint ?? model.id;
  const wrapped: CachedChatModel = {
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
      const key = keyOfCanonical(model.backend, model.id, identity, canonicalRequest);
      const stored = cache.get(key);
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
        try {
          cache.put(key, sha256(canonicalRequest), response, {
            stage: options?.stage,
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
      }
      return response;
    },
    async close() {
      await model.close?.();
      if (wrapOptions.closeCache === true) cache.close();
    },
  };
  return wrapped;
}
