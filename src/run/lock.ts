/**
 * One run per output: a lock file beside the output (`OUT.lock`) holding the owner's pid, the
 * process's start time and the host. A second run on the same output is refused while the owner
 * lives; a lock whose owner died (kill -9 included) is stale and taken over. A pid reused by another
 * process is told apart by its start time (`/proc/PID/stat`, field 22, on Linux). The lock is removed
 * when the run closes, and by an exit hook should the process exit without closing it (a second
 * Ctrl-C calls `process.exit`).
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { RunError } from './errors.js';

export interface LockOwner {
  pid: number;
  /** The process's start time as the kernel counts it (clock ticks since boot); null where unknown. */
  processStart: string | null;
  host: string;
  startedAt: string;
}

export interface RunLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Field 22 of `/proc/PID/stat` (the start time), or null when it cannot be read (not Linux, no such pid). */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the owner recorded in a lock still runs (on another host: assumed so, it cannot be checked). */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (!pidAlive(owner.pid)) return false;
  if (owner.processStart === null) return true;
  const start = processStartTime(owner.pid);
  return start === null || start === owner.processStart;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    return {
      pid: value.pid,
      processStart: typeof value.processStart === 'string' ? value.processStart : null,
      host: value.host,
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : '?',
    };
  } catch {
    return undefined;
  }
}

async function readOwner(path: string): Promise<{ text: string; owner: LockOwner | undefined } | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return { text, owner: parseOwner(text) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function createExclusive(path: string, text: string): Promise<boolean> {
  try {
    // No fsync: other processes see the page cache, and a lock lost to a power cut is stale anyway.
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Takes a stale lock away: it is moved aside (one process wins the rename), and put back should it
 * turn out to be a fresh lock another process wrote meanwhile.
 */
async function removeStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.${process.pid}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readFile(aside, 'utf8').catch(() => staleText);
  if (moved !== staleText) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/**
 * Takes the lock at `path` for this process, or throws `RunError('locked')` naming the live owner. A
 * lock that cannot be read (empty, not JSON: its writer died while writing it) counts as stale.
 */
export async function acquireRunLock(path: string): Promise<RunLock> {
  await mkdir(dirname(path), { recursive: true });
  const owner: LockOwner = {
    pid: process.pid,
    processStart: processStartTime(process.pid),
    host: hostname(),
    startedAt: new Date().toISOString(),
  };
  const text = `${JSON.stringify(owner)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(path, text)) return heldLock(path, text);
    const found = await readOwner(path);
    if (found === undefined) continue;
    if (found.owner !== undefined && ownerAlive(found.owner)) {
      throw new RunError({
        reason: 'locked',
        lock: path,
        pid: found.owner.pid,
        host: found.owner.host,
        startedAt: found.owner.startedAt,
      });
    }
    await removeStale(path, found.text);
  }
  throw new RunError({ reason: 'locked', lock: path, pid: 0, host: '?', startedAt: '?' });
}

function heldLock(path: string, text: string): RunLock {
  let held = true;
  // A process that exits without closing the run (process.exit on a second Ctrl-C) still frees it.
  const onExit = (): void => {
    if (!held) return;
    held = false;
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.on('exit', onExit);
  return {
    path,
    async release() {
      if (!held) return;
      held = false;
      process.off('exit', onExit);
      const current = await readFile(path, 'utf8').catch(() => undefined);
      if (current === text) await unlink(path).catch(() => undefined);
    },
  };
}
