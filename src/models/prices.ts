/**
 * Token prices in USD per 1M tokens, keyed by model spec ("openai:gpt-4o-mini"). Local backends
 * (llama:, replay:) are free. The built-in table holds OpenAI list prices (standard tier, no batch or
 * cached-input discounts) as known when this file was written; prices change, so users override or add
 * models with a JSON file (`--prices FILE`):
 *
 *   { "openai:gpt-4o-mini": { "input": 0.15, "output": 0.6 }, "openai:my-finetune": { "input": 0.3, "output": 1.2 } }
 */
import { readFile } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../core/errors.js';

export interface ModelPrice {
  /** USD per 1M prompt (input) tokens. */
  input: number;
  /** USD per 1M completion (output) tokens. */
  output: number;
}

/** Model spec -> price. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** When the built-in prices were last checked (informational, shown with --json metadata). */
export const DEFAULT_PRICES_AS_OF = '2025-08';

export const DEFAULT_PRICES: PriceTable = Object.freeze({
  'openai:gpt-5': { input: 1.25, output: 10 },
  'openai:gpt-5-mini': { input: 0.25, output: 2 },
  'openai:gpt-5-nano': { input: 0.05, output: 0.4 },
  'openai:gpt-4.1': { input: 2, output: 8 },
  'openai:gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'openai:gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'openai:gpt-4o': { input: 2.5, output: 10 },
  'openai:gpt-4o-mini': { input: 0.15, output: 0.6 },
  'openai:gpt-4-turbo': { input: 10, output: 30 },
  'openai:gpt-4': { input: 30, output: 60 },
  'openai:gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'openai:o1': { input: 15, output: 60 },
  'openai:o1-mini': { input: 1.1, output: 4.4 },
  'openai:o3': { input: 2, output: 8 },
  'openai:o3-mini': { input: 1.1, output: 4.4 },
  'openai:o4-mini': { input: 1.1, output: 4.4 },
});

const FREE: ModelPrice = Object.freeze({ input: 0, output: 0 });

/**
 * The price of a model spec, or undefined when unknown. Local backends are free. A dated snapshot
 * ("openai:gpt-4o-mini-2024-07-18") falls back to its base name when it has no entry of its own.
 */
export function priceOf(table: PriceTable, modelId: string): ModelPrice | undefined {
  const own = table[modelId];
  if (own !== undefined) return own;
  if (modelId.startsWith('llama:') || modelId.startsWith('replay:')) return FREE;
  const undated = modelId.replace(/-\d{4}-\d{2}-\d{2}$/, '');
  if (undated !== modelId) return table[undated];
  return undefined;
}

/** Cost in USD of some tokens at a price. */
export function costOf(price: ModelPrice, promptTokens: number, completionTokens: number): number {
  return (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
}

/**
 * The built-in table with a user's overrides applied (entries in the file replace or add models).
 * Throws a one-line InputError naming the file (and the entry) when it is unreadable or malformed.
 */
export async function loadPriceTable(file?: string): Promise<PriceTable> {
  if (file === undefined) return DEFAULT_PRICES;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(oneLine(`cannot read price file ${file}: ${messageOf(error)}`), { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(oneLine(`price file ${file} is not valid JSON: ${messageOf(error)}`), {
      cause: error,
    });
  }
  return { ...DEFAULT_PRICES, ...parsePriceOverrides(data, file) };
}

/** Validates the content of a price file (see the file comment for the shape). */
export function parsePriceOverrides(data: unknown, source = 'price table'): Record<string, ModelPrice> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError(
      `${source}: expected an object like {"openai:MODEL": {"input": USD per 1M, "output": USD per 1M}}`,
    );
  }
  const prices: Record<string, ModelPrice> = {};
  for (const [model, entry] of Object.entries(data as Record<string, unknown>)) {
    if (!/^[a-z]+:.+/.test(model)) {
      throw new InputError(`${source}: "${model}" is not a model spec like "openai:MODEL"`);
    }
    const { input, output } = (entry ?? {}) as { input?: unknown; output?: unknown };
    for (const [name, value] of [
      ['input', input],
      ['output', output],
    ] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new InputError(`${source}: "${model}".${name} must be a number >= 0 (USD per 1M tokens)`);
      }
    }
    prices[model] = { input: input as number, output: output as number };
  }
  return prices;
}
