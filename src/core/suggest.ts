/**
 * "Did you mean" for names a user typed: the known name closest to what was given, when it is close
 * enough to be a likely typo (case differences count as one edit in total).
 */

/** Levenshtein distance between two strings (insertions, deletions and substitutions cost 1). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The candidate closest to `given`, or undefined when none is within a third of its length (at least 2 edits). */
export function closestName(given: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const caseOnly = candidate.toLowerCase() === given.toLowerCase();
    const distance = caseOnly ? 1 : editDistance(given.toLowerCase(), candidate.toLowerCase()) + 1;
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(2, Math.ceil(given.length / 3)) + 1;
  return bestDistance <= allowed ? best : undefined;
}
