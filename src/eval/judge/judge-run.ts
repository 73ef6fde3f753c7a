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
 * Durable: with `out`, every judged item is appended to `OUT.log.jsonl` (one fsynced line) before it
 * counts; `resume` skips the items already there (same judge, K, prompt and run required).
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import PQueue from 'p-queue';
import { writeFileAtomic } from '../../core/atomic-write.js';
import { InputError, ToolalpacaError, messageOf, oneLine } from '../../core/errors.js';
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
import { openJsonlLog, readJsonlLog } from '../../pipeline/jsonl-log.js';
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

export interface JudgeOptions {
  /** The judge model, or `deterministic`. */
  judge: ChatModel | typeof DETERMINISTIC_JUDGE;
  /** K: verdicts per item (default 1; always 1 for the deterministic judge). */
  runs?: number;
  temperature?: number;
  /** Re-asks after an unreadable reply, per verdict (default 2). */
  reasks?: number;
  /** Base seed; judge run k uses seed + k (default 0). */
  seed?: number;
  /** Items judged at once (default 4). */
  concurrency?: number;
  maxTokens?: number;
  /** Also run the deterministic checker beside an LLM judge (default true). */
  withDeterministic?: boolean;
  /** Where the judged file goes; enables the durable log `OUT.log.jsonl` and resume. */
  out?: string;
  resume?: boolean;
  force?: boolean;
  /** Aborting stops starting new items; items in flight are cut and judged again on resume. */
  signal?: AbortSignal;
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

interface JudgeLogHeader {
  type: 'header';
  judge: string;
  runs: number;
  prompt: string;
  temperature: number;
  seed: number;
  runHash: string;
  startedAt: string;
}

interface JudgeLogItem {
  type: 'item';
  key: string;
  verdicts: Verdict[];
  promptTokens: number;
  completionTokens: number;
}

function sameHeader(a: JudgeLogHeader, b: JudgeLogHeader): string[] {
  const keys = ['judge', 'runs', 'prompt', 'temperature', 'seed', 'runHash'] as const;
  return keys.filter((key) => a[key] !== b[key]);
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

/** Judges every item of `run`; writes `out` (atomically) when given. */
export async function judgeRun(run: RunFile, options: JudgeOptions): Promise<JudgedFile> {
  const deterministic = options.judge === DETERMINISTIC_JUDGE;
  const runs = deterministic ? 1 : (options.runs ?? 1);
  if (!Number.isInteger(runs) || runs < 1)
    throw new InputError(`--runs must be a positive integer, got ${runs}`);
  const temperature = options.temperature ?? DEFAULT_JUDGE_TEMPERATURE;
  const reasks = options.reasks ?? DEFAULT_REASKS;
  const seed = options.seed ?? 0;
  const judgeId = options.judge === DETERMINISTIC_JUDGE ? DETERMINISTIC_JUDGE : options.judge.id;
  const withDeterministic = options.withDeterministic ?? true;
  const createdAt = new Date().toISOString();

  const header: JudgeLogHeader = {
    type: 'header',
    judge: judgeId,
    runs,
    prompt: deterministic ? DETERMINISTIC_JUDGE : JUDGE_PROMPT_NAME,
    temperature,
    seed,
    runHash: runHash(run),
    startedAt: createdAt,
  };
  const done = new Map<string, JudgeLogItem>();
  const logPath = options.out !== undefined ? `${options.out}.log.jsonl` : undefined;
  let writer: Awaited<ReturnType<typeof openJsonlLog>> | undefined;
  if (logPath !== undefined) {
    let existing = await readJsonlLog(logPath);
    const hasContent = existing.validBytes > 0 || existing.tornBytes > 0;
    if (hasContent && options.force === true) {
      await rm(logPath, { force: true });
      existing = await readJsonlLog(logPath);
    } else if (hasContent && options.resume !== true) {
      throw new InputError(
        `${logPath} already holds judgments: pass --resume to continue them or --force to start over`,
      );
    }
    const first = existing.lines[0] as Partial<JudgeLogHeader> | undefined;
    if (first !== undefined) {
      if (first.type !== 'header') throw new InputError(`${logPath}: no header line; not a judge log`);
      const differing = sameHeader(first as JudgeLogHeader, header);
      if (differing.length > 0) {
        throw new InputError(
          oneLine(
            `cannot resume ${logPath}: it was made with other ${differing.join(', ')}; use the same ones or --force to start over`,
          ),
        );
      }
      header.startedAt = (first as JudgeLogHeader).startedAt;
      for (const line of existing.lines.slice(1)) {
        const entry = line as Partial<JudgeLogItem>;
        if (entry.type === 'item' && typeof entry.key === 'string' && Array.isArray(entry.verdicts)) {
          if (!done.has(entry.key)) done.set(entry.key, entry as JudgeLogItem);
        }
      }
    }
    writer = await openJsonlLog(logPath, { validBytes: existing.validBytes });
    if (first === undefined) await writer.append(header);
  }

  let promptTokens = [...done.values()].reduce((sum, e) => sum + e.promptTokens, 0);
  let completionTokens = [...done.values()].reduce((sum, e) => sum + e.completionTokens, 0);
  const errorsOf = (entry: JudgeLogItem, item: RunItem): boolean =>
    item.steps.length === 0 || combineVerdicts(entry.verdicts).majority === undefined;
  const byKey = new Map(run.items.map((item) => [itemKey(item), item]));
  let errors = [...done.entries()].filter(([key, e]) => {
    const item = byKey.get(key);
    return item !== undefined && errorsOf(e, item);
  }).length;
  const report = (): void => {
    options.onProgress?.({
      done: run.items.filter((item) => done.has(itemKey(item))).length,
      total: run.items.length,
      errors,
      promptTokens,
      completionTokens,
      costUsd: options.ledger?.totals().costUsd ?? 0,
    });
  };
  report();

  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
  let interrupted = false;
  let fatal: unknown;
  const stop = (): void => {
    interrupted = true;
    queue.clear();
  };
  if (options.signal?.aborted === true) stop();
  options.signal?.addEventListener('abort', stop, { once: true });

  const judgeOne = async (item: RunItem): Promise<void> => {
    if (interrupted || fatal !== undefined) return;
    const entry: JudgeLogItem = {
      type: 'item',
      key: itemKey(item),
      verdicts: [],
      promptTokens: 0,
      completionTokens: 0,
    };
    if (item.steps.length > 0) {
      if (options.judge === DETERMINISTIC_JUDGE) {
        entry.verdicts.push(deterministicVerdict(item));
      } else {
        for (let k = 0; k < runs; k++) {
          let asked: AskResult;
          try {
            asked = await askJudge(item, options.judge, {
              temperature,
              reasks,
              seed: seed + k,
              ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
              ...(options.signal !== undefined ? { signal: options.signal } : {}),
            });
          } catch (error) {
            // Cut by Ctrl-C: judged again on resume. Any other model failure stops the whole run.
            if (options.signal?.aborted === true) return;
            fatal ??= error;
            queue.clear();
            return;
          }
          entry.verdicts.push(asked.verdict);
          entry.promptTokens += asked.promptTokens;
          entry.completionTokens += asked.completionTokens;
        }
      }
    }
    if (options.signal?.aborted === true && entry.verdicts.length < runs && item.steps.length > 0) return;
    try {
      await writer?.append(entry);
    } catch (error) {
      fatal ??= new InputError(oneLine(`cannot write judge log ${logPath ?? ''}: ${messageOf(error)}`), {
        cause: error,
      });
      queue.clear();
      return;
    }
    done.set(entry.key, entry);
    promptTokens += entry.promptTokens;
    completionTokens += entry.completionTokens;
    if (errorsOf(entry, item)) errors++;
    report();
  };
  try {
    for (const item of run.items) {
      if (!done.has(itemKey(item))) void queue.add(() => judgeOne(item));
    }
    await queue.onIdle();
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await writer?.close();
  }
  if (fatal !== undefined) {
    if (fatal instanceof ToolalpacaError) throw fatal;
    throw new ToolalpacaError(oneLine(`judge ${judgeId} failed: ${messageOf(fatal)}`), { cause: fatal });
  }

  const items: JudgedItem[] = [];
  for (const item of run.items) {
    const entry = done.get(itemKey(item));
    if (entry === undefined) continue;
    items.push(judgedItemOf(item, entry.verdicts, withDeterministic));
  }
  const costUsd = options.ledger?.totals().costUsd;
  const judged: JudgedFile = {
    kind: JUDGED_KIND,
    version: RUN_FORMAT_VERSION,
    run: run.meta,
    judge: {
      model: judgeId,
      runs,
      prompt: header.prompt,
      ...(deterministic ? {} : { temperature, seed, reasks }),
      createdAt: header.startedAt,
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
  if (options.out !== undefined) await writeFileAtomic(options.out, `${JSON.stringify(judged, null, 2)}\n`);
  return judged;
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
