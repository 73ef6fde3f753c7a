/**
 * ToolAlpaca's statistics: `num` items, `error_num` that could not be judged (no solution, or no
 * readable verdict), counts of Yes / No / Uncertain for process and final response over the judged
 * ones, and `both` (process and response Yes). Percentages are ToolAlpaca's: each count of Yes over
 * `num` (errors included), as its paper's procedure / response / overall columns.
 *
 * With K judge runs per item: the majority label per item (a tie between labels is Uncertain), the
 * spread per item (share of readable verdicts that gave the majority label), and the statistics of each
 * run taken alone with their min / max / standard deviation.
 */
import type { LabelCounts, RunSpread, Statistics, Verdict, VerdictLabel } from '../core/run.js';

/** One item's final labels; undefined when the item could not be judged (an error). */
export type ItemLabels = { process: VerdictLabel; response: VerdictLabel } | undefined;

const LABELS: readonly VerdictLabel[] = ['Yes', 'No', 'Uncertain'];

function emptyCounts(): LabelCounts {
  return { Yes: 0, No: 0, Uncertain: 0 };
}

/** Rounded to 2 decimals (percentages are shown, not summed). */
function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export function computeStatistics(labels: readonly ItemLabels[]): Statistics {
  const process = emptyCounts();
  const response = emptyCounts();
  let errors = 0;
  let both = 0;
  for (const item of labels) {
    if (item === undefined) {
      errors++;
      continue;
    }
    process[item.process]++;
    response[item.response]++;
    if (item.process === 'Yes' && item.response === 'Yes') both++;
  }
  const num = labels.length;
  const percent = (count: number): number => (num === 0 ? 0 : round2((count / num) * 100));
  return {
    num,
    error_num: errors,
    process,
    response,
    both,
    percentages: { procedure: percent(process.Yes), response: percent(response.Yes), overall: percent(both) },
  };
}

/** The most given label; a tie for first place is Uncertain. Undefined for no labels. */
export function majorityLabel(labels: readonly VerdictLabel[]): VerdictLabel | undefined {
  if (labels.length === 0) return undefined;
  const counts = emptyCounts();
  for (const label of labels) counts[label]++;
  const best = Math.max(...LABELS.map((l) => counts[l]));
  const leaders = LABELS.filter((l) => counts[l] === best);
  return leaders.length === 1 ? leaders[0] : 'Uncertain';
}

/** Share (0-1) of `labels` equal to the most frequent label. 0 for none. */
export function agreementShare(labels: readonly VerdictLabel[]): number {
  if (labels.length === 0) return 0;
  const counts = emptyCounts();
  for (const label of labels) counts[label]++;
  return round2(Math.max(...LABELS.map((l) => counts[l])) / labels.length);
}

/** Majority and spread of one item's verdicts (unreadable ones are left out). */
export function combineVerdicts(verdicts: readonly Verdict[]): {
  majority?: { process: VerdictLabel; response: VerdictLabel };
  spread?: { process: number; response: number };
} {
  const readable = verdicts.filter(
    (v): v is Verdict & { process: VerdictLabel; response: VerdictLabel } =>
      v.error === undefined && v.process !== undefined && v.response !== undefined,
  );
  const process = majorityLabel(readable.map((v) => v.process));
  const response = majorityLabel(readable.map((v) => v.response));
  if (process === undefined || response === undefined) return {};
  return {
    majority: { process, response },
    spread: {
      process: agreementShare(readable.map((v) => v.process)),
      response: agreementShare(readable.map((v) => v.response)),
    },
  };
}

function minMaxStdev(values: readonly number[]): { min: number; max: number; stdev: number } {
  if (values.length === 0) return { min: 0, max: 0, stdev: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length;
  return { min: Math.min(...values), max: Math.max(...values), stdev: round2(Math.sqrt(variance)) };
}

/**
 * Statistics of each judge run alone (run k uses every item's k-th verdict; an item with no solution is
 * an error in every run) and the spread of the percentages across runs.
 */
export function runSpread(itemVerdicts: readonly (readonly Verdict[])[], runs: number): RunSpread {
  const perRun: Statistics[] = [];
  for (let k = 0; k < runs; k++) {
    perRun.push(
      computeStatistics(
        itemVerdicts.map((verdicts) => {
          const v = verdicts[k];
          if (v === undefined || v.error !== undefined || v.process === undefined || v.response === undefined)
            return undefined;
          return { process: v.process, response: v.response };
        }),
      ),
    );
  }
  return {
    perRun,
    procedure: minMaxStdev(perRun.map((s) => s.percentages.procedure)),
    response: minMaxStdev(perRun.map((s) => s.percentages.response)),
    overall: minMaxStdev(perRun.map((s) => s.percentages.overall)),
  };
}

/** `procedure 63.00% · response 68.00% · overall 60.00% (n=100, errors 1)`. */
export function formatStatistics(statistics: Statistics): string {
  const p = statistics.percentages;
  return `procedure ${p.procedure.toFixed(2)}% · response ${p.response.toFixed(2)}% · overall ${p.overall.toFixed(2)}% (n=${statistics.num}, errors ${statistics.error_num})`;
}
