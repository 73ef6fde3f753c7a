/**
 * The lexical API retriever: BM25F over an API's fields, plus evidence from the API's whole tool.
 *
 * Why each part (measured on the shared StableToolBench files, see docs/retrieval.md):
 * - identifier-aware tokens and a light stemmer: API names are `getVideoDetails`, queries say "video details";
 * - field weights: a query word found in the API or tool name says more than one found in a parameter description;
 * - query-side stopwords: ToolBench requests are wrapped in "Can you please provide me with ...";
 * - tool-level aggregation: users describe the task of a tool ("track my package"), and the words are
 *   spread across its APIs; a tool document (all its APIs together) scored by BM25 is added to each API's score.
 */
import { Bm25Index, type Bm25Options, type FieldTokens } from './bm25.js';
import type { ApiDocument } from './documents.js';
import { QUERY_STOPWORDS, bigrams, tokenize } from './tokenize.js';

export interface LexicalConfig {
  /** 'identifier': split identifiers, drop stopwords, stem. 'plain': lower-case words only. */
  tokens: 'identifier' | 'plain';
  /** Field weights; a field missing or 0 is not indexed. */
  weights: Partial<Record<ApiField, number>>;
  k1: number;
  b: number;
  /** Drop request boilerplate words from queries. */
  queryStopwords: boolean;
  /** Weight of query bigrams matched against document bigrams (0 = off). */
  bigramWeight: number;
  /** Weight of the tool-level score added to each API's score (0 = off). */
  toolWeight: number;
}

export type ApiField = 'category' | 'tool' | 'api' | 'description' | 'toolDescription' | 'parameters';

/** Plain BM25 over the concatenated fields, the baseline the issue quotes (about 0.49 NDCG@5). */
export const PLAIN_BM25: LexicalConfig = {
  tokens: 'plain',
  weights: { category: 1, tool: 1, api: 1, description: 1, toolDescription: 1, parameters: 1 },
  k1: 1.2,
  b: 0.75,
  queryStopwords: false,
  bigramWeight: 0,
  toolWeight: 0,
};

/** The project's default lexical configuration. */
export const DEFAULT_LEXICAL: LexicalConfig = {
  tokens: 'identifier',
  weights: { category: 0.5, tool: 2, api: 2, description: 1, toolDescription: 0.5, parameters: 0.5 },
  k1: 1.2,
  b: 0.9,
  queryStopwords: true,
  bigramWeight: 1,
  toolWeight: 0.5,
};

function plainTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t !== '');
}

function fieldTexts(doc: ApiDocument): Record<ApiField, string> {
  return {
    category: doc.category,
    tool: doc.tool,
    api: doc.api,
    description: doc.description,
    toolDescription: doc.toolDescription ?? '',
    parameters: doc.parameters.map((p) => `${p.name} ${p.description ?? ''}`).join(' '),
  };
}

export interface ScoredApi {
  doc: ApiDocument;
  score: number;
}

/** A lexical retriever over a fixed set of API documents. */
export class LexicalRetriever {
  readonly documents: readonly ApiDocument[];
  private readonly config: LexicalConfig;
  private readonly index: Bm25Index;
  private readonly toolIndex: Bm25Index | undefined;
  /** For each API document, the position of its tool in the tool index. */
  private readonly toolOf: number[] = [];

  constructor(documents: readonly ApiDocument[], config: LexicalConfig = DEFAULT_LEXICAL) {
    this.documents = documents;
    this.config = config;
    const fields = (Object.keys(config.weights) as ApiField[]).filter((f) => (config.weights[f] ?? 0) > 0);
    // Each indexed field of each document, tokenised once (the API, bigram and tool indexes share them).
    const fieldTokens = documents.map((doc) => {
      const texts = fieldTexts(doc);
      const out: Record<string, string[]> = {};
      for (const f of fields) out[f] = this.tokens(texts[f]);
      return out;
    });
    const allTokens = (i: number): string[] => fields.flatMap((f) => fieldTokens[i]![f] ?? []);
    // 'plain' concatenates the fields into one, as a textbook BM25 over the document would.
    const tokenized: FieldTokens[] = fieldTokens.map((out, i) => {
      if (config.tokens === 'plain') return { text: allTokens(i) };
      if (config.bigramWeight > 0) return { ...out, bigrams: bigrams(allTokens(i)) };
      return out;
    });
    const options: Bm25Options = { k1: config.k1, fields: {} };
    for (const f of fields) options.fields![f] = { weight: config.weights[f] ?? 0, b: config.b };
    options.fields!.text = { weight: 1, b: config.b };
    options.fields!.bigrams = { weight: config.bigramWeight, b: config.b };
    this.index = new Bm25Index(tokenized, options);

    if (config.toolWeight > 0) {
      const toolPositions = new Map<string, number>();
      const toolDocs: Record<string, string[]>[] = [];
      documents.forEach((doc, i) => {
        let position = toolPositions.get(doc.tool);
        if (position === undefined) {
          position = toolDocs.length;
          toolPositions.set(doc.tool, position);
          toolDocs.push({});
        }
        this.toolOf[i] = position;
        const target = toolDocs[position]!;
        for (const f of fields) {
          // Name-like fields are the same for every API of a tool: keep one copy.
          if ((f === 'tool' || f === 'category' || f === 'toolDescription') && target[f] !== undefined)
            continue;
          (target[f] ??= []).push(...(fieldTokens[i]![f] ?? []));
        }
      });
      this.toolIndex = new Bm25Index(toolDocs, options);
    }
  }

  private tokens(text: string): string[] {
    return this.config.tokens === 'plain' ? plainTokens(text) : tokenize(text);
  }

  /** Query terms with their weights. */
  queryTerms(query: string): Map<string, number> {
    const terms =
      this.config.tokens === 'plain'
        ? plainTokens(query)
        : tokenize(query, this.config.queryStopwords ? { extraStopwords: QUERY_STOPWORDS } : {});
    const weights = new Map<string, number>();
    for (const t of terms) weights.set(t, (weights.get(t) ?? 0) + 1);
    if (this.config.bigramWeight > 0) for (const bg of bigrams(terms)) weights.set(bg, 1);
    return weights;
  }

  /** The score of every document, in `documents` order. */
  scores(query: string): Float64Array {
    const terms = this.queryTerms(query);
    const scores = this.index.scores(terms);
    if (this.toolIndex !== undefined) {
      const toolScores = this.toolIndex.scores(terms);
      for (let i = 0; i < scores.length; i++)
        scores[i] = (scores[i] ?? 0) + this.config.toolWeight * (toolScores[this.toolOf[i] ?? 0] ?? 0);
    }
    return scores;
  }

  /** The k best APIs for `query`, best first (ties keep corpus order). */
  retrieve(query: string, k = 5): ScoredApi[] {
    return rankTop(this.documents, this.scores(query), k);
  }
}

/** The k highest-scoring documents, best first; equal scores keep corpus order. */
export function rankTop(
  documents: readonly ApiDocument[],
  scores: ArrayLike<number>,
  k: number,
): ScoredApi[] {
  return documents
    .map((doc, i) => ({ doc, score: scores[i] ?? 0, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, k)
    .map(({ doc, score }) => ({ doc, score }));
}
