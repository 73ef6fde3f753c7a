/** Deterministic randomness for sampling and generated data: the same seed gives the same sequence. */

/** mulberry32: a small, fast, well-spread 32-bit PRNG with values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled copy (Fisher–Yates with the seeded PRNG). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return shuffleWith(items, seededRandom(seed));
}

/** A shuffled copy (Fisher–Yates) drawing from `random`, for callers that share one PRNG across draws. */
export function shuffleWith<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
