/**
 * `eval run`: the model under test works as the assistant on every instruction of every tool of an
 * evaluation set (ToolAlpaca's `eval_simulated.json` / `eval_real.json` shape: tools with `Instructions`
 * and `Golden_Answers`), and the trajectories are written as a run file (`RUN.json`, see core/run.ts).
 *
 * It is a run of episodes on the durable-run engine, as a generation run is (`./../pipeline/episode-run.ts`:
 * the same tasks, journal `RUN.json.log.jsonl`, resume, retries, Ctrl-C, circuit breaker and
 * progress), with its own kind (`eval-run`) and its own final file: every finished item with its golden
 * answer, the tool's NL documentation, status, steps, final answer and token usage, and the run's
 * metadata.
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
import type { PromptLayoutName } from '../agents/episode.js';
import { loadRunTools } from '../pipeline/generate.js';
import {
  episodeParameters,
  episodeProgressReporter,
  episodeRunFigures,
  episodeTaskRunner,
  planEpisodeTasks,
  type EpisodeRecord,
  type EpisodeRunFigures,
  type EpisodeRunOptions,
  type EpisodeTaskInput,
  type EpisodeTaskOutput,
  type LoadedTool,
} from '../pipeline/episode-run.js';
import {
  executionOptionsOf,
  startOptionsOf,
  withDurableRun,
  writeRunMeta,
  type ExecutionOutcome,
  type JournalHeader,
} from '../run/index.js';

/** ToolAlpaca evaluates with its test prompt. */
export const DEFAULT_EVAL_PROMPT: PromptLayoutName = 'test_v1';

/** An evaluation set brings its own instructions: no `perTool`. */
export type EvaluationOptions = Omit<EpisodeRunOptions, 'perTool'>;

/** The episode figures of an evaluation run and the files it wrote. */
export interface EvaluationFigures extends EpisodeRunFigures {
  tools: number;
  log: string;
  meta: string;
}

export interface EvaluationSummary {
  /** The run file written. */
  out: string;
  run: RunFile;
  generation: EvaluationFigures;
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
      `${path}: this is a ToolAlpaca corpus, not a run file (\`eval run\` writes run files; \`generate\` writes corpora)`,
    );
  }
  const parsed = parseRunFile(data);
  if (!parsed.ok) throw new InputError(oneLine(`${path}: not a toolalpaca run file: ${parsed.error}`));
  return parsed.run;
}

/**
 * The steps of a ToolAlpaca instance (`[[action, input, text], observation]`) in the run's shape, each with
 * its observation `source` when the instance records `observation_sources` (an instance without the list,
 * from an older journal, gives steps without one).
 */
export function stepsOfInstance(
  instance: Pick<Instance, 'intermediate_steps' | 'observation_sources'>,
): RunStep[] {
  const sources = instance.observation_sources;
  return (instance.intermediate_steps ?? []).map(([call, observation], i) => {
    const step: RunStep = { action: call[0] ?? '', actionInput: call[1] ?? '', observation };
    if (call[2] !== undefined) step.thought = call[2];
    const source: unknown = sources?.[i];
    if (typeof source === 'string' || source === null) step.source = source;
    return step;
  });
}

/** One journaled episode as a run item, with the golden answer and documentation of its tool. */
export function runItemOf(entry: EpisodeRecord, record: ToolAlpacaRecord): RunItem {
  const { instance, index, usage } = entry.output;
  const goldenAnswers: GoldenAnswerStep[] = record.Golden_Answers?.[index] ?? [];
  const item: RunItem = {
    tool: record.Name,
    index,
    instruction: record.Instructions?.[index] ?? instance.input,
    goldenAnswers,
    nlDocumentation: record.NLDocumentation ?? '',
    status: entry.status,
    steps: stepsOfInstance(instance),
    usage,
  };
  if (entry.failure !== undefined) item.failure = { ...entry.failure };
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
 * Tools without instructions are refused (an evaluation set brings its own); a tool without
 * `Golden_Answers` is evaluated with an empty standard answer and a warning.
 */
function checkEvaluationSet(tools: readonly LoadedTool[], options: EvaluationOptions): void {
  for (const { record } of tools) {
    const instructions = (record.Instructions ?? []).length;
    if (instructions === 0) {
      throw new InputError(
        `${options.toolsPath}: tool "${record.Name}" has no Instructions; an evaluation set needs instructions with Golden_Answers`,
      );
    }
    const golden = (record.Golden_Answers ?? []).length;
    if (golden < instructions) {
      options.onWarning?.(
        `tool "${record.Name}": ${golden} golden answers for ${instructions} instructions; the missing ones are empty`,
      );
    }
  }
}

/** The run file's items (tool order, then instruction order) from the finished records. */
function runItemsOf(records: readonly EpisodeRecord[], tools: readonly LoadedTool[]): RunItem[] {
  const byName = new Map(tools.map(({ record }, order) => [record.Name, { record, order }]));
  const items: RunItem[] = [];
  for (const record of records) {
    const tool = byName.get(record.output.tool);
    if (tool !== undefined) items.push(runItemOf(record, tool.record));
  }
  return items.sort(
    (a, b) => (byName.get(a.tool)?.order ?? 0) - (byName.get(b.tool)?.order ?? 0) || a.index - b.index,
  );
}

function runMetaOf(
  options: EvaluationOptions,
  header: JournalHeader<Record<string, unknown>>,
  items: readonly RunItem[],
  outcome: ExecutionOutcome<EpisodeTaskInput, EpisodeTaskOutput>,
  carriedCost: number,
): RunMeta {
  const parameters = header.parameters;
  const ledgerTotals = options.ledger?.totals();
  return {
    model: options.assistant.id,
    prompt: String(parameters.prompt),
    mode: String(parameters.mode),
    executor: options.executor.kind,
    ...(typeof parameters.executorModel === 'string' ? { executorModel: parameters.executorModel } : {}),
    ...(options.user !== undefined ? { userModel: options.user.id } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    createdAt: header.startedAt,
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
    toolsHash: String(parameters.toolsHash),
    total: outcome.total,
    complete: !outcome.interrupted && outcome.circuitOpen === undefined && items.length >= outcome.total,
    ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  };
}

/** Runs the evaluation and writes the run file (see the module comment). */
export async function runEvaluation(options: EvaluationOptions): Promise<EvaluationSummary> {
  const { toolsHash, tools } = await loadRunTools(options);
  checkEvaluationSet(tools, options);
  const prompt = options.prompt ?? DEFAULT_EVAL_PROMPT;
  const parameters = episodeParameters(options, { prompt: DEFAULT_EVAL_PROMPT }, toolsHash);
  return withDurableRun<EpisodeTaskOutput, Record<string, unknown>, EvaluationSummary>(
    {
      kind: 'eval-run',
      out: options.out,
      parameters,
      context: { tools: options.toolsPath, out: options.out },
      ...startOptionsOf(options),
    },
    async (durable) => {
      // A resumed run keeps the cost of the process(es) that wrote the previous run file, unless the
      // journal carries their calls (a queue run's): the engine adds those to the ledger itself.
      const carriedCost =
        options.resume === true && durable.journal.previous.calls.length === 0
          ? await previousCost(options.out)
          : 0;
      const outcome = await durable.execute({
        tasks: planEpisodeTasks(tools, options),
        runTask: episodeTaskRunner(tools, options, prompt),
        ...executionOptionsOf(options, 4),
        ...episodeProgressReporter(options),
      });
      const items = runItemsOf(outcome.finished, tools);
      const meta = runMetaOf(options, durable.journal.header, items, outcome, carriedCost);
      const run: RunFile = { kind: RUN_KIND, version: RUN_FORMAT_VERSION, meta, items };
      await writeFileAtomic(options.out, `${JSON.stringify(run, null, 2)}\n`);
      const generation: EvaluationFigures = {
        ...episodeRunFigures(outcome, options),
        tools: tools.length,
        log: durable.files?.journal ?? '',
        meta: durable.files?.meta ?? '',
      };
      await writeRunMeta(generation.meta, {
        parameters,
        options: { concurrency: options.concurrency ?? 4, limit: options.limit ?? null },
        summary: generation,
        ledger: options.ledger,
      });
      await durable.end(outcome);
      return { out: options.out, run, generation };
    },
  );
}
