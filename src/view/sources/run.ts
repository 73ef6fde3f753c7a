/**
 * Evaluation runs (`RUN.json`) and judged files (`JUDGED.json`) of this project, read as a stream (items
 * kept as byte ranges), and ToolAlpaca's published judged files (small; imported whole, as `report` and `eval agreement`
 * does). Judged items get the LLM judge's labels and the deterministic checker's result as facets, so the
 * judgments view can list disagreements first.
 */
import { readFile } from 'node:fs/promises';
import { isRecord } from '../../core/json-text.js';
import { JUDGED_KIND, type JudgedItem, type RunItem } from '../../core/run.js';
import { importToolAlpacaJudged } from '../../eval/import/toolalpaca.js';
import type { FileKind, ItemDetail } from '../api.js';
import { facetValues, normalizeText, type FileIndex, type IndexedItem } from '../file-index.js';
import { readSlice, scanJsonFile } from '../scan-json.js';
import { checkerOf, judgesResponse, judgmentsOf } from '../judgments.js';
import {
  recordedKindOf,
  itemTrajectory,
  runSteps,
  sourceOfExecutor,
  stepSources,
  verificationFacet,
  verificationOf,
} from '../trajectory.js';
import { Source, type SourceHost } from './source.js';

function isJudgedItem(item: RunItem | JudgedItem): item is JudgedItem {
  return Array.isArray((item as JudgedItem).verdicts);
}

/** Shared by our run/judged files and ToolAlpaca's judged files. */
abstract class TrajectoryFileSource extends Source {
  kind: FileKind = 'run';
  override comparable = true;
  protected judgeModel: string | undefined;
  protected defaultSource: string | undefined;

  protected setRunMeta(meta: unknown): void {
    if (!isRecord(meta)) return;
    for (const key of ['model', 'executor', 'executorModel', 'prompt', 'mode', 'createdAt']) {
      if (typeof meta[key] === 'string' && meta[key] !== '') this.meta[key] = meta[key];
    }
    if (typeof meta.importedFrom === 'string') this.meta.importedFrom = meta.importedFrom;
    this.defaultSource = sourceOfExecutor(meta.executor);
  }

  protected setJudge(judge: unknown): void {
    if (!isRecord(judge) || typeof judge.model !== 'string') return;
    this.judgeModel = judge.model;
    this.meta.judge = `${judge.model}${typeof judge.runs === 'number' && judge.runs > 1 ? ` × ${judge.runs}` : ''}`;
    this.kind = 'judged';
    this.judged = true;
  }

  /** The index entry of a run or judged item. */
  protected entry(item: RunItem | JudgedItem, where: Partial<IndexedItem>): IndexedItem {
    const judged = isJudgedItem(item) ? item : undefined;
    const holder = item as Record<string, unknown>;
    const steps = runSteps(holder, this.defaultSource);
    const checker = item.goldenAnswers.length > 0 || judged !== undefined ? checkerOf(item) : undefined;
    let process: string | undefined;
    let response: string | undefined;
    let agreement: string | undefined;
    if (judged !== undefined && this.judgeModel !== undefined && this.judgeModel !== 'deterministic') {
      process = judged.majority?.process ?? (judged.error !== undefined ? 'error' : undefined);
      response = judgesResponse(this.judgeModel, judged)
        ? (judged.majority?.response ?? (judged.error !== undefined ? 'error' : undefined))
        : undefined;
      if (judged.majority !== undefined && checker !== undefined && item.steps.length > 0) {
        agreement = (judged.majority.process === 'Yes') === checker.correct ? 'agree' : 'disagree';
      }
    }
    const verification = verificationOf(holder);
    const entry: IndexedItem = {
      id: `${item.tool}#${item.index}`,
      title: item.instruction,
      tool: item.tool,
      steps: item.steps.length,
      facets: facetValues({
        tool: [item.tool],
        status: [item.status],
        failure: [item.failure?.reason],
        kind: [recordedKindOf(holder)],
        verification: [verificationFacet(verification)],
        reason: verification?.codes ?? [],
        process: [process],
        response: [response],
        checker: [checker === undefined ? undefined : checker.correct ? 'pass' : 'fail'],
        agreement: [agreement],
        source: stepSources(steps),
      }),
      search: `${item.tool}\n${item.instruction}\n${(item.finalAnswer ?? '').slice(0, 400)}`.toLowerCase(),
      match: `${normalizeText(item.tool)}\u0000${normalizeText(item.instruction)}`,
      ...where,
    };
    if (agreement !== undefined) entry.disagree = agreement === 'disagree';
    return entry;
  }

  protected itemDetail(n: number, item: RunItem | JudgedItem): ItemDetail {
    const detail = this.baseDetail(n);
    detail.trajectory = itemTrajectory(item, this.defaultSource);
    if (item.nlDocumentation !== '') detail.toolDoc = item.nlDocumentation;
    const holder = item as Record<string, unknown>;
    const verification = verificationOf(holder);
    if (verification !== undefined) detail.verification = verification;
    const kind = recordedKindOf(holder);
    if (kind !== undefined) detail.instanceKind = kind;
    if (isJudgedItem(item) && this.judgeModel !== undefined) {
      detail.judgments = judgmentsOf(item, this.judgeModel);
    } else if (item.goldenAnswers.length > 0) {
      detail.judgments = { checker: checkerOf(item) };
    }
    const usage = item.usage;
    if (usage.calls > 0 || usage.promptTokens > 0) {
      detail.fields.tokens = `in ${usage.promptTokens}, out ${usage.completionTokens}, ${usage.calls} model calls`;
    }
    const queryId = holder.queryId;
    if (typeof queryId === 'string') detail.fields.query = queryId;
    return detail;
  }

  protected async withDoc(detail: ItemDetail): Promise<ItemDetail> {
    if (detail.toolDoc === undefined && detail.tool !== undefined) {
      const doc = await this.host.toolDoc(detail.tool);
      if (doc !== undefined) detail.toolDoc = doc;
    }
    return detail;
  }
}

/** Our run and judged files, streamed: `items[*]` kept as byte ranges. */
export class RunSource extends TrajectoryFileSource {
  constructor(id: number, path: string, absPath: string, host: SourceHost, kind: FileKind = 'run') {
    super(id, path, absPath, host);
    this.kind = kind;
    this.judged = kind === 'judged';
  }

  protected async scan(into: FileIndex, signal: AbortSignal): Promise<void> {
    let statistics: unknown;
    await scanJsonFile(
      this.absPath,
      {
        decide: (path, kind) => {
          if (path.length === 0) return kind === 'object' ? 'descend' : 'skip';
          if (path.length === 1) {
            if (path[0] === 'items') return kind === 'array' ? 'descend' : 'skip';
            return ['kind', 'meta', 'run', 'judge', 'statistics'].includes(path[0] as string)
              ? 'capture'
              : 'skip';
          }
          if (path.length === 2 && path[0] === 'items') return 'capture';
          return 'skip';
        },
        capture: (path, text, start, end) => {
          const value = JSON.parse(text) as unknown;
          if (path[0] === 'items') {
            const item = value as RunItem | JudgedItem;
            into.add(this.entry(item, { start, end }));
            this.host.changed(this);
            return;
          }
          if (path[0] === 'kind' && value === JUDGED_KIND) {
            this.kind = 'judged';
            this.judged = true;
          } else if (path[0] === 'meta' || path[0] === 'run') this.setRunMeta(value);
          else if (path[0] === 'judge') this.setJudge(value);
          else if (path[0] === 'statistics') statistics = value;
        },
      },
      this.scanOptions(signal),
    );
    this.meta.items = String(into.size);
    if (isRecord(statistics) && isRecord(statistics.percentages)) {
      const p = statistics.percentages;
      const pct = (v: unknown): string => (typeof v === 'number' ? `${v.toFixed(1)}%` : '–');
      this.meta.statistics =
        this.judgeModel === 'deterministic'
          ? `process ${pct(p.procedure)} (response not judged)`
          : `process ${pct(p.procedure)}, response ${pct(p.response)}, overall ${pct(p.overall)}`;
    }
  }

  async raw(n: number): Promise<unknown> {
    const item = this.item(n);
    return JSON.parse(readSlice(this.absPath, item.start ?? 0, item.end ?? 0)) as unknown;
  }

  async detail(n: number): Promise<ItemDetail> {
    const item = (await this.raw(n)) as RunItem | JudgedItem;
    return this.withDoc(this.itemDetail(n, item));
  }
}

/** ToolAlpaca's published judged files (`{tool: [{input, output, process_correctness, ...}]}`). */
export class ToolAlpacaJudgedSource extends TrajectoryFileSource {
  override kind: FileKind = 'judged';
  override judged = true;
  private original: Record<string, unknown[]> = {};

  protected async scan(into: FileIndex): Promise<void> {
    const data = JSON.parse(await readFile(this.absPath, 'utf8')) as unknown;
    this.original = data as Record<string, unknown[]>;
    const judged = importToolAlpacaJudged(data, { label: this.path });
    this.setRunMeta(judged.run);
    this.meta.model = judged.run.model;
    this.setJudge(judged.judge);
    const p = judged.statistics.percentages;
    this.meta.statistics = `process ${p.procedure.toFixed(1)}%, response ${p.response.toFixed(1)}%, overall ${p.overall.toFixed(1)}%`;
    for (const item of judged.items) {
      into.add(this.entry(item, { memory: item }));
    }
    this.meta.items = String(into.size);
    this.host.changed(this);
  }

  async raw(n: number): Promise<unknown> {
    const item = this.item(n).memory as JudgedItem;
    const list = this.original[item.tool];
    const entry = list?.find((e) => isRecord(e) && e.id === item.index) ?? list?.[item.index];
    return entry ?? item;
  }

  async detail(n: number): Promise<ItemDetail> {
    return this.withDoc(this.itemDetail(n, this.item(n).memory as JudgedItem));
  }
}
