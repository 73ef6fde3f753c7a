/**
 * ToolAlpaca JSON files: corpora (tools with `Instances`, written by `generate` or ToolAlpaca itself,
 * verified or not) and tool files (records without instances, such as the evaluation sets). The file is
 * read once as a stream; each instance is kept as its byte range, each record as its name, category and
 * the byte ranges of its documentation, instructions and standard answers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isRecord } from '../../core/json-text.js';
import type { FileKind, ItemDetail } from '../api.js';
import { facetValues, normalizeText, type FileIndex, type IndexedItem } from '../file-index.js';
import {
  readSlice,
  scanJsonFile,
  type PathPart,
  type ScanDecision,
  type ScanHandlers,
} from '../scan-json.js';
import {
  failureOf,
  instanceKindOf,
  kindLabel,
  instanceTrajectory,
  sourceOfExecutor,
  stepSources,
  instanceSteps,
  verificationFacet,
  verificationOf,
} from '../trajectory.js';
import { Source, type SourceHost } from './source.js';

interface RecordInfo {
  name?: string;
  category?: string;
  description?: string;
  doc?: [number, number];
  instructions?: [number, number];
  golden?: [number, number];
  instances: number;
}

/** Facts a run leaves beside its corpus: `OUT.json.meta.json` or the header of `OUT.json.log.jsonl`. */
function runParameters(path: string): Record<string, unknown> | undefined {
  try {
    if (existsSync(`${path}.meta.json`)) {
      const meta = JSON.parse(readFileSync(`${path}.meta.json`, 'utf8')) as unknown;
      if (isRecord(meta) && isRecord(meta.parameters)) return meta.parameters;
    }
    if (existsSync(`${path}.log.jsonl`)) {
      const head = readSlice(`${path}.log.jsonl`, 0, 64 * 1024);
      const first = JSON.parse(head.slice(0, head.indexOf('\n'))) as unknown;
      if (isRecord(first) && isRecord(first.parameters)) return first.parameters;
    }
  } catch {
    // Sidecar files are optional and may be half-written: the corpus reads without them.
  }
  return undefined;
}

/** What the scan of one file keeps while it reads: the records so far and instances waiting for a name. */
class ScanState {
  readonly records: RecordInfo[] = [];
  /** The file is one record (an object), not a list of them. */
  rootIsRecord = false;
  pending: { item: IndexedItem; instance: Record<string, unknown> }[] = [];
  instances = 0;

  /** Path length of a record's fields' parent. */
  depth(): number {
    return this.rootIsRecord ? 0 : 1;
  }

  recordAt(path: readonly PathPart[]): RecordInfo {
    const index = this.rootIsRecord ? 0 : (path[0] as number);
    let record = this.records[index];
    if (record === undefined) {
      record = { instances: 0 };
      this.records[index] = record;
    }
    return record;
  }
}

/** Which values of a ToolAlpaca file the scan looks into, keeps, notes the range of, or skips. */
function decide(
  state: ScanState,
  path: readonly PathPart[],
  kind: 'object' | 'array' | 'scalar',
): ScanDecision {
  if (path.length === 0) {
    state.rootIsRecord = kind === 'object';
    return kind === 'scalar' ? 'skip' : 'descend';
  }
  const d = state.depth();
  if (path.length === d) return kind === 'object' ? 'descend' : 'skip';
  const key = path[d];
  if (path.length === d + 1) {
    if (key === 'Name' || key === 'Category' || key === 'Description') return 'capture';
    if (key === 'NLDocumentation' || key === 'Instructions' || key === 'Golden_Answers') return 'range';
    if (key === 'Instances') return kind === 'array' ? 'descend' : 'skip';
    return 'skip';
  }
  if (path.length === d + 2 && key === 'Instances') return kind === 'object' ? 'capture' : 'skip';
  return 'skip';
}

/** An instance's item before its tool is known: its position, instruction, step count and search text. */
function instanceItem(
  instance: Record<string, unknown>,
  position: number,
  start: number,
  end: number,
): IndexedItem {
  const instruction = typeof instance.input === 'string' ? instance.input : '';
  const output = typeof instance.output === 'string' ? instance.output.slice(0, 400) : '';
  return {
    id: String(position),
    title: instruction,
    steps: Array.isArray(instance.intermediate_steps) ? instance.intermediate_steps.length : 0,
    facets: {},
    search: `${instruction}\n${output}`.toLowerCase(),
    start,
    end,
  };
}

export class ToolAlpacaSource extends Source {
  kind: FileKind;
  private records: RecordInfo[] = [];
  private defaultSource: string | undefined;
  private cache = new Map<string, unknown>();

  constructor(id: number, path: string, absPath: string, host: SourceHost, kind: FileKind = 'corpus') {
    super(id, path, absPath, host);
    this.kind = kind;
    this.comparable = kind === 'corpus';
  }

  override toolDocs(): Map<string, () => Promise<string | undefined>> {
    const out = new Map<string, () => Promise<string | undefined>>();
    this.records.forEach((record) => {
      const doc = record.doc;
      if (record.name !== undefined && doc !== undefined && !out.has(record.name)) {
        out.set(record.name, () => Promise.resolve(this.readRange<string>(doc)));
      }
    });
    return out;
  }

  private readRange<T>(range: [number, number] | undefined): T | undefined {
    if (range === undefined) return undefined;
    const key = `${range[0]}:${range[1]}`;
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const value = JSON.parse(readSlice(this.absPath, range[0], range[1])) as T;
    if (this.cache.size > 64) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, value);
    return value;
  }

  /** The run's model, executor and prompt from its sidecar files; the executor names the observation source. */
  private readRunParameters(): void {
    const parameters = runParameters(this.absPath);
    this.defaultSource = sourceOfExecutor(parameters?.executor);
    if (parameters === undefined) return;
    for (const key of ['model', 'executor', 'executorModel', 'prompt', 'mode']) {
      if (typeof parameters[key] === 'string') this.meta[key] = parameters[key];
    }
  }

  protected async scan(into: FileIndex, signal: AbortSignal): Promise<void> {
    const state = new ScanState();
    this.records = state.records;
    this.cache.clear();
    this.readRunParameters();
    await scanJsonFile(this.absPath, this.handlers(state, into), this.scanOptions(signal));
    if (state.instances === 0) this.indexTools(state.records, into);
    else {
      this.kind = 'corpus';
      this.comparable = true;
      this.meta.tools = String(state.records.length);
      this.meta.instances = String(state.instances);
    }
  }

  /** The scanner's callbacks: records' names and ranges, each instance an item. */
  private handlers(state: ScanState, into: FileIndex): ScanHandlers {
    return {
      decide: (path, kind) => decide(state, path, kind),
      capture: (path, text, start, end) => {
        const record = state.recordAt(path);
        const key = path[state.depth()];
        if (key !== 'Instances') {
          const value = JSON.parse(text) as unknown;
          if (typeof value !== 'string') return;
          if (key === 'Name') record.name = value;
          else if (key === 'Category') record.category = value;
          else if (key === 'Description') record.description = value;
          return;
        }
        const instance = JSON.parse(text) as Record<string, unknown>;
        record.instances++;
        state.instances++;
        const item = instanceItem(instance, path[state.depth() + 1] as number, start, end);
        item.ctx = state.rootIsRecord ? 0 : (path[0] as number);
        // Instances met before their record's Name (unusual key order) wait for it.
        if (record.name === undefined) state.pending.push({ item, instance });
        else this.addInstance(into, record, item, instance);
      },
      range: (path, start, end) => {
        const record = state.recordAt(path);
        const key = path[state.depth()];
        if (key === 'NLDocumentation') record.doc = [start, end];
        else if (key === 'Instructions') record.instructions = [start, end];
        else if (key === 'Golden_Answers') record.golden = [start, end];
      },
      leave: (path) => {
        if (path.length !== state.depth() || state.pending.length === 0) return;
        const record = state.recordAt(path);
        for (const { item, instance } of state.pending) this.addInstance(into, record, item, instance);
        state.pending = [];
      },
    };
  }

  /** An instance whose tool is known: its id, search text, match key and facets; then listed. */
  private addInstance(
    into: FileIndex,
    record: RecordInfo,
    item: IndexedItem,
    instance: Record<string, unknown>,
  ): void {
    const tool = record.name ?? '(unnamed)';
    item.tool = tool;
    item.id = `${tool}#${item.id}`;
    item.search = `${tool.toLowerCase()}\n${item.search}`;
    item.match = `${normalizeText(tool)}\u0000${normalizeText(item.title)}`;
    const status = typeof instance.status === 'string' ? instance.status : 'completed';
    const verification = verificationOf(instance);
    const steps = instanceSteps(instance, this.defaultSource);
    item.facets = facetValues({
      tool: [tool],
      category: [record.category],
      status: [status],
      failure: [failureOf(instance)?.reason],
      kind: [instanceKindOf(instance, steps).kind],
      verification: [verificationFacet(verification)],
      reason: verification?.codes ?? [],
      source: stepSources(steps),
    });
    into.add(item);
    this.host.changed(this);
  }

  /** A file without instances (a tool file): one item per tool. */
  private indexTools(records: readonly RecordInfo[], into: FileIndex): void {
    this.kind = 'tools';
    this.comparable = false;
    records.forEach((record, index) => {
      const name = record.name ?? `(record ${index})`;
      into.add({
        id: name,
        title: record.description !== undefined ? `${name}: ${record.description}` : name,
        tool: name,
        facets: facetValues({ tool: [name], category: [record.category] }),
        search: `${name}\n${record.description ?? ''}`.toLowerCase(),
        ctx: index,
      });
    });
    this.meta.tools = String(records.length);
  }

  async raw(n: number): Promise<unknown> {
    const item = this.item(n);
    if (item.start === undefined || item.end === undefined) {
      const record = this.records[item.ctx ?? -1];
      return {
        Name: record?.name,
        Category: record?.category,
        Description: record?.description,
        NLDocumentation: this.readRange<string>(record?.doc),
        Instructions: this.readRange<string[]>(record?.instructions),
        Golden_Answers: this.readRange<unknown[]>(record?.golden),
      };
    }
    return JSON.parse(readSlice(this.absPath, item.start, item.end)) as unknown;
  }

  async detail(n: number): Promise<ItemDetail> {
    const item = this.item(n);
    const detail = this.baseDetail(n);
    const record = this.records[item.ctx ?? -1];
    if (record?.category !== undefined) detail.category = record.category;
    const doc = this.readRange<string>(record?.doc);
    if (doc !== undefined) detail.toolDoc = doc;
    else if (item.tool !== undefined) {
      const other = await this.host.toolDoc(item.tool);
      if (other !== undefined) detail.toolDoc = other;
    }
    const instructions = this.readRange<string[]>(record?.instructions) ?? [];
    const golden = this.readRange<{ Action: string; Action_Input: string }[][]>(record?.golden) ?? [];
    if (item.start === undefined) {
      // A tool: its instructions and standard answers as the fields.
      detail.fields.functions = String(doc !== undefined ? (doc.match(/^\d+\.\s/gm) ?? []).length : 0);
      detail.fields.instructions = String(instructions.length);
      instructions.forEach((instruction, i) => {
        const steps = (golden[i] ?? []).map((g) => `${g.Action}(${g.Action_Input})`).join(' → ');
        detail.fields[`instruction ${i + 1}`] = steps === '' ? instruction : `${instruction}\n  ${steps}`;
      });
      return detail;
    }
    const instance = (await this.raw(n)) as Record<string, unknown>;
    const trajectory = instanceTrajectory(
      instance,
      this.defaultSource !== undefined ? { defaultSource: this.defaultSource } : {},
    );
    const at = instructions.indexOf(trajectory.instruction);
    const standard = at >= 0 ? golden[at] : undefined;
    if (standard !== undefined && standard.length > 0) {
      trajectory.golden = standard.map((g) => ({ action: g.Action, actionInput: g.Action_Input }));
    }
    detail.trajectory = trajectory;
    const verification = verificationOf(instance);
    if (verification !== undefined) detail.verification = verification;
    detail.instanceKind = kindLabel(instanceKindOf(instance, trajectory.steps));
    return detail;
  }
}
