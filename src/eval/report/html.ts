/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external asset) that
 * opens offline. Sections: a model comparison chart and table, then per entry a per-tool bar chart and
 * a per-tool table.
 */
import { barChartSvg, escapeXml, SERIES_COLORS } from './svg.js';
import { percentText, type Report, type ReportEntry, type ReportRow } from './model.js';

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #111827; background: #f9fafb; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.5rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: 0.75rem 0; background: #fff; font-size: 0.85rem; }
th, td { border: 1px solid #d1d5db; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f4f6; }
tr.overall td { font-weight: 600; background: #eef2ff; }
.meta { color: #4b5563; font-size: 0.85rem; }
.chart { display: block; margin: 0.75rem 0; border: 1px solid #e5e7eb; max-width: 100%; height: auto; }
.note { color: #6b7280; font-size: 0.8rem; }
`;

function statisticsCells(row: ReportRow): string {
  const p = row.statistics?.percentages;
  return [
    percentText(p?.procedure),
    percentText(p?.response),
    percentText(p?.overall),
    row.statistics !== undefined ? String(row.statistics.error_num) : '–',
  ]
    .map((cell) => `<td>${escapeXml(cell)}</td>`)
    .join('');
}

function rowHtml(row: ReportRow, overall = false): string {
  const cells = [
    `<td>${escapeXml(row.name)}</td>`,
    `<td>${row.num}</td>`,
    statisticsCells(row),
    `<td>${percentText(row.deterministicPass)}</td>`,
    `<td>${row.meanSteps.toFixed(2)}</td>`,
    `<td>${row.failed}</td>`,
    `<td>${row.promptTokens + row.completionTokens}</td>`,
  ];
  return `<tr${overall ? ' class="overall"' : ''}>${cells.join('')}</tr>`;
}

const ROW_HEADER =
  '<tr><th>tool</th><th>n</th><th>procedure</th><th>response</th><th>overall</th><th>errors</th><th>deterministic pass</th><th>steps</th><th>failed</th><th>tokens</th></tr>';

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

function perToolChart(entry: ReportEntry, index: number): string {
  const judged = entry.judge !== undefined;
  const series = judged
    ? [
        {
          name: 'procedure',
          color: SERIES_COLORS[0] as string,
          values: entry.tools.map((t) => t.statistics?.percentages.procedure),
        },
        {
          name: 'response',
          color: SERIES_COLORS[1] as string,
          values: entry.tools.map((t) => t.statistics?.percentages.response),
        },
        {
          name: 'overall',
          color: SERIES_COLORS[2] as string,
          values: entry.tools.map((t) => t.statistics?.percentages.overall),
        },
        {
          name: 'deterministic pass',
          color: SERIES_COLORS[3] as string,
          values: entry.tools.map((t) => t.deterministicPass),
        },
      ]
    : [
        {
          name: 'deterministic pass',
          color: SERIES_COLORS[3] as string,
          values: entry.tools.map((t) => t.deterministicPass),
        },
      ];
  return barChartSvg({
    id: `per-tool-${index}`,
    title: `Per tool: ${entry.label}`,
    categories: entry.tools.map((t) => t.name),
    series,
  });
}

function comparisonChart(report: Report): string {
  const entries = report.entries;
  const pick = (f: (e: ReportEntry) => number | undefined): (number | undefined)[] => entries.map(f);
  return barChartSvg({
    id: 'model-comparison',
    title: 'Model comparison (overall)',
    categories: entries.map((e) => e.label),
    series: [
      {
        name: 'procedure',
        color: SERIES_COLORS[0] as string,
        values: pick((e) => e.overall.statistics?.percentages.procedure),
      },
      {
        name: 'response',
        color: SERIES_COLORS[1] as string,
        values: pick((e) => e.overall.statistics?.percentages.response),
      },
      {
        name: 'overall',
        color: SERIES_COLORS[2] as string,
        values: pick((e) => e.overall.statistics?.percentages.overall),
      },
      {
        name: 'deterministic pass',
        color: SERIES_COLORS[3] as string,
        values: pick((e) => e.overall.deterministicPass),
      },
    ],
  });
}

export function renderHtml(report: Report): string {
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
  out.push('<h2>Comparison</h2>');
  out.push(comparisonChart(report));
  out.push(
    '<table><tr><th>input</th><th>n</th><th>procedure</th><th>response</th><th>overall</th><th>errors</th><th>deterministic pass</th><th>steps</th><th>failed</th><th>tokens</th><th>cost</th></tr>',
  );
  for (const entry of report.entries) {
    const row = { ...entry.overall, name: entry.label };
    out.push(rowHtml(row).replace('</tr>', `<td>$${entry.costUsd.toFixed(4)}</td></tr>`));
  }
  out.push('</table>');
  out.push(
    '<p class="note">procedure / response / overall: share of all instructions whose process, final response, or both the judge found correct (ToolAlpaca\'s percentages; errors count as not correct). Deterministic pass: share whose process passes the rule-based checker. With a deterministic judge the response is not judged.</p>',
  );
  report.entries.forEach((entry, index) => {
    out.push(`<h2>${escapeXml(entry.label)}</h2>`);
    out.push(entryMeta(entry));
    if (entry.spread !== undefined && entry.judge !== undefined) {
      out.push(
        `<p class="meta">spread over ${entry.judge.runs} judge runs (standard deviation): procedure ${entry.spread.procedure.stdev.toFixed(2)}, response ${entry.spread.response.stdev.toFixed(2)}, overall ${entry.spread.overall.stdev.toFixed(2)} points</p>`,
      );
    }
    out.push(perToolChart(entry, index));
    out.push(`<table>${ROW_HEADER}`);
    for (const row of entry.tools) out.push(rowHtml(row));
    out.push(rowHtml(entry.overall, true));
    out.push('</table>');
  });
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
