/** Retrieval evaluation as ToolBench reports it: mean NDCG@k over queries, the corpus being every API of the file. */
import type { ApiDocument, RetrievalQuery } from './documents.js';
import { ndcgAtK } from './ndcg.js';

/** Anything that scores every corpus document for a query (lexical, embedding, hybrid). */
export interface CorpusScorer {
  scores(query: string): Float64Array | Promise<Float64Array>;
}

export interface RetrievalReport {
  queries: number;
  apis: number;
  /** Mean NDCG@k by k. */
  ndcg: Record<number, number>;
  /** Per query NDCG@k, in input order. */
  perQuery: { id: string; ndcg: Record<number, number> }[];
}

export async function evaluateRetrieval(
  scorer: CorpusScorer,
  documents: readonly ApiDocument[],
  queries: readonly RetrievalQuery[],
  ks: readonly number[] = [1, 5],
): Promise<RetrievalReport> {
  const position = new Map(documents.map((doc, i) => [doc.id, i]));
  const sums: Record<number, number> = {};
  for (const k of ks) sums[k] = 0;
  const perQuery: RetrievalReport['perQuery'] = [];
  for (const q of queries) {
    const scores = await scorer.scores(q.query);
    const relevance = new Float64Array(documents.length);
    for (const id of q.relevant) {
      const at = position.get(id);
      if (at !== undefined) relevance[at] = 1;
    }
    const row: Record<number, number> = {};
    for (const k of ks) {
      row[k] = ndcgAtK(scores, relevance, k);
      sums[k] = (sums[k] ?? 0) + row[k];
    }
    perQuery.push({ id: q.id, ndcg: row });
  }
  const ndcg: Record<number, number> = {};
  for (const k of ks) ndcg[k] = queries.length === 0 ? 0 : (sums[k] ?? 0) / queries.length;
  return { queries: queries.length, apis: documents.length, ndcg, perQuery };
}
