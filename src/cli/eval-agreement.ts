import type { Command } from 'commander';
import { InputError, oneLine } from '../core/errors.js';
import {
  checkerAgreement,
  disagreements,
  LABELS,
  type AgreementCase,
  type CheckerAgreement,
} from '../eval/agreement.js';
import { readResultsFile } from '../eval/import/toolalpaca.js';

export interface EvalAgreementOptions {
  json?: boolean;
  /** How many disagreeing cases to print (default 20; 0 prints none). */
  showDisagreements?: number;
}

export const DEFAULT_SHOWN_DISAGREEMENTS = 20;

/** `eval agreement FILE`: the deterministic checker against the judge labels of a judged file. */
export function registerEvalAgreementCommand(evalCommand: Command): void {
  evalCommand
    .command('agreement')
    .description(
      "Run the deterministic checker on every solution of a judged file (ToolAlpaca's or this project's) and print its agreement with the judge's process labels.",
    )
    .argument('<file>', 'judged file (e.g. ../shared/data/toolalpaca/judged_ToolAlpaca-7B_simulated.json)')
    .option('--json', 'print {n, accuracy, kappa, confusion, full, skipped, disagreements} as JSON')
    .option(
      '--show-disagreements <n>',
      `how many disagreeing cases to print (default ${DEFAULT_SHOWN_DISAGREEMENTS})`,
    )
    .action(async (file: string, options: { json?: boolean; showDisagreements?: string }) => {
      const shown =
        options.showDisagreements === undefined ? undefined : parseCount(options.showDisagreements);
      const text = await evalAgreement(file, {
        ...(options.json === true ? { json: true } : {}),
        ...(shown === undefined ? {} : { showDisagreements: shown }),
      });
      process.stdout.write(text);
    });
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new InputError(`--show-disagreements: expected a whole number, got "${value}"`);
  }
  return Number(value);
}

/** Reads FILE, runs the checker and returns what the command prints. */
export async function evalAgreement(file: string, options: EvalAgreementOptions = {}): Promise<string> {
  const results = await readResultsFile(file);
  if (results.kind !== 'judged')
    throw new InputError(`${file}: a run without judge labels; judge it first (eval judge)`);
  const judged = results.judged;
  if (judged.judge.model === 'deterministic') {
    throw new InputError(
      `${file}: judged by the deterministic checker itself; agreement needs another judge's labels`,
    );
  }
  const result = checkerAgreement(judged);
  if (result.n === 0) throw new InputError(`${file}: no item has a judge process label`);
  const limit = options.showDisagreements ?? DEFAULT_SHOWN_DISAGREEMENTS;
  if (options.json === true) {
    const { n, accuracy, kappa, confusion, full, skipped } = result;
    const cases = disagreements(result).slice(0, limit);
    return `${JSON.stringify({ n, accuracy, kappa, confusion, full, skipped, disagreements: cases }, null, 2)}\n`;
  }
  return formatAgreement(result, { file, judge: judged.judge.model, limit });
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** The human-readable report of `eval agreement`. */
export function formatAgreement(
  result: CheckerAgreement,
  context: { file: string; judge: string; limit: number },
): string {
  const lines: string[] = [];
  lines.push(`Deterministic checker vs ${context.judge} process labels — ${context.file}`);
  lines.push(
    `items compared: ${result.n}${result.skipped > 0 ? ` (${result.skipped} without a judge label left out)` : ''}`,
  );
  lines.push(`accuracy ${pct(result.accuracy)} · Cohen's kappa ${result.kappa.toFixed(3)}  (Yes vs not-Yes)`);
  lines.push('');
  lines.push('confusion (rows: judge, columns: checker)');
  lines.push(
    table(
      ['', 'checker Yes', 'checker No'],
      [
        ['judge Yes', result.confusion.Yes.Yes, result.confusion.Yes.No],
        ['judge No/Uncertain', result.confusion.No.Yes, result.confusion.No.No],
      ],
    ),
  );
  lines.push('');
  lines.push(
    `full 3x3 (Uncertain kept apart): accuracy ${pct(result.full.accuracy)} · kappa ${result.full.kappa.toFixed(3)}`,
  );
  lines.push(
    table(
      ['', ...LABELS.map((l) => `checker ${l}`)],
      LABELS.map((row) => [`judge ${row}`, ...LABELS.map((col) => result.full.confusion[row][col])]),
    ),
  );
  const cases = disagreements(result);
  lines.push('');
  lines.push(
    `disagreements: ${cases.length}${cases.length > context.limit ? ` (first ${context.limit} shown)` : ''}`,
  );
  for (const c of cases.slice(0, context.limit)) lines.push(...formatCase(c));
  return `${lines.join('\n')}\n`;
}

function formatCase(c: AgreementCase): string[] {
  const out = [`- ${c.tool}#${c.index}: judge ${c.reference}, checker ${c.predicted}`];
  out.push(`    instruction: ${oneLine(c.instruction, 200)}`);
  if (c.predicted === 'Yes') {
    out.push(
      `    checker: every standard step performed, no rule broken${c.reasons.length > 0 ? ` (${c.reasons.join('; ')})` : ''}`,
    );
  } else {
    for (const reason of c.reasons) out.push(`    checker: ${reason}`);
  }
  if (c.analysis !== '') out.push(`    judge: ${oneLine(c.analysis.split('## Results')[0] ?? '', 300)}`);
  return out;
}

function table(header: string[], rows: (string | number)[][]): string {
  const all = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  '),
    )
    .map((line) => `  ${line}`)
    .join('\n');
}
