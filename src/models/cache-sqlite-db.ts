/**
 * The SQLite side of the response cache file: a minimal typing of better-sqlite3 (the package ships no
 * types and @types/better-sqlite3 is not installed), opening in WAL mode with a busy timeout, the
 * schema and its migration, and retries of a statement that still meets a lock.
 */
import { createRequire } from 'node:module';
import { ServiceError, messageOf, oneLine } from '../core/errors.js';

interface RunResult {
  changes: number;
}
export interface Statement<Row> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
  iterate(...params: unknown[]): IterableIterator<Row>;
}
export interface Database {
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

/** How long a writer waits for another process's lock before giving up (ms). */
export const BUSY_TIMEOUT_MS = 30_000;
/** 1: responses without `identity`; 2: `identity` column and the `file_hashes` table. */
const SCHEMA_VERSION = 2;

const require = createRequire(import.meta.url);
let databaseConstructor: DatabaseConstructor | undefined;
function loadSqlite(): DatabaseConstructor {
  databaseConstructor ??= require('better-sqlite3') as DatabaseConstructor;
  return databaseConstructor;
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs a statement of the cache at `path`; failures become a one-line ServiceError naming the file. */
export type BusyRetry = <T>(what: string, action: () => T) => T;

/**
 * A read or write racing a checkpoint or another process's open can still see SQLITE_BUSY after
 * busy_timeout in rare cases (e.g. while another process switches the file to WAL): retry briefly.
 */
export function busyRetry(path: string): BusyRetry {
  return <T>(what: string, action: () => T): T => {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return action();
      } catch (error) {
        if (!isBusy(error) || Date.now() > deadline) {
          throw new ServiceError(oneLine(`response cache ${path}: ${what} failed: ${messageOf(error)}`), {
            cause: error,
          });
        }
        sleepSync(Math.min(5 * 2 ** attempt, 100));
      }
    }
  };
}

/** Opens the file in WAL mode and brings its schema up to date; retries while another process holds it. */
export function openDatabase(path: string): Database {
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
    if (current < SCHEMA_VERSION) createSchema(db);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

function createSchema(db: Database): void {
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
