/**
 * Dense retrieval: API documents and queries embedded by an OpenAI-compatible `/v1/embeddings`
 * endpoint (`openai:MODEL`) or by the embedded llama.cpp engine (`llama:PATH.gguf`,
 * `llama:hf:ORG/REPO:QUANT`), ranked by cosine similarity as ToolBench's retriever does. A hybrid
 * scorer fuses lexical and dense rankings by reciprocal rank fusion.
 */
import OpenAI from 'openai';
import { InputError, ServiceError, messageOf, oneLine } from '../core/errors.js';
import { parseModelSpec } from '../models/model-spec.js';
import { resolveOpenAIEndpoint } from '../models/openai-compatible/openai-model.js';
import type { ApiDocument } from './documents.js';
import type { CorpusScorer } from './evaluate.js';
import { rankTop, type ScoredApi } from './lexical.js';

/** Turns texts into vectors. */
export interface Embedder {
  readonly id: string;
  embed(texts: readonly string[]): Promise<number[][]>;
  close?(): Promise<void>;
}

export interface EmbedderOptions {
  /** openai: server URL ending in /v1 (default OPENAI_BASE_URL). */
  baseUrl?: string;
  apiKey?: string;
  /** Texts per request (default 64). */
  batchSize?: number;
  /** llama: CPU threads (default 1). */
  threads?: number;
  modelsDir?: string;
}

/** The text embedded for an API: the same fields the lexical retriever reads. */
export function documentText(doc: ApiDocument): string {
  const params = doc.parameters
    .map((p) => (p.description ? `${p.name}: ${p.description}` : p.name))
    .join('; ');
  return [
    `category: ${doc.category}`,
    `tool: ${doc.tool}`,
    doc.toolDescription ? `tool description: ${doc.toolDescription}` : '',
    `api: ${doc.api}`,
    `description: ${doc.description}`,
    params !== '' ? `parameters: ${params}` : '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** An embedder from a model spec: `openai:MODEL` or a `llama:` spec. */
export async function createEmbedder(spec: string, options: EmbedderOptions = {}): Promise<Embedder> {
  const parsed = parseModelSpec(spec);
  const batchSize = options.batchSize ?? 64;
  if (parsed.backend === 'openai') {
    const { baseUrl, apiKey } = resolveOpenAIEndpoint(options);
    const client = new OpenAI({ baseURL: baseUrl, apiKey: apiKey ?? 'no-key', maxRetries: 2 });
    return {
      id: spec,
      async embed(texts) {
        const out: number[][] = [];
        for (let i = 0; i < texts.length; i += batchSize) {
          const batch = texts.slice(i, i + batchSize);
          let reply;
          try {
            reply = await client.embeddings.create({
              model: parsed.model,
              input: batch,
              encoding_format: 'float',
            });
          } catch (error) {
            throw new ServiceError(
              oneLine(`${spec}: embeddings request to ${baseUrl} failed: ${messageOf(error)}`),
              {
                cause: error,
              },
            );
          }
          const rows = [...reply.data].sort((a, b) => a.index - b.index);
          if (rows.length !== batch.length)
            throw new ServiceError(`${spec}: asked for ${batch.length} embeddings, got ${rows.length}`);
          for (const row of rows) out.push(row.embedding);
        }
        return out;
      },
    };
  }
  if (parsed.backend === 'llama') {
    const { resolveLlamaModelFile } = await import('../models/llama-cpp/model-file.js');
    const { getLlamaRuntime } = await import('../models/llama-cpp/runtime.js');
    const path = await resolveLlamaModelFile('path' in parsed ? { path: parsed.path } : { hf: parsed.hf }, {
      ...(options.modelsDir !== undefined ? { modelsDir: options.modelsDir } : {}),
    });
    const llama = await getLlamaRuntime();
    let model;
    try {
      model = await llama.loadModel({ modelPath: path });
    } catch (error) {
      throw new ServiceError(oneLine(`${spec}: cannot load the model: ${messageOf(error)}`), {
        cause: error,
      });
    }
    const context = await model.createEmbeddingContext({ threads: options.threads ?? 1 });
    return {
      id: spec,
      async embed(texts) {
        const out: number[][] = [];
        for (const text of texts) out.push([...(await context.getEmbeddingFor(text)).vector]);
        return out;
      },
      async close() {
        await context.dispose();
        await model.dispose();
      },
    };
  }
  throw new InputError(`${spec}: embeddings need an openai: or llama: model spec`);
}

function normalise(vector: readonly number[]): Float64Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  const out = new Float64Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = norm === 0 ? 0 : (vector[i] ?? 0) / norm;
  return out;
}

/** Cosine-similarity retriever over embedded API documents; build with `DenseRetriever.build`. */
export class DenseRetriever implements CorpusScorer {
  private constructor(
    readonly documents: readonly ApiDocument[],
    private readonly embedder: Embedder,
    private readonly vectors: Float64Array[],
  ) {}

  static async build(documents: readonly ApiDocument[], embedder: Embedder): Promise<DenseRetriever> {
    const vectors = (await embedder.embed(documents.map(documentText))).map(normalise);
    return new DenseRetriever(documents, embedder, vectors);
  }

  async scores(query: string): Promise<Float64Array> {
    const [raw] = await this.embedder.embed([query]);
    const q = normalise(raw ?? []);
    const out = new Float64Array(this.vectors.length);
    this.vectors.forEach((v, i) => {
      if (v.length !== q.length)
        throw new ServiceError(`${this.embedder.id}: query and document embeddings differ in size`);
      let dot = 0;
      for (let j = 0; j < v.length; j++) dot += (v[j] ?? 0) * (q[j] ?? 0);
      out[i] = dot;
    });
    return out;
  }

  async retrieve(query: string, k = 5): Promise<ScoredApi[]> {
    return rankTop(this.documents, await this.scores(query), k);
  }
}

/** Reciprocal rank fusion (Cormack et al. 2009) of several scorers: Σ 1/(c + rank). */
export class HybridRetriever implements CorpusScorer {
  constructor(
    readonly documents: readonly ApiDocument[],
    private readonly scorers: readonly CorpusScorer[],
    private readonly c = 60,
  ) {}

  async scores(query: string): Promise<Float64Array> {
    const out = new Float64Array(this.documents.length);
    for (const scorer of this.scorers) {
      const s = await scorer.scores(query);
      const order = Array.from({ length: s.length }, (_, i) => i).sort((a, b) => (s[b] ?? 0) - (s[a] ?? 0));
      order.forEach((doc, rank) => {
        out[doc] = (out[doc] ?? 0) + 1 / (this.c + rank + 1);
      });
    }
    return out;
  }

  async retrieve(query: string, k = 5): Promise<ScoredApi[]> {
    return rankTop(this.documents, await this.scores(query), k);
  }
}
