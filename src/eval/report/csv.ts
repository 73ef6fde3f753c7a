/**
 * CSV of trajectories for human evaluation (RFC 4180: comma separated, CRLF line ends, fields quoted
 * when they hold a comma, quote or line break). One row per item of every input, with the standard answer
 * and the solution in ToolAlpaca's numbered layout, the judge's and the checker's labels, and empty
 * `human_process` / `human_response` / `human_notes` columns to fill in.
 */
import type { JudgedItem, RunItem } from '../../core/run.js';
import { solutionText, standardAnswerText } from '../judge/prompt.js';
import { deterministicPasses, judgesResponse, type ReportSource } from './model.js';

export const CSV_COLUMNS = [
  'input',
  'model',
  'executor',
  'judge',
  'tool',
  'index',
  'instruction',
  'standard_answer',
  'solution',
  'final_answer',
  'status',
  'failure',
  'steps',
  'judge_process',
  'judge_response',
  'judge_spread',
  'deterministic_pass',
  'human_process',
  'human_response',
  'human_notes',
] as const;

export function csvField(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function isJudged(item: RunItem | JudgedItem): item is JudgedItem {
  return Array.isArray((item as JudgedItem).verdicts);
}

export function renderCsv(sources: readonly ReportSource[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const source of sources) {
    const responseJudged = judgesResponse(source);
    for (const item of source.items) {
      const judged = isJudged(item) ? item : undefined;
      const spread = judged?.spread;
      const values: (string | number | boolean | undefined)[] = [
        source.path,
        source.run.model,
        source.run.executor,
        source.judge?.model,
        item.tool,
        item.index,
        item.instruction,
        standardAnswerText(item.goldenAnswers).trimEnd(),
        solutionText(item.steps, item.finalAnswer),
        item.finalAnswer,
        item.status,
        item.failure?.reason,
        item.steps.length,
        judged?.majority?.process ?? (judged?.error !== undefined ? 'error' : undefined),
        judged === undefined
          ? undefined
          : !responseJudged
            ? 'not judged'
            : (judged.majority?.response ?? (judged.error !== undefined ? 'error' : undefined)),
        spread !== undefined ? `${spread.process}/${spread.response}` : undefined,
        deterministicPasses(item) ? 'Yes' : 'No',
        '',
        '',
        '',
      ];
      lines.push(values.map(csvField).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
