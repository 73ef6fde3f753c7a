/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external asset) that
 * opens offline. Sections: a run comparison chart and table, then per entry a per-tool bar chart and
 * a per-tool table. With `viewUrl`, every figure links to the matching filtered list in `toolalpaca view`.
 */
import { barChartSvg, escapeXml, SERIES_COLORS, type BarSeries } from './svg.js';
import { viewLink, type ReportMetric } from './links.js';
import { judgedShares, percentText, type Report, type ReportEntry, type ReportRow } from './model.js';

export interface HtmlOptions {
  /** Base URL of a running `toolalpaca view` over the same files. */
  viewUrl?: string;
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #111827; background: #f9fafb; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.5rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: 0.75rem 0; background: #fff; font-size: 0.85rem; }
th, td { border: 1px solid #d1d5db; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f4f6; }
tr.overall td { font-weight: 600; background: #eef2ff; }
td a { color: inherit; }
.meta { color: #4b5563; font-size: 0.85rem; }
.chart { display: block; margin: 0.75rem 0; border: 1px solid #e5e7eb; max-width: 100%; height: auto; }
.note { color: #6b7280; font-size: 0.8rem; }
`;

const NOT_JUDGED = 'not judged';

function cell(text: string, href: string | undefined): string {
  const inner = href === undefined ? escapeXml(text) : `<a href="${escapeXml(href)}">${escapeXml(text)}</a>`;
  return `<td>${inner}</td>`;
}

function rowHtml(entry: ReportEntry, row: ReportRow, viewUrl: string | undefined, overall: boolean): string {
  const target = overall ? undefined : row;
  const link = (metric: ReportMetric): string | undefined => viewLink(viewUrl, entry, target, metric);
  const shares = judgedShares(row);
  const judged = row.statistics !== undefined;
  const share = (value: number | undefined, metric: ReportMetric): string =>
    cell(
      judged && !row.responseJudged && metric !== 'procedure' ? NOT_JUDGED : percentText(value),
      value === undefined ? undefined : link(metric),
    );
  const cells = [
    cell(row.name, link('all')),
    `<td>${row.num}</td>`,
    share(shares.procedure, 'procedure'),
    share(shares.response, 'response'),
    share(shares.overall, 'overall'),
    cell(
      row.statistics !== undefined ? String(row.statistics.error_num) : '–',
      judged ? link('errors') : undefined,
    ),
    cell(percentText(row.deterministicPass), link('deterministic')),
    `<td>${row.meanSteps.toFixed(2)}</td>`,
    cell(String(row.failed), row.failed > 0 ? link('failed') : undefined),
    `<td>${row.promptTokens + row.completionTokens}</td>`,
  ];
  return `<tr${overall ? ' class="overall"' : ''}>${cells.join('')}</tr>`;
}

const HEAD_CELLS =
  '<th>n</th><th>procedure</th><th>response</th><th>overall</th><th>errors</th><th>deterministic pass</th><th>steps</th><th>failed</th><th>tokens</th>';

function entryMeta(entry: ReportEntry): string {
  const run = entry.run;
  const parts = [
    `model <b>${escapeXml(run.model)}</b>`,
    `prompt ${escapeXml(run.prompt)} (${escapeXml(run.mode)})`,
    `executor ${escapeXml(run.executor)}${run.executorModel !== undefined ? ` (${escapeXml(run.executorModel)})` : ''}`,
  ];
  if (run.seed !== undefined) parts.push(`seed ${run.seed}`);
  if (entry.judge !== undefined) parts.push(`judge ${escapeXml(entry.judge.model)} × ${entry.judge.runs}`);
  else parts.push('not judged');
  parts.push(`tokens in ${run.tokens.prompt}, out ${run.tokens.completion}`);
  parts.push(`cost $${entry.costUsd.toFixed(4)}`);
  parts.push(`toolalpaca ${escapeXml(run.toolalpacaVersion)}`);
  parts.push(`created ${escapeXml(run.createdAt)}`);
  return `<p class="meta">${parts.join(' · ')}<br>file ${escapeXml(entry.path)}</p>`;
}

interface MetricSeries {
  metric: ReportMetric;
  name: string;
  color: string;
  value: (row: ReportRow) => number | undefined;
}

const METRICS: MetricSeries[] = [
  {
    metric: 'procedure',
    name: 'procedure',
    color: SERIES_COLORS[0] as string,
    value: (r) => judgedShares(r).procedure,
  },
  {
    metric: 'response',
    name: 'response',
    color: SERIES_COLORS[1] as string,
    value: (r) => judgedShares(r).response,
  },
  {
    metric: 'overall',
    name: 'overall',
    color: SERIES_COLORS[2] as string,
    value: (r) => judgedShares(r).overall,
  },
  {
    metric: 'deterministic',
    name: 'deterministic pass',
    color: SERIES_COLORS[3] as string,
    value: (r) => r.deterministicPass,
  },
];

/** The series an entry has figures for: the judge's (response and overall only when it judges responses). */
function metricsOf(entries: readonly ReportEntry[]): MetricSeries[] {
  return METRICS.filter((m) =>
    entries.some((e) => [e.overall, ...e.tools].some((row) => m.value(row) !== undefined)),
  );
}

function series(metrics: readonly MetricSeries[], rows: readonly ReportRow[]): BarSeries[] {
  return metrics.map((m) => ({ name: m.name, color: m.color, values: rows.map(m.value) }));
}

function perToolChart(entry: ReportEntry, index: number, viewUrl: string | undefined): string {
  const metrics = metricsOf([entry]);
  return barChartSvg({
    id: `per-tool-${index}`,
    title: `Per tool: ${entry.label}`,
    categories: entry.tools.map((t) => t.name),
    series: series(metrics, entry.tools),
    link: (c, s) => viewLink(viewUrl, entry, entry.tools[c], metrics[s]?.metric ?? 'all'),
    categoryLink: (c) => viewLink(viewUrl, entry, entry.tools[c], 'all'),
  });
}

function comparisonChart(report: Report, viewUrl: string | undefined): string {
  const entries = report.entries;
  const metrics = metricsOf(entries);
  return barChartSvg({
    id: 'model-comparison',
    title: 'Run comparison (overall)',
    orientation: 'horizontal',
    categories: entries.map((e) => e.label),
    series: series(
      metrics,
      entries.map((e) => e.overall),
    ),
    link: (c, s) => {
      const entry = entries[c];
      return entry === undefined
        ? undefined
        : viewLink(viewUrl, entry, undefined, metrics[s]?.metric ?? 'all');
    },
    categoryLink: (c) => {
      const entry = entries[c];
      return entry === undefined ? undefined : viewLink(viewUrl, entry, undefined, 'all');
    },
  });
}

export function renderHtml(report: Report, options: HtmlOptions = {}): string {
  const viewUrl = options.viewUrl;
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en"><head><meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push('<title>toolalpaca evaluation report</title>');
  out.push(`<style>${STYLE}</style></head><body>`);
  out.push('<h1>toolalpaca evaluation report</h1>');
  out.push(
    `<p class="meta">${report.entries.length} input${report.entries.length === 1 ? '' : 's'} · ${report.tools.length} tools · generated ${escapeXml(report.generatedAt)}</p>`,
  );
  if (viewUrl !== undefined) {
    out.push(
      `<p class="note">Figures, bars and tool names link to the matching items in <a href="${escapeXml(viewUrl)}">toolalpaca view</a> (it must be running over the same files).</p>`,
    );
  }
  out.push('<h2>Comparison</h2>');
  out.push(comparisonChart(report, viewUrl));
  out.push(`<table><tr><th>input</th>${HEAD_CELLS}<th>cost</th></tr>`);
  for (const entry of report.entries) {
    const row = { ...entry.overall, name: entry.label };
    out.push(
      rowHtml(entry, row, viewUrl, true).replace('</tr>', `<td>$${entry.costUsd.toFixed(4)}</td></tr>`),
    );
  }
  out.push('</table>');
  out.push(
    '<p class="note">procedure / response / overall: share of all instructions whose process, final response, or both the judge found correct (ToolAlpaca\'s percentages; errors count as not correct). Deterministic pass: share whose process passes the rule-based checker. The deterministic checker as judge judges the process only: its response and overall are "not judged".</p>',
  );
  report.entries.forEach((entry, index) => {
    out.push(`<h2>${escapeXml(entry.label)}</h2>`);
    out.push(entryMeta(entry));
    if (entry.spread !== undefined && entry.judge !== undefined) {
      const spread = entry.spread;
      const parts = [`procedure ${spread.procedure.stdev.toFixed(2)}`];
      if (entry.overall.responseJudged) {
        parts.push(
          `response ${spread.response.stdev.toFixed(2)}`,
          `overall ${spread.overall.stdev.toFixed(2)}`,
        );
      }
      out.push(
        `<p class="meta">spread over ${entry.judge.runs} judge runs (standard deviation): ${parts.join(', ')} points</p>`,
      );
    }
    out.push(perToolChart(entry, index, viewUrl));
    out.push(`<table><tr><th>tool</th>${HEAD_CELLS}</tr>`);
    for (const row of entry.tools) out.push(rowHtml(entry, row, viewUrl, false));
    out.push(rowHtml(entry, entry.overall, viewUrl, true));
    out.push('</table>');
  });
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
