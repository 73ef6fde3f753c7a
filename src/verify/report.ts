/**
 * What a verification run prints and the drop report it writes (`OUT.verification.md`): counts per stage,
 * per reason and per kind, and a few failed instances of each reason with their messages.
 */
import { REASON_CODES, VERIFICATION_STAGES, stageOfReason } from './reasons.js';
import type { ReportCases, VerificationSummary } from './verify-run.js';

function percent(part: number, whole: number): string {
  return whole === 0 ? '0.0%' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** Reasons in the order of REASON_CODES (stage by stage), then any unknown ones. */
function orderedReasons(byReason: Record<string, number>): [string, number][] {
  const order = VERIFICATION_STAGES.flatMap((stage) => [...REASON_CODES[stage]] as string[]);
  return Object.entries(byReason).sort(
    ([a], [b]) => (order.indexOf(a) + 1 || 999) - (order.indexOf(b) + 1 || 999) || a.localeCompare(b),
  );
}

/** The summary as a few human lines. */
export function formatVerificationSummary(summary: VerificationSummary): string {
  const lines = [
    `${summary.interrupted ? 'interrupted: ' : ''}verified ${summary.verified}/${summary.total} instances: ${summary.passed} passed, ${summary.failed} failed${summary.notVerified > 0 ? `, ${summary.notVerified} not verified` : ''}`,
  ];
  if (summary.failed > 0) {
    lines.push(
      `failed by stage: ${VERIFICATION_STAGES.map((stage) => `${stage} ${summary.byStage[stage] ?? 0}`).join(', ')}`,
    );
    for (const [code, count] of orderedReasons(summary.byReason)) {
      lines.push(`  ${stageOfReason(code) ?? '?'}/${code}: ${count}`);
    }
  }
  const kinds = Object.entries(summary.byKind);
  if (kinds.length > 1 || (kinds.length === 1 && kinds[0]?.[0] !== 'original')) {
    lines.push(`by kind: ${kinds.map(([kind, k]) => `${kind} ${k.passed}/${k.total}`).join(', ')}`);
  }
  if (summary.resumed > 0) lines.push(`resumed: ${summary.resumed} instances read from ${summary.log}`);
  lines.push(`wrote ${summary.out} and the drop report ${summary.report}`);
  return `${lines.join('\n')}\n`;
}

/** The drop report (Markdown). */
export function formatVerificationReport(summary: VerificationSummary, cases: ReportCases): string {
  const lines = [
    '# Verification report',
    '',
    `Corpus: \`${summary.corpus}\` → \`${summary.out}\``,
    '',
    `| | instances | share |`,
    `| --- | ---: | ---: |`,
    `| total | ${summary.total} | |`,
    `| passed | ${summary.passed} | ${percent(summary.passed, summary.total)} |`,
    `| failed | ${summary.failed} | ${percent(summary.failed, summary.total)} |`,
    `| not verified | ${summary.total - summary.verified} | ${percent(summary.total - summary.verified, summary.total)} |`,
    '',
    '## Failed, by stage (the first failing stage)',
    '',
    '| stage | instances |',
    '| --- | ---: |',
    ...VERIFICATION_STAGES.map((stage) => `| ${stage} | ${summary.byStage[stage] ?? 0} |`),
    '',
    '## Failed, by reason (an instance counts once per reason)',
    '',
    '| stage | reason | instances |',
    '| --- | --- | ---: |',
    ...orderedReasons(summary.byReason).map(
      ([code, count]) => `| ${stageOfReason(code) ?? '?'} | \`${code}\` | ${count} |`,
    ),
    '',
    '## By kind',
    '',
    '| kind | instances | passed |',
    '| --- | ---: | ---: |',
    ...Object.entries(summary.byKind).map(([kind, k]) => `| ${kind} | ${k.total} | ${k.passed} |`),
    '',
    '## Dropped instances (up to 20 per reason)',
  ];
  for (const [code] of orderedReasons(summary.byReason)) {
    lines.push('', `### \`${code}\``, '');
    for (const item of cases.get(code) ?? [])
      lines.push(`- \`${item.id}\`: ${item.message.replace(/\n/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
