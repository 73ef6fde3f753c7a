/** The Markdown report: the same figures as the HTML one, as tables. */
import { percentText, type Report, type ReportEntry, type ReportRow } from './model.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function figures(r: ReportRow): string[] {
  const p = r.statistics?.percentages;
  return [
    String(r.num),
    percentText(p?.procedure),
    percentText(p?.response),
    percentText(p?.overall),
    r.statistics !== undefined ? String(r.statistics.error_num) : '–',
    percentText(r.deterministicPass),
    r.meanSteps.toFixed(2),
    String(r.failed),
    String(r.promptTokens + r.completionTokens),
  ];
}

const HEAD = [
  'n',
  'procedure',
  'response',
  'overall',
  'errors',
  'deterministic pass',
  'steps',
  'failed',
  'tokens',
];

function entrySection(entry: ReportEntry): string[] {
  const run = entry.run;
  const lines = [`## ${entry.label}`, ''];
  lines.push(
    `model \`${run.model}\`, prompt ${run.prompt} (${run.mode}), executor ${run.executor}${run.executorModel !== undefined ? ` (\`${run.executorModel}\`)` : ''}${run.seed !== undefined ? `, seed ${run.seed}` : ''}; ${entry.judge !== undefined ? `judge \`${entry.judge.model}\` × ${entry.judge.runs}` : 'not judged'}; tokens in ${run.tokens.prompt}, out ${run.tokens.completion}; cost $${entry.costUsd.toFixed(4)}; toolalpaca ${run.toolalpacaVersion}; file \`${entry.path}\``,
  );
  if (entry.spread !== undefined && entry.judge !== undefined) {
    lines.push(
      '',
      `Spread over ${entry.judge.runs} judge runs (standard deviation, points): procedure ${entry.spread.procedure.stdev.toFixed(2)}, response ${entry.spread.response.stdev.toFixed(2)}, overall ${entry.spread.overall.stdev.toFixed(2)}.`,
    );
  }
  lines.push('', row(['tool', ...HEAD]), row(['---', ...HEAD.map(() => '---:')]));
  for (const r of entry.tools) lines.push(row([r.name, ...figures(r)]));
  lines.push(row(['**overall**', ...figures(entry.overall)]), '');
  return lines;
}

export function renderMarkdown(report: Report): string {
  const lines = ['# toolalpaca evaluation report', ''];
  lines.push(
    `${report.entries.length} input(s), ${report.tools.length} tools, generated ${report.generatedAt}.`,
    '',
  );
  lines.push('## Comparison', '');
  lines.push(row(['input', ...HEAD, 'cost']), row(['---', ...HEAD.map(() => '---:'), '---:']));
  for (const entry of report.entries) {
    lines.push(row([entry.label, ...figures(entry.overall), `$${entry.costUsd.toFixed(4)}`]));
  }
  lines.push(
    '',
    "procedure / response / overall: share of all instructions whose process, final response, or both the judge found correct (ToolAlpaca's percentages; errors count as not correct). Deterministic pass: share whose process passes the rule-based checker.",
    '',
  );
  for (const entry of report.entries) lines.push(...entrySection(entry));
  return `${lines.join('\n')}`;
}
