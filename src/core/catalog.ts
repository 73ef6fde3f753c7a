/**
 * One entry of an API catalogue (public-apis and the like): the one-line description a toolset build
 * starts from, and the provenance a built tool records. Readers of every catalogue format (ToolAlpaca's
 * public_apis.json, the public-apis README tables, CSV, a user's JSON list) produce `CatalogEntry`.
 */
import { z } from 'zod';

export const CatalogEntrySchema = z.object({
  name: z.string().min(1),
  description: z.string(),
  category: z.string(),
  /** Documentation or home page of the API ("" when the catalogue has none). */
  link: z.string(),
  /** Catalogue auth label as public-apis writes it: "" (none), "apiKey", "OAuth", "X-Mashape-Key"... */
  auth: z.string(),
  /** Whether the API is served over HTTPS; undefined when the catalogue does not say. */
  https: z.boolean().optional(),
  cors: z.string().optional(),
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

/** Tokens and calls one build stage spent, with the repair rounds it needed. */
export const StageUsageSchema = z.object({
  calls: z.number().int().min(0),
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  /** Repair rounds after the first answer (0 when the first answer passed its checks). */
  repairs: z.number().int().min(0),
});
export type StageUsage = z.infer<typeof StageUsageSchema>;

export const BUILD_STAGES = ['introduction', 'functions', 'documentation'] as const;
export type BuildStage = (typeof BUILD_STAGES)[number];

/** Where a built tool came from; stored as the record's `Provenance` key. */
export const ToolProvenanceSchema = z.looseObject({
  builder: z.literal('toolalpaca toolset build'),
  model: z.string(),
  builtAt: z.string(),
  stages: z.object({
    introduction: StageUsageSchema,
    functions: StageUsageSchema,
    documentation: StageUsageSchema,
  }),
  /** Repair rounds over all stages. */
  repairRounds: z.number().int().min(0),
  /** Fixes made without asking the model (e.g. "yaml-to-json", "servers-from-link"). */
  localFixes: z.array(z.string()),
  catalog: z.object({
    auth: z.string(),
    https: z.boolean().optional(),
    cors: z.string().optional(),
  }),
});
export type ToolProvenance = z.infer<typeof ToolProvenanceSchema>;
