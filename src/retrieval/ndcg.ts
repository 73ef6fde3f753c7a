/**
 * NDCG@k as ToolBench's retriever evaluation computes it (`toolbench/retrieval/api_evaluator.py`
 * calls scikit-learn's `ndcg_score` with binary relevance over the whole API corpus): gain = relevance,
 * discount 1/log2(rank+1), positions past k discount 0, and documents with tied scores share the
 * average gain of their tie group (scikit-learn's `ignore_ties=False`). The ideal DCG ranks the
 * relevant documents first; a query with no relevant document scores 0.
 */

/** 1/log2(i+2) for 0-based rank i below k, else 0. */
function discount(i: number, k: number): number {
  return i < k ? 1 / Math.log2(i + 2) : 0;
}

/**
 * NDCG@k of one ranking. `scores[i]` is the system's score of document i (higher is better),
 * `relevance[i]` its true gain (0/1 for ToolBench).
 */
export function ndcgAtK(scores: ArrayLike<number>, relevance: ArrayLike<number>, k: number): number {
  const n = scores.length;
  if (relevance.length !== n)
    throw new Error(`ndcgAtK: ${n} scores but ${relevance.length} relevance values`);
  if (k <= 0 || n === 0) return 0;
  // Only the documents that can reach the first k ranks matter: those scoring at least the k-th best
  // score (a tie group straddling rank k comes whole). A native numeric sort finds that score; a full
  // comparator sort of the corpus per query and per k was most of an evaluation's time.
  const descending = Float64Array.from(scores, (v) => (Number.isNaN(v) ? -Infinity : v))
    .sort()
    .reverse();
  const threshold = descending[Math.min(k, n) - 1] ?? 0;
  const order: number[] = [];
  for (let i = 0; i < n; i++) if ((scores[i] ?? 0) >= threshold) order.push(i);
  order.sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0));
  const m = order.length;
  let dcg = 0;
  let start = 0;
  while (start < m && start < k) {
    let end = start + 1;
    const groupScore = scores[order[start] ?? 0];
    while (end < m && scores[order[end] ?? 0] === groupScore) end++;
    let gain = 0;
    let discounts = 0;
    for (let i = start; i < end; i++) {
      gain += relevance[order[i] ?? 0] ?? 0;
      discounts += discount(i, k);
    }
    dcg += (gain / (end - start)) * discounts;
    start = end;
  }
  const ideal = Float64Array.from(relevance).sort().reverse();
  let idcg = 0;
  for (let i = 0; i < Math.min(k, n); i++) idcg += (ideal[i] ?? 0) * discount(i, k);
  return idcg === 0 ? 0 : dcg / idcg;
}

/** NDCG@k of a ranked list of ids against a set of relevant ids (ties cannot occur in a list). */
export function ndcgOfRanking(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++)
    if (relevant.has(ranked[i] ?? '')) dcg += discount(i, k);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) idcg += discount(i, k);
  return idcg === 0 ? 0 : dcg / idcg;
}
