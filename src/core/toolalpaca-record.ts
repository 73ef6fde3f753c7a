/**
 * One tool as ToolAlpaca's JSON files store it (the shape of data/eval_*.json and of generated corpora).
 * Unknown keys are kept (`z.looseObject`) so that a read/write round trip is lossless.
 */
import { z } from 'zod';
import { GoldenAnswerStepSchema } from './run.js';

/** `[[action, action_input, full assistant text], observation]` as ToolAlpaca writes intermediate steps. */
export const IntermediateStepSchema = z.tuple([z.array(z.string()), z.string()]);
export type IntermediateStep = z.infer<typeof IntermediateStepSchema>;

export const InstanceSchema = z.looseObject({
  input: z.string(),
  output: z.string().optional(),
  'Final Thought': z.string().optional(),
  intermediate_steps: z.array(IntermediateStepSchema).optional(),
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
  Golden_Answers: z.array(z.array(GoldenAnswerStepSchema)).optional(),
  Instances: z.array(InstanceSchema).optional(),
  Authentication: z.record(z.string(), z.unknown()).optional(),
});
export type ToolAlpacaRecord = z.infer<typeof ToolAlpacaRecordSchema>;
