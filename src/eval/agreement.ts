/**
 * Agreement between two labellings of the same items (a reference judge, e.g. GPT-4, and a second judge,
 * e.g. the deterministic checker): accuracy, Cohen's kappa and confusion matrices.
 *
 * Uncertain: the checker only says Yes or No, while an LLM judge may say Uncertain. The headline figures
 * are binary, Yes against not-Yes (Uncertain counts with No), because only Yes counts as a correct
 * process in ToolAlpaca's percentages: two judges agree when they would count the same items as correct.
 * The full 3x3 matrix (with its own accuracy and kappa, where an Uncertain reference never agrees with a
 * Yes/No prediction) is reported beside it.
 */
import type { JudgedFile } from '../core/run.js';
import { checkProcess } from './deterministic/checker.js';

export const LABELS = ['Yes', 'No', 'Uncertain'] as const;
export type Label = (typeof LABELS)[number];

export interface LabelPair {
  reference: Label;
  predicted: Label;
}

/** `matrix[reference][predicted]` = count. */
export type Confusion<L extends string> = Record<L, Record<L, number>>;

export interface AgreementFigures<L extends string> {
  n: number;
  /** Share of items with the same label (0-1); 0 when n = 0. */
  accuracy: number;
  /** Cohen's kappa (chance-corrected agreement); 1 when both judges are perfect and constant. */
  kappa: number;
  /** Rows: reference label; columns: predicted label. */
  confusion: Confusion<L>;
}

export type BinaryLabel = 'Yes' | 'No';

export interface Agreement extends AgreementFigures<BinaryLabel> {
  /** Yes / No / Uncertain on both sides. */
  full: AgreementFigures<Label>;
}

function figures<L extends string>(
  labels: readonly L[],
  pairs: readonly { reference: L; predicted: L }[],
): AgreementFigures<L> {
  const confusion = Object.fromEntries(
    labels.map((row) => [row, Object.fromEntries(labels.map((col) => [col, 0]))]),
  ) as Confusion<L>;
  for (const { reference, predicted } of pairs) confusion[reference][predicted] += 1;
  const n = pairs.length;
  if (n === 0) return { n, accuracy: 0, kappa: 0, confusion };
  let agree = 0;
  let chance = 0;
  for (const label of labels) {
    agree += confusion[label][label];
    const rowTotal = labels.reduce((sum, col) => sum + confusion[label][col], 0);
    const colTotal = labels.reduce((sum, row) => sum + confusion[row][label], 0);
    chance += (rowTotal / n) * (colTotal / n);
  }
  const accuracy = agree / n;
  const kappa = cohenKappa(accuracy, chance);
  return { n, accuracy, kappa, confusion };
}

/** (po - pe) / (1 - pe); when chance agreement is total (pe = 1), 1 for full agreement else 0. */
export function cohenKappa(observed: number, chance: number): number {
  if (chance >= 1) return observed >= 1 ? 1 : 0;
  return (observed - chance) / (1 - chance);
}

const binary = (label: Label): BinaryLabel => (label === 'Yes' ? 'Yes' : 'No');

export function computeAgreement(pairs: readonly LabelPair[]): Agreement {
  const headline = figures<BinaryLabel>(
    ['Yes', 'No'],
    pairs.map((p) => ({ reference: binary(p.reference), predicted: binary(p.predicted) })),
  );
  return { ...headline, full: figures<Label>(LABELS, pairs) };
}

/** A label from judge text (`Yes`, `no`, ` Uncertain `...), or undefined. */
export function parseLabel(value: unknown): Label | undefined {
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase();
  return LABELS.find((label) => label.toLowerCase() === word);
}

/** One judged item seen by both judges. */
export interface AgreementCase {
  tool: string;
  index: number;
  instruction: string;
  /** The reference judge's process label (e.g. GPT-4's). */
  reference: Label;
  /** The deterministic checker's label. */
  predicted: Label;
  /** The checker's reasons (why wrong; or notes on what it allowed). */
  reasons: string[];
  /** The reference judge's analysis. */
  analysis: string;
}

export interface CheckerAgreement extends Agreement {
  /** Items left out: no reference label (not judged, unreadable verdict). */
  skipped: number;
  cases: AgreementCase[];
}

/**
 * Runs the deterministic checker on every judged item and compares its process verdict with the
 * judge's majority process label.
 */
export function checkerAgreement(judged: JudgedFile): CheckerAgreement {
  const cases: AgreementCase[] = [];
  let skipped = 0;
  for (const item of judged.items) {
    const reference = item.majority?.process;
    if (reference === undefined) {
      skipped++;
      continue;
    }
    const result = checkProcess(item);
    cases.push({
      tool: item.tool,
      index: item.index,
      instruction: item.instruction,
      reference,
      predicted: result.correct ? 'Yes' : 'No',
      reasons: result.reasons,
      analysis: item.verdicts.find((v) => v.process === reference)?.analysis ?? '',
    });
  }
  return { ...computeAgreement(cases), skipped, cases };
}

/** Cases where the two judges disagree (binary: Yes against not-Yes). */
export function disagreements(result: CheckerAgreement): AgreementCase[] {
  return result.cases.filter((c) => (c.reference === 'Yes') !== (c.predicted === 'Yes'));
}
