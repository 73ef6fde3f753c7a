/** Length statistics of an export: p50 / p95 / max tokens and the share over the limit. */
import type { LengthStats } from '../core/sft.js';

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
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

/** Token lengths collected one at a time in a growable typed array (4 bytes per example). */
export class LengthColumn {
  private values = new Int32Array(1024);
  private size = 0;

  push(length: number): void {
    if (this.size === this.values.length) {
      const grown = new Int32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = length;
  }

  get length(): number {
    return this.size;
  }

  /** The statistics of the lengths so far (sorts a copy). */
  stats(maxTokens?: number): LengthStats {
    const sorted = this.values.slice(0, this.size).sort();
    let overLimit = 0;
    if (maxTokens !== undefined) for (const n of sorted) if (n > maxTokens) overLimit++;
    return {
      count: this.size,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      max: this.size > 0 ? (sorted[this.size - 1] as number) : 0,
      overLimit,
      shareOverLimit: this.size > 0 ? overLimit / this.size : 0,
    };
  }
}
