/**
 * A generic append-only JSONL log for resumable runs. The generation run log (`../run-log.ts`) is typed
 * to generation lines, so the toolset build keeps this small untyped twin with the same guarantees:
 * each line is one `write` on a file opened for appending, fsynced before `append` resolves; after a
 * crash every line is whole except possibly the last, which `readJsonlLog` ignores and `openJsonlLog`
 * cuts off (given `validBytes`) before appending again.
 */
import { open, readFile, truncate } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../../core/errors.js';

export interface JsonlLogContents {
  /** Parsed whole lines, in file order. */
  lines: unknown[];
  /** Byte length of the whole lines; anything after it is a torn last line. */
  validBytes: number;
  tornBytes: number;
  /** Whole lines that are not JSON (skipped). */
  badLines: number;
}

/** Reads a JSONL log; a missing file reads as empty. */
export async function readJsonlLog(path: string): Promise<JsonlLogContents> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { lines: [], validBytes: 0, tornBytes: 0, badLines: 0 };
    }
    throw new InputError(oneLine(`cannot read log ${path}: ${messageOf(error)}`), { cause: error });
  }
  const validBytes = buffer.lastIndexOf(0x0a) + 1;
  const contents: JsonlLogContents = {
    lines: [],
    validBytes,
    tornBytes: buffer.length - validBytes,
    badLines: 0,
  };
  for (const line of buffer.subarray(0, validBytes).toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      contents.lines.push(JSON.parse(line) as unknown);
    } catch {
      contents.badLines++;
    }
  }
  return contents;
}

export interface JsonlLogWriter {
  readonly path: string;
  /** Resolves once the line is written whole and fsynced. */
  append(value: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Opens `path` for appending, first cutting it to `validBytes` when given (drops a torn last line). */
export async function openJsonlLog(
  path: string,
  options: { validBytes?: number } = {},
): Promise<JsonlLogWriter> {
  if (options.validBytes !== undefined) {
    try {
      await truncate(path, options.validBytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const handle = await open(path, 'a');
  // Group commit: lines arriving during a write+fsync go out together in the next one.
  let pending: { data: Buffer; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const data = Buffer.concat(batch.map((item) => item.data));
        let offset = 0;
        while (offset < data.length) {
          const { bytesWritten } = await handle.write(data, offset, data.length - offset);
          offset += bytesWritten;
        }
        await handle.datasync();
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    flushing = undefined;
  };
  return {
    path,
    append(value) {
      if (closed) return Promise.reject(new Error(`log ${path} is closed`));
      const data = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
      return new Promise<void>((resolve, reject) => {
        pending.push({ data, resolve, reject });
        flushing ??= flush();
      });
    },
    async close() {
      if (flushing !== undefined) await flushing;
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
