/** Length statistics of an export: p50 / p95 / max tokens and the share over the limit. */
import type { LengthStats } from '../core/sft.js';

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function lengthStats(lengths: readonly number[], maxTokens?: number): LengthStats {
  const sorted = [...lengths].sort((a, b) => a - b);
  const overLimit = maxTokens === undefined ? 0 : sorted.filter((n) => n > maxTokens).length;
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : 0,
    overLimit,
    shareOverLimit: sorted.length > 0 ? overLimit / sorted.length : 0,
  };
}

/** Token estimate without a tokenizer: about four characters a token for English and JSON text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
