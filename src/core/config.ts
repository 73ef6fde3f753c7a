/**
 * `toolalpaca.config.json`: project defaults for the model flags (any flag given on the command line
 * wins). API keys do not belong here: they come from the environment (OPENAI_API_KEY) only.
 * Unknown keys are refused (a misspelt `baseURL` would otherwise send a run to api.openai.com).
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const ToolalpacaConfigSchema = z.strictObject({
  /** Default model spec, e.g. "openai:gpt-4o-mini". */
  model: z.string().min(1).optional(),
  /** Model spec per pipeline stage, overriding `model` there, e.g. {"user": "openai:gpt-4o-mini"}. */
  stageModels: z.record(z.string(), z.string().min(1)).optional(),
  /** OpenAI-compatible base URL (ending in /v1). */
  baseUrl: z.string().url().optional(),
  /** Per-request timeout in milliseconds. */
  timeoutMs: positiveInt.optional(),
  maxRetries: z.number().int().min(0).optional(),
  concurrency: positiveInt.optional(),
  requestsPerMinute: positiveInt.optional(),
  tokensPerMinute: positiveInt.optional(),
  /** Response cache folder (relative paths are relative to the config file). */
  cacheDir: z.string().min(1).optional(),
  /** false disables the response cache. */
  cache: z.boolean().optional(),
  /** Price table overrides file (USD per 1M tokens). */
  prices: z.string().min(1).optional(),
  /** llama.cpp: CPU threads, context size, parallel sequences, LoRA adapter, download folder. */
  threads: positiveInt.optional(),
  contextSize: positiveInt.optional(),
  sequences: positiveInt.optional(),
  lora: z.string().min(1).optional(),
  modelsDir: z.string().min(1).optional(),
});

export type ToolalpacaConfig = z.infer<typeof ToolalpacaConfigSchema>;
