/**
 * Evaluation runs ("RUN.json") and judged files ("JUDGED.json").
 *
 * A run records, for every instruction of every tool of an evaluation set, the assistant's full
 * trajectory (steps with the action, its input and the observation, then the final answer) beside the
 * golden answer, with the metadata needed to reproduce and compare it (model, prompt layout, executor,
 * seed, tokens, cost, versions). A judged file adds, per item, one verdict per judge run, the majority
 * and the spread, and ToolAlpaca's statistics.
 *
 * Unknown keys are kept (`z.looseObject`) so that files written by later versions still read.
 */
import { z } from 'zod';

export const RUN_KIND = 'toolalpaca-run';
export const JUDGED_KIND = 'toolalpaca-judged';
export const RUN_FORMAT_VERSION = 1;

/** One step of the standard answer (ToolAlpaca's `Golden_Answers` entry). */
export const GoldenAnswerStepSchema = z.looseObject({
  Action: z.string(),
  /** Usually a JSON object as text; may contain `${…}` placeholders and an `[Optional]` marker. */
  Action_Input: z.string(),
});
export type GoldenAnswerStep = z.infer<typeof GoldenAnswerStepSchema>;

/** One action of the assistant's solution and what came back. */
export const RunStepSchema = z.looseObject({
  /** Function name, or a built-in (`getDetails`, `retrievalDataFromFile`), or whatever the model wrote. */
  action: z.string(),
  /** The action input as the model wrote it (usually JSON text). */
  actionInput: z.string(),
  /** The assistant's text for this step (thought + action), when recorded. */
  thought: z.string().optional(),
  observation: z.string(),
  /**
   * Which executor answered (`real`, `simulated`, `schema`, `cache`, `replay`, `mcp`...; for a chain, the
   * member that answered), or `null` when none did (a built-in action, an unknown action, input that is
   * not JSON): the episode's `observation_sources` entry for this step. Absent when nothing was recorded
   * (older runs, imported results). Never shown to a judge.
   */
  source: z.string().nullable().optional(),
});
export type RunStep = z.infer<typeof RunStepSchema>;

export const UsageSchema = z.looseObject({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  calls: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const ItemStatusSchema = z.enum(['completed', 'failed']);
export type ItemStatus = z.infer<typeof ItemStatusSchema>;

/** What the deterministic checker and the judge need of an item. */
export const CheckableItemSchema = z.looseObject({
  instruction: z.string(),
  goldenAnswers: z.array(GoldenAnswerStepSchema),
  steps: z.array(RunStepSchema),
  finalAnswer: z.string().optional(),
});
export type CheckableItem = z.infer<typeof CheckableItemSchema>;

/** One instruction of one tool, with the assistant's trajectory. */
export const RunItemSchema = z.looseObject({
  /** Tool name (ToolAlpaca's `Name`). */
  tool: z.string().min(1),
  /** Index of the instruction within the tool's `Instructions`. */
  index: z.number().int().nonnegative(),
  instruction: z.string(),
  goldenAnswers: z.array(GoldenAnswerStepSchema),
  /** The tool's NL documentation, as the judge sees it. */
  nlDocumentation: z.string(),
  status: ItemStatusSchema,
  /** Why the episode failed (step_limit, parse_error, model_error, executor_error, aborted, empty_reply...). */
  failure: z.looseObject({ reason: z.string(), message: z.string() }).optional(),
  steps: z.array(RunStepSchema),
  finalAnswer: z.string().optional(),
  /** The final thought before the answer, when recorded. */
  finalThought: z.string().optional(),
  usage: UsageSchema,
});
export type RunItem = z.infer<typeof RunItemSchema>;

export const RunMetaSchema = z.looseObject({
  /** Model spec of the assistant (e.g. `openai:gpt-4o-mini`, `llama:./m.gguf`), or a name for imports. */
  model: z.string(),
  /** Prompt layout (test_v1, test_v2, train_v1, train_v2, lean...). */
  prompt: z.string(),
  /** Agent mode: `react` or `function-calling`. */
  mode: z.string(),
  /** Executor kind: simulated, schema, real, replay, or `imported`. */
  executor: z.string(),
  executorModel: z.string().optional(),
  seed: z.number().int().optional(),
  /** ISO timestamp. */
  createdAt: z.string(),
  toolalpacaVersion: z.string(),
  /** Token totals over every model call of the run (assistant, user agent, simulated executor). */
  tokens: z.looseObject({
    prompt: z.number().int().nonnegative(),
    completion: z.number().int().nonnegative(),
  }),
  costUsd: z.number().nonnegative(),
  /** The cost ledger summary, as the models layer reports it (free-form). */
  ledger: z.unknown().optional(),
  /** Where the tools came from (path of the evaluation set), when known. */
  tools: z.string().optional(),
  /** sha256 of the tools input, as the generation log records it. */
  toolsHash: z.string().optional(),
  /** Where an imported run came from, when imported. */
  importedFrom: z.string().optional(),
  /** Instructions the run set out to do (after any limit); `items` may hold fewer when interrupted. */
  total: z.number().int().nonnegative().optional(),
  /** False when the run was interrupted before every planned item was done (resume to finish). */
  complete: z.boolean().optional(),
});
export type RunMeta = z.infer<typeof RunMetaSchema>;

export const RunFileSchema = z.looseObject({
  kind: z.literal(RUN_KIND),
  version: z.literal(RUN_FORMAT_VERSION),
  meta: RunMetaSchema,
  items: z.array(RunItemSchema),
});
export type RunFile = z.infer<typeof RunFileSchema>;

export const VerdictLabelSchema = z.enum(['Yes', 'No', 'Uncertain']);
export type VerdictLabel = z.infer<typeof VerdictLabelSchema>;

/** One judge run's verdict on one item; `error` is set when the judge reply could not be parsed. */
export const VerdictSchema = z.looseObject({
  process: VerdictLabelSchema.optional(),
  response: VerdictLabelSchema.optional(),
  analysis: z.string(),
  /** Response not judged (deterministic judge), so `response` is `Uncertain` by convention. */
  responseJudged: z.boolean().optional(),
  error: z.string().optional(),
  /** Reasons given by the deterministic checker. */
  reasons: z.array(z.string()).optional(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

/** Count of each label. */
export const LabelCountsSchema = z.looseObject({
  Yes: z.number().int().nonnegative(),
  No: z.number().int().nonnegative(),
  Uncertain: z.number().int().nonnegative(),
});
export type LabelCounts = z.infer<typeof LabelCountsSchema>;

/** ToolAlpaca's statistics shape, plus percentages (0-100, of `num`). */
export const StatisticsSchema = z.looseObject({
  num: z.number().int().nonnegative(),
  error_num: z.number().int().nonnegative(),
  process: LabelCountsSchema,
  response: LabelCountsSchema,
  /** Items whose process and response are both `Yes`. */
  both: z.number().int().nonnegative(),
  percentages: z.looseObject({
    procedure: z.number(),
    response: z.number(),
    overall: z.number(),
  }),
});
export type Statistics = z.infer<typeof StatisticsSchema>;

export const JudgedItemSchema = RunItemSchema.extend({
  verdicts: z.array(VerdictSchema),
  /** Majority over the parsed verdicts; absent when no verdict could be parsed (counted in error_num). */
  majority: z.looseObject({ process: VerdictLabelSchema, response: VerdictLabelSchema }).optional(),
  /**
   * Agreement among the K verdicts: the share (0-1) of parsed verdicts that agree with the majority
   * label, for process and response; 1 when K = 1.
   */
  spread: z.looseObject({ process: z.number(), response: z.number() }).optional(),
  /** Why the item could not be judged at all (no solution, no readable verdict): counted in error_num. */
  error: z.string().optional(),
  /** The deterministic checker's process result, when it was run beside an LLM judge. */
  deterministic: z.looseObject({ correct: z.boolean(), reasons: z.array(z.string()) }).optional(),
});
export type JudgedItem = z.infer<typeof JudgedItemSchema>;

export const JudgeInfoSchema = z.looseObject({
  /** Judge model spec, or `deterministic`. */
  model: z.string(),
  /** K: how many times each item was judged. */
  runs: z.number().int().positive(),
  /** Prompt template name/version of the LLM judge. */
  prompt: z.string().optional(),
  temperature: z.number().optional(),
  createdAt: z.string().optional(),
  tokens: z
    .looseObject({ prompt: z.number().int().nonnegative(), completion: z.number().int().nonnegative() })
    .optional(),
  costUsd: z.number().nonnegative().optional(),
  /** False when judging was interrupted: `items` holds only the items judged so far. */
  complete: z.boolean().optional(),
});
export type JudgeInfo = z.infer<typeof JudgeInfoSchema>;

/** Statistics of each judge run taken alone, to show the spread across K runs. */
export const RunSpreadSchema = z.looseObject({
  perRun: z.array(StatisticsSchema),
  /** min / max / standard deviation of each percentage across runs. */
  procedure: z.looseObject({ min: z.number(), max: z.number(), stdev: z.number() }),
  response: z.looseObject({ min: z.number(), max: z.number(), stdev: z.number() }),
  overall: z.looseObject({ min: z.number(), max: z.number(), stdev: z.number() }),
});
export type RunSpread = z.infer<typeof RunSpreadSchema>;

export const JudgedFileSchema = z.looseObject({
  kind: z.literal(JUDGED_KIND),
  version: z.literal(RUN_FORMAT_VERSION),
  run: RunMetaSchema,
  judge: JudgeInfoSchema,
  items: z.array(JudgedItemSchema),
  /** Over the majority verdicts. */
  statistics: StatisticsSchema,
  /** Per judge run, when K > 1. */
  spread: RunSpreadSchema.optional(),
});
export type JudgedFile = z.infer<typeof JudgedFileSchema>;

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${where}: ${issue.message}`;
}

/** Parses a run file's JSON; the error is one line naming the first problem and where. */
export function parseRunFile(data: unknown): { ok: true; run: RunFile } | { ok: false; error: string } {
  const parsed = RunFileSchema.safeParse(data);
  return parsed.success ? { ok: true, run: parsed.data } : { ok: false, error: firstIssue(parsed.error) };
}

/** Parses a judged file's JSON; the error is one line naming the first problem and where. */
export function parseJudgedFile(
  data: unknown,
): { ok: true; judged: JudgedFile } | { ok: false; error: string } {
  const parsed = JudgedFileSchema.safeParse(data);
  return parsed.success ? { ok: true, judged: parsed.data } : { ok: false, error: firstIssue(parsed.error) };
}
