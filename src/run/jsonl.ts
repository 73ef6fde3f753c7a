/**
 * A durable append-only JSONL file, the storage of run journals (`./journal.ts`).
 * Every line is written with one `write` on a file opened for appending and fsynced before `append`
 * resolves, so after a crash (kill -9, power loss) each line is whole except possibly the last, which
 * `readJsonlLog` ignores and `openJsonlLog` cuts off (given `validBytes`) before appending again.
 */
import { open, readFile, truncate } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../core/errors.js';

export interface JsonlLogOptions {
  /** What the log is called in error messages (`run log`); `log` by default. */
  label?: string;
}

export interface JsonlLogContents {
  /** Parsed whole lines, in file order. */
  lines: unknown[];
  /** Byte length of the whole lines; anything after it is a torn last line. */
  validBytes: number;
  tornBytes: number;
  /** Whole lines that are not JSON (skipped). */
  badLines: number;
}

/** Reads a JSONL log; a missing file reads as empty. A torn (unterminated) last line is ignored. */
export async function readJsonlLog(path: string, options: JsonlLogOptions = {}): Promise<JsonlLogContents> {
  const label = options.label ?? 'log';
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { lines: [], validBytes: 0, tornBytes: 0, badLines: 0 };
    }
    throw new InputError(oneLine(`cannot read ${label} ${path}: ${messageOf(error)}`), { cause: error });
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

const READ_BLOCK = 1 << 20;

/**
 * The whole lines of a JSONL log, parsed, in file order (with their 1-based line numbers), read block by block so that memory holds one
 * block and one line whatever the log's size. A torn (unterminated) last line is ignored, as
 * `readJsonlLog` does; whole lines that are not JSON go to `onBadLine` (with their 1-based number).
 * Unlike `readJsonlLog`, a missing file is an InputError: a log read as a corpus must exist.
 */
export async function* streamJsonlLog(
  path: string,
  options: JsonlLogOptions & { onBadLine?: (line: number) => void } = {},
): AsyncGenerator<{ value: unknown; line: number }> {
  const label = options.label ?? 'log';
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new InputError(oneLine(`cannot read ${label} ${path}: ${messageOf(error)}`), { cause: error });
  }
  try {
    let carry: Buffer = Buffer.alloc(0);
    let lineNumber = 0;
    const block = Buffer.allocUnsafe(READ_BLOCK);
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, READ_BLOCK, null);
      if (bytesRead === 0) break;
      // Copy: the block buffer is reused by the next read.
      const data: Buffer =
        carry.length === 0
          ? Buffer.from(block.subarray(0, bytesRead))
          : Buffer.concat([carry, block.subarray(0, bytesRead)]);
      let start = 0;
      for (let end = data.indexOf(0x0a, start); end !== -1; end = data.indexOf(0x0a, start)) {
        lineNumber++;
        const text = data.toString('utf8', start, end);
        start = end + 1;
        if (text.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(text) as unknown;
        } catch {
          options.onBadLine?.(lineNumber);
          continue;
        }
        yield { value, line: lineNumber };
      }
      carry = data.subarray(start);
    }
  } finally {
    await handle.close();
  }
}

/** An open log: `append` resolves once its line is written whole and fsynced. */
export interface JsonlLogWriter<T = unknown> {
  readonly path: string;
  append(value: T): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens `path` for appending. `validBytes` (from `readJsonlLog`) cuts a torn last line first, so the
 * next line starts on a line of its own.
 */
export async function openJsonlLog<T = unknown>(
  path: string,
  options: JsonlLogOptions & { validBytes?: number } = {},
): Promise<JsonlLogWriter<T>> {
  const label = options.label ?? 'log';
  if (options.validBytes !== undefined) {
    try {
      await truncate(path, options.validBytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const handle = await open(path, 'a');
  // Group commit: lines that arrive while a write+fsync is in progress go out together in the next one.
  // Each append still resolves only after the fsync that covers its line.
  let pending: { data: Buffer; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const data =
          batch.length === 1
            ? (batch[0] as (typeof batch)[number]).data
            : Buffer.concat(batch.map((item) => item.data));
        // One write call per batch: with O_APPEND the lines land whole at the end of the file.
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
      if (closed) return Promise.reject(new Error(`${label} ${path} is closed`));
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
