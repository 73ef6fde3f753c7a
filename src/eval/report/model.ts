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

/** Whether the deterministic checker passes the item's process (computed when not recorded). */
export function deterministicPasses(item: RunItem | JudgedItem): boolean {
  if (item.steps.length === 0) return false;
  if (isJudged(item) && item.deterministic !== undefined) return item.deterministic.correct;
  return checkProcess(item).correct;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function rowOf(name: string, items: readonly (RunItem | JudgedItem)[], judged: boolean): ReportRow {
  const num = items.length;
  const passes = items.filter(deterministicPasses).length;
  const row: ReportRow = {
    name,
    num,
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

/** `model · executor · judge`, made unique with a numeric suffix. */
function labelsOf(sources: readonly ReportSource[]): string[] {
  const base = sources.map((s) => {
    const parts = [s.run.model, s.run.executor];
    if (s.judge !== undefined) parts.push(`judge ${s.judge.model}`);
    return parts.join(' · ');
  });
  const seen = new Map<string, number>();
  return base.map((label) => {
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return count === 1 && base.filter((b) => b === label).length === 1 ? label : `${label} #${count}`;
  });
}

export function buildReport(sources: readonly ReportSource[], now: Date = new Date()): Report {
  const labels = labelsOf(sources);
  const tools: string[] = [];
  const entries = sources.map((source, i): ReportEntry => {
    const judged = source.judge !== undefined;
    const byTool = new Map<string, (RunItem | JudgedItem)[]>();
    for (const item of source.items) {
      if (!tools.includes(item.tool)) tools.push(item.tool);
      const list = byTool.get(item.tool) ?? [];
      list.push(item);
      byTool.set(item.tool, list);
    }
    const overall = rowOf('overall', source.items, judged);
    // The judged file's own statistics win for the overall row (identical unless edited by hand).
    if (judged && source.statistics !== undefined) overall.statistics = source.statistics;
    const entry: ReportEntry = {
      label: labels[i] ?? source.path,
      path: source.path,
      run: source.run,
      overall,
      tools: [...byTool.entries()].map(([tool, items]) => rowOf(tool, items, judged)),
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
