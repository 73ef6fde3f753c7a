/** Paths tests need: the repository root, the shared read-only data, and fresh temp folders. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (this file is test/helpers/paths.ts). */
export const repoRoot: string = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Absolute path of `relPath` under the shared data folder (`../shared/data` from the repo root). */
export function sharedData(relPath: string): string {
  return resolve(repoRoot, '..', 'shared', 'data', relPath);
}

/** A new empty folder under the OS temp dir; callers may delete it, the OS cleans it otherwise. */
export function makeTempDir(prefix = 'toolalpaca-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
