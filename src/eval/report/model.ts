/**
 * The figures a report shows, computed once from runs and judged files and rendered as HTML, Markdown
 * or CSV. Per input ("entry"): overall and per-tool process / response / overall % (judged files only),
 * the deterministic checker's pass %, mean steps, failures, tokens, and the cost of the run (and judge).
 */
import type { JudgedItem, JudgeInfo, RunItem, RunMeta, Statistics } from '../../core/run.js';
import { checkProcess } from '../deterministic/checker.js';
import { computeStatistics } from '../statistics.js';

/** One input of a report: a run (not judged) or a judged file. */
export interface ReportSource {
  path: string;
  run: RunMeta;
  judge?: JudgeInfo;
  items: (RunItem | JudgedItem)[];
  statistics?: Statistics;
  spread?: { procedure: { stdev: number }; response: { stdev: number }; overall: { stdev: number } };
}

export interface ReportRow {
  /** Tool name, or "overall". */
  name: string;
  num: number;
  /** Judged only. */
  statistics?: Statistics;
  /** False when the judge does not judge the final response (the deterministic checker as judge). */
  responseJudged: boolean;
  /** Share (%) of items whose process passes the deterministic checker. */
  deterministicPass: number;
  meanSteps: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

export interface ReportEntry {
  /** Short name for tables and legends, unique within the report. */
  label: string;
  path: string;
  run: RunMeta;
  judge?: JudgeInfo;
  overall: ReportRow;
  tools: ReportRow[];
  /** Run cost plus judge cost. */
  costUsd: number;
  spread?: ReportSource['spread'];
}

export interface Report {
  generatedAt: string;
  entries: ReportEntry[];
  /** Tool names across entries, in first-seen order. */
  tools: string[];
}

function isJudged(item: RunItem | JudgedItem): item is JudgedItem {
  return Array.isArray((item as JudgedItem).verdicts);
}

/**
 * Whether the input's judge judges final responses: not the deterministic checker (its verdicts say
 * `responseJudged: false` and carry the response label `Uncertain` by convention only).
 */
export function judgesResponse(source: Pick<ReportSource, 'judge' | 'items'>): boolean {
  if (source.judge === undefined) return false;
  if (source.judge.model === 'deterministic') return false;
  const verdicts = source.items.flatMap((item) => (isJudged(item) ? item.verdicts : []));
  return !(verdicts.length > 0 && verdicts.every((v) => v.responseJudged === false));
}

/** Whether the deterministic checker passes the item's process (computed when not recorded). */
export function deterministicPasses(item: RunItem | JudgedItem): boolean {
  if (item.steps.length === 0) return false;
  if (isJudged(item) && item.deterministic !== undefined) return item.deterministic.correct;
  return checkProcess(item).correct;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function rowOf(
  name: string,
  items: readonly (RunItem | JudgedItem)[],
  judged: boolean,
  responseJudged: boolean,
): ReportRow {
  const num = items.length;
  const passes = items.filter(deterministicPasses).length;
  const row: ReportRow = {
    name,
    num,
    responseJudged: judged && responseJudged,
    deterministicPass: num === 0 ? 0 : round2((passes / num) * 100),
    meanSteps: num === 0 ? 0 : round2(items.reduce((sum, item) => sum + item.steps.length, 0) / num),
    failed: items.filter((item) => item.status === 'failed').length,
    promptTokens: items.reduce((sum, item) => sum + item.usage.promptTokens, 0),
    completionTokens: items.reduce((sum, item) => sum + item.usage.completionTokens, 0),
  };
  if (judged) {
    row.statistics = computeStatistics(items.map((item) => (isJudged(item) ? item.majority : undefined)));
  }
  return row;
}

/** What a label may name about an input, in order. */
function labelParts(s: ReportSource): [string, string][] {
  const run = s.run;
  const parts: [string, string][] = [
    ['model', run.model],
    ['executor', run.executorModel !== undefined ? `${run.executor} (${run.executorModel})` : run.executor],
    ['prompt', `${run.prompt}${run.mode !== 'react' ? ` ${run.mode}` : ''}`],
    ['seed', run.seed !== undefined ? `seed ${run.seed}` : ''],
    [
      'judge',
      s.judge !== undefined
        ? `judge ${s.judge.model}${s.judge.runs > 1 ? ` ×${s.judge.runs}` : ''}`
        : 'not judged',
    ],
  ];
  return parts;
}

/**
 * Labels that tell the inputs apart: the facts that differ between them (model, executor, prompt, seed,
 * judge), always with the model; then the file name when those are all equal; `#n` only as a last resort.
 */
export function labelsOf(sources: readonly ReportSource[]): string[] {
  const all = sources.map(labelParts);
  const varies = (index: number): boolean => new Set(all.map((parts) => parts[index]?.[1])).size > 1;
  const base = all.map((parts) => {
    const chosen = parts.filter(
      ([name], i) =>
        name === 'model' || (sources.length === 1 ? name !== 'seed' && name !== 'prompt' : varies(i)),
    );
    return chosen
      .map(([, value]) => value)
      .filter((value) => value !== '')
      .join(' · ');
  });
  const counts = (labels: string[]): Map<string, number> => {
    const map = new Map<string, number>();
    for (const label of labels) map.set(label, (map.get(label) ?? 0) + 1);
    return map;
  };
  let repeated = counts(base);
  const named = base.map((label, i) => {
    if ((repeated.get(label) ?? 0) < 2) return label;
    const file = (sources[i]?.path ?? '').split(/[\\/]/).pop() ?? '';
    return `${label} · ${file}`;
  });
  repeated = counts(named);
  const seen = new Map<string, number>();
  return named.map((label) => {
    if ((repeated.get(label) ?? 0) < 2) return label;
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return `${label} #${n}`;
  });
}

export function buildReport(sources: readonly ReportSource[], now: Date = new Date()): Report {
  const labels = labelsOf(sources);
  const tools: string[] = [];
  const entries = sources.map((source, i): ReportEntry => {
    const judged = source.judge !== undefined;
    const responseJudged = judged && judgesResponse(source);
    const byTool = new Map<string, (RunItem | JudgedItem)[]>();
    for (const item of source.items) {
      if (!tools.includes(item.tool)) tools.push(item.tool);
      const list = byTool.get(item.tool) ?? [];
      list.push(item);
      byTool.set(item.tool, list);
    }
    const overall = rowOf('overall', source.items, judged, responseJudged);
    // The judged file's own statistics win for the overall row (identical unless edited by hand).
    if (judged && source.statistics !== undefined) overall.statistics = source.statistics;
    const entry: ReportEntry = {
      label: labels[i] ?? source.path,
      path: source.path,
      run: source.run,
      overall,
      tools: [...byTool.entries()].map(([tool, items]) => rowOf(tool, items, judged, responseJudged)),
      costUsd: round2((source.run.costUsd + (source.judge?.costUsd ?? 0)) * 10_000) / 10_000,
    };
    if (source.judge !== undefined) entry.judge = source.judge;
    if (source.spread !== undefined) entry.spread = source.spread;
    return entry;
  });
  return { generatedAt: now.toISOString(), entries, tools };
}

/** A percentage for display, or "–" when not judged. */
export function percentText(value: number | undefined): string {
  return value === undefined ? '–' : `${value.toFixed(1)}%`;
}

/** The row's procedure / response / overall shares; response and overall are undefined when not judged. */
export function judgedShares(row: ReportRow): {
  procedure: number | undefined;
  response: number | undefined;
  overall: number | undefined;
} {
  const p = row.statistics?.percentages;
  return {
    procedure: p?.procedure,
    response: row.responseJudged ? p?.response : undefined,
    overall: row.responseJudged ? p?.overall : undefined,
  };
}
