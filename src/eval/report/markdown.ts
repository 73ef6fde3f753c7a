/** The Markdown report: the same figures as the HTML one, as tables (linked to the viewer with `viewUrl`). */
import { viewLink, type ReportMetric } from './links.js';
import { judgedShares, percentText, type Report, type ReportEntry, type ReportRow } from './model.js';

export interface MarkdownOptions {
  /** Base URL of a running `toolalpaca view` over the same files. */
  viewUrl?: string;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function linked(text: string, href: string | undefined): string {
  return href === undefined ? text : `[${text.replace(/[[\]]/g, '\\$&')}](${href.replace(/\)/g, '%29')})`;
}

function figures(
  entry: ReportEntry,
  r: ReportRow,
  target: ReportRow | undefined,
  viewUrl?: string,
): string[] {
  const link = (metric: ReportMetric): string | undefined => viewLink(viewUrl, entry, target, metric);
  const shares = judgedShares(r);
  const judged = r.statistics !== undefined;
  const share = (value: number | undefined, metric: ReportMetric): string =>
    judged && !r.responseJudged && metric !== 'procedure'
      ? 'not judged'
      : linked(percentText(value), value === undefined ? undefined : link(metric));
  return [
    String(r.num),
    share(shares.procedure, 'procedure'),
    share(shares.response, 'response'),
    share(shares.overall, 'overall'),
    r.statistics !== undefined ? String(r.statistics.error_num) : '–',
    linked(percentText(r.deterministicPass), link('deterministic')),
    r.meanSteps.toFixed(2),
    linked(String(r.failed), r.failed > 0 ? link('failed') : undefined),
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

function entrySection(entry: ReportEntry, viewUrl: string | undefined): string[] {
  const run = entry.run;
  const lines = [`## ${entry.label}`, ''];
  lines.push(
    `model \`${run.model}\`, prompt ${run.prompt} (${run.mode}), executor ${run.executor}${run.executorModel !== undefined ? ` (\`${run.executorModel}\`)` : ''}${run.seed !== undefined ? `, seed ${run.seed}` : ''}; ${entry.judge !== undefined ? `judge \`${entry.judge.model}\` × ${entry.judge.runs}` : 'not judged'}; tokens in ${run.tokens.prompt}, out ${run.tokens.completion}; cost $${entry.costUsd.toFixed(4)}; toolalpaca ${run.toolalpacaVersion}; file \`${entry.path}\``,
  );
  if (entry.spread !== undefined && entry.judge !== undefined) {
    const parts = [`procedure ${entry.spread.procedure.stdev.toFixed(2)}`];
    if (entry.overall.responseJudged) {
      parts.push(
        `response ${entry.spread.response.stdev.toFixed(2)}`,
        `overall ${entry.spread.overall.stdev.toFixed(2)}`,
      );
    }
    lines.push(
      '',
      `Spread over ${entry.judge.runs} judge runs (standard deviation, points): ${parts.join(', ')}.`,
    );
  }
  lines.push('', row(['tool', ...HEAD]), row(['---', ...HEAD.map(() => '---:')]));
  for (const r of entry.tools) {
    lines.push(row([linked(r.name, viewLink(viewUrl, entry, r, 'all')), ...figures(entry, r, r, viewUrl)]));
  }
  lines.push(row(['**overall**', ...figures(entry, entry.overall, undefined, viewUrl)]), '');
  return lines;
}

export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const viewUrl = options.viewUrl;
  const lines = ['# toolalpaca evaluation report', ''];
  lines.push(
    `${report.entries.length} input(s), ${report.tools.length} tools, generated ${report.generatedAt}.`,
    '',
  );
  lines.push('## Comparison', '');
  lines.push(row(['input', ...HEAD, 'cost']), row(['---', ...HEAD.map(() => '---:'), '---:']));
  for (const entry of report.entries) {
    lines.push(
      row([
        linked(entry.label, viewLink(viewUrl, entry, undefined, 'all')),
        ...figures(entry, entry.overall, undefined, viewUrl),
        `$${entry.costUsd.toFixed(4)}`,
      ]),
    );
  }
  lines.push(
    '',
    'procedure / response / overall: share of all instructions whose process, final response, or both the judge found correct (ToolAlpaca\'s percentages; errors count as not correct). Deterministic pass: share whose process passes the rule-based checker. The deterministic checker as judge judges the process only: its response and overall are "not judged".',
    '',
  );
  for (const entry of report.entries) lines.push(...entrySection(entry, viewUrl));
  return `${lines.join('\n')}`;
}
