/**
 * One tool as ToolAlpaca's JSON files store it (the shape of data/eval_*.json and of generated corpora).
 * Unknown keys are kept (`z.looseObject`) so that a read/write round trip is lossless.
 */
import { z } from 'zod';
import { GoldenAnswerStepSchema } from './run.js';

/** `[[action, action_input, full assistant text], observation]` as ToolAlpaca writes intermediate steps. */
export const IntermediateStepSchema = z.tuple([z.array(z.string()), z.string()]);
export type IntermediateStep = z.infer<typeof IntermediateStepSchema>;

/**
 * Where each step's observation came from, parallel to `intermediate_steps`: an executor's source
 * (`real`, `simulated`, `schema`, `cache`, `replay`, `mcp`, kept as plain strings) or `null` when no
 * executor answered (a built-in action, an invalid action or input). Written by generation; optional.
 */
export const ObservationSourcesSchema = z.array(z.string().nullable());

/**
 * The kinds of instance a corpus can hold beyond ToolAlpaca's own (BFCL's categories, Toucan's extra
 * cases). An instance without `kind` is ToolAlpaca's original one: `single` or `multi-step` by its steps.
 * - `single`: one call of one function answers the request.
 * - `multi-step`: several calls, a later one depending on an earlier one's result.
 * - `parallel`: several independent calls (one assistant turn in function-calling mode, consecutive
 *   steps in ReAct).
 * - `irrelevance`: no function of the tool can serve the request; the assistant calls none and says so.
 * - `missing-info`: a required argument is missing from the request; the assistant asks the user
 *   (`getDetails`), who supplies it (`missing`).
 * - `multi-turn`: after the first answer the user follows up (`follow_ups`) and the episode goes on.
 */
export const INSTANCE_KINDS = [
  'single',
  'multi-step',
  'parallel',
  'irrelevance',
  'missing-info',
  'multi-turn',
] as const;
export const InstanceKindSchema = z.enum(INSTANCE_KINDS);
export type InstanceKind = z.infer<typeof InstanceKindSchema>;

/** A missing-info instruction's left-out argument, and the value the user gives when asked. */
export const MissingArgumentSchema = z.looseObject({
  /** The function that needs the argument, when the generator named it. */
  function: z.string().optional(),
  argument: z.string().min(1),
  /** What the user answers when the assistant asks for it. */
  value: z.string().optional(),
});
export type MissingArgument = z.infer<typeof MissingArgumentSchema>;

/**
 * What instruction generation recorded for one instruction of a kind (the record's `Instruction_Kinds`,
 * aligned with `Instructions`; `null` for an instruction without a kind).
 */
export const InstructionKindSpecSchema = z.looseObject({
  kind: InstanceKindSchema,
  /** missing-info: the argument the instruction leaves out. */
  missing: MissingArgumentSchema.optional(),
  /** multi-turn: what the user asks after the first answer. */
  followUp: z.string().optional(),
});
export type InstructionKindSpec = z.infer<typeof InstructionKindSpecSchema>;

/** One later turn of a multi-turn instance: the user's follow-up and the assistant's work on it. */
export const FollowUpTurnSchema = z.looseObject({
  input: z.string(),
  output: z.string().optional(),
  'Final Thought': z.string().optional(),
  intermediate_steps: z.array(IntermediateStepSchema).optional(),
  observation_sources: ObservationSourcesSchema.optional(),
});
export type FollowUpTurn = z.infer<typeof FollowUpTurnSchema>;

/**
 * One instance. ToolAlpaca's keys first; `kind`, `missing` and `follow_ups` are written only for an
 * instance of a kind, so that a corpus without kinds is ToolAlpaca's format unchanged.
 */
export const InstanceSchema = z.looseObject({
  input: z.string(),
  output: z.string().optional(),
  'Final Thought': z.string().optional(),
  intermediate_steps: z.array(IntermediateStepSchema).optional(),
  /** Each step's observation source, parallel to `intermediate_steps` (see ObservationSourcesSchema). */
  observation_sources: ObservationSourcesSchema.optional(),
  kind: InstanceKindSchema.optional(),
  /** missing-info: the argument the request left out (and the value the user agent gave). */
  missing: MissingArgumentSchema.optional(),
  /** multi-turn: the turns after the first (the first is `input` … `intermediate_steps`). */
  follow_ups: z.array(FollowUpTurnSchema).optional(),
});
export type Instance = z.infer<typeof InstanceSchema>;

export const ToolAlpacaRecordSchema = z.looseObject({
  Name: z.string().min(1),
  Description: z.string().optional(),
  Link: z.string().nullable().optional(),
  Category: z.string().optional(),
  Introduction: z.string().optional(),
  Functions: z.string().optional(),
  /** The OpenAPI spec serialised as a JSON string. */
  Documentation: z.string().optional(),
  NLDocumentation: z.string().optional(),
  Function_Description: z.record(z.string(), z.string()).optional(),
  Function_Projection: z.record(z.string(), z.tuple([z.string(), z.string()])).optional(),
  Instructions: z.array(z.string()).optional(),
  /** Written by `instructions --kinds`: each instruction's kind (aligned with `Instructions`). */
  Instruction_Kinds: z.array(InstructionKindSpecSchema.nullable()).optional(),
  Golden_Answers: z.array(z.array(GoldenAnswerStepSchema)).optional(),
  Instances: z.array(InstanceSchema).optional(),
  Authentication: z.record(z.string(), z.unknown()).optional(),
});
export type ToolAlpacaRecord = z.infer<typeof ToolAlpacaRecordSchema>;
