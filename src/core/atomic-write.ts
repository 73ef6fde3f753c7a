/**
 * Durable file output and friendly file input.
 * Final files are written to a temp file beside the target, fsynced, then renamed over it, so a
 * reader never sees a half-written file and a failed write leaves the old file untouched. Input files
 * are size-checked before they are read.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError, ToolalpacaError, messageOf, oneLine } from './errors.js';

/** A short human reason for a failed write ("no space left on device", ...). */
function describeWriteError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EFBIG':
      return 'file too large (file size limit reached)';
    case 'EROFS':
      return 'read-only file system';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent of this path is not a folder';
    case 'EISDIR':
      return 'is a folder, expected a file';
    default:
      return messageOf(error);
  }
}

/** A temp file beside `path` (same folder, so that rename() stays on one file system and is atomic). */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `path` atomically (temp file in the same folder, fsync, rename). Creates parent folders.
 * Any failure (disk full included) is one line naming `path`, and the old file, if any, is left as it was.
 * `mode` sets the file's permission bits exactly (umask does not apply), e.g. 0o755 for a script.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  try {
    await writeAtomically(path, data, options);
  } catch (error) {
    throw new ToolalpacaError(oneLine(`${path}: cannot write: ${describeWriteError(error)}`), {
      cause: error,
    });
  }
}

async function writeAtomically(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number },
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = tempPathFor(path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temp, 'w', 0o644);
    await handle.writeFile(data);
    if (options.mode !== undefined) await handle.chmod(options.mode);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncFolder(dir);
}

/** Makes a rename in `dir` durable; some platforms cannot open a directory, which is fine to skip. */
async function syncFolder(dir: string): Promise<void> {
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // best effort
  }
}

/**
 * A file written piece by piece into a temp file beside `path`, which `commit` fsyncs and renames over
 * `path` (readers never see a half-written file) and `discard` removes (the target stays as it was).
 * Writes are buffered and go out in large blocks, so memory stays bounded whatever the file's size.
 */
export interface AtomicFileWriter {
  readonly path: string;
  /** Bytes written so far. */
  readonly bytes: number;
  write(text: string): Promise<void>;
  /** Writes what is buffered and renames the temp file over `path`. */
  commit(): Promise<void>;
  /** Removes the temp file; safe to call after a failure, and after commit (then it does nothing). */
  discard(): Promise<void>;
}

const WRITE_BLOCK = 1 << 20;

/** Opens an atomic, buffered writer for `path` (parent folders created). */
export async function openAtomicFileWriter(path: string): Promise<AtomicFileWriter> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = tempPathFor(path);
  const handle = await open(temp, 'w', 0o644);
  let pending: string[] = [];
  let pendingLength = 0;
  let bytes = 0;
  let state: 'open' | 'committed' | 'discarded' = 'open';
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const block = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    pendingLength = 0;
    for (let offset = 0; offset < block.length;) {
      const { bytesWritten } = await handle.write(block, offset, block.length - offset);
      offset += bytesWritten;
    }
  };
  return {
    path,
    get bytes() {
      return bytes;
    },
    async write(text) {
      if (state !== 'open') throw new Error(`${path}: write after the file was ${state}`);
      pending.push(text);
      pendingLength += text.length;
      bytes += Buffer.byteLength(text, 'utf8');
      // A string's length counts UTF-16 units: close enough to bound the buffer.
      if (pendingLength >= WRITE_BLOCK) await flush();
    },
    async commit() {
      if (state !== 'open') throw new Error(`${path}: commit after the file was ${state}`);
      await flush();
      await handle.sync();
      await handle.close();
      await rename(temp, path);
      state = 'committed';
      await syncFolder(dir);
    },
    async discard() {
      if (state !== 'open') return;
      state = 'discarded';
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true }).catch(() => undefined);
    },
  };
}

/** Line and column (both 1-based) of a character offset in `text`. */
export function lineColumnOf(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(position, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * Offset of the first syntax error in `text`, found by a small JSON scanner (Node 20's JSON.parse does
 * not always report a position). `undefined` when the scanner finds no error or gives up (deep nesting).
 */
export function findJsonErrorOffset(text: string): number | undefined {
  let pos = 0;
  const fail = (): never => {
    throw new ScanError(pos);
  };
  const ws = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos] as string)) pos++;
  };
  const literal = (word: string): void => {
    for (const char of word) {
      if (text[pos] !== char) fail();
      pos++;
    }
  };
  const string = (): void => {
    pos++;
    for (;;) {
      if (pos >= text.length) fail();
      const code = text.charCodeAt(pos);
      if (code === 0x22) {
        pos++;
        return;
      }
      if (code < 0x20) fail();
      if (code === 0x5c) {
        pos++;
        const esc = text[pos];
        if (esc === 'u') {
          for (let i = 1; i <= 4; i++) {
            if (!/[0-9a-fA-F]/.test(text[pos + i] ?? '')) {
              pos += i;
              fail();
            }
          }
          pos += 5;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) pos++;
        else fail();
      } else pos++;
    }
  };
  const number = (): void => {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
    match.lastIndex = pos;
    const found = match.exec(text);
    if (found === null || found[0] === '' || found[0] === '-') fail();
    pos += (found as RegExpExecArray)[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 5000) throw new ScanError(-1);
    ws();
    const char = text[pos];
    if (char === '{') {
      pos++;
      ws();
      if (text[pos] === '}') {
        pos++;
        return;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail();
        string();
        ws();
        if (text[pos] !== ':') fail();
        pos++;
        value(depth + 1);
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return;
        } else fail();
      }
    } else if (char === '[') {
      pos++;
      ws();
      if (text[pos] === ']') {
        pos++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return;
        } else fail();
      }
    } else if (char === '"') string();
    else if (char === 't') literal('true');
    else if (char === 'f') literal('false');
    else if (char === 'n') literal('null');
    else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) number();
    else fail();
  };
  try {
    value(0);
    ws();
    if (pos < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof ScanError && error.offset >= 0) return error.offset;
    return undefined;
  }
}

class ScanError extends Error {
  constructor(readonly offset: number) {
    super('JSON syntax error');
  }
}

/**
 * Parses JSON text, turning a syntax error into a one-line InputError that names `label` and the
 * line/column of the problem.
 */
export function parseJsonText(text: string, label: string): unknown {
  // A UTF-8 byte order mark is not JSON but editors write it; accept it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    const message = messageOf(error);
    const reported = /at position (\d+)/.exec(message)?.[1];
    const position = reported !== undefined ? Number(reported) : (findJsonErrorOffset(body) ?? body.length);
    const { line, column } = lineColumnOf(body, position);
    const where =
      position >= body.length
        ? `end of input (line ${line} column ${column})`
        : `line ${line} column ${column} (position ${position})`;
    // V8 messages may quote a snippet of the input ("Unexpected token '}', ...": }" is not valid JSON").
    const reason = oneLine(
      message
        .replace(/^(Unexpected token .+?), .*is not valid JSON$/s, '$1')
        .replace(/\s*\(line \d+ column \d+\)/, '')
        .replace(/ (in JSON )?at position \d+/, ''),
      120,
    );
    throw new InputError(`${label}: invalid JSON at ${where}: ${reason}`, { cause: error });
  }
}

/** Reads and parses a JSON file; a missing/unreadable file or broken JSON becomes a one-line InputError. */
export async function readJsonFile(path: string, label: string = path): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`${label}: ${describeFsError(error)}`, { cause: error });
  }
  return parseJsonText(text, label);
}

/** How much of a file may be read: the limit, and what it is called in the refusal. */
export interface ReadLimit {
  maxBytes: number;
  /** "spec size limit", "tools file size limit"... */
  name: string;
}

/** "20.0 MB"; small sizes (custom limits in tests and tools) in bytes. */
export function formatSize(bytes: number, wholeMb = false): string {
  const mb = bytes / (1024 * 1024);
  if (mb < 0.1) return `${bytes} bytes`;
  return wholeMb && Number.isInteger(mb) ? `${mb} MB` : `${mb.toFixed(1)} MB`;
}

const HEAD_BYTES = 4096;

/**
 * Reads a text file with a size limit checked before reading: a regular file larger than the limit is
 * refused from its size alone; a pipe or device (a FIFO, /dev/zero) is read as a stream and refused as
 * soon as it passes the limit. `limitFor` gets the file's first bytes (up to 4 KiB, as text) and returns
 * the limit that applies, so that a file's kind can raise it; it is asked only when the file could
 * exceed `base`. Errors are one-line `InputError`s naming `label`.
 */
export async function readTextLimited(
  path: string,
  base: ReadLimit,
  limitFor: (head: string) => ReadLimit = () => base,
  label: string = path,
): Promise<string> {
  // A size when the file has one; a stream (pipe, device) is only known to be over the limit.
  const refuse = (size: number | undefined, limit: ReadLimit): InputError => {
    const max = `${formatSize(limit.maxBytes, true)} ${limit.name}`;
    return new InputError(
      size !== undefined
        ? `${label}: ${formatSize(size)} exceeds the ${max}`
        : `${label}: not a regular file, and more than the ${max}; reading stopped there`,
    );
  };
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new InputError(`${label}: ${describeFsError(error)}`, { cause: error });
  }
  if (info.isDirectory()) throw new InputError(`${label}: is a folder, expected a file`);
  try {
    if (info.isFile()) {
      if (info.size > base.maxBytes) {
        const limit = limitFor(await readHead(path));
        if (info.size > limit.maxBytes) throw refuse(info.size, limit);
      }
      return await readFile(path, 'utf8');
    }
    return await readStreamLimited(path, base, limitFor, refuse);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${label}: ${describeFsError(error)}`, { cause: error });
  }
}

async function readHead(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function readStreamLimited(
  path: string,
  base: ReadLimit,
  limitFor: (head: string) => ReadLimit,
  refuse: (size: number | undefined, limit: ReadLimit) => InputError,
): Promise<string> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  const chunks: Buffer[] = [];
  let total = 0;
  let limit: ReadLimit | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total > base.maxBytes) {
        limit ??= limitFor(Buffer.concat(chunks).subarray(0, HEAD_BYTES).toString('utf8'));
        if (total > limit.maxBytes) throw refuse(undefined, limit);
      }
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A short human reason for a file-system error ("file not found", "is a folder", ...). */
export function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'EISDIR':
      return 'is a folder, expected a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent of this path is not a folder';
    default:
      return `cannot read: ${messageOf(error)}`;
  }
}
