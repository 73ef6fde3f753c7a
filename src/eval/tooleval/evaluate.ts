/**
 * ToolEval over answer files: pass rate (K judge runs, majority), Solvable Pass Rate and win rate
 * against a reference run. Every query of the query set is in the denominator; a query without an
 * answer file, or whose answer never calls `Finish`, fails without a judge call.
 */
import PQueue from 'p-queue';
import type { ToolBenchAnswerRecord, ToolBenchTask } from '../../core/toolbench.js';
import { FINISH_FUNCTION_NAME } from '../../core/toolbench.js';
import { answerConversation, answerSteps, taskFunctions } from '../../formats/toolbench.js';
import type { ChatModel } from '../../models/chat-model.js';
import {
  hashCoin,
  majorityPassed,
  majorityStatus,
  passDecision,
  queryOutcome,
  runLabel,
  solvablePassRate,
  winRates,
  type AnswerStatus,
  type Coin,
  type PassDecision,
  type RoundWinner,
  type TaskStatus,
} from './decision.js';
import {
  judgeAnswerStatus,
  judgePreference,
  judgeTaskStatus,
  type JudgeOptions,
  type JudgedAnswer,
} from './judge.js';

/** The judge's view of an answer file; `task` (when known) supplies the query and the tools. */
export function judgedAnswerOf(record: ToolBenchAnswerRecord, task?: ToolBenchTask): JudgedAnswer {
  const gen = record.answer.answer_generation;
  const conversation = answerConversation(record);
  const hasFinish = conversation.some(
    (m) => m.role === 'assistant' && m.function_call?.name === FINISH_FUNCTION_NAME,
  );
  const functions = gen.function.length > 0 ? gen.function : task !== undefined ? taskFunctions(task) : [];
  let returnType = '';
  try {
    const parsed = JSON.parse(gen.final_answer) as { return_type?: unknown };
    if (typeof parsed.return_type === 'string') returnType = parsed.return_type;
  } catch {
    returnType = gen.final_answer.includes('give_up_and_restart') ? 'give_up_and_restart' : '';
  }
  return {
    queryId: record.queryId,
    query: task?.query ?? gen.query ?? '',
    hasFinish: hasFinish || record.answered,
    finalAnswer: record.finalAnswerText,
    gaveUp: returnType === 'give_up_and_restart' || record.finalAnswerText.trim() === '',
    steps: answerSteps(record).map((s) => ({
      name: s.action,
      arguments: s.actionInput,
      response: s.observation,
    })),
    tools: functions
      .filter((f) => f.name !== FINISH_FUNCTION_NAME)
      .map((f) => ({ name: f.name, description: f.description ?? '' })),
  };
}

export interface ToolEvalOptions extends JudgeOptions {
  /** Judge runs per answer (K, default 3; StableToolBench uses 4 for pass rate, 2 for preference). */
  runs?: number;
  /** Judge calls in flight (default 4). */
  concurrency?: number;
  /** Breaks ToolEval's coin flips (default: a hash of query id and run, so reruns agree). */
  coin?: Coin;
  /** Called after each query is judged. */
  onProgress?: (done: number, total: number) => void;
}

export interface JudgeRun {
  answerStatus: AnswerStatus;
  /** Absent when the answer was solved (ToolEval does not ask then) or had no Finish. */
  taskStatus?: TaskStatus;
  decision: PassDecision;
  label: 'passed' | 'failed';
  reason: string;
}

export interface QueryVerdict {
  queryId: string;
  /** False when no answer file was found for the query. */
  answered: boolean;
  hasFinish: boolean;
  runs: JudgeRun[];
  passedVotes: number;
  failedVotes: number;
  passed: boolean;
  /** Majority answer status over runs (for the win rate). */
  answerStatus: AnswerStatus;
  /**
   * The query's label as StableToolBench's result file records it for the win rate: more passed than
   * failed runs, or fewer, or a coin on a tie (evaluator folders only).
   */
  machineLabel?: 'passed' | 'failed';
}

export interface PassRateReport {
  queries: number;
  /** Queries with an answer file. */
  answered: number;
  /** Queries whose answer calls Finish. */
  finished: number;
  runs: number;
  passRate: number;
  solvablePassRate: { mean: number; std: number; perRun: number[] };
  perQuery: QueryVerdict[];
}

/** A fixed verdict for a query that fails without judging (no answer, or no Finish). */
function failedVerdict(queryId: string, answered: boolean, runs: number, why: string): QueryVerdict {
  const run: JudgeRun = {
    answerStatus: 'Unsolved',
    taskStatus: 'Solvable',
    decision: 'Failed',
    label: 'failed',
    reason: why,
  };
  return {
    queryId,
    answered,
    hasFinish: false,
    runs: Array.from({ length: runs }, () => ({ ...run })),
    passedVotes: 0,
    failedVotes: runs,
    passed: false,
    answerStatus: 'Unsolved',
  };
}

async function judgeOnce(
  model: ChatModel,
  answer: JudgedAnswer,
  run: number,
  coin: Coin,
  options: JudgeOptions,
): Promise<JudgeRun> {
  const solved = await judgeAnswerStatus(model, answer, run, options);
  if (solved.status === 'Solved')
    return { answerStatus: 'Solved', decision: 'Passed', label: 'passed', reason: solved.reason };
  const task = await judgeTaskStatus(model, answer, run, options);
  const decision = passDecision(solved.status, task.status);
  return {
    answerStatus: solved.status,
    taskStatus: task.status,
    decision,
    label: runLabel(decision, coin, `${answer.queryId}#${run}`),
    reason: `answer: ${solved.reason} task: ${task.reason}`,
  };
}

/**
 * Pass rate and Solvable Pass Rate of `answers` over `queryIds` (default: the answers' own ids).
 * Answers for ids outside `queryIds` are ignored.
 */
export async function evaluatePassRate(
  model: ChatModel,
  answers: readonly JudgedAnswer[],
  queryIds: readonly string[] = answers.map((a) => a.queryId),
  options: ToolEvalOptions = {},
): Promise<PassRateReport> {
  const runs = Math.max(1, options.runs ?? 3);
  const coin = options.coin ?? hashCoin;
  const byId = new Map(answers.map((a) => [a.queryId, a]));
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
  let done = 0;
  const verdicts = await Promise.all(
    queryIds.map(async (queryId): Promise<QueryVerdict> => {
      const answer = byId.get(queryId);
      let verdict: QueryVerdict;
      if (answer === undefined) verdict = failedVerdict(queryId, false, runs, 'no answer file');
      else if (!answer.hasFinish) verdict = failedVerdict(queryId, true, runs, 'no Finish call');
      else {
        const judged = await Promise.all(
          Array.from({ length: runs }, (_, run) =>
            queue.add(() => judgeOnce(model, answer, run, coin, options)),
          ),
        );
        const labels = judged.map((r) => r.label);
        const passedVotes = labels.filter((l) => l === 'passed').length;
        verdict = {
          queryId,
          answered: true,
          hasFinish: true,
          runs: judged,
          passedVotes,
          failedVotes: runs - passedVotes,
          passed: majorityPassed(labels),
          answerStatus: majorityStatus(judged.map((r) => r.answerStatus)),
        };
      }
      options.onProgress?.(++done, queryIds.length);
      return verdict;
    }),
  );
  const n = verdicts.length;
  return {
    queries: n,
    answered: verdicts.filter((v) => v.answered).length,
    finished: verdicts.filter((v) => v.hasFinish).length,
    runs,
    passRate: n === 0 ? 0 : verdicts.filter((v) => v.passed).length / n,
    solvablePassRate: solvablePassRate(
      verdicts.map((v) => v.runs.map((r) => r.answerStatus)),
      runs,
    ),
    perQuery: verdicts,
  };
}

export interface WinRateReport {
  queries: number;
  runs: number;
  win: number;
  tie: number;
  lose: number;
  perQuery: {
    queryId: string;
    rounds: (RoundWinner | undefined)[];
    outcome: 'win' | 'tie' | 'lose';
    how: string;
  }[];
}

/**
 * Win rate of `candidate` against `reference`, ToolEval's way, per query and round:
 * passed vs failed (by the pass-rate verdicts) decides without a judge; a query missing on one side
 * goes to the other; otherwise the answer statuses decide (a Solved answer beats an unsolved one,
 * then Unsure beats Unsolved), and only equal statuses go to the pairwise judge. Identical answers
 * go to a coin. The reference is shown first on even rounds and second on odd ones, against
 * position bias. A query is a win when the candidate took more rounds, a tie when as many.
 */
export async function evaluateWinRate(
  model: ChatModel,
  candidate: { answers: readonly JudgedAnswer[]; verdicts: readonly QueryVerdict[] },
  reference: { answers: readonly JudgedAnswer[]; verdicts: readonly QueryVerdict[] },
  queryIds: readonly string[],
  options: ToolEvalOptions = {},
): Promise<WinRateReport> {
  const runs = Math.max(1, options.runs ?? 2);
  const coin = options.coin ?? hashCoin;
  const cAnswers = new Map(candidate.answers.map((a) => [a.queryId, a]));
  const rAnswers = new Map(reference.answers.map((a) => [a.queryId, a]));
  const cVerdicts = new Map(candidate.verdicts.map((v) => [v.queryId, v]));
  const rVerdicts = new Map(reference.verdicts.map((v) => [v.queryId, v]));
  const rank: Record<AnswerStatus, number> = { Solved: 2, Unsure: 1, Unsolved: 0 };
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });

  const perQuery = await Promise.all(
    queryIds.map(async (queryId) => {
      const c = cAnswers.get(queryId);
      const r = rAnswers.get(queryId);
      const cv = cVerdicts.get(queryId);
      const rv = rVerdicts.get(queryId);
      const decided = (winner: RoundWinner, how: string): WinRateReport['perQuery'][number] => {
        const rounds = Array.from({ length: runs }, () => winner);
        return { queryId, rounds, outcome: queryOutcome(rounds), how };
      };
      if (cv !== undefined && rv !== undefined && cv.passed !== rv.passed)
        return decided(cv.passed ? 'candidate' : 'reference', 'pass rate');
      if (c === undefined) return decided('reference', 'no candidate answer');
      if (r === undefined) return decided('candidate', 'no reference answer');
      const cs = cv?.answerStatus ?? 'Unsolved';
      const rs = rv?.answerStatus ?? 'Unsolved';
      if (rank[cs] !== rank[rs])
        return decided(rank[cs] > rank[rs] ? 'candidate' : 'reference', 'answer status');
      const identical =
        c.finalAnswer === r.finalAnswer && JSON.stringify(c.steps) === JSON.stringify(r.steps);
      const rounds = await Promise.all(
        Array.from({ length: runs }, (_, run) =>
          queue.add(async (): Promise<RoundWinner> => {
            if (identical) return coin(`${queryId}#pref#${run}`) ? 'candidate' : 'reference';
            const referenceFirst = run % 2 === 0;
            const [a, b] = referenceFirst ? [r, c] : [c, r];
            const { better } = await judgePreference(model, c.query || r.query, a, b, run, options);
            const firstWon = better === 'A';
            return firstWon === referenceFirst ? 'reference' : 'candidate';
          }, {}),
        ),
      );
      return {
        queryId,
        rounds,
        outcome: queryOutcome(rounds),
        how: identical ? 'identical answers' : 'judge',
      };
    }),
  );
  const rates = winRates(perQuery.map((q) => q.outcome));
  return { queries: queryIds.length, runs, ...rates, perQuery };
}
