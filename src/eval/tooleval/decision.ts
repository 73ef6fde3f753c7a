/**
 * ToolEval's decisions, without any model call: the pass decision table, votes over K judge runs,
 * the Solvable Pass Rate and the pairwise win/tie/lose count. Behaviour follows StableToolBench's
 * `toolbench/tooleval/` (`eval_pass_rate.py`, `eval_preference.py`, `evaluators/registered_cls/rtl.py`).
 */

export type AnswerStatus = 'Solved' | 'Unsolved' | 'Unsure';
export type TaskStatus = 'Solvable' | 'Unsolvable' | 'Unsure';
export type PassDecision = 'Passed' | 'Failed' | 'Unsure';

/**
 * ToolEval's table. A solved answer passes whatever the task; an unsolved one passes only when the
 * task cannot be solved with the given tools, and is undecided when that is unsure; an unsure answer
 * passes on an unsolvable task and is undecided otherwise.
 *
 * | answer \ task | Solvable | Unsure | Unsolvable |
 * | Solved        | Passed   | Passed | Passed     |
 * | Unsolved      | Failed   | Unsure | Passed     |
 * | Unsure        | Unsure   | Unsure | Passed     |
 */
export function passDecision(answer: AnswerStatus, task: TaskStatus): PassDecision {
  if (answer === 'Solved') return 'Passed';
  if (task === 'Unsolvable') return 'Passed';
  if (answer === 'Unsolved' && task === 'Solvable') return 'Failed';
  return 'Unsure';
}

/** A fair coin that is reproducible: the same key always lands the same way. */
export type Coin = (key: string) => boolean;

/** FNV-1a of the key, then one bit: deterministic, so a rerun of the same evaluation gives the same figures. */
export const hashCoin: Coin = (key) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Mix the high bits down so that similar keys do not share the low bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b) >>> 0;
  h ^= h >>> 16;
  return (h & 1) === 1;
};

/** One judge run's label: ToolEval turns an undecided pass into a coin flip ("if unsure, random choose"). */
export function runLabel(decision: PassDecision, coin: Coin, key: string): 'passed' | 'failed' {
  if (decision === 'Passed') return 'passed';
  if (decision === 'Failed') return 'failed';
  return coin(key) ? 'passed' : 'failed';
}

/**
 * The query's verdict over K runs. ToolEval's reported pass rate counts a query as passed when
 * `failed <= passed`, so a tie passes.
 */
export function majorityPassed(labels: readonly ('passed' | 'failed')[]): boolean {
  const passed = labels.filter((l) => l === 'passed').length;
  return labels.length - passed <= passed;
}

/** The most frequent answer status over runs (ties: Solved over Unsure over Unsolved). */
export function majorityStatus(statuses: readonly AnswerStatus[]): AnswerStatus {
  const order: AnswerStatus[] = ['Solved', 'Unsure', 'Unsolved'];
  let best: AnswerStatus = 'Unsolved';
  let bestCount = 0;
  for (const status of order) {
    const count = statuses.filter((s) => s === status).length;
    if (count > bestCount) {
      best = status;
      bestCount = count;
    }
  }
  return best;
}

/** Credit of an answer status in the Solvable Pass Rate. */
export function statusCredit(status: AnswerStatus | undefined): number {
  return status === 'Solved' ? 1 : status === 'Unsure' ? 0.5 : 0;
}

/**
 * StableToolBench's Solvable Pass Rate: for each judge run r, Σ credit(status of query q in run r) / N
 * with every query in N (an unanswered query, or one missing run r, scores 0); then the mean and the
 * population standard deviation over runs.
 */
export function solvablePassRate(
  statusesByQuery: readonly (readonly (AnswerStatus | undefined)[])[],
  runs: number,
): { mean: number; std: number; perRun: number[] } {
  const n = statusesByQuery.length;
  const perRun: number[] = [];
  for (let r = 0; r < runs; r++) {
    let score = 0;
    for (const statuses of statusesByQuery) score += statusCredit(statuses[r]);
    perRun.push(n === 0 ? 0 : score / n);
  }
  const mean = perRun.length === 0 ? 0 : perRun.reduce((a, b) => a + b, 0) / perRun.length;
  const variance = perRun.length === 0 ? 0 : perRun.reduce((a, b) => a + (b - mean) ** 2, 0) / perRun.length;
  return { mean, std: Math.sqrt(variance), perRun };
}

/** Who a round of the pairwise comparison went to. */
export type RoundWinner = 'candidate' | 'reference';

/**
 * A query's outcome over rounds: more rounds to the candidate is a win, more to the reference a loss,
 * as many each a tie (ToolEval's preference counting).
 */
export function queryOutcome(rounds: readonly (RoundWinner | undefined)[]): 'win' | 'tie' | 'lose' {
  const candidate = rounds.filter((r) => r === 'candidate').length;
  const reference = rounds.filter((r) => r === 'reference').length;
  return candidate > reference ? 'win' : candidate < reference ? 'lose' : 'tie';
}

/** Win, tie and lose rates over queries (each over all queries). */
export function winRates(outcomes: readonly ('win' | 'tie' | 'lose')[]): {
  win: number;
  tie: number;
  lose: number;
} {
  const n = outcomes.length;
  const count = (o: string): number => outcomes.filter((x) => x === o).length;
  return n === 0
    ? { win: 0, tie: 0, lose: 0 }
    : { win: count('win') / n, tie: count('tie') / n, lose: count('lose') / n };
}
