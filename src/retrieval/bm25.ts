/**
 * BM25F over documents with several fields (Robertson & Zaragoza, "The Probabilistic Relevance
 * Framework: BM25 and Beyond", 2009). Each field has a weight and its own length normalisation b;
 * per-field term frequencies are normalised, weighted and summed into one pseudo-frequency that
 * goes through the usual k1 saturation once. With one field of weight 1 it is plain Okapi BM25.
 */

export interface FieldConfig {
  /** Weight of a term occurrence in this field (default 1). */
  weight?: number;
  /** Length normalisation of this field, 0..1 (default 0.75). */
  b?: number;
}

export interface Bm25Options {
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Per-field weight and b; fields not listed get the defaults. */
  fields?: Record<string, FieldConfig>;
}

/** A document as already-tokenised fields. */
export type FieldTokens = Record<string, readonly string[]>;

/** The documents containing one term, in corpus order, with the term's pseudo-frequency in each. */
interface Posting {
  docs: number[];
  pseudo: number[];
}

/** An immutable BM25F index over `docs`; documents are addressed by their position. */
export class Bm25Index {
  readonly size: number;
  private readonly k1: number;
  private readonly df = new Map<string, number>();
  // Scoring walks only the documents that contain a query term (an inverted index): a query over the
  // 2,249 APIs of ToolBench's union corpus touches a few hundred documents instead of all of them.
  private readonly postings = new Map<string, Posting>();

  constructor(docs: readonly FieldTokens[], options: Bm25Options = {}) {
    this.size = docs.length;
    this.k1 = options.k1 ?? 1.2;
    const names = new Set<string>();
    for (const doc of docs) for (const name of Object.keys(doc)) names.add(name);
    const fields = [...names].map((name) => {
      const config = options.fields?.[name] ?? {};
      const lengths = docs.map((doc) => doc[name]?.length ?? 0);
      const total = lengths.reduce((sum, n) => sum + n, 0);
      return {
        name,
        weight: config.weight ?? 1,
        b: config.b ?? 0.75,
        avgLength: docs.length === 0 ? 0 : total / docs.length,
        lengths,
      };
    });
    for (let d = 0; d < docs.length; d++) {
      // The pseudo-frequency of each term in document d: per-field counts, length-normalised and
      // weighted, summed over the weighted fields in a fixed order.
      const pseudoOf = new Map<string, number>();
      for (const field of fields) {
        if (field.weight === 0) continue;
        const counts = new Map<string, number>();
        for (const term of docs[d]?.[field.name] ?? []) counts.set(term, (counts.get(term) ?? 0) + 1);
        const length = field.lengths[d] ?? 0;
        const norm = field.avgLength > 0 ? 1 - field.b + (field.b * length) / field.avgLength : 1;
        for (const [term, f] of counts)
          pseudoOf.set(term, (pseudoOf.get(term) ?? 0) + (field.weight * f) / norm);
      }
      for (const [term, pseudo] of pseudoOf) {
        this.df.set(term, (this.df.get(term) ?? 0) + 1);
        let posting = this.postings.get(term);
        if (posting === undefined) this.postings.set(term, (posting = { docs: [], pseudo: [] }));
        posting.docs.push(d);
        posting.pseudo.push(pseudo);
      }
    }
  }

  /** Number of documents containing `term` in a weighted field. */
  documentFrequency(term: string): number {
    return this.df.get(term) ?? 0;
  }

  /** Robertson–Spärck Jones idf with +1 inside the log so it never goes negative. */
  idf(term: string): number {
    const n = this.documentFrequency(term);
    return Math.log(1 + (this.size - n + 0.5) / (n + 0.5));
  }

  /**
   * Scores of every document for the query terms. A term repeated in the query counts once per
   * occurrence, or with the weight given in a Map.
   */
  scores(query: readonly string[] | ReadonlyMap<string, number>): Float64Array {
    const weights = new Map<string, number>();
    if (query instanceof Map) for (const [term, w] of query) weights.set(term, w);
    else for (const term of query as readonly string[]) weights.set(term, (weights.get(term) ?? 0) + 1);
    const out = new Float64Array(this.size);
    for (const [term, queryWeight] of weights) {
      const posting = this.postings.get(term);
      if (posting === undefined) continue;
      const idf = this.idf(term);
      for (let i = 0; i < posting.docs.length; i++) {
        const pseudo = posting.pseudo[i] ?? 0;
        const d = posting.docs[i] ?? 0;
        if (pseudo > 0) out[d] = (out[d] ?? 0) + queryWeight * idf * (pseudo / (this.k1 + pseudo));
      }
    }
    return out;
  }
}
