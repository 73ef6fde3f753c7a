/**
 * `toolalpaca report`: reads runs and judged files — ours, and ToolAlpaca's published judged files and
 * evaluation outputs, imported as they are read — and renders them as one HTML file (self-contained,
 * inline SVG charts), Markdown, or a CSV of trajectories for human evaluation.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-write.js';
import { InputError, messageOf, oneLine } from '../../core/errors.js';
import { JUDGED_KIND, parseJudgedFile, parseRunFile, RUN_KIND } from '../../core/run.js';
import {
  importToolAlpacaEvaluation,
  importToolAlpacaJudged,
  looksLikeToolAlpacaEvaluation,
  looksLikeToolAlpacaJudged,
} from '../import/toolalpaca.js';
import { renderCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { buildReport, type ReportSource } from './model.js';

export {
  buildReport,
  labelsOf,
  type Report,
  type ReportEntry,
  type ReportRow,
  type ReportSource,
} from './model.js';
export { viewLink, metricFilters } from './links.js';
export { renderCsv } from './csv.js';
export { renderHtml } from './html.js';
export { renderMarkdown } from './markdown.js';

export const REPORT_FORMATS = ['html', 'md', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The format named by `format`, else guessed from the output's extension, else html. */
export function reportFormatOf(format: string | undefined, out: string | undefined): ReportFormat {
  if (format !== undefined) {
    if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
      throw new InputError(
        `unknown report format "${format}"; expected one of: ${REPORT_FORMATS.join(', ')}`,
        { details: { reason: 'unknown-report-format', format, known: [...REPORT_FORMATS] } },
      );
    }
    return format as ReportFormat;
  }
  if (out !== undefined && /\.(md|markdown)$/i.test(out)) return 'md';
  if (out !== undefined && /\.csv$/i.test(out)) return 'csv';
  return 'html';
}

/**
 * A run or judged file as a report source — ours, or ToolAlpaca's judged file (`evaluation.py` output)
 * or evaluation output (records with `Instances`), imported as `eval agreement` imports them; one-line
 * InputError otherwise.
 */
export function reportSourceOf(data: unknown, path: string): ReportSource {
  const kind = typeof data === 'object' && data !== null ? (data as { kind?: unknown }).kind : undefined;
  if (kind === RUN_KIND) {
    const parsed = parseRunFile(data);
    if (!parsed.ok) throw new InputError(oneLine(`${path}: not a valid run file: ${parsed.error}`));
    return { path, run: parsed.run.meta, items: parsed.run.items };
  }
  if (kind === JUDGED_KIND) {
    const parsed = parseJudgedFile(data);
    if (!parsed.ok) throw new InputError(oneLine(`${path}: not a valid judged file: ${parsed.error}`));
    const judged = parsed.judged;
    return {
      path,
      run: judged.run,
      judge: judged.judge,
      items: judged.items,
      statistics: judged.statistics,
      ...(judged.spread !== undefined ? { spread: judged.spread } : {}),
    };
  }
  if (kind === undefined && looksLikeToolAlpacaJudged(data)) {
    const judged = importToolAlpacaJudged(data, { label: path });
    return reportSourceOf(judged, path);
  }
  if (kind === undefined && looksLikeToolAlpacaEvaluation(data)) {
    return reportSourceOf(importToolAlpacaEvaluation(data, { label: path }), path);
  }
  throw new InputError(
    `${path}: not a run or judged file: expected a toolalpaca run (kind "${RUN_KIND}"), judged file (kind "${JUDGED_KIND}"), or ToolAlpaca's judged file or evaluation output`,
  );
}

export async function readReportSource(path: string): Promise<ReportSource> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw new InputError(oneLine(`cannot read ${path}: ${messageOf(error)}`), { cause: error });
  }
  return reportSourceOf(data, path);
}

export interface RenderOptions {
  /** Base URL of a running `toolalpaca view` over the same files: figures link to its filtered lists. */
  viewUrl?: string;
}

/** `viewUrl`: an http(s) URL; one-line InputError otherwise. */
export function checkViewUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`viewUrl: not a URL: "${value}"`, {
      details: { reason: 'view-url-not-url', value },
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`viewUrl: expected an http:// URL (toolalpaca view), got "${value}"`, {
      details: { reason: 'view-url-not-http', value },
    });
  }
  return value.replace(/\/+$/, '');
}

/** The report text in the given format. */
export function renderReport(
  sources: readonly ReportSource[],
  format: ReportFormat,
  now?: Date,
  options: RenderOptions = {},
): string {
  if (format === 'csv') return renderCsv(sources);
  const report = buildReport(sources, now);
  return format === 'md' ? renderMarkdown(report, options) : renderHtml(report, options);
}

/** Reads the inputs, renders, and writes `out` atomically. Returns the format written. */
export async function writeReport(
  inputs: readonly string[],
  out: string,
  format?: string,
  options: RenderOptions = {},
): Promise<{ format: ReportFormat; sources: ReportSource[] }> {
  if (inputs.length === 0) throw new InputError('report: give at least one RUN.json or JUDGED.json');
  const chosen = reportFormatOf(format, out);
  if (options.viewUrl !== undefined) checkViewUrl(options.viewUrl);
  const sources: ReportSource[] = [];
  for (const input of inputs) sources.push(await readReportSource(input));
  await writeFileAtomic(out, renderReport(sources, chosen, undefined, options));
  return { format: chosen, sources };
}
