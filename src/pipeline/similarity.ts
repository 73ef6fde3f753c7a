/**
 * Near-duplicate detection for generated instructions: a normalised form (lowercase, punctuation
 * stripped, whitespace collapsed) catches exact repeats; a ROUGE-L-like word similarity (F-measure of
 * the longest common word subsequence, as Self-Instruct filters with ROUGE-L > 0.7) catches rewordings.
 */

/** Lowercase, every run of non-letters/digits turned into one space, trimmed. */
export function normalizeInstruction(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function words(text: string): string[] {
  const normal = normalizeInstruction(text);
  return normal === '' ? [] : normal.split(' ');
}

/** Length of the longest common subsequence of two word lists (two-row dynamic programme). */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let previous = new Array<number>(b.length + 1).fill(0);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] =
        a[i - 1] === b[j - 1]
          ? (previous[j - 1] as number) + 1
          : Math.max(previous[j] as number, current[j - 1] as number);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] as number;
}

/**
 * ROUGE-L F1 between two texts over their normalised words, from 0 (nothing shared) to 1 (same words in
 * the same order).
 */
export function instructionSimilarity(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  if (x.length === 0 && y.length === 0) return 1;
  const lcs = lcsLength(x, y);
  if (lcs === 0) return 0;
  const precision = lcs / x.length;
  const recall = lcs / y.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Keeps instructions that are not near-duplicates of each other or of `existing`. */
export class InstructionDeduper {
  private readonly kept: { text: string; normal: string }[] = [];

  /** @param threshold similarity at or above which a candidate is a near-duplicate (default 0.7). */
  constructor(
    existing: readonly string[] = [],
    private readonly threshold = 0.7,
  ) {
    for (const text of existing) this.kept.push({ text, normal: normalizeInstruction(text) });
  }

  /** True when `candidate` is empty, a normalised repeat, or too similar to a kept instruction. */
  isDuplicate(candidate: string): boolean {
    const normal = normalizeInstruction(candidate);
    if (normal === '') return true;
    for (const entry of this.kept) {
      if (entry.normal === normal) return true;
      if (instructionSimilarity(entry.normal, normal) >= this.threshold) return true;
    }
    return false;
  }

  /** Adds `candidate` unless it is a duplicate; returns whether it was kept. */
  offer(candidate: string): boolean {
    if (this.isDuplicate(candidate)) return false;
    this.kept.push({ text: candidate, normal: normalizeInstruction(candidate) });
    return true;
  }
}
