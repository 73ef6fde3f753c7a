/**
 * Imports ToolAlpaca's published results so they can be rescored and compared with new runs:
 *
 * - judged files (`evaluation.py` output, e.g. `evalution_outputs/ToolAlpaca7b.json`): an object keyed
 *   by tool name, each a list of `{id?, input: [{role, content}], output, process_correctness,
 *   final_response_correctness}`, plus `statistics`. The judged solution exists only inside the judge
 *   prompt (`input[0].content`), which is parsed back (documentation, instruction, standard answer,
 *   calls with their returns, final response). They become judged files (`toolalpaca-judged`) whose
 *   items carry GPT-4's verdict; `judgedToRun` drops the verdicts to get the run.
 * - evaluation outputs before judging (`evaluation.py`'s input): ToolAlpaca records (`Name`,
 *   `Instructions`, `Golden_Answers`, `NLDocumentation`) with `Instances` holding `output` and
 *   `intermediate_steps` (`[[action, action_input, log], observation]`). They become runs; an instance's
 *   `observation_sources` (this project's corpora record them) become the steps' `source`.
 */
import { basename, extname } from 'node:path';
import { readJsonFile } from '../../core/atomic-write.js';
import { InputError, messageOf } from '../../core/errors.js';
import {
  JUDGED_KIND,
  JudgedFileSchema,
  RUN_FORMAT_VERSION,
  RUN_KIND,
  RunFileSchema,
  type GoldenAnswerStep,
  type JudgedFile,
  type JudgedItem,
  type RunFile,
  type RunItem,
  type RunMeta,
  type RunStep,
  type Verdict,
} from '../../core/run.js';
import type { ToolAlpacaRecord } from '../../core/toolalpaca-record.js';
import { VERSION } from '../../core/version.js';
import { parseLabel } from '../agreement.js';
import { combineVerdicts, computeStatistics } from '../statistics.js';
import { parseJudgePrompt } from './judge-prompt.js';
import { isRecord } from '../../core/json-text.js';

export interface ImportOptions {
  /** Where the data came from (a path); starts error messages and becomes `meta.importedFrom`. */
  label?: string;
  /** Model name for the run's metadata; default: the file name without extension. */
  model?: string;
  /**
   * The evaluation set (ToolAlpaca records), to fill what a file lacks: the instruction, standard answer
   * and documentation of items ToolAlpaca could not judge (empty `input`), and `Golden_Answers` missing
   * from evaluation outputs.
   */
  tools?: readonly ToolAlpacaRecord[];
  /** ISO time for `createdAt`; default now. */
  createdAt?: string;
}

/** ToolAlpaca's judge settings in `evaluation.py`. */
export const TOOLALPACA_JUDGE = {
  model: 'gpt-4-0613',
  runs: 1,
  prompt: 'toolalpaca-evaluation',
  temperature: 0.2,
};

const NO_USAGE = { promptTokens: 0, completionTokens: 0, calls: 0 };

/**
 * True for ToolAlpaca's judged-file shape: tool names mapping to lists of `{input, output}`. `id` is
 * optional: the published `ToolAlpaca7b.json` has it, `ToolAlpaca13b.json` does not (an entry's position
 * is then its instruction's index, as every entry is kept, unjudged ones with an empty `input`).
 */
export function looksLikeToolAlpacaJudged(data: unknown): boolean {
  if (!isRecord(data) || 'kind' in data) return false;
  const lists = Object.entries(data).filter(([key]) => key !== 'statistics');
  return (
    lists.length > 0 &&
    lists.every(
      ([, value]) =>
        Array.isArray(value) &&
        value.every((entry) => isRecord(entry) && 'input' in entry && 'output' in entry),
    )
  );
}

/** True for evaluation outputs: ToolAlpaca records with `Instances`. */
export function looksLikeToolAlpacaEvaluation(data: unknown): boolean {
  return (
    Array.isArray(data) &&
    data.length > 0 &&
    data.every(
      (record) => isRecord(record) && typeof record.Name === 'string' && Array.isArray(record.Instances),
    )
  );
}

function importedMeta(options: ImportOptions, fallbackModel: string): RunMeta {
  const label = options.label;
  const model = options.model ?? (label === undefined ? fallbackModel : basename(label, extname(label)));
  return {
    model,
    prompt: 'unknown',
    mode: 'react',
    executor: 'imported',
    createdAt: options.createdAt ?? new Date().toISOString(),
    toolalpacaVersion: VERSION,
    tokens: { prompt: 0, completion: 0 },
    costUsd: 0,
    ...(label === undefined ? {} : { importedFrom: label }),
  };
}

function findTool(
  tools: readonly ToolAlpacaRecord[] | undefined,
  name: string,
): ToolAlpacaRecord | undefined {
  return tools?.find((record) => record.Name === name);
}

/** What the evaluation set says about instruction `index` of tool `name` (empty when unknown). */
function fromEvaluationSet(
  tools: readonly ToolAlpacaRecord[] | undefined,
  name: string,
  index: number,
): { instruction: string; goldenAnswers: GoldenAnswerStep[]; nlDocumentation: string } {
  const record = findTool(tools, name);
  return {
    instruction: record?.Instructions?.[index] ?? '',
    goldenAnswers: record?.Golden_Answers?.[index] ?? [],
    nlDocumentation: record?.NLDocumentation ?? '',
  };
}

/** Converts a parsed ToolAlpaca judged file into a judged file of this project. */
export function importToolAlpacaJudged(data: unknown, options: ImportOptions = {}): JudgedFile {
  const label = options.label ?? 'judged file';
  if (!looksLikeToolAlpacaJudged(data)) {
    throw new InputError(
      `${label}: not a ToolAlpaca judged file (expected tool names mapping to lists of {input, output})`,
    );
  }
  const items: JudgedItem[] = [];
  for (const [tool, entries] of Object.entries(data as Record<string, unknown>)) {
    if (tool === 'statistics') continue;
    for (const [position, entry] of (entries as Record<string, unknown>[]).entries()) {
      items.push(importJudgedEntry(tool, entry, position, label, options.tools));
    }
  }
  const judged: JudgedFile = {
    kind: JUDGED_KIND,
    version: RUN_FORMAT_VERSION,
    run: importedMeta(options, 'toolalpaca-judged'),
    judge: { ...TOOLALPACA_JUDGE },
    items,
    statistics: computeStatistics(items.map((item) => item.majority)),
  };
  return JudgedFileSchema.parse(judged) as JudgedFile;
}

function importJudgedEntry(
  tool: string,
  entry: Record<string, unknown>,
  position: number,
  label: string,
  tools: readonly ToolAlpacaRecord[] | undefined,
): JudgedItem {
  const index =
    typeof entry.id === 'number' && Number.isInteger(entry.id) && entry.id >= 0 ? entry.id : position;
  const where = `${label}: tool "${tool}" item ${index}`;
  const content = promptContent(entry.input);
  if (content === undefined) {
    // ToolAlpaca writes an empty input for a solution without steps and does not judge it (error_num).
    return {
      tool,
      index,
      ...fromEvaluationSet(tools, tool, index),
      status: 'failed',
      failure: { reason: 'no_solution', message: 'no intermediate steps (not judged by ToolAlpaca)' },
      steps: [],
      usage: { ...NO_USAGE },
      verdicts: [],
      error: 'no solution: the assistant made no call (counted in error_num, as ToolAlpaca)',
    };
  }
  let parts;
  try {
    parts = parseJudgePrompt(content);
  } catch (error) {
    throw new InputError(`${where}: ${messageOf(error)}`, { cause: error });
  }
  const verdict: Verdict = {
    analysis: typeof entry.output === 'string' ? entry.output : '',
  };
  const process = parseLabel(entry.process_correctness);
  const response = parseLabel(entry.final_response_correctness);
  if (process !== undefined) verdict.process = process;
  if (response !== undefined) verdict.response = response;
  if (process === undefined || response === undefined)
    verdict.error = 'no readable Process/Final Response Correctness';
  const item: JudgedItem = {
    tool,
    index,
    instruction: parts.instruction,
    goldenAnswers: parts.goldenAnswers,
    nlDocumentation: parts.documentation,
    status: 'completed',
    steps: parts.steps,
    ...(parts.finalAnswer === undefined ? {} : { finalAnswer: parts.finalAnswer }),
    usage: { ...NO_USAGE },
    verdicts: [verdict],
  };
  const { majority, spread } = combineVerdicts([verdict]);
  if (majority !== undefined) item.majority = majority;
  if (spread !== undefined) item.spread = spread;
  if (majority === undefined) item.error = verdict.error;
  return item;
}

function promptContent(input: unknown): string | undefined {
  if (typeof input === 'string') return input.trim() === '' ? undefined : input;
  if (!Array.isArray(input)) return undefined;
  const user = input.find((message) => isRecord(message) && typeof message.content === 'string') as
    { content: string } | undefined;
  return user === undefined || user.content.trim() === '' ? undefined : user.content;
}

/** The run inside a judged file: the same items without verdicts. */
export function judgedToRun(judged: JudgedFile): RunFile {
  const items: RunItem[] = judged.items.map((item) => {
    const { verdicts, majority, spread, deterministic, error, ...rest } = item;
    void verdicts;
    void majority;
    void spread;
    void deterministic;
    void error;
    return rest as RunItem;
  });
  return RunFileSchema.parse({
    kind: RUN_KIND,
    version: RUN_FORMAT_VERSION,
    meta: judged.run,
    items,
  }) as RunFile;
}

// LangChain's text when the agent hit its iteration or time limit (ToolAlpaca's agent is LangChain's).
const STOPPED = /^agent stopped due to (iteration|time) limit/i;

/** Converts ToolAlpaca evaluation outputs (records with `Instances`) into a run. */
export function importToolAlpacaEvaluation(data: unknown, options: ImportOptions = {}): RunFile {
  const label = options.label ?? 'evaluation output';
  if (!looksLikeToolAlpacaEvaluation(data)) {
    throw new InputError(
      `${label}: not ToolAlpaca evaluation output (expected a list of records with "Instances")`,
    );
  }
  const items: RunItem[] = [];
  for (const record of data as Record<string, unknown>[]) {
    const tool = record.Name as string;
    const instances = record.Instances as unknown[];
    const instructions = Array.isArray(record.Instructions) ? (record.Instructions as unknown[]) : [];
    const golden = Array.isArray(record.Golden_Answers) ? (record.Golden_Answers as unknown[]) : undefined;
    const fallback = findTool(options.tools, tool);
    for (const [index, instance] of instances.entries()) {
      const where = `${label}: tool "${tool}" instance ${index}`;
      if (!isRecord(instance)) throw new InputError(`${where}: expected an object`);
      const steps = withSources(
        readIntermediateSteps(instance.intermediate_steps, where),
        instance.observation_sources,
      );
      const output = typeof instance.output === 'string' ? instance.output : undefined;
      const instruction =
        (typeof instructions[index] === 'string' ? (instructions[index] as string) : undefined) ??
        (typeof instance.input === 'string' ? instance.input : '');
      const goldenAnswers = readGolden(golden?.[index] ?? fallback?.Golden_Answers?.[index], where);
      const stopped = output === undefined || output.trim() === '' || STOPPED.test(output.trim());
      const item: RunItem = {
        tool,
        index,
        instruction,
        goldenAnswers,
        nlDocumentation:
          typeof record.NLDocumentation === 'string'
            ? record.NLDocumentation
            : (fallback?.NLDocumentation ?? ''),
        status: stopped ? 'failed' : 'completed',
        steps,
        usage: { ...NO_USAGE },
      };
      if (stopped) {
        item.failure = {
          reason: output === undefined || output.trim() === '' ? 'empty_reply' : 'step_limit',
          message: output ?? 'no output',
        };
      } else {
        item.finalAnswer = output;
      }
      if (typeof instance['Final Thought'] === 'string') item.finalThought = instance['Final Thought'];
      items.push(item);
    }
  }
  return RunFileSchema.parse({
    kind: RUN_KIND,
    version: RUN_FORMAT_VERSION,
    meta: importedMeta(options, 'toolalpaca-evaluation'),
    items,
  }) as RunFile;
}

function readIntermediateSteps(value: unknown, where: string): RunStep[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InputError(`${where}: "intermediate_steps" is not a list`);
  return value.map((step, i) => {
    const action = Array.isArray(step) ? (step[0] as unknown) : undefined;
    if (!Array.isArray(action) || typeof action[0] !== 'string') {
      throw new InputError(
        `${where}: intermediate step ${i + 1} is not [[action, action_input, log], observation]`,
      );
    }
    const input = action[1];
    const out: RunStep = {
      action: action[0],
      actionInput: typeof input === 'string' ? input : JSON.stringify(input ?? {}),
      observation: textOf((step as unknown[])[1]),
    };
    if (typeof action[2] === 'string') out.thought = action[2];
    return out;
  });
}

/**
 * Each step's observation source from an instance's `observation_sources` (a corpus of this project used
 * as evaluation output records it); entries that are neither a string nor null are not sources.
 */
function withSources(steps: RunStep[], sources: unknown): RunStep[] {
  if (!Array.isArray(sources)) return steps;
  return steps.map((step, i) => {
    const source: unknown = sources[i];
    return typeof source === 'string' || source === null ? { ...step, source } : step;
  });
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}

function readGolden(value: unknown, where: string): GoldenAnswerStep[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InputError(`${where}: "Golden_Answers" entry is not a list`);
  return value.map((step, i) => {
    if (!isRecord(step) || typeof step.Action !== 'string') {
      throw new InputError(`${where}: golden answer step ${i + 1} has no "Action"`);
    }
    const input = step.Action_Input;
    return {
      ...step,
      Action: step.Action,
      Action_Input: typeof input === 'string' ? input : JSON.stringify(input ?? {}),
    };
  });
}

export type ImportedResults = { kind: 'judged'; judged: JudgedFile } | { kind: 'run'; run: RunFile };

/**
 * Reads any results file this project understands: its own judged files and runs, ToolAlpaca judged
 * files and ToolAlpaca evaluation outputs.
 */
export function importResults(data: unknown, options: ImportOptions = {}): ImportedResults {
  const label = options.label ?? 'results';
  if (isRecord(data) && data.kind === JUDGED_KIND) {
    const parsed = JudgedFileSchema.safeParse(data);
    if (!parsed.success)
      throw new InputError(`${label}: invalid judged file: ${parsed.error.issues[0]?.message ?? ''}`);
    return { kind: 'judged', judged: data as JudgedFile };
  }
  if (isRecord(data) && data.kind === RUN_KIND) {
    const parsed = RunFileSchema.safeParse(data);
    if (!parsed.success)
      throw new InputError(`${label}: invalid run file: ${parsed.error.issues[0]?.message ?? ''}`);
    return { kind: 'run', run: data as RunFile };
  }
  if (looksLikeToolAlpacaJudged(data))
    return { kind: 'judged', judged: importToolAlpacaJudged(data, options) };
  if (looksLikeToolAlpacaEvaluation(data))
    return { kind: 'run', run: importToolAlpacaEvaluation(data, options) };
  throw new InputError(
    `${label}: not a run, a judged file, a ToolAlpaca judged file or ToolAlpaca evaluation output`,
  );
}

/** Reads and imports a results file (see `importResults`). */
export async function readResultsFile(
  path: string,
  options: Omit<ImportOptions, 'label'> = {},
): Promise<ImportedResults> {
  return importResults(await readJsonFile(path), { ...options, label: path });
}
