/**
 * `toolalpaca/retrieval`: the API retriever (BM25 over API documents, dense and hybrid with an
 * embedding endpoint) and its evaluation by NDCG, in-domain and open-domain.
 */
export {
  apiId,
  documentsFromTool,
  loadApiDocuments,
  readRetrievalQueries,
  type ApiDocument,
  type RetrievalQuery,
} from './documents.js';
export {
  DEFAULT_LEXICAL,
  LexicalRetriever,
  PLAIN_BM25,
  type LexicalConfig,
  type ScoredApi,
} from './lexical.js';
export {
  createEmbedder,
  DenseRetriever,
  HybridRetriever,
  type Embedder,
  type EmbedderOptions,
} from './embeddings.js';
export { evaluateRetrieval, type CorpusScorer, type RetrievalReport } from './evaluate.js';
export { ndcgAtK } from './ndcg.js';
export { openDomainTasks, readRetrievalCorpus, type RetrievalCorpus } from './open-domain.js';
