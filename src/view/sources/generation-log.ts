/**
 * The journal of a generation or evaluation run (`OUT.json.log.jsonl`, src/run/journal.ts): a header
 * with the run's parameters, then one `task` line per finished instance (its output holds the ToolAlpaca
 * instance); for one id the last line wins (a retried task). Version-1 logs (`instance` lines) read too.
 * A running run appends lines: the source reads on from where it stopped, so new instances appear in the
 * browser as they finish. A torn last line (a crash mid-write, or a line still being written) is read
 * once it is whole; a journal cut shorter (a resume truncates a torn tail) is read again from the start.
 * Tools' documentation comes from the journal's tool notes (`tool:NAME`, written by `generate`), else
 * from the run's tools input named in the header.
 *
 * The lines are scanned here rather than with the engine's `streamJournal`: the viewer keeps each
 * item's byte range (read again when opened) and reads on from a byte offset as the file grows.
 */
import { existsSync, statSync } from 'node:fs';
import { isRecord } from '../../core/json-text.js';
import { readToolAlpacaRecordsStream, toolNoteKey } from '../../formats/corpus-stream.js';
import type { FileKind, ItemDetail } from '../api.js';
import { facetValues, normalizeText, type FileIndex, type IndexedItem } from '../file-index.js';
import { readSlice, scanJsonlFile } from '../scan-json.js';
import {
  failureOf,
  instanceKindOf,
  kindLabel,
  instanceSteps,
  instanceTrajectory,
  sourceOfExecutor,
  stepSources,
  verificationFacet,
  verificationOf,
} from '../trajectory.js';
import { Source } from './source.js';

interface LoggedTask {
  id: string;
  tool?: string;
  status: string;
  failure?: { reason: string; message: string };
  steps?: number;
  usage?: unknown;
  instance: Record<string, unknown>;
}

/** A finished instance of a journal line: a `task` line (journal version 2) or an `instance` line (version 1). */
function taskOf(line: Record<string, unknown>): LoggedTask | undefined {
  let id: unknown;
  let holder: Record<string, unknown>;
  if (line.type === 'task' && isRecord(line.output)) {
    id = line.id;
    holder = line.output;
  } else if (line.type === 'instance') {
    id = line.instanceId;
    holder = line;
  } else return undefined;
  if (typeof id !== 'string' || !isRecord(holder.instance)) return undefined;
  const task: LoggedTask = {
    id,
    status: typeof line.status === 'string' ? line.status : 'completed',
    instance: holder.instance,
    usage: holder.usage,
  };
  if (typeof holder.tool === 'string') task.tool = holder.tool;
  if (typeof holder.steps === 'number') task.steps = holder.steps;
  const failure = failureOf(line) ?? failureOf(holder);
  if (failure !== undefined) task.failure = failure;
  return task;
}

export class GenerationLogSource extends Source {
  readonly kind: FileKind = 'generation-log';
  /** Byte offset after the last whole line read. */
  private offset = 0;
  private defaultSource: string | undefined;
  /** The run's tools input (journal version 2 records it): documentation for the trajectories. */
  private toolsPath: string | undefined;
  private docs: Promise<Map<string, string>> | undefined;
  /** Position of each task id in the index (a later line of the same id replaces the item). */
  private seen = new Map<string, number>();
  /** Byte range of each tool's note (its record, with its documentation), by tool name. */
  private toolNotes = new Map<string, [number, number]>();

  override live = true;
  override comparable = true;

  protected async scan(into: FileIndex, signal: AbortSignal): Promise<void> {
    this.offset = 0;
    this.seen = new Map();
    this.toolNotes = new Map();
    await this.readFrom(into, signal);
  }

  /** Appended lines are read from where the last read stopped; a shorter file is read again. */
  override async refresh(signal: AbortSignal): Promise<void> {
    let size: number;
    try {
      size = statSync(this.absPath).size;
    } catch {
      return;
    }
    if (size < this.offset) return super.refresh(signal);
    if (size === this.offset) return;
    await this.readFrom(this.index, signal);
    this.host.changed(this);
  }

  private async readFrom(into: FileIndex, signal: AbortSignal): Promise<void> {
    this.offset = await scanJsonlFile(
      this.absPath,
      (text, start, end) => {
        let line: unknown;
        try {
          line = JSON.parse(text);
        } catch {
          return; // a whole line that is not JSON: skipped, as the run's own reader does
        }
        if (!isRecord(line)) return;
        if (line.type === 'header' && isRecord(line.parameters)) {
          const p = line.parameters;
          for (const key of ['model', 'executor', 'executorModel', 'prompt', 'mode']) {
            if (typeof p[key] === 'string') this.meta[key] = p[key];
          }
          if (typeof line.startedAt === 'string') this.meta.started = line.startedAt;
          if (typeof line.kind === 'string') this.meta.run = line.kind;
          const context = line.context;
          if (isRecord(context) && typeof context.tools === 'string') this.toolsPath = context.tools;
          this.defaultSource = sourceOfExecutor(p.executor);
          return;
        }
        const noteKey = typeof line.key === 'string' ? line.key : '';
        if (line.type === 'note' && noteKey.startsWith(toolNoteKey(''))) {
          this.toolNotes.set(noteKey.slice(toolNoteKey('').length), [start, end]);
          return;
        }
        const entry = taskOf(line);
        if (entry === undefined) return;
        const { id, instance } = entry;
        const tool = entry.tool ?? id.replace(/#\d+$/, '');
        const instruction = typeof instance.input === 'string' ? instance.input : '';
        const verification = verificationOf(instance) ?? verificationOf(line);
        const steps = instanceSteps(instance, this.defaultSource);
        const item: IndexedItem = {
          id,
          title: instruction,
          tool,
          steps: entry.steps,
          facets: facetValues({
            tool: [tool],
            status: [entry.status],
            failure: [entry.failure?.reason],
            kind: [instanceKindOf(instance, steps).kind],
            verification: [verificationFacet(verification)],
            reason: verification?.codes ?? [],
            source: stepSources(steps),
          }),
          search:
            `${tool}\n${instruction}\n${typeof instance.output === 'string' ? instance.output.slice(0, 400) : ''}`.toLowerCase(),
          match: `${normalizeText(tool)}\u0000${normalizeText(instruction)}`,
          start,
          end,
        };
        const known = this.seen.get(id);
        if (known !== undefined && into.items[known] !== undefined) into.replace(known, item);
        else {
          this.seen.set(id, into.size);
          into.add(item);
        }
        this.host.changed(this);
      },
      { start: this.offset, ...this.scanOptions(signal) },
    );
    this.meta.instances = String(into.size);
  }

  /** The documentation of a tool from its note in the journal. */
  private noteDoc(name: string): string | undefined {
    const range = this.toolNotes.get(name);
    if (range === undefined) return undefined;
    try {
      const line = JSON.parse(readSlice(this.absPath, range[0], range[1])) as unknown;
      const record = isRecord(line) ? line.value : undefined;
      return isRecord(record) && typeof record.NLDocumentation === 'string'
        ? record.NLDocumentation
        : undefined;
    } catch {
      return undefined;
    }
  }

  override toolDocs(): Map<string, () => Promise<string | undefined>> {
    const out = new Map<string, () => Promise<string | undefined>>();
    for (const name of this.toolNotes.keys()) out.set(name, () => Promise.resolve(this.noteDoc(name)));
    return out;
  }

  /** NL documentation by tool name from the run's tools file, when it is ToolAlpaca JSON (read as a stream). */
  private runDocs(): Promise<Map<string, string>> {
    const path = this.toolsPath;
    this.docs ??= (async () => {
      const docs = new Map<string, string>();
      if (path === undefined || !existsSync(path) || statSync(path).isDirectory()) return docs;
      try {
        for await (const record of readToolAlpacaRecordsStream(path)) {
          if (typeof record.NLDocumentation === 'string') docs.set(record.Name, record.NLDocumentation);
        }
      } catch {
        // Not ToolAlpaca JSON (an OpenAPI spec): no documentation from it.
      }
      return docs;
    })();
    return this.docs;
  }

  async raw(n: number): Promise<unknown> {
    const item = this.item(n);
    return JSON.parse(readSlice(this.absPath, item.start ?? 0, item.end ?? 0)) as unknown;
  }

  async detail(n: number): Promise<ItemDetail> {
    const detail = this.baseDetail(n);
    const line = (await this.raw(n)) as Record<string, unknown>;
    const entry = taskOf(line);
    const instance = entry?.instance ?? {};
    const failure = entry?.failure;
    const trajectory = instanceTrajectory(instance, {
      ...(entry !== undefined ? { status: entry.status } : {}),
      ...(failure !== undefined ? { failure } : {}),
      ...(this.defaultSource !== undefined ? { defaultSource: this.defaultSource } : {}),
    });
    detail.trajectory = trajectory;
    const verification = verificationOf(instance) ?? verificationOf(line);
    if (verification !== undefined) detail.verification = verification;
    if (entry !== undefined) detail.instanceKind = kindLabel(instanceKindOf(instance, trajectory.steps));
    if (detail.tool !== undefined) {
      const doc =
        this.noteDoc(detail.tool) ??
        (await this.host.toolDoc(detail.tool)) ??
        (await this.runDocs()).get(detail.tool);
      if (doc !== undefined) detail.toolDoc = doc;
    }
    const usage = entry?.usage;
    if (isRecord(usage)) {
      detail.fields.tokens = `in ${String(usage.promptTokens ?? 0)}, out ${String(usage.completionTokens ?? 0)}, ${String(usage.calls ?? 0)} model calls`;
    }
    if (typeof line.finishedAt === 'string') detail.fields.finished = line.finishedAt;
    return detail;
  }
}
