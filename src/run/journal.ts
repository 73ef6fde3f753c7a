/**
 * The journal of a durable run (`OUT.log.jsonl`): an append-only JSONL file of fsynced lines
 * (`./jsonl.ts`).
 *
 * - `header` (first line): the run's kind, the journal version and every parameter that changes a
 *   task's result. A resume compares them and refuses any difference, naming the parameters.
 * - `task`: one finished task, completed or failed, with its output (plain JSON). A task that is run
 *   again (a retried failure) gets a new line: for one id the **last line wins**, and readers never
 *   see an id twice.
 * - `note`: a value the run keeps beside its tasks (the instructions a generation run generated);
 *   the last note of a key wins.
 * - `end`: the run assembled its final files (`complete` when no task was left out); a resumed run
 *   appends tasks after it and another end line.
 *
 * After a crash each line is whole except possibly the last, which readers ignore and `openJournal`
 * cuts off before appending. Journals of toolalpaca 0.1 (version 1: generation, toolset build and judge
 * logs) are read for viewing, with their lines mapped to tasks, but never resumed: they do not record
 * every parameter.
 */
import { rm } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { RunError, type ParameterChange } from './errors.js';
import { openJsonlLog, readJsonlLog, streamJsonlLog, type JsonlLogWriter } from './jsonl.js';
import type { TaskCalls, TaskFailure, TaskStatus } from './task.js';

export const JOURNAL_VERSION = 2;

export interface JournalHeader<P = Record<string, unknown>> {
  type: 'header';
  kind: string;
  version: number;
  /** Compared on resume: every parameter that changes a task's result. */
  parameters: P;
  /** Recorded, not compared: where the inputs and outputs are (paths...). */
  context?: Record<string, unknown>;
  startedAt: string;
}

export interface JournalTask<O = unknown> {
  type: 'task';
  id: string;
  status: TaskStatus;
  failure?: TaskFailure;
  output: O;
  /** The model calls counted outside the run's ledger (a queue worker's); see `TaskResult.calls`. */
  calls?: TaskCalls;
  finishedAt: string;
}

export interface JournalNote {
  type: 'note';
  key: string;
  value: unknown;
}

export interface JournalEnd {
  type: 'end';
  /** Every planned task finished (none interrupted, cut or left out). */
  complete: boolean;
  tasks: number;
  finishedAt: string;
}

export type JournalLine<O = unknown> = JournalHeader | JournalTask<O> | JournalNote | JournalEnd;

export interface JournalContents<O = unknown, P = Record<string, unknown>> {
  header?: JournalHeader<P>;
  /** Finished tasks by id, in the order their ids first appeared; the last line of an id wins. */
  tasks: Map<string, JournalTask<O>>;
  notes: Map<string, unknown>;
  /** Task lines replaced by a later line of the same id (retried tasks). */
  superseded: number;
  /** The `calls` of every task line (superseded ones included), summed per stage and model. */
  calls: TaskCalls;
  /** The last end line, unless tasks were appended after it. */
  ended?: JournalEnd;
  /** Byte length of the whole lines; anything after it is a torn last line. */
  validBytes: number;
  tornBytes: number;
  /** Whole lines that are not JSON or not understood (skipped). */
  badLines: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A version-1 line (toolalpaca 0.1) as today's line, for reading only. */
function legacyLine(entry: Record<string, unknown>, first: boolean): JournalLine | undefined {
  if (entry.type === 'header' && first) {
    const judge = typeof entry.judge === 'string';
    const { type: _type, startedAt, version, ...rest } = entry;
    return {
      type: 'header',
      kind: judge ? 'judge' : 'generate',
      version: typeof version === 'number' ? version : 1,
      parameters: (judge ? rest : (entry.parameters ?? {})) as Record<string, unknown>,
      startedAt: String(startedAt ?? ''),
    };
  }
  const finishedAt = String(entry.finishedAt ?? '');
  if (entry.type === 'instance' && typeof entry.instanceId === 'string') {
    const { instanceId, status, failure, finishedAt: _at, type: _type, ...output } = entry;
    return {
      type: 'task',
      id: instanceId,
      status: status === 'completed' ? 'completed' : 'failed',
      ...(isObject(failure) ? { failure: failure as unknown as TaskFailure } : {}),
      output,
      finishedAt,
    };
  }
  if (entry.type === 'tool' && typeof entry.id === 'string') {
    const built = entry.status === 'built';
    return {
      type: 'task',
      id: entry.id,
      status: built ? 'completed' : 'failed',
      output: built ? { record: entry.record } : { failure: entry.failure },
      ...(built ? {} : { failure: legacyBuildFailure(entry.failure) }),
      finishedAt,
    };
  }
  if (entry.type === 'item' && typeof entry.key === 'string') {
    const { key, type: _type, ...output } = entry;
    return { type: 'task', id: key, status: 'completed', output, finishedAt };
  }
  if (entry.type === 'instructions' && typeof entry.tool === 'string') {
    return { type: 'note', key: `instructions:${entry.tool}`, value: entry.instructions };
  }
  return undefined;
}

function legacyBuildFailure(failure: unknown): TaskFailure {
  const value = isObject(failure) ? failure : {};
  return { reason: String(value.reason ?? 'checks'), message: String(value.error ?? 'failed') };
}

function lineOf(entry: Record<string, unknown>, first: boolean, legacy: boolean): JournalLine | undefined {
  if (legacy) return legacyLine(entry, first);
  if (entry.type === 'header' && first && typeof entry.kind === 'string')
    return entry as unknown as JournalHeader;
  if (entry.type === 'task' && typeof entry.id === 'string') return entry as unknown as JournalTask;
  if (entry.type === 'note' && typeof entry.key === 'string') return entry as unknown as JournalNote;
  if (entry.type === 'end') return entry as unknown as JournalEnd;
  return undefined;
}

const CALL_COUNTS = [
  'calls',
  'cachedCalls',
  'promptTokens',
  'completionTokens',
  'cachedPromptTokens',
  'cachedCompletionTokens',
] as const;

/** `rows` summed into one row per stage and model (rows that are not call rows left out). */
export function sumCalls(rows: readonly unknown[]): TaskCalls {
  const sum: TaskCalls = [];
  addCalls(sum, rows);
  return sum;
}

/** Adds `rows` into `sum` (one row per stage and model). */
function addCalls(sum: TaskCalls, rows: readonly unknown[]): void {
  for (const row of rows) {
    if (!isObject(row) || typeof row.stage !== 'string' || typeof row.model !== 'string') continue;
    let target = sum.find((r) => r.stage === row.stage && r.model === row.model);
    if (target === undefined) {
      target = {
        stage: row.stage,
        model: row.model,
        calls: 0,
        cachedCalls: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedPromptTokens: 0,
        cachedCompletionTokens: 0,
      };
      sum.push(target);
    }
    for (const key of CALL_COUNTS) {
      const value = row[key];
      if (typeof value === 'number' && Number.isFinite(value)) target[key] += value;
    }
  }
}

/**
 * Reads a journal; a missing file reads as empty. A torn last line is ignored; lines that are not
 * understood are counted in `badLines`. Journals of version 1 are mapped to today's lines.
 */
export async function readJournal<O = unknown, P = Record<string, unknown>>(
  path: string,
): Promise<JournalContents<O, P>> {
  const log = await readJsonlLog(path, { label: 'journal' });
  const contents: JournalContents = {
    tasks: new Map(),
    notes: new Map(),
    superseded: 0,
    calls: [],
    validBytes: log.validBytes,
    tornBytes: log.tornBytes,
    badLines: log.badLines,
  };
  const head = log.lines[0];
  const legacy = isObject(head) && head.type === 'header' && head.version !== JOURNAL_VERSION;
  log.lines.forEach((value, index) => {
    const line = isObject(value) ? lineOf(value, index === 0, legacy) : undefined;
    if (line === undefined) {
      contents.badLines++;
    } else if (line.type === 'header') {
      contents.header = line;
    } else if (line.type === 'task') {
      if (contents.tasks.has(line.id)) contents.superseded++;
      contents.tasks.set(line.id, line);
      if (Array.isArray(line.calls)) addCalls(contents.calls, line.calls);
      delete contents.ended;
    } else if (line.type === 'note') {
      contents.notes.set(line.key, line.value);
    } else {
      contents.ended = line;
    }
  });
  return contents as unknown as JournalContents<O, P>;
}

/**
 * The lines of a journal in file order with their 1-based line numbers, read block by block (memory
 * flat in the journal's size: for corpora past memory). Unlike `readJournal` nothing is merged: every
 * task line is yielded, so a reader that wants "the last line of an id wins" keeps the line number of
 * each id's last line (a first pass) and takes only those. Journals of version 1 are mapped as
 * `readJournal` maps them; lines not understood go to `onBadLine`; a torn last line is ignored; a
 * missing file is an InputError.
 */
export async function* streamJournal(
  path: string,
  options: { onBadLine?: (line: number) => void } = {},
): AsyncGenerator<{ line: JournalLine; number: number }> {
  let first = true;
  let legacy = false;
  for await (const { value, line } of streamJsonlLog(path, {
    label: 'journal',
    onBadLine: (bad) => {
      first = false;
      options.onBadLine?.(bad);
    },
  })) {
    if (first) legacy = isObject(value) && value.type === 'header' && value.version !== JOURNAL_VERSION;
    const parsed = isObject(value) ? lineOf(value, first, legacy) : undefined;
    first = false;
    if (parsed === undefined) options.onBadLine?.(line);
    else yield { line: parsed, number: line };
  }
}

/** Top-level parameters whose values differ (a parameter only one side has counts). */
export function parameterChanges(logged: object, requested: object): ParameterChange[] {
  // The requested side as it would be written (undefined values dropped), so both compare as JSON.
  const asWritten = JSON.parse(JSON.stringify(requested)) as Record<string, unknown>;
  const old = logged as Record<string, unknown>;
  const keys = new Set([...Object.keys(old), ...Object.keys(asWritten)]);
  const changes: ParameterChange[] = [];
  for (const name of keys) {
    if (!isDeepStrictEqual(old[name], asWritten[name])) {
      changes.push({ name, logged: old[name] ?? null, requested: asWritten[name] ?? null });
    }
  }
  return changes;
}

export interface OpenJournalOptions<P> {
  path: string;
  kind: string;
  parameters: P;
  context?: Record<string, unknown>;
  /** Continue the run in the journal (same kind, version and parameters). */
  resume?: boolean;
  /** Discard an existing journal and start over. */
  force?: boolean;
}

/** An open journal: the contents found when it was opened, and fsynced appends. */
export interface Journal<O = unknown, P = Record<string, unknown>> {
  readonly path: string;
  readonly header: JournalHeader<P>;
  /** What the journal held when it was opened (empty for a new run). */
  readonly previous: JournalContents<O, P>;
  /** Resolves once the line is written whole and fsynced. */
  append(line: JournalTask<O> | JournalNote | JournalEnd): Promise<void>;
  close(): Promise<void>;
}

/** Refuses to go on with a journal that holds another run (see `RunError` for the reasons). */
function checkResumable<P>(contents: JournalContents<unknown, P>, options: OpenJournalOptions<P>): void {
  const { header } = contents;
  if (header === undefined) {
    if (contents.validBytes > 0 || contents.badLines > 0) {
      throw new RunError({ reason: 'not-a-journal', journal: options.path });
    }
    return;
  }
  if (header.version !== JOURNAL_VERSION) {
    throw new RunError({
      reason: 'journal-version',
      journal: options.path,
      found: header.version,
      expected: JOURNAL_VERSION,
    });
  }
  if (header.kind !== options.kind) {
    throw new RunError({
      reason: 'journal-kind',
      journal: options.path,
      found: header.kind,
      expected: options.kind,
    });
  }
  const changes = parameterChanges(header.parameters as object, options.parameters as object);
  if (changes.length > 0) throw new RunError({ reason: 'parameters-differ', journal: options.path, changes });
}

/**
 * Opens the journal of a run: a new one (header written), or with `resume` the existing one after
 * checking it holds the same kind of run with the same parameters. Without `resume` an existing
 * journal is refused (`log-exists`), or removed with `force`.
 */
export async function openJournal<O = unknown, P extends object = Record<string, unknown>>(
  options: OpenJournalOptions<P>,
): Promise<Journal<O, P>> {
  if (options.resume === true && options.force === true) throw new RunError({ reason: 'resume-and-force' });
  let contents = await readJournal<O, P>(options.path);
  const hasContent = contents.validBytes > 0 || contents.tornBytes > 0;
  if (hasContent && options.force === true) {
    await rm(options.path, { force: true });
    contents = await readJournal<O, P>(options.path);
  } else if (hasContent && options.resume !== true) {
    throw new RunError({ reason: 'log-exists', journal: options.path, finished: contents.tasks.size });
  }
  checkResumable(contents, options);
  const writer: JsonlLogWriter<JournalLine<O>> = await openJsonlLog(options.path, {
    label: 'journal',
    validBytes: contents.validBytes,
  });
  let header = contents.header;
  if (header === undefined) {
    header = {
      type: 'header',
      kind: options.kind,
      version: JOURNAL_VERSION,
      parameters: options.parameters,
      ...(options.context !== undefined ? { context: options.context } : {}),
      startedAt: new Date().toISOString(),
    };
    try {
      await writer.append(header as JournalHeader);
    } catch (error) {
      await writer.close();
      throw journalWriteError(options.path, error);
    }
  }
  const opened = header;
  return {
    path: options.path,
    header: opened,
    previous: contents,
    append: (line) =>
      writer.append(line).catch((error: unknown) => Promise.reject(journalWriteError(options.path, error))),
    close: () => writer.close(),
  };
}

function journalWriteError(path: string, error: unknown): RunError {
  const message = error instanceof Error ? error.message : String(error);
  return new RunError(
    { reason: 'journal-write', journal: path, error: message.replace(/\s+/g, ' ') },
    { cause: error },
  );
}

/** A journal kept in memory only (runs without an output file, e.g. a judge run in a script). */
export function memoryJournal<O = unknown, P = Record<string, unknown>>(
  kind: string,
  parameters: P,
): Journal<O, P> {
  return {
    path: '(memory)',
    header: {
      type: 'header',
      kind,
      version: JOURNAL_VERSION,
      parameters,
      startedAt: new Date().toISOString(),
    },
    previous: {
      tasks: new Map(),
      notes: new Map(),
      superseded: 0,
      calls: [],
      validBytes: 0,
      tornBytes: 0,
      badLines: 0,
    },
    append: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
