/**
 * Content hashes of model files (a GGUF's identity in the cache key): read as a stream, and remembered
 * so that a multi-gigabyte file is hashed once, not per run (and never per call).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

/** sha256 (hex) of a file's content, read as a stream. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolveHash(hash.digest('hex')));
  });
}

/** Where hashes are remembered, per absolute path, size and mtime. */
export interface FileHashMemory {
  recall(path: string, size: number, mtimeMs: number): string | undefined;
  remember(path: string, size: number, mtimeMs: number, sha256: string): void;
}

/**
 * A `fileHash(path)` that asks `memory` first and hashes the file only when it is new or changed
 * (size or mtime); concurrent calls for one path share one read.
 */
export function rememberedFileHash(memory: FileHashMemory): (file: string) => Promise<string> {
  const inFlight = new Map<string, Promise<string>>();
  return (file) => {
    const path = resolve(file);
    let pending = inFlight.get(path);
    if (pending === undefined) {
      pending = (async () => {
        const info = await stat(path);
        const remembered = memory.recall(path, info.size, info.mtimeMs);
        if (remembered !== undefined) return remembered;
        const digest = await hashFile(path);
        memory.remember(path, info.size, info.mtimeMs, digest);
        return digest;
      })().finally(() => inFlight.delete(path));
      inFlight.set(path, pending);
    }
    return pending;
  };
}

const processMemory = new Map<string, string>();

/**
 * `fileHash` remembered in this process only, for caches that live elsewhere (Redis): a worker hashes
 * its model file once per process.
 */
export const processFileHash = rememberedFileHash({
  recall: (path, size, mtimeMs) => processMemory.get(`${path}\0${size}\0${mtimeMs}`),
  remember: (path, size, mtimeMs, sha256) => void processMemory.set(`${path}\0${size}\0${mtimeMs}`, sha256),
});
