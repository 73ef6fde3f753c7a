/**
 * ToolEval judged as a StableToolBench evaluator folder says, reproducing its evaluator classes and its
 * `eval_pass_rate.py` / `eval_preference.py` (read in the original repository; nothing copied):
 *
 * - every judge call is one user message (the function's template, its `{…}` slots filled as Python's
 *   `str.format` fills them, JSON values as Python's `json.dumps` writes them), the one function offered
 *   and forced, the folder's sampling (temperature, max_tokens…) and model; a reply is read from the
 *   function call's arguments, asked again (3 tries) when it cannot be read;
 * - pass rate (ReinforceToolLearningEvaluator), per judge run: an answer whose path does not end with
 *   Finish fails unjudged; an empty or given-up final answer is Unsolved unjudged; otherwise
 *   `check_answer_status` on the final answer, then `parse_answer_status` on the whole answer when that is
 *   Unsure; `check_task_solvable` when not Solved; ToolEval's decision table, an undecided run a coin
 *   flip. A query passes when failed ≤ passed over the runs; its label for the win rate breaks a tie by
 *   a coin (as the original's result file does);
 * - win rate, per round: the pass labels decide when they differ; otherwise the two answers (reference
 *   first, then the order shuffled) go to the class's preference: ReinforceToolLearningEvaluator asks the
 *   status of each and compares only equal ones with `select_better_answer`; OpenAINormalizedEvaluator
 *   uses `check_solve_query`, the step counts, `select_best_final_answer` and `parse_answer_details`
 *   scores; OpenAIEvaluator sends its message template with `choose_preference` (at StableToolBench's
 *   commit its scripts cannot call the last two classes — the preference call passes four arguments to
 *   two-argument methods —, so those two run here as their code reads, with no published figures).
 *
 * Randomness (coin flips, the shuffle, ties) comes from a deterministic coin keyed by query and round.
 */
import PQueue from 'p-queue';
import { InputError, messageOf, oneLine } from '../../core/errors.js';
import type { AnswerFunction } from '../../core/toolbench.js';
import { pythonJsonDumps } from '../../formats/python-json.js';
import type { ChatMessage, ChatModel, ChatRequest, ToolDefinition } from '../../models/chat-model.js';
import { endsWithFinish, type ConvertedAnswer } from './converted-answer.js';
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
  type RoundWinner,
  type TaskStatus,
} from './decision.js';
import { pythonFormat, type EvaluatorFolder, type EvaluatorFunction } from './evaluator-folder.js';
import type { JudgeRun, PassRateReport, QueryVerdict, WinRateReport } from './evaluate.js';

/** Tries per judge call while the reply cannot be read (StableToolBench: `stop_after_attempt(3)`). */
export const JUDGE_CALL_TRIES = 3;
/** The description StableToolBench gives the `reason` field it adds to a function when it wants one. */
const REASON_FIELD = { type: 'string', description: 'explain your answer.' };

export interface EvaluatorJudgeOptions {
  /** Judge runs (pass rate, default 4 as StableToolBench) or rounds (win rate, default 2). */
  runs?: number;
  /** Judge calls in flight (default 4). */
  concurrency?: number;
  coin?: Coin;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

type Fields = Record<string, unknown>;

/** Python's truth value of a JSON value. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Python's `int()` of a JSON number or numeric string; undefined when it has none. */
function pythonInt(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value.trim()) : value;
  return typeof number === 'number' && Number.isFinite(number) ? Math.trunc(number) : undefined;
}

/** `s[:n]` on a Python string (code points). */
function cut(text: string, n: number): string {
  const points = Array.from(text);
  return points.length <= n ? text : points.slice(0, n).join('');
}

class UnreadableReply extends Error {}

/** Judge calls as the folder says. */
export class EvaluatorCaller {
  calls = 0;

  constructor(
    readonly model: ChatModel,
    readonly evaluator: EvaluatorFolder,
    readonly signal?: AbortSignal,
  ) {}

  private sampling(run: number): Pick<ChatRequest, 'temperature' | 'maxTokens' | 'topP' | 'stop' | 'seed'> {
    const e = this.evaluator;
    return {
      ...(e.temperature !== undefined ? { temperature: e.temperature } : {}),
      ...(e.maxTokens !== undefined ? { maxTokens: e.maxTokens } : {}),
      ...(e.topP !== undefined ? { topP: e.topP } : {}),
      ...(e.stop !== undefined ? { stop: e.stop } : {}),
      // Run 0 is the original request; later runs carry a seed so the response cache keeps them apart.
      ...(run > 0 ? { seed: run } : {}),
    };
  }

  private definition(fn: EvaluatorFunction, withReason: boolean): ToolDefinition {
    const parameters = structuredClone(fn.parameters);
    if (withReason) {
      parameters.required = [...(parameters.required ?? []), 'reason'];
      parameters.properties = { ...(parameters.properties ?? {}), reason: { ...REASON_FIELD } };
    }
    return {
      name: fn.name,
      ...(fn.description !== undefined ? { description: fn.description } : {}),
      parameters,
    };
  }

  /** One request; the arguments object of the named function call, or UnreadableReply. */
  private async request(
    messages: ChatMessage[],
    tools: ToolDefinition[],
    name: string,
    run: number,
  ): Promise<Fields> {
    this.signal?.throwIfAborted();
    const response = await this.model.chat(
      { messages, tools, toolChoice: { name }, ...this.sampling(run) },
      { stage: 'tooleval', ...(this.signal !== undefined ? { signal: this.signal } : {}) },
    );
    this.calls++;
    const call = response.toolCalls.find((c) => c.name === name) ?? response.toolCalls[0];
    if (call === undefined) throw new UnreadableReply(`no call of ${name} in the judge's reply`);
    let args: unknown;
    try {
      args = JSON.parse(call.arguments);
    } catch {
      throw new UnreadableReply(`the arguments of ${name} are not JSON: ${oneLine(call.arguments, 120)}`);
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      throw new UnreadableReply(`the arguments of ${name} are not an object`);
    return args as Fields;
  }

  /**
   * `function_call(name, fields)`: the function's template filled, that function offered and forced;
   * `read` turns the arguments into the value wanted (throwing UnreadableReply to ask again).
   */
  async functionCall<T>(
    name: string,
    fields: Fields,
    options: { reason: boolean; run: number },
    read: (args: Fields) => T,
  ): Promise<{ value: T; reason: string }> {
    const fn = this.evaluator.functions.get(name);
    const template = this.evaluator.functionTemplates.get(name);
    if (fn === undefined || template === undefined)
      throw new InputError(`${this.evaluator.dir}: no function ${name} with a template`);
    const content = pythonFormat(template, fields, `${this.evaluator.dir}: ${name}`);
    const tools = [this.definition(fn, options.reason)];
    return this.withTries(name, async () => {
      const args = await this.request([{ role: 'user', content }], tools, name, options.run);
      return { value: read(args), reason: typeof args.reason === 'string' ? args.reason : '' };
    });
  }

  /** The folder's message template (`<message>` blocks), user messages filled, with its forced function. */
  async messagesCall<T>(fields: Fields, run: number, read: (args: Fields) => T): Promise<T> {
    const name = this.evaluator.forcedFunction ?? '';
    const tools = [...this.evaluator.functions.values()].map((fn) => this.definition(fn, false));
    const messages = this.evaluator.messages.map((m): ChatMessage => {
      const content =
        m.role === 'user' ? pythonFormat(m.content, fields, `${this.evaluator.dir}: message`) : m.content;
      return m.role === 'system' || m.role === 'assistant'
        ? { role: m.role, content }
        : { role: 'user', content };
    });
    return this.withTries(name, async () => read(await this.request(messages, tools, name, run)));
  }

  private async withTries<T>(name: string, attempt: () => Promise<T>): Promise<T> {
    let last = '';
    for (let i = 0; i < JUDGE_CALL_TRIES; i++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof UnreadableReply)) throw error;
        last = error.message;
      }
    }
    throw new UnreadableReply(`${name}: no readable reply after ${JUDGE_CALL_TRIES} tries (${last})`);
  }
}

function enumReader<T extends string>(field: string, values: readonly T[]): (args: Fields) => T {
  return (args) => {
    const value = args[field];
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value))
      throw new UnreadableReply(`${field} is ${JSON.stringify(value)}, not one of ${values.join(', ')}`);
    return value as T;
  };
}

const readAnswerStatus = enumReader<AnswerStatus>('answer_status', ['Solved', 'Unsolved', 'Unsure']);
const readTaskStatus = enumReader<TaskStatus>('task_status', ['Solvable', 'Unsolvable', 'Unsure']);

/** The task as the pass-rate script gives it: the query and every function offered. */
export interface JudgedTask {
  queryId: string;
  query: string;
  availableTools: AnswerFunction[];
}

/** ReinforceToolLearningEvaluator.check_is_solved. `answer` is what `json.dumps` shows the second question. */
async function checkIsSolved(
  caller: EvaluatorCaller,
  query: string,
  answer: { final_answer: string },
  reason: boolean,
  run: number,
): Promise<{ status: AnswerStatus; reason: string }> {
  if (answer.final_answer === '' || answer.final_answer.includes('give_up_and_restart'))
    return { status: 'Unsolved', reason: 'empty or given-up final answer (not judged)' };
  const first = await caller.functionCall(
    'check_answer_status',
    { query, answer: answer.final_answer },
    { reason, run },
    readAnswerStatus,
  );
  if (first.value !== 'Unsure') return { status: first.value, reason: first.reason };
  const second = await caller.functionCall(
    'parse_answer_status',
    { query, answer: pythonJsonDumps(answer) },
    { reason, run },
    readAnswerStatus,
  );
  return { status: second.value, reason: second.reason };
}

/** ReinforceToolLearningEvaluator.check_task_solvable (asked only when the answer is not Solved). */
async function checkTaskSolvable(
  caller: EvaluatorCaller,
  task: Record<string, unknown>,
  solved: boolean,
  reason: boolean,
  run: number,
): Promise<{ status: TaskStatus; reason: string }> {
  if (solved) return { status: 'Solvable', reason: 'solved' };
  const reply = await caller.functionCall(
    'check_task_solvable',
    { task: pythonJsonDumps(task) },
    { reason, run },
    readTaskStatus,
  );
  return { status: reply.value, reason: reply.reason };
}

/** One pass-rate run of one answer. */
async function passRun(
  caller: EvaluatorCaller,
  task: JudgedTask,
  converted: ConvertedAnswer,
  run: number,
  coin: Coin,
): Promise<JudgeRun> {
  if (!endsWithFinish(converted))
    return {
      answerStatus: 'Unsolved',
      taskStatus: 'Solvable',
      decision: 'Failed',
      label: 'failed',
      reason: 'No answer',
    };
  const description = { query: task.query, available_tools: task.availableTools };
  const solved = await checkIsSolved(caller, task.query, converted.answer, true, run);
  const solvable = await checkTaskSolvable(caller, description, solved.status === 'Solved', true, run);
  const decision = passDecision(solved.status, solvable.status);
  return {
    answerStatus: solved.status,
    taskStatus: solvable.status,
    decision,
    label: runLabel(decision, coin, `${task.queryId}#${run}`),
    reason: `Is solved: ${solved.reason}\nTask solvable: ${solvable.reason}`,
  };
}

/** Pass rate and Solvable Pass Rate over `answers` (queries without an answer are not passed in here). */
export async function evaluatorPassRate(
  model: ChatModel,
  evaluator: EvaluatorFolder,
  answers: readonly { task: JudgedTask; converted: ConvertedAnswer }[],
  options: EvaluatorJudgeOptions = {},
): Promise<PassRateReport & { judgeCalls: number }> {
  if (evaluator.kind !== 'reinforce')
    throw new InputError(
      `${evaluator.dir}: ${evaluator.registeredClass} judges preference only; pass rate needs a ReinforceToolLearningEvaluator folder (tooleval_gpt-3.5-turbo_default)`,
    );
  const runs = Math.max(1, options.runs ?? 4);
  const coin = options.coin ?? hashCoin;
  const caller = new EvaluatorCaller(model, evaluator, options.signal);
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
  let done = 0;
  const perQuery = await Promise.all(
    answers.map(async ({ task, converted }): Promise<QueryVerdict> => {
      const judged = await Promise.all(
        Array.from({ length: runs }, (_, run) =>
          queue.add(async (): Promise<JudgeRun> => {
            try {
              return await passRun(caller, task, converted, run, coin);
            } catch (error) {
              if (!(error instanceof UnreadableReply)) throw error;
              return {
                answerStatus: 'Unsolved',
                decision: 'Failed',
                label: 'failed',
                reason: `judge error: ${messageOf(error)}`,
              };
            }
          }),
        ),
      );
      const labels = judged.map((r) => r.label);
      const passedVotes = labels.filter((l) => l === 'passed').length;
      const failedVotes = runs - passedVotes;
      options.onProgress?.(++done, answers.length);
      return {
        queryId: task.queryId,
        answered: true,
        hasFinish: endsWithFinish(converted),
        runs: judged,
        passedVotes,
        failedVotes,
        passed: majorityPassed(labels),
        machineLabel:
          passedVotes > failedVotes
            ? 'passed'
            : passedVotes < failedVotes
              ? 'failed'
              : coin(`${task.queryId}#label`)
                ? 'passed'
                : 'failed',
        answerStatus: majorityStatus(judged.map((r) => r.answerStatus)),
      };
    }),
  );
  const n = perQuery.length;
  return {
    queries: n,
    answered: n,
    finished: perQuery.filter((v) => v.hasFinish).length,
    runs,
    passRate: n === 0 ? 0 : perQuery.filter((v) => v.passed).length / n,
    solvablePassRate: solvablePassRate(
      perQuery.map((v) => v.runs.map((r) => r.answerStatus)),
      runs,
    ),
    perQuery,
    judgeCalls: caller.calls,
  };
}

/** BaseEvaluator's `process_answer`: final answer cut to 1,000 characters, `method` dropped. */
function processAnswer(answer: ConvertedAnswer['answer']): Record<string, unknown> {
  return {
    total_steps: answer.total_steps,
    final_answer: cut(answer.final_answer, 1000),
    answer_details: answer.answer_details.slice(0, 3000),
  };
}

type Processed = ReturnType<typeof processAnswer> & { final_answer: string; total_steps: number };

/** Which of two processed answers a preference class prefers: 0 or 1 (indices of `answers`). */
type Preference = (
  caller: EvaluatorCaller,
  task: { query: string; available_tools: unknown[] },
  answers: readonly [Processed, Processed],
  run: number,
  coin: (key: string) => boolean,
) => Promise<0 | 1>;

const reinforcePreference: Preference = async (caller, task, answers, run, coin) => {
  const statuses = [
    (await checkIsSolved(caller, task.query, answers[0], false, run)).status,
    (await checkIsSolved(caller, task.query, answers[1], false, run)).status,
  ];
  const choose = async (indices: number[], askTask: boolean): Promise<0 | 1> => {
    if (indices.length === 1) return indices[0] as 0 | 1;
    // The task question is asked (its answer only fed a prompt line the original left out).
    if (askTask) await checkTaskSolvable(caller, task, false, false, run);
    const identical =
      answers[0].final_answer === answers[1].final_answer &&
      pythonJsonDumps(answers[0].answer_details) === pythonJsonDumps(answers[1].answer_details);
    if (identical) return coin('identical') ? 1 : 0;
    const { value } = await caller.functionCall(
      'select_better_answer',
      { query: task.query, answer_0: pythonJsonDumps(answers[0]), answer_1: pythonJsonDumps(answers[1]) },
      { reason: true, run },
      (args) => {
        const index = pythonInt(args.index);
        if (index !== 0 && index !== 1)
          throw new UnreadableReply(`index ${JSON.stringify(args.index)} not found`);
        return index;
      },
    );
    return value;
  };
  const solved = [0, 1].filter((i) => statuses[i] === 'Solved');
  if (solved.length > 0) return choose(solved, false);
  const unsure = [0, 1].filter((i) => statuses[i] === 'Unsure');
  if (unsure.length > 0) return choose(unsure, true);
  return choose([0, 1], true);
};

const normalizedPreference: Preference = async (caller, task, answers, run, coin) => {
  const details = async (): Promise<0 | 1> => {
    const scores: number[] = [];
    for (const answer of answers) {
      const { value } = await caller.functionCall(
        'parse_answer_details',
        { answer_details: answer.answer_details },
        { reason: false, run },
        (args) => {
          const succeeded = pythonInt(args.succeed_tool_calling);
          const types = pythonInt(args.used_tool_types);
          if (succeeded === undefined || types === undefined)
            throw new UnreadableReply('succeed_tool_calling and used_tool_types must be numbers');
          return { succeeded, types };
        },
      );
      const steps = answer.total_steps;
      scores.push(value.succeeded * 10 + value.types * 5 + (steps <= 0 ? -1e5 : -5 * Math.log(steps)));
    }
    const best = Math.max(...scores);
    const top = [0, 1].filter((i) => scores[i] === best);
    return (top.length === 1 ? top[0] : coin('details') ? 1 : 0) as 0 | 1;
  };
  const nonEmpty = answers.map((a) => a.final_answer !== '');
  if (nonEmpty.every(Boolean)) {
    const solved: boolean[] = [];
    for (const answer of answers) {
      const { value } = await caller.functionCall(
        'check_solve_query',
        { query: task.query, final_answer: answer.final_answer },
        { reason: false, run },
        (args) => truthy(args.is_solved),
      );
      solved.push(value);
    }
    if (solved.every(Boolean)) {
      const steps = answers.map((a) => a.total_steps);
      const shortest = [0, 1].filter((i) => steps[i] === Math.min(...steps));
      if (shortest.length === 1) return shortest[0] as 0 | 1;
      if (answers[0].final_answer === answers[1].final_answer) return coin('same') ? 1 : 0;
      try {
        const { value } = await caller.functionCall(
          'select_best_final_answer',
          { query: task.query, final_answers: answers.map((a) => a.final_answer) },
          { reason: false, run },
          (args) => {
            const index = pythonInt(args.best_answer_index);
            if (index !== 0 && index !== 1) throw new UnreadableReply('best_answer_index out of range');
            return index;
          },
        );
        return value;
      } catch (error) {
        // The original asks until the index is valid; here three tries, then a coin.
        if (!(error instanceof UnreadableReply)) throw error;
        return coin('best') ? 1 : 0;
      }
    }
    if (!solved.some(Boolean)) return details();
    return solved[0] ? 0 : 1;
  }
  if (!nonEmpty.some(Boolean)) return details();
  return nonEmpty[0] ? 0 : 1;
};

const messagesPreference: Preference = async (caller, task, answers, run) =>
  caller.messagesCall(
    { task_description: pythonJsonDumps(task), answers: pythonJsonDumps(answers) },
    run,
    (args) => {
      const index = pythonInt(args.preference);
      if (index !== 0 && index !== 1)
        throw new UnreadableReply(`preference ${JSON.stringify(args.preference)} is invalid`);
      return index;
    },
  );

const PREFERENCES: Record<EvaluatorFolder['kind'], Preference> = {
  reinforce: reinforcePreference,
  normalized: normalizedPreference,
  'preference-messages': messagesPreference,
};

/**
 * Win rate of the candidate against the reference over `pairs` (queries both answered), rounds as
 * StableToolBench's preference script: pass labels first (when both have them), else the evaluator's
 * preference with the reference shown first and the pair then shuffled.
 */
export async function evaluatorWinRate(
  model: ChatModel,
  evaluator: EvaluatorFolder,
  pairs: readonly {
    queryId: string;
    query: string;
    availableTools: AnswerFunction[];
    candidate: ConvertedAnswer;
    reference: ConvertedAnswer;
    candidateLabel?: 'passed' | 'failed';
    referenceLabel?: 'passed' | 'failed';
  }[],
  options: EvaluatorJudgeOptions = {},
): Promise<WinRateReport & { judgeCalls: number }> {
  const rounds = Math.max(1, options.runs ?? 2);
  const coin = options.coin ?? hashCoin;
  const caller = new EvaluatorCaller(model, evaluator, options.signal);
  const preference = PREFERENCES[evaluator.kind];
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
  let done = 0;
  const perQuery = await Promise.all(
    pairs.map(async (pair) => {
      const { candidateLabel: c, referenceLabel: r } = pair;
      if (c !== undefined && r !== undefined && c !== r) {
        const winner: RoundWinner = c === 'passed' ? 'candidate' : 'reference';
        const decided = Array.from({ length: rounds }, () => winner);
        options.onProgress?.(++done, pairs.length);
        return { queryId: pair.queryId, rounds: decided, outcome: queryOutcome(decided), how: 'pass rate' };
      }
      // BaseEvaluator.process_tools: the functions by name only.
      const task = { query: pair.query, available_tools: pair.availableTools.map((t) => ({ name: t.name })) };
      const processed = [
        processAnswer(pair.reference.answer),
        processAnswer(pair.candidate.answer),
      ] as Processed[];
      const results = await Promise.all(
        Array.from({ length: rounds }, (_, run) =>
          queue.add(async (): Promise<RoundWinner | undefined> => {
            const key = (what: string): string => `${pair.queryId}#${run}#${what}`;
            const swap = coin(key('shuffle'));
            const shown: [Processed, Processed] = swap
              ? [processed[1]!, processed[0]!]
              : [processed[0]!, processed[1]!];
            try {
              const chosen = await preference(caller, task, shown, run, (what) => coin(key(what)));
              const original = swap ? 1 - chosen : chosen;
              return original === 0 ? 'reference' : 'candidate';
            } catch (error) {
              if (!(error instanceof UnreadableReply)) throw error;
              return undefined; // no readable preference: the round counts for neither
            }
          }),
        ),
      );
      options.onProgress?.(++done, pairs.length);
      const judged = results.map((x) => x ?? undefined);
      return { queryId: pair.queryId, rounds: judged, outcome: queryOutcome(judged), how: 'judge' };
    }),
  );
  const rates = winRates(perQuery.map((q) => q.outcome));
  return { queries: pairs.length, runs: rounds, ...rates, perQuery, judgeCalls: caller.calls };
}
