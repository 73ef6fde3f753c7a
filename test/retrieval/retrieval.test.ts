import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bm25Index } from '../../src/retrieval/bm25.js';
import {
  apiId,
  loadApiDocuments,
  readRetrievalQueries,
  type ApiDocument,
} from '../../src/retrieval/documents.js';
import { evaluateRetrieval } from '../../src/retrieval/evaluate.js';
import { DEFAULT_LEXICAL, LexicalRetriever, PLAIN_BM25 } from '../../src/retrieval/lexical.js';
import { ndcgAtK, ndcgOfRanking } from '../../src/retrieval/ndcg.js';
import { stem, tokenize } from '../../src/retrieval/tokenize.js';
import { sharedData } from '../helpers/paths.js';

describe('tokenize', () => {
  test('splits camelCase, acronyms, snake_case, kebab-case and digits', () => {
    assert.deepEqual(tokenize('getUserByID', { stopwords: false, stem: false }), ['get', 'user', 'by', 'id']);
    assert.deepEqual(tokenize('HTTPResponseCode', { stem: false }), ['http', 'response', 'code']);
    assert.deepEqual(tokenize('search_by_zip-code', { stem: false }), ['search', 'zip', 'code']);
    assert.deepEqual(tokenize('v2Search top10results', { stem: false }), [
      'v',
      '2',
      'search',
      'top',
      '10',
      'results',
    ]);
  });

  test('drops stopwords and stems inflections', () => {
    assert.deepEqual(tokenize('The videos of the channels'), ['video', 'channel']);
    assert.equal(stem('searching'), 'search');
    assert.equal(stem('categories'), 'category');
    assert.equal(stem('matches'), 'match');
    assert.equal(stem('stopped'), 'stop');
    assert.equal(stem('status'), 'status');
    assert.equal(stem('bus'), 'bus');
  });
});

describe('BM25', () => {
  test('ranks by idf-weighted, saturated and length-normalised term frequency', () => {
    const index = new Bm25Index([
      { text: ['weather', 'forecast', 'city'] },
      { text: ['stock', 'price', 'quote'] },
      { text: ['weather', 'weather', 'weather', 'history', 'archive', 'data', 'city', 'old'] },
      { text: ['city', 'list'] },
    ]);
    const scores = index.scores(['weather', 'forecast']);
    // Doc 0 has both terms; doc 2 has only "weather"; docs 1 and 3 neither.
    assert.ok(scores[0]! > scores[2]!);
    assert.ok(scores[2]! > 0);
    assert.equal(scores[1], 0);
    assert.equal(scores[3], 0);
    // A rarer term weighs more than a common one: "city" is in 3 of 4 docs, "stock" in 1.
    assert.ok(index.idf('stock') > index.idf('city'));
  });

  test('hand-computed Okapi score of one term', () => {
    const index = new Bm25Index([{ text: ['a', 'b'] }, { text: ['b', 'c', 'c', 'd'] }], {
      k1: 1.2,
      fields: { text: { b: 0.75 } },
    });
    // N=2, df(c)=1: idf = ln(1 + (2-1+0.5)/(1+0.5)) = ln 2. avgdl = 3, |d1| = 4, tf = 2.
    const norm = 1 - 0.75 + (0.75 * 4) / 3;
    const tf = 2 / norm;
    const expected = Math.log(2) * (tf / (1.2 + tf));
    assert.ok(Math.abs(index.scores(['c'])[1]! - expected) < 1e-12);
  });

  test('field weights favour a match in a heavier field', () => {
    const index = new Bm25Index(
      [
        { name: ['translate'], description: ['convert', 'text'] },
        { name: ['convert'], description: ['translate', 'text'] },
      ],
      { fields: { name: { weight: 3 }, description: { weight: 1 } } },
    );
    const scores = index.scores(['translate']);
    assert.ok(scores[0]! > scores[1]!);
  });
});

describe('NDCG as ToolBench computes it (scikit-learn ndcg_score)', () => {
  test('hand-computed cases', () => {
    // Relevant at ranks 1 and 3 of 4, k=5: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3).
    const ideal = 1 + 1 / Math.log2(3);
    assert.ok(Math.abs(ndcgAtK([4, 3, 2, 1], [1, 0, 1, 0], 5) - 1.5 / ideal) < 1e-12);
    // k=1: top hit relevant → 1; not relevant → 0.
    assert.equal(ndcgAtK([4, 3, 2, 1], [1, 0, 1, 0], 1), 1);
    assert.equal(ndcgAtK([4, 3, 2, 1], [0, 1, 1, 0], 1), 0);
    // No relevant document → 0 (sklearn's convention for an all-zero row).
    assert.equal(ndcgAtK([1, 2, 3], [0, 0, 0], 5), 0);
    // The same list through the ranked-ids form.
    assert.ok(Math.abs(ndcgOfRanking(['a', 'b', 'c', 'd'], new Set(['a', 'c']), 5) - 1.5 / ideal) < 1e-12);
  });

  test('tied scores share the average gain of their group', () => {
    // Two docs tie for first, one of them relevant: each of ranks 1-2 gets gain 0.5.
    // k=1: DCG = 0.5 * 1 = 0.5; IDCG = 1.
    assert.equal(ndcgAtK([1, 1, 0], [1, 0, 0], 1), 0.5);
    // k=5: DCG = 0.5 * (1 + 1/log2 3); IDCG = 1.
    assert.ok(Math.abs(ndcgAtK([1, 1, 0], [1, 0, 0], 5) - 0.5 * (1 + 1 / Math.log2(3))) < 1e-12);
    // All scores zero over 4 docs with one relevant, k=2: gain 1/4 at each rank.
    assert.ok(Math.abs(ndcgAtK([0, 0, 0, 0], [0, 0, 1, 0], 2) - 0.25 * (1 + 1 / Math.log2(3))) < 1e-12);
  });
});

const docs: ApiDocument[] = [
  {
    id: apiId('Weather API', 'getForecast'),
    category: 'Weather',
    tool: 'Weather API',
    api: 'getForecast',
    description: 'Daily forecast for a city',
    parameters: [{ name: 'city_name' }],
  },
  {
    id: apiId('Weather API', 'currentConditions'),
    category: 'Weather',
    tool: 'Weather API',
    api: 'currentConditions',
    description: 'Current temperature and wind',
    parameters: [{ name: 'city_name' }],
  },
  {
    id: apiId('Stocks', 'quote'),
    category: 'Finance',
    tool: 'Stocks',
    api: 'quote',
    description: 'Latest share price for a ticker symbol',
    parameters: [{ name: 'symbol' }],
  },
  {
    id: apiId('Zip Lookup', 'zip_to_city'),
    category: 'Location',
    tool: 'Zip Lookup',
    api: 'zip_to_city',
    description: 'Find the city of a ZIP code',
    parameters: [{ name: 'zipCode' }],
  },
];

describe('LexicalRetriever on hand cases', () => {
  test('identifier names match natural-language queries', () => {
    const retriever = new LexicalRetriever(docs);
    assert.equal(retriever.retrieve('What is the forecast for Paris?', 1)[0]?.doc.api, 'getForecast');
    assert.equal(retriever.retrieve('share price of AAPL', 1)[0]?.doc.tool, 'Stocks');
    assert.equal(retriever.retrieve('Which city has zip code 10001?', 1)[0]?.doc.api, 'zip_to_city');
    // camelCase split: "current conditions" finds currentConditions although no word is shared verbatim.
    assert.equal(retriever.retrieve('current conditions in Oslo', 1)[0]?.doc.api, 'currentConditions');
  });

  test('plain BM25 misses identifier-only matches the default finds', () => {
    const plain = new LexicalRetriever(docs, PLAIN_BM25);
    // "currentConditions" is one plain token; only the identifier split exposes "conditions".
    assert.equal(plain.scores('conditions')[1], 0);
    const ours = new LexicalRetriever(docs);
    assert.ok(ours.scores('conditions')[1]! > 0);
  });
});

describe('retrieval on shared StableToolBench files', () => {
  test('G1_instruction: NDCG@5 well above plain BM25, computed here on the same corpus', async () => {
    const { queries, documents } = await readRetrievalQueries(
      sharedData('stabletoolbench/G1_instruction.json'),
    );
    assert.equal(queries.length, 163);
    assert.equal(documents.length, 810);
    const plain = await evaluateRetrieval(new LexicalRetriever(documents, PLAIN_BM25), documents, queries);
    const ours = await evaluateRetrieval(
      new LexicalRetriever(documents, DEFAULT_LEXICAL),
      documents,
      queries,
    );
    assert.ok(ours.ndcg[5]! > plain.ndcg[5]! + 0.05, `ours ${ours.ndcg[5]} vs plain ${plain.ndcg[5]}`);
    assert.ok(ours.ndcg[1]! > plain.ndcg[1]!, `ours ${ours.ndcg[1]} vs plain ${plain.ndcg[1]}`);
    assert.ok(ours.ndcg[5]! > 0.75, `NDCG@5 ${ours.ndcg[5]}`);
  });

  test('G3_instruction: above plain BM25 too', async () => {
    const { queries, documents } = await readRetrievalQueries(
      sharedData('stabletoolbench/G3_instruction.json'),
    );
    const plain = await evaluateRetrieval(new LexicalRetriever(documents, PLAIN_BM25), documents, queries);
    const ours = await evaluateRetrieval(new LexicalRetriever(documents), documents, queries);
    assert.ok(ours.ndcg[5]! > plain.ndcg[5]! + 0.05, `ours ${ours.ndcg[5]} vs plain ${plain.ndcg[5]}`);
  });

  test('loadApiDocuments reads a query file and every relevant API is in its corpus', async () => {
    const path = sharedData('stabletoolbench/G1_tool.json');
    const documents = await loadApiDocuments(path);
    const { queries } = await readRetrievalQueries(path);
    const ids = new Set(documents.map((d) => d.id));
    for (const q of queries) for (const id of q.relevant) assert.ok(ids.has(id), id);
  });
});
