/**
 * Schemas of the supervised fine-tuning (SFT) layouts `toolalpaca export` writes, of the token files
 * (`input_ids` + `labels`) and of the export manifest `toolalpaca train` reads back.
 */
import { z } from 'zod';

/** ToolAlpaca's training layout (build_dataset.py → train.py): `[segments, trainable]` per example. */
/** The schema an SFT layout validates its records with (zod stays in core). */
export type SftRecordSchema = z.ZodType;

export const ToolAlpacaSftRecordSchema = z
  .tuple([z.array(z.string()).min(2), z.array(z.boolean()).min(2)])
  .refine(([segments, trainable]) => segments.length === trainable.length, {
    message: 'segments and trainable flags differ in length',
  });
export type ToolAlpacaSftRecord = z.infer<typeof ToolAlpacaSftRecordSchema>;

export const SHAREGPT_ROLES = ['system', 'human', 'gpt', 'function', 'observation'] as const;
export const ShareGptRecordSchema = z.strictObject({
  id: z.string().min(1),
  conversations: z.array(z.strictObject({ from: z.enum(SHAREGPT_ROLES), value: z.string() })).min(3),
});
export type ShareGptRecord = z.infer<typeof ShareGptRecordSchema>;

export const OpenAiToolCallSchema = z.strictObject({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});

/** Chat JSONL for function-calling fine-tuning: `messages` + `tools` (and nothing else). */
export const OpenAiChatRecordSchema = z.strictObject({
  messages: z
    .array(
      z.discriminatedUnion('role', [
        z.strictObject({ role: z.literal('system'), content: z.string() }),
        z.strictObject({ role: z.literal('user'), content: z.string() }),
        z.strictObject({
          role: z.literal('assistant'),
          content: z.string().nullable(),
          tool_calls: z.array(OpenAiToolCallSchema).min(1).optional(),
        }),
        z.strictObject({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: z.string() }),
      ]),
    )
    .min(3),
  tools: z
    .array(
      z.strictObject({
        type: z.literal('function'),
        function: z.strictObject({
          name: z.string().min(1),
          description: z.string(),
          parameters: z.record(z.string(), z.unknown()),
        }),
      }),
    )
    .min(1),
});
export type OpenAiChatRecord = z.infer<typeof OpenAiChatRecordSchema>;

/** ToolBench's (ToolLLaMA's) `conversations` layout. */
export const ToolBenchRecordSchema = z.strictObject({
  id: z.string().min(1),
  conversations: z
    .array(z.strictObject({ from: z.enum(['system', 'user', 'assistant', 'function']), value: z.string() }))
    .min(3),
});
export type ToolBenchRecord = z.infer<typeof ToolBenchRecordSchema>;

/** LLaMA-Factory's sharegpt formatting with native function calls. */
export const LlamaFactoryRecordSchema = z.strictObject({
  conversations: z
    .array(
      z.strictObject({ from: z.enum(['human', 'gpt', 'function_call', 'observation']), value: z.string() }),
    )
    .min(2),
  system: z.string(),
  tools: z.string(),
});
export type LlamaFactoryRecord = z.infer<typeof LlamaFactoryRecordSchema>;

/** One entry of LLaMA-Factory's `dataset_info.json`. */
export const DatasetInfoEntrySchema = z.strictObject({
  file_name: z.string().min(1),
  formatting: z.literal('sharegpt'),
  columns: z.strictObject({ messages: z.string(), system: z.string(), tools: z.string() }),
  tags: z.strictObject({
    role_tag: z.string(),
    content_tag: z.string(),
    user_tag: z.string(),
    assistant_tag: z.string(),
    observation_tag: z.string(),
    function_tag: z.string(),
  }),
});
export type DatasetInfoEntry = z.infer<typeof DatasetInfoEntrySchema>;

/** A tokenised example: labels are -100 outside assistant spans; `assistant_masks` is 1 where trained. */
export const TokenRecordSchema = z
  .strictObject({
    id: z.string().min(1),
    input_ids: z.array(z.number().int().nonnegative()).min(1),
    attention_mask: z.array(z.literal(1)),
    labels: z.array(z.number().int().min(-100)),
    assistant_masks: z.array(z.union([z.literal(0), z.literal(1)])),
  })
  .refine(
    (r) =>
      r.labels.length === r.input_ids.length &&
      r.attention_mask.length === r.input_ids.length &&
      r.assistant_masks.length === r.input_ids.length,
    { message: 'input_ids, attention_mask, labels and assistant_masks differ in length' },
  )
  .refine((r) => r.labels.every((l, i) => l === -100 || l === r.input_ids[i]), {
    message: 'a label is neither -100 nor the input id at its position',
  });
export type TokenRecord = z.infer<typeof TokenRecordSchema>;

export const SFT_LAYOUT_NAMES = ['toolalpaca', 'sharegpt', 'openai', 'toolbench', 'llamafactory'] as const;
export type SftLayoutName = (typeof SFT_LAYOUT_NAMES)[number];

export const LengthStatsSchema = z.strictObject({
  count: z.number().int(),
  p50: z.number(),
  p95: z.number(),
  max: z.number(),
  overLimit: z.number().int(),
  shareOverLimit: z.number(),
});
export type LengthStats = z.infer<typeof LengthStatsSchema>;

/** `export.json`, written beside the data files; `toolalpaca train` reads it. Paths are relative to its folder. */
export const ExportManifestSchema = z.looseObject({
  layout: z.enum(SFT_LAYOUT_NAMES),
  source: z.enum(['toolalpaca', 'toolbench']),
  corpus: z.string(),
  files: z.strictObject({ train: z.string(), validation: z.string().optional() }),
  tokens: z
    .strictObject({
      train: z.string(),
      validation: z.string().optional(),
      template: z.string(),
      tokenizer: z.string(),
    })
    .optional(),
  datasetInfo: z.string().optional(),
  /** Per-example token limit of the export (`--max-example-tokens`). */
  maxExampleTokens: z.number().int().positive().optional(),
  /** The same limit as manifests written before the flag's rename called it. */
  maxTokens: z.number().int().positive().optional(),
  /** Whether ToolAlpaca's dataset filters were applied. */
  toolalpacaFilters: z.boolean().optional(),
  tokenCounts: z.enum(['tokenizer', 'estimate']),
  counts: z.record(z.string(), z.number()),
  stats: z.record(z.string(), LengthStatsSchema),
});
export type ExportManifest = z.infer<typeof ExportManifestSchema>;
