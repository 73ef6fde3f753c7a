/**
 * Corpora past memory. Readers that yield one `{tool, instance}` item at a time — from ToolAlpaca JSON
 * read incrementally, and from a generation journal (the JSONL run log beside a `generate` output) read
 * line by line — and a ToolAlpaca JSON writer that streams into a temp file renamed at the end. Memory
 * holds one tool record, one instance and one read block, whatever the corpus's size.
 *
 * No streaming JSON parser is installed, so the ToolAlpaca reader is a small byte scanner over the two
 * arrays that grow (the top-level array of tools and each tool's `Instances`): it finds where each
 * element starts and ends and hands those bytes to JSON.parse. Everything else of a record (its "head")
 * is parsed whole, as it is small.
 */
import { open, stat } from 'node:fs/promises';
import { openAtomicFileWriter, parseJsonText } from '../core/atomic-write.js';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import {
  InstanceSchema,
  ToolAlpacaRecordSchema,
  type Instance,
  type ToolAlpacaRecord,
} from '../core/toolalpaca-record.js';
import { streamJournal } from '../run/journal.js';

/** One instance of a corpus with the record of its tool. */
export interface CorpusItem {
  /**
   * The tool's record without `Instances`. Items of one tool share this object (readers and writers may
   * rely on identity to group them); treat it as read-only.
   */
  tool: ToolAlpacaRecord;
  instance: Instance;
  /** Position of the instance: its index in the tool's `Instances` (JSON) or its instruction index (journal). */
  index: number;
}

export type CorpusFileKind = 'toolalpaca-json' | 'journal';

const READ_BLOCK = 1 << 20;

// ---------------------------------------------------------------------------------------------------------
// ToolAlpaca JSON, read incrementally
// ---------------------------------------------------------------------------------------------------------

/** Where a record's instances lie in the file: byte offsets [start, end) and the line each starts on. */
interface ScannedRecord {
  /** 0-based position in the top-level array. */
  index: number;
  line: number;
  /** The record's bytes with its `Instances` value replaced by `[]`. */
  head: Buffer[];
  starts: number[];
  ends: number[];
  lines: number[];
}

const enum S {
  TopStart,
  TopFirst,
  TopNext,
  TopAfter,
  TopDone,
  KeyFirst,
  KeyNext,
  Key,
  Colon,
  ValueStart,
  Value,
  RecordAfter,
  InstFirst,
  InstNext,
  Element,
  InstAfter,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * The byte scanner: fed the file block by block, it returns the records whose closing brace it reached.
 * It checks the structure it relies on (arrays, objects, keys, commas); values it skips are checked by
 * JSON.parse when they are parsed.
 */
class ToolAlpacaScanner {
  private state = S.TopStart;
  private single = false;
  private line = 1;
  private recordCount = 0;
  private current: ScannedRecord | undefined;
  /** Where the head capture resumes in the current block, or -1 while inside `Instances`. */
  private headFrom = -1;
  private key: number[] = [];
  private keyIsInstances = false;
  // Skipping a value (or an instance element).
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  private elementStart = 0;
  private elementLine = 0;

  constructor(private readonly label: string) {}

  private fail(what: string): never {
    throw new InputError(`${this.label}: invalid JSON at line ${this.line}: ${what}`);
  }

  private beginRecord(offset: number, blockStart: number): void {
    this.current = {
      index: this.recordCount++,
      line: this.line,
      head: [],
      starts: [],
      ends: [],
      lines: [],
    };
    this.headFrom = offset - blockStart;
    this.state = S.KeyFirst;
  }

  private endRecord(block: Buffer, i: number, done: ScannedRecord[]): void {
    const record = this.current as ScannedRecord;
    record.head.push(Buffer.from(block.subarray(this.headFrom, i + 1)));
    this.headFrom = -1;
    done.push(record);
    this.current = undefined;
    this.state = this.single ? S.TopDone : S.TopAfter;
  }

  /** Skips string bytes from `i`; returns the index after the closing quote, or -1 if the block ends first. */
  private skipString(block: Buffer, i: number): number {
    let at = i;
    if (this.escaped) {
      this.escaped = false;
      at++;
    }
    for (;;) {
      const quote = block.indexOf(QUOTE, at);
      const end = quote === -1 ? block.length : quote;
      let slashes = 0;
      for (let k = end - 1; k >= at && block[k] === BACKSLASH; k--) slashes++;
      if (quote === -1) {
        this.escaped = slashes % 2 === 1;
        return -1;
      }
      if (slashes % 2 === 0) {
        this.inString = false;
        return quote + 1;
      }
      at = quote + 1;
    }
  }

  /**
   * Skips a value from `i` (state Value/Element); returns the index after it, or -1 if the block ends
   * first. A scalar ends at the byte before its delimiter, which is left for the next state.
   */
  private skipValue(block: Buffer, i: number): number {
    let at = i;
    while (at < block.length) {
      if (this.inString) {
        at = this.skipString(block, at);
        if (at === -1) return -1;
        if (this.depth === 0) return at;
        continue;
      }
      const byte = block[at] as number;
      if (this.scalar) {
        if (byte === 0x2c || byte === 0x7d || byte === 0x5d || isSpace(byte)) {
          this.scalar = false;
          return at;
        }
        at++;
        continue;
      }
      if (byte === QUOTE) {
        this.inString = true;
        at++;
      } else if (byte === 0x7b || byte === 0x5b) {
        this.depth++;
        at++;
      } else if (byte === 0x7d || byte === 0x5d) {
        this.depth--;
        at++;
        if (this.depth === 0) return at;
        if (this.depth < 0) this.fail('unbalanced brackets');
      } else if (byte === NEWLINE) {
        this.line++;
        at++;
      } else if (this.depth === 0 && !isSpace(byte)) {
        this.scalar = true;
        at++;
      } else at++;
    }
    return -1;
  }

  private startSkip(): void {
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.scalar = false;
  }

  /** Feeds one block that starts at file offset `blockStart`; returns the records completed in it. */
  feed(block: Buffer, blockStart: number): ScannedRecord[] {
    const done: ScannedRecord[] = [];
    let i = 0;
    while (i < block.length) {
      const byte = block[i] as number;
      switch (this.state) {
        case S.Value:
        case S.Element: {
          const end = this.skipValue(block, i);
          if (end === -1) {
            i = block.length;
            break;
          }
          if (this.state === S.Element) {
            const record = this.current as ScannedRecord;
            record.starts.push(this.elementStart);
            record.ends.push(blockStart + end);
            record.lines.push(this.elementLine);
            this.state = S.InstAfter;
          } else this.state = S.RecordAfter;
          i = end;
          break;
        }
        case S.Key: {
          const end = this.skipString(block, i);
          const stop = end === -1 ? block.length : end - 1;
          for (let k = i; k < stop; k++) this.key.push(block[k] as number);
          if (end === -1) {
            i = block.length;
            break;
          }
          this.keyIsInstances = Buffer.from(this.key).toString('utf8') === 'Instances';
          this.state = S.Colon;
          i = end;
          break;
        }
        default: {
          if (isSpace(byte)) {
            if (byte === NEWLINE) this.line++;
            i++;
            break;
          }
          this.structural(byte, block, i, blockStart, done);
          i++;
        }
      }
    }
    if (this.current !== undefined && this.headFrom >= 0) {
      this.current.head.push(Buffer.from(block.subarray(this.headFrom)));
      this.headFrom = 0;
    }
    return done;
  }

  /**
   * One non-space byte outside strings and skipped values, handed to the states of its level: the top
   * array, a tool record's keys and values, or its instances. (Plain method calls: this runs per byte.)
   */
  private structural(
    byte: number,
    block: Buffer,
    i: number,
    blockStart: number,
    done: ScannedRecord[],
  ): void {
    switch (this.state) {
      case S.TopStart:
      case S.TopFirst:
      case S.TopNext:
      case S.TopAfter:
      case S.TopDone:
        this.topLevel(byte, i, blockStart);
        return;
      case S.KeyFirst:
      case S.KeyNext:
      case S.Colon:
      case S.ValueStart:
      case S.RecordAfter:
        this.inRecord(byte, block, i, done);
        return;
      case S.InstFirst:
      case S.InstNext:
      case S.InstAfter:
        this.inInstances(byte, i, blockStart);
        return;
      default:
        this.fail('unexpected character');
    }
  }

  /** The top level: one record object, or an array of them. */
  private topLevel(byte: number, i: number, blockStart: number): void {
    switch (this.state) {
      case S.TopStart:
        if (byte === 0x5b) this.state = S.TopFirst;
        else if (byte === 0x7b) {
          this.single = true;
          this.beginRecord(blockStart + i, blockStart);
        } else this.fail('expected a JSON array of ToolAlpaca records or one record object');
        return;
      case S.TopFirst:
      case S.TopNext:
        if (byte === 0x7b) this.beginRecord(blockStart + i, blockStart);
        else if (byte === 0x5d && this.state === S.TopFirst) this.state = S.TopDone;
        else this.fail('expected a tool record (an object)');
        return;
      case S.TopAfter:
        if (byte === 0x2c) this.state = S.TopNext;
        else if (byte === 0x5d) this.state = S.TopDone;
        else this.fail("expected ',' or ']' after a tool record");
        return;
      default:
        this.fail('unexpected text after the end of the JSON value');
    }
  }

  /** Inside a tool record: keys, colons, the start of a value, the comma or brace after it. */
  private inRecord(byte: number, block: Buffer, i: number, done: ScannedRecord[]): void {
    switch (this.state) {
      case S.KeyFirst:
      case S.KeyNext:
        if (byte === QUOTE) {
          this.key = [];
          this.inString = true;
          this.escaped = false;
          this.state = S.Key;
        } else if (byte === 0x7d && this.state === S.KeyFirst) this.endRecord(block, i, done);
        else this.fail('expected a key in a tool record');
        return;
      case S.Colon:
        if (byte === 0x3a) this.state = S.ValueStart;
        else this.fail("expected ':' after a key");
        return;
      case S.ValueStart:
        if (this.keyIsInstances && byte === 0x5b) {
          // The head gets an empty array where the instances were; they are read by offset.
          const record = this.current as ScannedRecord;
          record.head.push(Buffer.from(block.subarray(this.headFrom, i)), Buffer.from('[]'));
          this.headFrom = -1;
          this.state = S.InstFirst;
          return;
        }
        this.startSkip();
        this.state = S.Value;
        // Re-scan this byte as the value's first.
        this.scalarOrContainer(byte);
        return;
      default:
        if (byte === 0x2c) this.state = S.KeyNext;
        else if (byte === 0x7d) this.endRecord(block, i, done);
        else this.fail("expected ',' or '}' in a tool record");
    }
  }

  /** Inside a record's `Instances` array: where each element starts, the comma or bracket after it. */
  private inInstances(byte: number, i: number, blockStart: number): void {
    if (this.state === S.InstAfter) {
      if (byte === 0x2c) this.state = S.InstNext;
      else if (byte === 0x5d) this.instancesEnd(i);
      else this.fail("expected ',' or ']' between instances");
      return;
    }
    if (byte === 0x5d && this.state === S.InstFirst) {
      this.instancesEnd(i);
      return;
    }
    this.startSkip();
    this.elementStart = blockStart + i;
    this.elementLine = this.line;
    this.state = S.Element;
    this.scalarOrContainer(byte);
  }

  /** The first byte of a skipped value, already consumed by the caller. */
  private scalarOrContainer(byte: number): void {
    if (byte === QUOTE) {
      this.inString = true;
      this.depth = 0;
    } else if (byte === 0x7b || byte === 0x5b) this.depth = 1;
    else if (byte === 0x7d || byte === 0x5d || byte === 0x2c) this.fail('expected a value');
    else this.scalar = true;
    // A string or container value that ends in this block is finished by skipValue; a one-byte scalar
    // ends at its delimiter.
  }

  private instancesEnd(i: number): void {
    this.headFrom = i + 1;
    this.state = S.RecordAfter;
  }

  /** Checks that the file ended where a JSON value can end. */
  finish(): void {
    if (this.state === S.TopDone) return;
    if (this.state === S.TopStart)
      this.fail('empty file, expected a JSON array of ToolAlpaca records or one record object');
    this.fail('unexpected end of file');
  }
}

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function recordName(value: unknown): string | undefined {
  const name = (value as { Name?: unknown } | null)?.Name;
  return typeof name === 'string' ? name : undefined;
}

function recordHead(value: unknown, where: string): ToolAlpacaRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InputError(`${where}: expected an object with a "Name"`);
  const result = ToolAlpacaRecordSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue === undefined ? '' : issuePath(issue.path);
    throw new InputError(
      `${where}: field ${field === '' ? '(record)' : `"${field}"`}: ${issue?.message ?? 'invalid'}`,
    );
  }
  // The input object, not zod's copy, so that key order survives; drop the placeholder instances.
  const record = value as ToolAlpacaRecord;
  delete record.Instances;
  return record;
}

function instanceOf(value: unknown, where: string): Instance {
  const result = InstanceSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue === undefined ? '' : issuePath(issue.path);
    throw new InputError(
      `${where}: ${field === '' ? '' : `field "${field}": `}${issue?.message ?? 'not an instance'}`,
    );
  }
  return value as Instance;
}

async function openForReading(path: string, what: string): Promise<Awaited<ReturnType<typeof open>>> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new InputError(`${path}: is a folder, expected a ${what} file`);
    return await open(path, 'r');
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(oneLine(`cannot read ${what} ${path}: ${messageOf(error)}`), { cause: error });
  }
}

export interface ToolAlpacaStreamOptions {
  /** Bytes read at a time (1 MiB); tests use tiny blocks to cross every boundary. */
  blockSize?: number;
}

/**
 * The tool records of a ToolAlpaca JSON file (an array of records, or one record object), each without
 * its `Instances`, read incrementally. Errors name the file, the record and the line.
 */
export async function* readToolAlpacaRecordsStream(
  path: string,
  options: ToolAlpacaStreamOptions = {},
): AsyncGenerator<ToolAlpacaRecord> {
  for await (const entry of scanToolAlpaca(path, { ...options, headsOnly: true })) yield entry.tool;
}

/**
 * Every instance of a ToolAlpaca JSON file (an array of records, or one record object) with its tool's
 * record, read incrementally: memory holds one record and one read block. Tools without instances yield
 * nothing. Errors name the file, the record (index and name), the instance and the line.
 */
export async function* readToolAlpacaStream(
  path: string,
  options: ToolAlpacaStreamOptions = {},
): AsyncGenerator<CorpusItem> {
  for await (const entry of scanToolAlpaca(path, options)) {
    if (entry.instance !== undefined) yield entry as CorpusItem;
  }
}

/**
 * Every tool record of a ToolAlpaca JSON file in order, each with its instances: an entry per instance,
 * and one entry without `instance` for a tool that has none (a rewriter such as `verify` keeps it).
 */
export async function* readToolAlpacaEntriesStream(
  path: string,
  options: ToolAlpacaStreamOptions = {},
): AsyncGenerator<{ tool: ToolAlpacaRecord; instance?: Instance; index: number }> {
  yield* scanToolAlpaca(path, { ...options, emptyTools: true });
}

async function* scanToolAlpaca(
  path: string,
  options: ToolAlpacaStreamOptions & { headsOnly?: boolean; emptyTools?: boolean },
): AsyncGenerator<{ tool: ToolAlpacaRecord; instance?: Instance; index: number }> {
  const blockSize = options.blockSize ?? READ_BLOCK;
  const handle = await openForReading(path, 'corpus');
  try {
    const scanner = new ToolAlpacaScanner(path);
    const block = Buffer.allocUnsafe(blockSize);
    let window = Buffer.alloc(0);
    let windowStart = 0;
    // A UTF-8 byte order mark is not JSON but editors write it: start after it.
    const bom = Buffer.alloc(3);
    await handle.read(bom, 0, 3, 0);
    let position = bom[0] === 0xef && bom[1] === 0xbb && bom[2] === 0xbf ? 3 : 0;
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, blockSize, position);
      if (bytesRead === 0) break;
      const records = scanner.feed(block.subarray(0, bytesRead), position);
      position += bytesRead;
      for (const scanned of records) {
        const where = `${path}: record ${scanned.index} (line ${scanned.line})`;
        const head = recordHead(parseJsonText(Buffer.concat(scanned.head).toString('utf8'), where), where);
        const label = `${path}: record ${scanned.index} ("${recordName(head) ?? '?'}")`;
        if (options.headsOnly === true || (options.emptyTools === true && scanned.starts.length === 0)) {
          yield { tool: head, index: scanned.index };
          continue;
        }
        for (let k = 0; k < scanned.starts.length; k++) {
          const start = scanned.starts[k] as number;
          const end = scanned.ends[k] as number;
          if (start < windowStart || end > windowStart + window.length) {
            // Read a window from this instance on (instances are usually read from the page cache).
            const length = Math.max(blockSize, end - start);
            window = Buffer.allocUnsafe(length);
            const { bytesRead: got } = await handle.read(window, 0, length, start);
            window = window.subarray(0, got);
            windowStart = start;
          }
          const where = `${label} instance ${k} (line ${scanned.lines[k] as number})`;
          const text = window.toString('utf8', start - windowStart, end - windowStart);
          yield { tool: head, instance: instanceOf(parseJsonText(text, where), where), index: k };
        }
      }
    }
    scanner.finish();
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Generation journal (JSONL)
// ---------------------------------------------------------------------------------------------------------

/** A 53-bit hash of `text`: sets of these stand in for sets of long strings (ids, dedupe keys). */
export function hashKey(text: string): number {
  let h1 = 0x9e3779b1 ^ text.length;
  let h2 = 0x85ebca6b ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x85ebca77);
    h2 = Math.imul(h2 ^ c, 0xc2b2ae3d);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x27d4eb2f) ^ Math.imul(h2 ^ (h2 >>> 13), 0x165667b1);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x27d4eb2f) ^ Math.imul(h1 ^ (h1 >>> 13), 0x165667b1);
  return (h2 >>> 0) * 0x200000 + ((h1 >>> 0) >>> 11);
}

/** The journal note holding a tool's record in a generation run (written by `generate`). */
export function toolNoteKey(tool: string): string {
  return `tool:${tool}`;
}

/** The journal note holding the instructions a generation run generated for a tool. */
export function instructionsNoteKey(tool: string): string {
  return `instructions:${tool}`;
}

/** The output of an episode task as journals record it (generation and evaluation runs). */
interface EpisodeOutput {
  tool: string;
  index: number;
  instance: Instance;
}

function isEpisodeOutput(value: unknown): value is EpisodeOutput {
  const output = value as Partial<EpisodeOutput> | null;
  return (
    typeof output === 'object' &&
    output !== null &&
    typeof output.tool === 'string' &&
    typeof output.instance === 'object' &&
    output.instance !== null
  );
}

/** What the first lines of a journal say: its header, and whether it carries tool records. */
export interface JournalSummary {
  kind: string;
  version: number;
  /** Where the run's inputs and outputs were (`tools`, `out`), when the journal records it. */
  context: Record<string, unknown>;
  hasToolNotes: boolean;
}

/** Reads a journal's header and its notes up to the first task line. */
export async function journalSummary(path: string): Promise<JournalSummary> {
  await (await openForReading(path, 'journal')).close();
  let summary: JournalSummary | undefined;
  for await (const { line } of streamJournal(path)) {
    if (line.type === 'header') {
      summary = { kind: line.kind, version: line.version, context: line.context ?? {}, hasToolNotes: false };
      continue;
    }
    if (summary === undefined) break;
    if (line.type === 'note' && line.key.startsWith(toolNoteKey(''))) {
      summary.hasToolNotes = true;
      break;
    }
    if (line.type === 'task') break;
  }
  if (summary === undefined)
    throw new InputError(`${path}: not a run journal (its first line is not a header)`);
  return summary;
}

export interface JournalStreamOptions {
  /**
   * Records of tools the journal has no note for (journals written before tool notes existed), by name;
   * e.g. read from the run's ToolAlpaca output with `readToolAlpacaRecordsStream`.
   */
  tools?: ReadonlyMap<string, ToolAlpacaRecord>;
  /** Called with the number of each line that is not a journal line (skipped). */
  onBadLine?: (line: number) => void;
}

/**
 * Every finished instance of a generation journal (`OUT.json.log.jsonl`) with its tool's record, in the
 * order the instances finished, read through the run engine's own journal reader (the line format lives
 * there). A failed instance carries `status: 'failed'` and `failure`, as in the run's JSON output. When an
 * instance was run again (a retried failure), its last line wins, as for the engine: a first pass keeps
 * the line number of each instance's last line (one number per instance) and the tool records, a second
 * yields. Memory holds the tool records and two numbers per instance.
 */
export async function* readJournalStream(
  path: string,
  options: JournalStreamOptions = {},
): AsyncGenerator<CorpusItem> {
  const summary = await journalSummary(path);
  if (summary.kind !== 'generate' && summary.kind !== 'eval-run') {
    throw new InputError(
      `${path}: a journal of a ${summary.kind} run, not of instances (generate or eval run)`,
    );
  }
  const notes = new Map<string, unknown>();
  const last = new Map<number, number>();
  for await (const { line, number } of streamJournal(path)) {
    if (line.type === 'note') notes.set(line.key, line.value);
    else if (line.type === 'task') last.set(hashKey(line.id), number);
  }
  const tools = new Map<string, ToolAlpacaRecord>();
  const toolOf = (name: string, where: string): ToolAlpacaRecord => {
    let tool = tools.get(name);
    if (tool !== undefined) return tool;
    const noted = notes.get(toolNoteKey(name)) as ToolAlpacaRecord | undefined;
    const known = noted ?? options.tools?.get(name);
    if (known === undefined) {
      throw new InputError(
        `${where}: an instance of tool "${name}", whose record is neither in the journal nor in the run's tools`,
      );
    }
    const { Instances: dropped, ...rest } = known;
    void dropped;
    const logged = notes.get(instructionsNoteKey(name));
    tool = (
      (rest.Instructions ?? []).length === 0 && Array.isArray(logged)
        ? { ...rest, Instructions: logged }
        : rest
    ) as ToolAlpacaRecord;
    tool = recordHead(tool, `${path}: the record of tool "${name}"`);
    tools.set(name, tool);
    return tool;
  };
  for await (const { line, number } of streamJournal(
    path,
    options.onBadLine ? { onBadLine: options.onBadLine } : {},
  )) {
    if (line.type !== 'task' || last.get(hashKey(line.id)) !== number) continue;
    const where = `${path}: line ${number}`;
    if (!isEpisodeOutput(line.output)) throw new InputError(`${where}: task "${line.id}" holds no instance`);
    const output = line.output;
    // A failed instance is marked as the run's ToolAlpaca output marks it.
    const instance =
      line.status === 'completed'
        ? output.instance
        : { ...output.instance, status: 'failed', failure: line.failure };
    yield {
      tool: toolOf(output.tool, where),
      instance: instanceOf(instance, where),
      index: typeof output.index === 'number' ? output.index : 0,
    };
  }
}

/**
 * What a corpus file is: a generation journal when its first line is a run log header (or its name ends
 * in `.jsonl`), ToolAlpaca JSON otherwise.
 */
export async function corpusFileKind(path: string): Promise<CorpusFileKind> {
  if (path.endsWith('.jsonl')) return 'journal';
  const handle = await openForReading(path, 'corpus');
  try {
    const head = Buffer.allocUnsafe(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head
      .toString('utf8', 0, bytesRead)
      .replace(/^\uFEFF/, '')
      .trimStart();
    return /^\{\s*"type"\s*:\s*"header"/.test(text) ? 'journal' : 'toolalpaca-json';
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// ToolAlpaca JSON, written by streaming
// ---------------------------------------------------------------------------------------------------------

/**
 * A ToolAlpaca JSON file written tool by tool and instance by instance into a temp file, renamed over the
 * target by `close` (a reader never sees a half-written corpus; `abort` leaves the target as it was).
 * The bytes are those of `JSON.stringify(records, null, 4)`, ToolAlpaca's own layout.
 */
export interface ToolAlpacaStreamWriter {
  /** Starts the next tool; its `Instances` are ignored (instances come through `instance`). */
  tool(record: ToolAlpacaRecord): Promise<void>;
  /** Adds an instance to the current tool. */
  instance(instance: Instance): Promise<void>;
  /** Ends the file and renames it over the target. */
  close(): Promise<void>;
  /** Removes the temp file. */
  abort(): Promise<void>;
}

const INSTANCES_SLOT = '\u0000instances\u0000';

function indentLines(text: string, indent: string): string {
  return text.replace(/\n/g, `\n${indent}`);
}

export async function openToolAlpacaWriter(path: string): Promise<ToolAlpacaStreamWriter> {
  const file = await openAtomicFileWriter(path);
  let tools = 0;
  /** The current record's text after its instances (closing lines), or undefined between tools. */
  let tail: string | undefined;
  let instances = 0;
  const endTool = async (): Promise<void> => {
    if (tail === undefined) return;
    await file.write(instances === 0 ? `[]${tail}` : `\n        ]${tail}`);
    tail = undefined;
  };
  return {
    async tool(record) {
      await endTool();
      // The record's own layout, with a marker where its Instances go (last when it has none).
      const text = JSON.stringify({ ...record, Instances: INSTANCES_SLOT }, null, 4);
      const slot = JSON.stringify(INSTANCES_SLOT);
      const at = text.indexOf(slot);
      await file.write(`${tools === 0 ? '[\n    ' : ',\n    '}${indentLines(text.slice(0, at), '    ')}`);
      tail = indentLines(text.slice(at + slot.length), '    ');
      tools++;
      instances = 0;
    },
    async instance(instance) {
      if (tail === undefined) throw new Error(`${path}: an instance before any tool`);
      const text = indentLines(JSON.stringify(instance, null, 4), '            ');
      await file.write(`${instances === 0 ? '[\n            ' : ',\n            '}${text}`);
      instances++;
    },
    async close() {
      await endTool();
      await file.write(tools === 0 ? '[]' : '\n]');
      await file.commit();
    },
    abort: () => file.discard(),
  };
}
