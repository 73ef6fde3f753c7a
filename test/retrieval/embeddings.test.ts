import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { apiId, type ApiDocument } from '../../src/retrieval/documents.js';
import {
  createEmbedder,
  DenseRetriever,
  documentText,
  HybridRetriever,
} from '../../src/retrieval/embeddings.js';
import { LexicalRetriever } from '../../src/retrieval/lexical.js';
import { makeTempDir } from '../helpers/paths.js';
import { writeTinyGguf } from '../helpers/tiny-gguf.js';

const docs: ApiDocument[] = ['alpha', 'beta', 'gamma'].map((name) => ({
  id: apiId('Tool', name),
  category: 'Test',
  tool: 'Tool',
  api: name,
  description: `the ${name} endpoint`,
  parameters: [{ name: `${name}_id`, description: 'an id' }],
}));

describe('embeddings', () => {
  test('documentText lists the fields the retriever reads', () => {
    const text = documentText(docs[0]!);
    assert.match(text, /tool: Tool/);
    assert.match(text, /api: alpha/);
    assert.match(text, /parameters: alpha_id: an id/);
  });

  test('the embedded engine embeds documents and queries (tiny random model: plumbing only)', async () => {
    const path = join(makeTempDir(), 'tiny.gguf');
    await writeTinyGguf(path, { seed: 5 });
    const embedder = await createEmbedder(`llama:${path}`, { threads: 1 });
    try {
      const vectors = await embedder.embed(['hello world', 'get weather']);
      assert.equal(vectors.length, 2);
      assert.equal(vectors[0]!.length, 64);
      assert.ok(vectors[0]!.every(Number.isFinite));
      const dense = await DenseRetriever.build(docs, embedder);
      const scores = await dense.scores('alpha endpoint');
      assert.equal(scores.length, 3);
      for (const s of scores) assert.ok(s >= -1 - 1e-9 && s <= 1 + 1e-9);
      // Rank fusion of lexical and dense: the lexical winner is still ranked by both.
      const hybrid = new HybridRetriever(docs, [new LexicalRetriever(docs), dense]);
      const top = await hybrid.retrieve('alpha', 3);
      assert.equal(top.length, 3);
      assert.ok(top[0]!.score >= top[2]!.score);
    } finally {
      await embedder.close?.();
    }
  });

  test('a non-embedding spec is refused in one line', async () => {
    await assert.rejects(createEmbedder('replay:'), /embeddings need an openai: or llama: model spec/);
  });
});
