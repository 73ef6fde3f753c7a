/**
 * `eval judge`: every item of a run judged K times, by an LLM following ToolAlpaca's protocol or by the
 * deterministic checker, then the majority, the spread and ToolAlpaca's statistics.
 *
 * - Items without any step are not sent to the judge: as in ToolAlpaca's evaluation.py they count in
 *   `error_num` ("no solution").
 * - An LLM reply without a readable Results block is re-asked (the reply and a short reminder are sent
 *   back) at most `reasks` times; a verdict still unreadable is kept with its `error`. An item with no
 *   readable verdict among its K counts in `error_num`.
 * - Judge run k uses seed `seed + k`, so that K samples are K different requests to the response cache.
 * - `--judge deterministic`: the process label is the checker's (Yes / No, with its reasons); the final
 *   response is not judged: it is recorded as Uncertain with `responseJudged: false`, so the response
 *   and overall percentages are 0 and only the procedure percentage is meaningful.
 *
 * Durable: a judge run is a run of the durable-run engine (`src/run`), one task per item. With `out`,
 * every judged item is journaled in `OUT.log.jsonl` (one fsynced line) before it counts; `resume` skips
 * the items already there (same judge, endpoint, K, prompt, sampling and run required) and judges again
 * those whose judge call failed for an infrastructure reason. An item whose judge call failed for
 * another reason (a refused request) is kept with its error and counts in `error_num`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-write.js';
import { InputError, messageOf, oneLine } from '../../core/errors.js';
import {
  JUDGED_KIND,
  parseJudgedFile,
  RUN_FORMAT_VERSION,
  type JudgedFile,
  type JudgedItem,
  type RunFile,
  type RunItem,
  type Verdict,
} from '../../core/run.js';
import type { ChatMessage, ChatModel } from '../../models/chat-model.js';
import type { CostLedger } from '../../models/ledger.js';
import { endpointOf } from '../../models/preflight.js';
import {
  failureOf,
  executionOptionsOf,
  runStatusOf,
  shouldRetry,
  startOptionsOf,
  withDurableRun,
  type DurableRunOptions,
  type ExecutionOutcome,
  type JournalTask,
  type RunStatus,
  type TaskRunner,
} from '../../run/index.js';
import { checkProcess } from '../deterministic/checker.js';
import { combineVerdicts, computeStatistics, runSpread } from '../statistics.js';
import { parseJudgeReply } from './parse.js';
import { JUDGE_PROMPT_NAME, judgePrompt, REASK_MESSAGE } from './prompt.js';

export const DETERMINISTIC_JUDGE = 'deterministic';
/** ToolAlpaca judged with GPT-4 at temperature 0.2. */
export const DEFAULT_JUDGE_TEMPERATURE = 0.2;
export const DEFAULT_REASKS = 2;
export const NO_SOLUTION = 'no solution: the assistant made no call (counted in error_num, as ToolAlpaca)';

export interface JudgeProgress {
  done: number;
  total: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** A judge run's options; `concurrency` (items judged at once) defaults to 4. */
export interface JudgeOptions extends DurableRunOptions {
  /** The judge model, or `deterministic`. */
  judge: ChatModel | typeof DETERMINISTIC_JUDGE;
  /** K: verdicts per item (default 1; always 1 for the deterministic judge). */
  runs?: number;
  temperature?: number;
  /** Re-asks after an unreadable reply, per verdict (default 2). */
  reasks?: number;
  /** Base seed; judge run k uses seed + k (default 0). */
  seed?: number;
  maxTokens?: number;
  /** Also run the deterministic checker beside an LLM judge (default true). */
  withDeterministic?: boolean;
  /** Where the judged file goes; enables the journal `OUT.log.jsonl`, the lock and resume. */
  out?: string;
  ledger?: CostLedger;
  onProgress?: (progress: JudgeProgress) => void;
}

interface AskOptions {
  temperature: number;
  reasks: number;
  seed: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

interface AskResult {
  verdict: Verdict;
  promptTokens: number;
  completionTokens: number;
}

/** One verdict by an LLM judge: asks, re-asks at most `reasks` times when the reply is unreadable. */
export async function askJudge(item: RunItem, model: ChatModel, options: AskOptions): Promise<AskResult> {
  const messages: ChatMessage[] = [{ role: 'user', content: judgePrompt(item) }];
  let promptTokens = 0;
  let completionTokens = 0;
  let lastError = '';
  let lastText = '';
  for (let attempt = 0; attempt <= options.reasks; attempt++) {
    const response = await model.chat(
      {
        messages,
        temperature: options.temperature,
        seed: options.seed,
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      },
      { stage: 'judge', ...(options.signal !== undefined ? { signal: options.signal } : {}) },
    );
    promptTokens += response.usage.promptTokens;
    completionTokens += response.usage.completionTokens;
    lastText = response.text;
    const parsed = parseJudgeReply(response.text);
    if (parsed.ok) {
      const verdict: Verdict = {
        process: parsed.process,
        response: parsed.response,
        analysis: parsed.analysis,
        output: response.text,
        ...(attempt > 0 ? { reasks: attempt } : {}),
      };
      return { verdict, promptTokens, completionTokens };
    }
    lastError = parsed.error;
    messages.push({ role: 'assistant', content: response.text }, { role: 'user', content: REASK_MESSAGE });
  }
  return {
    verdict: {
      analysis: '',
      output: lastText,
      error: `${lastError} (after ${options.reasks} re-asks)`,
      reasks: options.reasks,
    },
    promptTokens,
    completionTokens,
  };
}

/** The deterministic checker's verdict: process Yes/No with reasons; response not judged (Uncertain). */
export function deterministicVerdict(item: RunItem): Verdict {
  const result = checkProcess(item);
  return {
    process: result.correct ? 'Yes' : 'No',
    response: 'Uncertain',
    responseJudged: false,
    analysis: result.reasons.join('; '),
    reasons: result.reasons,
  };
}

function itemKey(item: Pick<RunItem, 'tool' | 'index'>): string {
  return `${item.tool}#${item.index}`;
}

/** A stable hash of the run's items (what is judged), recorded in the judge log's header. */
function runHash(run: RunFile): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(run.items)).digest('hex')}`;
}

/** A judge task's output: the verdicts of one item and what they cost (plain JSON). */
export interface JudgeTaskOutput {
  verdicts: Verdict[];
  promptTokens: number;
  completionTokens: number;
}

/** The output of an item that was not judged (nothing spent): a queue job that failed for good. */
export function emptyJudgeOutput(): JudgeTaskOutput {
  return { verdicts: [], promptTokens: 0, completionTokens: 0 };
}

/** What judging one item needs: the judge and its sampling (a queue worker builds it from the flags). */
export type JudgeTaskOptions = Pick<
  JudgeOptions,
  'judge' | 'runs' | 'temperature' | 'reasks' | 'seed' | 'maxTokens'
>;

/** The judge's sampling, defaults resolved. */
interface JudgeSampling {
  deterministic: boolean;
  judgeId: string;
  runs: number;
  temperature: number;
  reasks: number;
  seed: number;
}

/** The judge's settings, defaults resolved; `parameters` go into the journal's header. */
interface JudgeSettings extends JudgeSampling {
  withDeterministic: boolean;
  parameters: Record<string, unknown>;
}

function judgeSampling(options: JudgeTaskOptions): JudgeSampling {
  const deterministic = options.judge === DETERMINISTIC_JUDGE;
  const runs = deterministic ? 1 : (options.runs ?? 1);
  if (!Number.isInteger(runs) || runs < 1)
    throw new InputError(`runs must be a positive integer, got ${runs}`);
  return {
    deterministic,
    judgeId: options.judge === DETERMINISTIC_JUDGE ? DETERMINISTIC_JUDGE : options.judge.id,
    runs,
    temperature: options.temperature ?? DEFAULT_JUDGE_TEMPERATURE,
    reasks: options.reasks ?? DEFAULT_REASKS,
    seed: options.seed ?? 0,
  };
}

function judgeSettings(run: RunFile, options: JudgeOptions): JudgeSettings {
  const sampling = judgeSampling(options);
  const { deterministic, judgeId, runs, temperature, reasks, seed } = sampling;
  return {
    ...sampling,
    withDeterministic: options.withDeterministic ?? true,
    parameters: {
      judge: judgeId,
      endpoint: options.judge === DETERMINISTIC_JUDGE ? null : endpointOf(options.judge),
      runs,
      prompt: deterministic ? DETERMINISTIC_JUDGE : JUDGE_PROMPT_NAME,
      temperature,
      reasks,
      seed,
      maxTokens: options.maxTokens ?? null,
      runHash: runHash(run),
    },
  };
}

/**
 * The task runner of a judge run: K verdicts for one item (none for an item without steps). Input and
 * output are plain JSON, so a queue worker runs it with a judge of its own.
 */
export function judgeTaskRunner(options: JudgeTaskOptions): TaskRunner<RunItem, JudgeTaskOutput> {
  const settings = judgeSampling(options);
  return async (item, { signal }) => {
    const output = emptyJudgeOutput();
    if (item.steps.length === 0) return { status: 'completed', output };
    if (options.judge === DETERMINISTIC_JUDGE) {
      output.verdicts.push(deterministicVerdict(item));
      return { status: 'completed', output };
    }
    for (let k = 0; k < settings.runs; k++) {
      let asked: AskResult;
      try {
        asked = await askJudge(item, options.judge, {
          temperature: settings.temperature,
          reasks: settings.reasks,
          seed: settings.seed + k,
          signal,
          ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
        });
      } catch (error) {
        // Cut by a stop: judged again on resume.
        if (signal.aborted) throw error;
        const failure = failureOf(error, 'model_error');
        failure.message = oneLine(`judge ${settings.judgeId} failed: ${failure.message}`, 300);
        return { status: 'failed', output, failure };
      }
      output.verdicts.push(asked.verdict);
      output.promptTokens += asked.promptTokens;
      output.completionTokens += asked.completionTokens;
    }
    return { status: 'completed', output };
  };
}

/**
 * The judged items, in run order: every finished item except those whose judge failed for an
 * infrastructure reason (judged again on resume); another failure is kept as an item with its error.
 */
function judgedItems(
  run: RunFile,
  records: readonly JournalTask<JudgeTaskOutput>[],
  withDeterministic: boolean,
): JudgedItem[] {
  const byKey = new Map(records.map((record) => [record.id, record]));
  const items: JudgedItem[] = [];
  for (const item of run.items) {
    const record = byKey.get(itemKey(item));
    if (record === undefined || record.failure?.infrastructure === true) continue;
    const judged = judgedItemOf(item, record.output.verdicts, withDeterministic);
    if (record.status === 'failed' && item.steps.length > 0) {
      delete judged.majority;
      delete judged.spread;
      judged.error = record.failure?.message ?? 'the judge failed';
    }
    items.push(judged);
  }
  return items;
}

function judgedFileOf(
  run: RunFile,
  options: JudgeOptions,
  settings: JudgeSettings,
  outcome: ExecutionOutcome<RunItem, JudgeTaskOutput>,
  startedAt: string,
): JudgedFile {
  const items = judgedItems(run, outcome.finished, settings.withDeterministic);
  const promptTokens = outcome.finished.reduce((sum, r) => sum + r.output.promptTokens, 0);
  const completionTokens = outcome.finished.reduce((sum, r) => sum + r.output.completionTokens, 0);
  const costUsd = options.ledger?.totals().costUsd;
  const { deterministic, runs, temperature, seed, reasks } = settings;
  const judged: JudgedFile = {
    kind: JUDGED_KIND,
    version: RUN_FORMAT_VERSION,
    run: run.meta,
    judge: {
      model: settings.judgeId,
      runs,
      prompt: String(settings.parameters.prompt),
      ...(deterministic ? {} : { temperature, seed, reasks }),
      createdAt: startedAt,
      tokens: { prompt: promptTokens, completion: completionTokens },
      ...(costUsd !== undefined ? { costUsd } : {}),
      complete: items.length === run.items.length,
    },
    items,
    statistics: statisticsOf(items),
  };
  if (runs > 1)
    judged.spread = runSpread(
      items.map((item) => (item.steps.length > 0 ? item.verdicts : [])),
      runs,
    );
  return judged;
}

/** A judged item from an item and its verdicts. */
export function judgedItemOf(item: RunItem, verdicts: Verdict[], withDeterministic: boolean): JudgedItem {
  const judged: JudgedItem = { ...item, verdicts };
  if (item.steps.length === 0) {
    judged.error = NO_SOLUTION;
  } else {
    const { majority, spread } = combineVerdicts(verdicts);
    if (majority !== undefined) judged.majority = majority;
    if (spread !== undefined) judged.spread = spread;
    if (majority === undefined) {
      judged.error = verdicts.find((v) => v.error !== undefined)?.error ?? 'no readable verdict';
    }
  }
  if (withDeterministic) {
    const result = checkProcess(item);
    judged.deterministic = { correct: result.correct, reasons: result.reasons };
  }
  return judged;
}

/** The statistics of judged items (over their majority labels). */
export function statisticsOf(items: readonly JudgedItem[]): JudgedFile['statistics'] {
  return computeStatistics(items.map((item) => item.majority));
}

/** A judge run's judged file and how the run ended. */
export interface JudgeRunResult {
  judged: JudgedFile;
  status: RunStatus;
  /** Items read back from the journal (resume). */
  resumed: number;
  /** Failed items from the journal judged again. */
  retried: number;
}

/** Judges every item of `run` on the durable-run engine; writes `out` (atomically) when given. */
export async function runJudge(run: RunFile, options: JudgeOptions): Promise<JudgeRunResult> {
  const settings = judgeSettings(run, options);
  return withDurableRun<JudgeTaskOutput, Record<string, unknown>, JudgeRunResult>(
    {
      kind: 'judge',
      ...(options.out !== undefined ? { out: options.out } : {}),
      parameters: settings.parameters,
      ...startOptionsOf(options),
    },
    async (durable) => {
      const isError = (record: JournalTask<JudgeTaskOutput>): boolean =>
        record.status === 'failed' || combineVerdicts(record.output.verdicts).majority === undefined;
      const previous = durable.journal.previous.tasks;
      let errors = run.items.filter((item) => {
        const record = previous.get(itemKey(item));
        const retried =
          record?.status === 'failed' && shouldRetry(record.failure, options.retryFailed ?? 'infrastructure');
        return record !== undefined && !retried && isError(record);
      }).length;
      const outcome = await durable.execute({
        tasks: run.items.map((item) => ({ id: itemKey(item), input: item })),
        runTask: judgeTaskRunner(options),
        ...executionOptionsOf(options, 4),
        onFinished: (record) => {
          if (isError(record)) errors++;
        },
        onProgress: (progress) => {
          const totals = options.ledger?.totals();
          options.onProgress?.({
            done: progress.done,
            total: progress.total,
            errors,
            promptTokens: totals?.promptTokens ?? 0,
            completionTokens: totals?.completionTokens ?? 0,
            costUsd: totals?.costUsd ?? 0,
          });
        },
      });
      const judged = judgedFileOf(run, options, settings, outcome, durable.journal.header.startedAt);
      if (options.out !== undefined)
        await writeFileAtomic(options.out, `${JSON.stringify(judged, null, 2)}\n`);
      await durable.end(outcome);
      return { judged, status: runStatusOf(outcome), resumed: outcome.resumed, retried: outcome.retried };
    },
  );
}

/** Judges every item of `run`; writes `out` (atomically) when given. Resolves to the judged file. */
export async function judgeRun(run: RunFile, options: JudgeOptions): Promise<JudgedFile> {
  return (await runJudge(run, options)).judged;
}

/** A judged file read from disk; one-line InputError naming the file and the first problem. */
export async function readJudgedFile(path: string): Promise<JudgedFile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw new InputError(oneLine(`cannot read judged file ${path}: ${messageOf(error)}`), { cause: error });
  }
  const parsed = parseJudgedFile(data);
  if (!parsed.ok) throw new InputError(oneLine(`${path}: not a toolalpaca judged file: ${parsed.error}`));
  return parsed.judged;
}
