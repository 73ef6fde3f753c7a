/**
 * A streaming scan of one JSON file that reports where values are (byte offsets) without holding the
 * file in memory: the viewer indexes a 50,000-instance corpus by reading it once in 1 MiB windows,
 * keeping for each instance its offset and length (read again on demand) and a few facets.
 *
 * The caller walks the structure it cares about: for each value met, `decide(path)` says whether to
 * descend into it (objects and arrays only), capture its text, note its byte range, or skip it. Skipped
 * and ranged values are never copied; strings are skipped with `indexOf`, so most bytes are not looked at
 * one by one. The scan yields to the event loop every few milliseconds so a server stays responsive while
 * it indexes.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export type PathPart = string | number;

export type ScanDecision = 'descend' | 'capture' | 'range' | 'skip';

export interface ScanHandlers {
  /** Called at the start of every value under a descended container (and for the root). */
  decide(path: readonly PathPart[], kind: 'object' | 'array' | 'scalar'): ScanDecision;
  /** A captured value: its JSON text; `start`/`end` are byte offsets in the file (end exclusive). */
  capture?(path: readonly PathPart[], text: string, start: number, end: number): void;
  /** A ranged value: its byte offsets only. */
  range?(path: readonly PathPart[], start: number, end: number): void;
  /** After a descended container is closed. */
  leave?(path: readonly PathPart[], start: number, end: number): void;
}

export interface ScanOptions {
  /** Start reading here (bytes); default 0. */
  start?: number;
  /** Window size in bytes (default 1 MiB); a value bigger than the window grows it. */
  windowBytes?: number;
  /** Yield to the event loop after this many milliseconds of work (default 8). */
  sliceMs?: number;
  /** Checked at each yield; the scan stops with an AbortError when it is aborted. */
  signal?: AbortSignal;
  /**
   * Awaited after every value of a descended container (not only at the timed yields): a viewer holds
   * indexing here so that the partial state can be shown and tested.
   */
  pause?: () => Promise<void> | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function isDelimiter(byte: number): boolean {
  return byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET || byte === COLON || isSpace(byte);
}

/** A JSON syntax problem at a byte offset. */
export class ScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'ScanError';
  }
}

/** A window over the file that slides forward, keeping the bytes of a value being captured. */
class Window {
  private buffer: Buffer;
  /** File offset of buffer[0]. */
  base: number;
  pos = 0;
  end = 0;
  /** Index in buffer from which bytes must be kept (a capture in progress), or -1. */
  keep = -1;
  private eof = false;

  constructor(
    private readonly fd: number,
    start: number,
    size: number,
  ) {
    this.buffer = Buffer.allocUnsafe(size);
    this.base = start;
  }

  get bytes(): Buffer {
    return this.buffer;
  }

  offset(): number {
    return this.base + this.pos;
  }

  /** Reads more; false at the end of the file. */
  refill(): boolean {
    if (this.eof) return false;
    const from = this.keep >= 0 ? this.keep : Math.min(this.pos, this.end);
    if (from > 0) {
      this.buffer.copy(this.buffer, 0, from, this.end);
      this.end -= from;
      this.pos -= from;
      if (this.keep >= 0) this.keep -= from;
      this.base += from;
    }
    if (this.end === this.buffer.length) {
      const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(bigger, 0, 0, this.end);
      this.buffer = bigger;
    }
    const read = readSync(
      this.fd,
      this.buffer,
      this.end,
      this.buffer.length - this.end,
      this.base + this.end,
    );
    if (read === 0) {
      this.eof = true;
      return false;
    }
    this.end += read;
    return true;
  }

  /** The byte at pos (refilling as needed), or -1 at the end of the file. */
  peek(): number {
    while (this.pos >= this.end) if (!this.refill()) return -1;
    return this.buffer[this.pos] as number;
  }

  skipSpace(): number {
    for (;;) {
      const byte = this.peek();
      if (byte === -1 || !isSpace(byte)) return byte;
      this.pos++;
    }
  }

  /** pos is at an opening quote; moves past the closing one. */
  skipString(): void {
    this.pos++;
    for (;;) {
      while (this.pos >= this.end) {
        if (!this.refill()) throw new ScanError('unterminated string', this.offset());
      }
      const buffer = this.buffer;
      let quote = buffer.indexOf(QUOTE, this.pos);
      if (quote >= this.end) quote = -1;
      const stop = quote === -1 ? this.end : quote;
      const slash = buffer.subarray(this.pos, stop).indexOf(BACKSLASH);
      if (slash !== -1) {
        // Skip the backslash and the character it escapes (which may be in the next window).
        this.pos += slash + 2;
        continue;
      }
      if (quote !== -1) {
        this.pos = quote + 1;
        return;
      }
      this.pos = this.end;
    }
  }

  /** Skips one value of any kind. */
  skipValue(): void {
    const first = this.peek();
    if (first === QUOTE) {
      this.skipString();
      return;
    }
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      if (first === -1) throw new ScanError('unexpected end of file', this.offset());
      const start = this.offset();
      for (;;) {
        const byte = this.peek();
        if (byte === -1 || isDelimiter(byte)) break;
        this.pos++;
      }
      if (this.offset() === start) throw new ScanError('unexpected character', start);
      return;
    }
    let depth = 0;
    for (;;) {
      if (this.pos >= this.end && !this.refill()) {
        throw new ScanError('unexpected end of file', this.offset());
      }
      const byte = this.buffer[this.pos] as number;
      if (byte === QUOTE) {
        this.skipString();
        continue;
      }
      this.pos++;
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return;
      }
    }
  }

  /** pos is at a quote: the decoded string. */
  readString(): string {
    this.keep = this.pos;
    this.skipString();
    const text = this.buffer.toString('utf8', this.keep, this.pos);
    this.keep = -1;
    return JSON.parse(text) as string;
  }
}

const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The walk over one file's values: the handlers' decisions applied, with timed yields. */
class JsonWalk {
  private readonly sliceMs: number;
  private sliceStart = performance.now();

  constructor(
    private readonly window: Window,
    private readonly handlers: ScanHandlers,
    private readonly options: ScanOptions,
  ) {
    this.sliceMs = options.sliceMs ?? 8;
  }

  /** Awaits `pause`, and yields to the event loop once the slice's time is spent (checking the signal). */
  private async maybeYield(): Promise<void> {
    const { pause, signal } = this.options;
    if (pause !== undefined) await pause();
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await yieldNow();
    if (signal?.aborted === true) throw signal.reason ?? new Error('aborted');
    this.sliceStart = performance.now();
  }

  /** One value at `path`: descended into, captured, ranged or skipped as `decide` says. */
  async value(path: PathPart[]): Promise<void> {
    const { window, handlers } = this;
    const first = window.skipSpace();
    if (first === -1) throw new ScanError('unexpected end of file', window.offset());
    const kind = first === OPEN_BRACE ? 'object' : first === OPEN_BRACKET ? 'array' : 'scalar';
    const decision = handlers.decide(path, kind);
    const start = window.offset();
    if (decision === 'descend' && kind !== 'scalar') {
      window.pos++;
      if (kind === 'object') await this.object(path);
      else await this.array(path);
      handlers.leave?.(path, start, window.offset());
      return;
    }
    if (decision === 'capture') {
      window.keep = window.pos;
      window.skipValue();
      const text = window.bytes.toString('utf8', window.keep, window.pos);
      window.keep = -1;
      handlers.capture?.(path, text, start, window.offset());
      return;
    }
    window.skipValue();
    if (decision === 'range') handlers.range?.(path, start, window.offset());
  }

  /** An object's members, after its opening brace; through its closing one. */
  private async object(path: PathPart[]): Promise<void> {
    const { window } = this;
    let byte = window.skipSpace();
    if (byte === CLOSE_BRACE) {
      window.pos++;
      return;
    }
    for (;;) {
      if (byte !== QUOTE) throw new ScanError('expected a key', window.offset());
      const key = window.readString();
      if (window.skipSpace() !== COLON) throw new ScanError('expected ":"', window.offset());
      window.pos++;
      path.push(key);
      await this.value(path);
      path.pop();
      await this.maybeYield();
      byte = window.skipSpace();
      window.pos++;
      if (byte === CLOSE_BRACE) return;
      if (byte !== COMMA) throw new ScanError('expected "," or "}"', window.offset() - 1);
      byte = window.skipSpace();
    }
  }

  /** An array's elements, after its opening bracket; through its closing one. */
  private async array(path: PathPart[]): Promise<void> {
    const { window } = this;
    let byte = window.skipSpace();
    if (byte === CLOSE_BRACKET) {
      window.pos++;
      return;
    }
    for (let index = 0; ; index++) {
      path.push(index);
      await this.value(path);
      path.pop();
      await this.maybeYield();
      byte = window.skipSpace();
      window.pos++;
      if (byte === CLOSE_BRACKET) return;
      if (byte !== COMMA) throw new ScanError('expected "," or "]"', window.offset() - 1);
    }
  }
}

/**
 * Scans `path` from `options.start`, calling the handlers. Resolves when the root value ends; throws a
 * ScanError on malformed JSON (the handlers have been called for everything before it).
 */
export async function scanJsonFile(
  path: string,
  handlers: ScanHandlers,
  options: ScanOptions = {},
): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    const window = new Window(fd, options.start ?? 0, options.windowBytes ?? 1 << 20);
    const walk = new JsonWalk(window, handlers, options);
    // A byte-order mark is not JSON but some editors write one.
    if (window.peek() === 0xef) window.pos += 3;
    await walk.value([]);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `start` of `path` as UTF-8 text. */
export function readSlice(path: string, start: number, end: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < buffer.length) {
      const read = readSync(fd, buffer, done, buffer.length - done, start + done);
      if (read === 0) break;
      done += read;
    }
    return buffer.toString('utf8', 0, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the whole lines of a JSONL file from `start`: `line` gets each non-empty line's text and byte
 * range. Resolves to the offset after the last whole line (a torn last line, still being written or left
 * by a crash, is not reported; a later call from that offset reads it once it is whole).
 */
export async function scanJsonlFile(
  path: string,
  line: (text: string, start: number, end: number) => void,
  options: Pick<ScanOptions, 'start' | 'sliceMs' | 'signal' | 'windowBytes' | 'pause'> = {},
): Promise<number> {
  const fd = openSync(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(options.windowBytes ?? 1 << 20);
    let base = options.start ?? 0;
    let end = 0;
    const sliceMs = options.sliceMs ?? 8;
    let sliceStart = performance.now();
    for (;;) {
      if (end === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, end);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, end, buffer.length - end, base + end);
      if (read === 0) return base;
      end += read;
      let from = 0;
      for (;;) {
        const newline = buffer.indexOf(0x0a, from);
        if (newline === -1 || newline >= end) break;
        const text = buffer.toString('utf8', from, newline);
        if (text.trim() !== '') line(text, base + from, base + newline);
        from = newline + 1;
      }
      buffer.copy(buffer, 0, from, end);
      end -= from;
      base += from;
      if (options.pause !== undefined) await options.pause();
      if (performance.now() - sliceStart >= sliceMs) {
        await yieldNow();
        if (options.signal?.aborted === true) throw options.signal.reason ?? new Error('aborted');
        sliceStart = performance.now();
      }
    }
  } finally {
    closeSync(fd);
  }
}
