/**
 * The durable log of a generation run (`OUT.json.log.jsonl`): a header with the run's parameters, then
 * one line per finished instance. A running run appends lines: the source reads on from where it
 * stopped, so new instances appear in the browser as they finish. A torn last line (a crash mid-write,
 * or a line still being written) is read once it is whole; a log cut shorter (a resume truncates a torn
 * tail) is read again from the start.
 */
import { statSync } from 'node:fs';
import { isRecord } from '../../core/json-text.js';
import type { FileKind, ItemDetail } from '../api.js';
import { facetValues, normalizeText, type FileIndex } from '../file-index.js';
import { readSlice, scanJsonlFile } from '../scan-json.js';
import {
  failureOf,
  instanceKindOf,
  instanceSteps,
  instanceTrajectory,
  sourceOfExecutor,
  stepSources,
  verificationFacet,
  verificationOf,
} from '../trajectory.js';
import { Source } from './source.js';

export class GenerationLogSource extends Source {
  readonly kind: FileKind = 'generation-log';
  /** Byte offset after the last whole line read. */
  private offset = 0;
  private defaultSource: string | undefined;
  private seen = new Set<string>();

  override live = true;
  override comparable = true;

  protected async scan(into: FileIndex, signal: AbortSignal): Promise<void> {
    this.offset = 0;
    this.seen = new Set();
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
          this.defaultSource = sourceOfExecutor(p.executor);
          return;
        }
        if (line.type !== 'instance' || !isRecord(line.instance)) return;
        const id = typeof line.instanceId === 'string' ? line.instanceId : `line@${start}`;
        if (this.seen.has(id)) return;
        this.seen.add(id);
        const instance = line.instance;
        const tool = typeof line.tool === 'string' ? line.tool : id.replace(/#\d+$/, '');
        const instruction = typeof instance.input === 'string' ? instance.input : '';
        const verification = verificationOf(instance) ?? verificationOf(line);
        into.add({
          id,
          title: instruction,
          tool,
          steps: typeof line.steps === 'number' ? line.steps : undefined,
          facets: facetValues({
            tool: [tool],
            status: [typeof line.status === 'string' ? line.status : 'completed'],
            failure: [failureOf(line)?.reason],
            kind: [instanceKindOf(instance) ?? instanceKindOf(line)],
            verification: [verificationFacet(verification)],
            source: stepSources(instanceSteps(instance, this.defaultSource)),
          }),
          search:
            `${tool}\n${instruction}\n${typeof instance.output === 'string' ? instance.output.slice(0, 400) : ''}`.toLowerCase(),
          match: `${normalizeText(tool)}\u0000${normalizeText(instruction)}`,
          start,
          end,
        });
        this.host.changed(this);
      },
      { start: this.offset, signal },
    );
    this.meta.instances = String(into.size);
  }

  async raw(n: number): Promise<unknown> {
    const item = this.item(n);
    return JSON.parse(readSlice(this.absPath, item.start ?? 0, item.end ?? 0)) as unknown;
  }

  async detail(n: number): Promise<ItemDetail> {
    const detail = this.baseDetail(n);
    const line = (await this.raw(n)) as Record<string, unknown>;
    const instance = (isRecord(line.instance) ? line.instance : {}) as Record<string, unknown>;
    const failure = failureOf(line);
    detail.trajectory = instanceTrajectory(instance, {
      ...(typeof line.status === 'string' ? { status: line.status } : {}),
      ...(failure !== undefined ? { failure } : {}),
      ...(this.defaultSource !== undefined ? { defaultSource: this.defaultSource } : {}),
    });
    const verification = verificationOf(instance) ?? verificationOf(line);
    if (verification !== undefined) detail.verification = verification;
    const kind = instanceKindOf(instance) ?? instanceKindOf(line);
    if (kind !== undefined) detail.instanceKind = kind;
    if (detail.tool !== undefined) {
      const doc = await this.host.toolDoc(detail.tool);
      if (doc !== undefined) detail.toolDoc = doc;
    }
    const usage = line.usage;
    if (isRecord(usage)) {
      detail.fields.tokens = `in ${String(usage.promptTokens ?? 0)}, out ${String(usage.completionTokens ?? 0)}, ${String(usage.calls ?? 0)} model calls`;
    }
    if (typeof line.finishedAt === 'string') detail.fields.finished = line.finishedAt;
    return detail;
  }
}
