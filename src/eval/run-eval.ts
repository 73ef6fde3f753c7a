/**
 * `eval run`: the model under test works as the assistant on every instruction of every tool of an
 * evaluation set (ToolAlpaca's `eval_simulated.json` / `eval_real.json` shape: tools with `Instructions`
 * and `Golden_Answers`), and the trajectories are written as a run file (`RUN.json`, see core/run.ts).
 *
 * The episodes, the queue, the durable append-only log, resume, Ctrl-C and progress are the generation
 * run's (`runGeneration`): this module calls it with `out` = RUN.json, so the log is
 * `RUN.json.log.jsonl` and the metadata `RUN.json.meta.json`, exactly as for `generate`. When the
 * generation finishes (or is interrupted) the ToolAlpaca corpus it wrote at `out` is replaced, atomically,
 * by the run file built from the log: every logged item with its golden answer, the tool's NL
 * documentation, status, steps, final answer and token usage, and the run's metadata.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import {
  parseRunFile,
  RUN_FORMAT_VERSION,
  RUN_KIND,
  type GoldenAnswerStep,
  type RunFile,
  type RunItem,
  type RunMeta,
  type RunStep,
} from '../core/run.js';
import type { Instance, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import { VERSION } from '../core/version.js';
import type { AgentMode, PromptLayoutName } from '../agents/episode.js';
import {
  loadGenerationTools,
  runFiles,
  runGeneration,
  type GenerationOptions,
  type GenerationSummary,
} from '../pipeline/generate.js';
import { readRunLog, type RunLogInstance } from '../pipeline/run-log.js';

/** ToolAlpaca evaluates with its test prompt. */
export const DEFAULT_EVAL_PROMPT: PromptLayoutName = 'test_v1';

export type EvaluationOptions = Omit<
  GenerationOptions,
  'instructionModel' | 'perTool' | 'onInstructions' | 'prompt' | 'mode'
> & {
  /** Default test_v1 (ToolAlpaca's evaluation prompt). */
  prompt?: PromptLayoutName;
  mode?: AgentMode;
};

export interface EvaluationSummary {
  /** The run file written. */
  out: string;
  run: RunFile;
  generation: GenerationSummary;
}

/** A run file read from disk; one-line InputError naming the file and the first problem. */
export async function readRunFile(path: string): Promise<RunFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(oneLine(`cannot read run file ${path}: ${messageOf(error)}`), { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(oneLine(`${path}: not JSON: ${messageOf(error)}`), { cause: error });
  }
  if (Array.isArray(data)) {
    throw new InputError(
      `${path}: this is a ToolAlpaca corpus, not a run file (an interrupted \`eval run\` leaves one: rerun it with --resume)`,
    );
  }
  const parsed = parseRunFile(data);
  if (!parsed.ok) throw new InputError(oneLine(`${path}: not a toolalpaca run file: ${parsed.error}`));
  return parsed.run;
}

/** The steps of a ToolAlpaca instance (`[[action, input, text], observation]`) in the run's shape. */
export function stepsOfInstance(instance: Pick<Instance, 'intermediate_steps'>): RunStep[] {
  return (instance.intermediate_steps ?? []).map(([call, observation]) => {
    const step: RunStep = { action: call[0] ?? '', actionInput: call[1] ?? '', observation };
    if (call[2] !== undefined) step.thought = call[2];
    return step;
  });
}

/** One logged episode as a run item, with the golden answer and documentation of its tool. */
export function runItemOf(entry: RunLogInstance, record: ToolAlpacaRecord): RunItem {
  const instance = entry.instance;
  const goldenAnswers: GoldenAnswerStep[] = record.Golden_Answers?.[entry.index] ?? [];
  const item: RunItem = {
    tool: record.Name,
    index: entry.index,
    instruction: record.Instructions?.[entry.index] ?? instance.input,
    goldenAnswers,
    nlDocumentation: record.NLDocumentation ?? '',
    status: entry.status,
    steps: stepsOfInstance(instance),
    usage: entry.usage,
  };
  if (entry.failure !== undefined) item.failure = entry.failure;
  if (typeof instance.output === 'string' && (entry.status === 'completed' || instance.output !== '')) {
    item.finalAnswer = instance.output;
  }
  const finalThought = instance['Final Thought'];
  if (typeof finalThought === 'string' && finalThought !== '') item.finalThought = finalThought;
  return item;
}

async function previousCost(path: string): Promise<number> {
  try {
    const run = await readRunFile(path);
    return run.meta.costUsd;
  } catch {
    return 0;
  }
}

/**
 * Runs the evaluation and writes the run file. Tools without instructions are refused (an evaluation set
 * brings its own); a tool without `Golden_Answers` is evaluated with an empty standard answer and a
 * warning.
 */
export async function runEvaluation(options: EvaluationOptions): Promise<EvaluationSummary> {
  const { tools } = await loadGenerationTools(options.toolsPath);
  for (const { record } of tools) {
    if ((record.Instructions ?? []).length === 0) {
      throw new InputError(
        `${options.toolsPath}: tool "${record.Name}" has no Instructions; an evaluation set needs instructions with Golden_Answers`,
      );
    }
    if ((record.Golden_Answers ?? []).length < (record.Instructions ?? []).length) {
      options.onWarning?.(
        `tool "${record.Name}": ${(record.Golden_Answers ?? []).length} golden answers for ${(record.Instructions ?? []).length} instructions; the missing ones are empty`,
      );
    }
  }
  const prompt = options.prompt ?? DEFAULT_EVAL_PROMPT;
  const mode = options.mode ?? 'react';
  // A resumed run keeps the cost of the process(es) that wrote the previous run file.
  const carriedCost = options.resume === true ? await previousCost(options.out) : 0;

  const generation = await runGeneration({ ...options, prompt, mode });

  const log = await readRunLog(runFiles(options.out).log);
  const byName = new Map(tools.map(({ record }, order) => [record.Name, { record, order }]));
  const items: RunItem[] = [];
  for (const entry of log.instances.values()) {
    const tool = byName.get(entry.tool);
    if (tool === undefined) continue;
    items.push(runItemOf(entry, tool.record));
  }
  items.sort(
    (a, b) => (byName.get(a.tool)?.order ?? 0) - (byName.get(b.tool)?.order ?? 0) || a.index - b.index,
  );
  const ledgerTotals = options.ledger?.totals();
  const parameters = log.header?.parameters;
  const meta: RunMeta = {
    model: options.assistant.id,
    prompt,
    mode,
    executor: options.executor.kind,
    ...(options.executorModel !== undefined ? { executorModel: options.executorModel } : {}),
    ...(options.user !== undefined ? { userModel: options.user.id } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    createdAt: log.header?.startedAt ?? new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    toolalpacaVersion: VERSION,
    nodeVersion: process.version,
    tokens: {
      prompt: items.reduce((sum, item) => sum + item.usage.promptTokens, 0),
      completion: items.reduce((sum, item) => sum + item.usage.completionTokens, 0),
    },
    costUsd: carriedCost + (ledgerTotals?.costUsd ?? 0),
    ...(options.ledger !== undefined ? { ledger: options.ledger.toJSON() } : {}),
    tools: options.toolsPath,
    ...(parameters?.toolsHash !== undefined ? { toolsHash: parameters.toolsHash } : {}),
    total: generation.total,
    complete: !generation.interrupted && items.length >= generation.total,
    ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  };
  const run: RunFile = { kind: RUN_KIND, version: RUN_FORMAT_VERSION, meta, items };
  await writeFileAtomic(options.out, `${JSON.stringify(run, null, 2)}\n`);
  return { out: options.out, run, generation };
}

/** A few human lines: items, failures, steps, tokens, cost, files. */
export function formatEvaluationSummary(summary: EvaluationSummary): string {
  const { run, generation } = summary;
  const failed = run.items.filter((item) => item.status === 'failed').length;
  const reasons = Object.entries(generation.failedByReason)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  const steps = run.items.reduce((sum, item) => sum + item.steps.length, 0);
  const lines = [
    `${generation.interrupted ? 'interrupted: ' : ''}${run.items.length}/${generation.total} instructions over ${generation.tools} tools: ${run.items.length - failed} completed, ${failed} failed${reasons !== '' ? ` (${reasons})` : ''}`,
    `steps per instruction: ${run.items.length === 0 ? '0.00' : (steps / run.items.length).toFixed(2)}; tokens in ${run.meta.tokens.prompt}, out ${run.meta.tokens.completion}; cost $${run.meta.costUsd.toFixed(4)}`,
  ];
  if (generation.resumed > 0) lines.push(`resumed: ${generation.resumed} items read from ${generation.log}`);
  if (generation.interrupted) lines.push('not finished: rerun with --resume to complete the run');
  lines.push(`wrote ${summary.out} (log ${generation.log})`);
  return `${lines.join('\n')}\n`;
}
