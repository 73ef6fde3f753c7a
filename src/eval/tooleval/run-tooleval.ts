/**
 * One ToolEval evaluation over answer folders: which queries are compared (the coverage), which judge
 * (a StableToolBench evaluator folder, or this project's own prompts — never comparable with published
 * ToolEval figures), pass rate and Solvable Pass Rate, and the win rate against a reference run.
 *
 * Rates are computed on the queries that have an answer (StableToolBench converts and judges the answer
 * files there are); with a reference, on the queries both runs answered. The coverage says how many that
 * is of each run and of the query file; two runs that share no answered query are an input error.
 */
import { InputError } from '../../core/errors.js';
import type { ToolBenchAnswerRecord, ToolBenchTask } from '../../core/toolbench.js';
import { taskFunctions } from '../../formats/toolbench.js';
import type { ChatModel } from '../../models/chat-model.js';
import { convertAnswer, type ConvertedAnswer } from './converted-answer.js';
import type { Coin } from './decision.js';
import {
  evaluatePassRate,
  evaluateWinRate,
  judgedAnswerOf,
  type PassRateReport,
  type WinRateReport,
} from './evaluate.js';
import { judgesPassRate, type EvaluatorFolder } from './evaluator-folder.js';
import { evaluatorPassRate, evaluatorWinRate, type JudgedTask } from './evaluator-judge.js';

/** Printed and recorded with every result judged by the project's own prompts. */
export const NOT_COMPARABLE_NOTE = 'not comparable with published ToolEval figures';

export interface ToolevalRunOptions {
  answers: readonly ToolBenchAnswerRecord[];
  reference?: readonly ToolBenchAnswerRecord[];
  /** The query file's tasks: restricts the queries compared and supplies queries and tools. */
  tasks?: readonly ToolBenchTask[];
  judge: ChatModel;
  /** An evaluator folder; undefined = the project's own prompts. */
  evaluator?: EvaluatorFolder;
  /** Pass-rate judge runs (default: 4 with an evaluator, as StableToolBench; 3 with the project's prompts). */
  runs?: number;
  /** Win-rate rounds (default 2, as StableToolBench). */
  rounds?: number;
  concurrency?: number;
  coin?: Coin;
  signal?: AbortSignal;
  onProgress?: (stage: 'candidate' | 'reference' | 'preference', done: number, total: number) => void;
}

export interface ToolevalCoverage {
  /** Queries the rates are computed on. */
  compared: number;
  /** Queries the candidate answered (in the query file, when one is given). */
  candidate: number;
  reference?: number;
  /** Queries in the query file. */
  queryFile?: number;
}

export interface ToolevalReport {
  evaluator:
    | {
        name: string;
        dir: string;
        registeredClass: string;
        model: string;
        temperature?: number;
        maxTokens?: number;
      }
    | 'project';
  comparable: boolean;
  note?: string;
  coverage: ToolevalCoverage;
  passRate?: PassRateReport;
  reference?: PassRateReport;
  winRate?: WinRateReport;
}

/** The answers by query id; a second answer for one query is an input error naming both files. */
function byQuery(
  records: readonly ToolBenchAnswerRecord[],
  keep: Set<string> | undefined,
): Map<string, ToolBenchAnswerRecord> {
  const out = new Map<string, ToolBenchAnswerRecord>();
  for (const record of records) {
    if (keep !== undefined && !keep.has(record.queryId)) continue;
    const seen = out.get(record.queryId);
    if (seen !== undefined)
      throw new InputError(`two answers for query ${record.queryId}: ${seen.path} and ${record.path}`);
    out.set(record.queryId, record);
  }
  return out;
}

type Stage = 'candidate' | 'reference' | 'preference';

/** The queries compared and the answers to judge, with the options every judge call shares. */
interface ToolevalPlan {
  options: ToolevalRunOptions;
  ids: string[];
  taskById: Map<string, ToolBenchTask>;
  candidate: Map<string, ToolBenchAnswerRecord>;
  reference: Map<string, ToolBenchAnswerRecord> | undefined;
  coverage: ToolevalCoverage;
  common: { concurrency?: number; coin?: Coin };
  rounds: number;
  progress: (stage: Stage) => (done: number, total: number) => void;
}

/** The queries both runs answered (in the query file's order when there is one); none is an input error. */
function planTooleval(options: ToolevalRunOptions): ToolevalPlan {
  const tasks = options.tasks ?? [];
  const taskById = new Map(tasks.map((t) => [t.queryId, t]));
  const keep = tasks.length > 0 ? new Set(taskById.keys()) : undefined;
  const candidate = byQuery(options.answers, keep);
  const reference = options.reference !== undefined ? byQuery(options.reference, keep) : undefined;
  // Query file order when there is one, else the candidate's.
  const order = tasks.length > 0 ? tasks.map((t) => t.queryId) : [...candidate.keys()];
  const ids = order.filter((id) => candidate.has(id) && (reference === undefined || reference.has(id)));
  if (ids.length === 0) {
    if (reference !== undefined)
      throw new InputError(
        `the candidate (${candidate.size} answered) and the reference (${reference.size} answered) share no answered query: nothing to compare`,
      );
    throw new InputError(
      tasks.length > 0 ? 'no answer file answers a query of the query file' : 'no answer files found',
    );
  }
  return {
    options,
    ids,
    taskById,
    candidate,
    reference,
    coverage: {
      compared: ids.length,
      candidate: candidate.size,
      ...(reference !== undefined ? { reference: reference.size } : {}),
      ...(tasks.length > 0 ? { queryFile: tasks.length } : {}),
    },
    common: {
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.coin !== undefined ? { coin: options.coin } : {}),
    },
    rounds: options.rounds ?? 2,
    progress: (stage) => (done, total) => options.onProgress?.(stage, done, total),
  };
}

/** Judged with the project's own prompts (not comparable with published figures). */
async function judgeWithProjectPrompts(plan: ToolevalPlan): Promise<ToolevalReport> {
  const { options, ids, common, progress } = plan;
  const judged = (records: Map<string, ToolBenchAnswerRecord>) =>
    ids.map((id) => judgedAnswerOf(records.get(id)!, plan.taskById.get(id)));
  const runs = options.runs ?? 3;
  const c = judged(plan.candidate);
  const report: ToolevalReport = {
    evaluator: 'project',
    comparable: false,
    note: NOT_COMPARABLE_NOTE,
    coverage: plan.coverage,
  };
  report.passRate = await evaluatePassRate(options.judge, c, ids, {
    ...common,
    runs,
    onProgress: progress('candidate'),
  });
  if (plan.reference !== undefined) {
    const r = judged(plan.reference);
    report.reference = await evaluatePassRate(options.judge, r, ids, {
      ...common,
      runs,
      onProgress: progress('reference'),
    });
    report.winRate = await evaluateWinRate(
      options.judge,
      { answers: c, verdicts: report.passRate.perQuery },
      { answers: r, verdicts: report.reference.perQuery },
      ids,
      { ...common, runs: plan.rounds },
    );
  }
  return report;
}

type ConvertedTask = { task: JudgedTask; converted: ConvertedAnswer };

/** The answers in StableToolBench's converted form; the query file supplies tools an answer lacks. */
function convertedAnswers(plan: ToolevalPlan, records: Map<string, ToolBenchAnswerRecord>): ConvertedTask[] {
  return plan.ids.map((id) => {
    const task = plan.taskById.get(id);
    const answer = convertAnswer(records.get(id)!, task?.query);
    const tools =
      answer.available_tools.length > 0 || task === undefined ? answer.available_tools : taskFunctions(task);
    const judgedTask: JudgedTask = { queryId: id, query: answer.query, availableTools: tools };
    return { task: judgedTask, converted: answer };
  });
}

/** The candidate/reference pairs the preference judge compares, with their pass-rate labels when known. */
function preferencePairs(plan: ToolevalPlan, report: ToolevalReport, c: ConvertedTask[], r: ConvertedTask[]) {
  const labels = (rates: PassRateReport | undefined) =>
    new Map((rates?.perQuery ?? []).map((v) => [v.queryId, v.machineLabel]));
  const cLabels = labels(report.passRate);
  const rLabels = labels(report.reference);
  return plan.ids.map((id, i) => {
    const ref = r[i]!;
    const cl = cLabels.get(id);
    const rl = rLabels.get(id);
    return {
      queryId: id,
      query: ref.task.query,
      availableTools: ref.task.availableTools,
      candidate: c[i]!.converted,
      reference: ref.converted,
      ...(cl !== undefined ? { candidateLabel: cl } : {}),
      ...(rl !== undefined ? { referenceLabel: rl } : {}),
    };
  });
}

/** Judged as a StableToolBench evaluator folder says (comparable with published figures). */
async function judgeWithEvaluator(plan: ToolevalPlan, evaluator: EvaluatorFolder): Promise<ToolevalReport> {
  const { options, common, progress } = plan;
  const report: ToolevalReport = {
    evaluator: {
      name: evaluator.name,
      dir: evaluator.dir,
      registeredClass: evaluator.registeredClass,
      model: evaluator.model,
      ...(evaluator.temperature !== undefined ? { temperature: evaluator.temperature } : {}),
      ...(evaluator.maxTokens !== undefined ? { maxTokens: evaluator.maxTokens } : {}),
    },
    comparable: true,
    coverage: plan.coverage,
  };
  const c = convertedAnswers(plan, plan.candidate);
  const r = plan.reference !== undefined ? convertedAnswers(plan, plan.reference) : undefined;
  const runs = options.runs ?? 4;
  const withSignal = options.signal !== undefined ? { signal: options.signal } : {};
  if (judgesPassRate(evaluator)) {
    report.passRate = await evaluatorPassRate(options.judge, evaluator, c, {
      ...common,
      ...withSignal,
      runs,
      onProgress: progress('candidate'),
    });
    if (r !== undefined)
      report.reference = await evaluatorPassRate(options.judge, evaluator, r, {
        ...common,
        ...withSignal,
        runs,
        onProgress: progress('reference'),
      });
  } else if (r === undefined) {
    throw new InputError(
      `${evaluator.dir}: ${evaluator.registeredClass} judges preference only: it needs reference answers (option \`reference\`), or use ${'tooleval_gpt-3.5-turbo_default'} for the pass rate`,
    );
  }
  if (r !== undefined) {
    report.winRate = await evaluatorWinRate(options.judge, evaluator, preferencePairs(plan, report, c, r), {
      ...common,
      ...withSignal,
      runs: plan.rounds,
      onProgress: progress('preference'),
    });
  }
  return report;
}

export async function runTooleval(options: ToolevalRunOptions): Promise<ToolevalReport> {
  const plan = planTooleval(options);
  return options.evaluator === undefined
    ? judgeWithProjectPrompts(plan)
    : judgeWithEvaluator(plan, options.evaluator);
}
