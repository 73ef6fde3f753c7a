/** `toolalpaca retrieve --tools DIR_OR_FILE --query TEXT`: the k APIs best matching a request. */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { loadApiDocuments } from '../retrieval/documents.js';
import { createEmbedder, DenseRetriever, HybridRetriever } from '../retrieval/embeddings.js';
import { LexicalRetriever, rankTop, type ScoredApi } from '../retrieval/lexical.js';
import { type CommandIo } from './context.js';
import { parseIntegerFlag } from './model-options.js';

export interface RetrieveFlags {
  tools?: string;
  query?: string;
  k?: string;
  embeddings?: string;
  hybrid?: boolean;
  baseUrl?: string;
  json?: boolean;
}

export interface RetrieveHit {
  rank: number;
  score: number;
  category: string;
  tool: string;
  api: string;
  description: string;
}

function hitsOf(scored: readonly ScoredApi[]): RetrieveHit[] {
  return scored.map(({ doc, score }, i) => ({
    rank: i + 1,
    score: Number(score.toFixed(6)),
    category: doc.category,
    tool: doc.tool,
    api: doc.api,
    description: doc.description,
  }));
}

/** The `retrieve` action, callable without commander. */
export async function runRetrieveCommand(flags: RetrieveFlags, io: CommandIo): Promise<RetrieveHit[]> {
  if (flags.tools === undefined) throw new InputError('--tools DIR_OR_FILE is required');
  if (flags.query === undefined || flags.query.trim() === '')
    throw new InputError('--query TEXT is required');
  const k = parseIntegerFlag('--k', flags.k) ?? 5;
  const documents = await loadApiDocuments(flags.tools);
  let scored: ScoredApi[];
  if (flags.embeddings === undefined) {
    if (flags.hybrid === true) throw new InputError('--hybrid needs --embeddings SPEC');
    scored = new LexicalRetriever(documents).retrieve(flags.query, k);
  } else {
    const embedder = await createEmbedder(
      flags.embeddings,
      flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {},
    );
    try {
      const dense = await DenseRetriever.build(documents, embedder);
      const scorer =
        flags.hybrid === true
          ? new HybridRetriever(documents, [new LexicalRetriever(documents), dense])
          : dense;
      scored = rankTop(documents, await scorer.scores(flags.query), k);
    } finally {
      await embedder.close?.();
    }
  }
  const hits = hitsOf(scored);
  if (flags.json === true) io.stdout.write(`${JSON.stringify(hits, null, 2)}\n`);
  else {
    for (const h of hits) {
      const description = h.description.replace(/\s+/g, ' ');
      io.stdout.write(
        `${h.rank}. ${h.tool} / ${h.api}  (${h.category || 'no category'}, score ${h.score.toFixed(3)})${description !== '' ? `\n   ${description.length > 160 ? `${description.slice(0, 159)}…` : description}` : ''}\n`,
      );
    }
    if (hits.length === 0) io.stdout.write('no APIs\n');
  }
  return hits;
}

export function registerRetrieveCommand(program: Command): void {
  program
    .command('retrieve')
    .description('Find the APIs that best match a request (BM25F over API documents, or embeddings).')
    .requiredOption(
      '--tools <path>',
      'ToolBench query or tool files (or a folder of them), or ToolAlpaca JSON / OpenAPI tools',
    )
    .requiredOption('--query <text>', 'the user request')
    .option('--k <n>', 'how many APIs to return (default 5)')
    .option('--embeddings <spec>', 'rank by embeddings: openai:MODEL (/v1/embeddings) or llama:PATH.gguf')
    .option('--hybrid', 'with --embeddings: fuse lexical and embedding rankings')
    .option('--base-url <url>', 'OpenAI-compatible server URL ending in /v1 (default OPENAI_BASE_URL)')
    .option('--json', 'print JSON')
    .action(async (flags: RetrieveFlags) => {
      await runRetrieveCommand(flags, { stdout: process.stdout, stderr: process.stderr });
    });
}
