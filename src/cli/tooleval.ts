/**
 * `toolalpaca eval tooleval ANSWERS…` (ToolEval pass rate, Solvable Pass Rate, win rate against a
 * reference) and `toolalpaca eval retrieval` (NDCG@1/@5 of the API retriever). Flag parsing and
 * printing only: the work is in src/eval/tooleval and src/retrieval.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { ToolBenchTask } from '../core/toolbench.js';
import {
  fetchedDefaultEvaluator,
  judgesPassRate,
  readEvaluatorFolder,
  type EvaluatorFolder,
} from '../eval/tooleval/evaluator-folder.js';
import { NOT_COMPARABLE_NOTE, runTooleval, type ToolevalReport } from '../eval/tooleval/run-tooleval.js';
import { readToolBenchAnswers, readToolBenchQueries } from '../formats/toolbench.js';
import { loadConfig } from '../models/config.js';
import { printLedger } from './run-helpers.js';
import {
  loadApiDocuments,
  readRetrievalQueries,
  type ApiDocument,
  type RetrievalQuery,
} from '../retrieval/documents.js';
import { evaluateRetrieval, type CorpusScorer } from '../retrieval/evaluate.js';
import { createEmbedder, DenseRetriever, HybridRetriever } from '../retrieval/embeddings.js';
import { DEFAULT_LEXICAL, LexicalRetriever, PLAIN_BM25 } from '../retrieval/lexical.js';
import { createModelPool, type CommandIo } from './context.js';
import {
  addModelOptions,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
} from './model-options.js';
import { createProgressReporter } from './progress.js';

export interface ToolevalFlags extends ModelFlagValues {
  judgeModel?: string;
  runs?: string;
  rounds?: string;
  reference?: string;
  queries?: string;
  /** An evaluator folder, or "project" for this project's own judge prompts. */
  evaluator?: string;
  json?: boolean;
}

export type ToolevalResult = ToolevalReport & { judge: string };

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The evaluator to judge with: the folder given, "project", or the fetched default when it is there. */
async function resolveEvaluator(
  flag: string | undefined,
  io: CommandIo,
): Promise<EvaluatorFolder | undefined> {
  if (flag === 'project') return undefined;
  if (flag !== undefined) return readEvaluatorFolder(resolve(io.cwd ?? process.cwd(), flag));
  const fetched = await fetchedDefaultEvaluator({ ...process.env, ...io.env });
  return fetched !== undefined ? readEvaluatorFolder(fetched) : undefined;
}

function coverageLine(report: ToolevalReport, queries: string | undefined): string {
  const c = report.coverage;
  const ofFile = c.queryFile !== undefined ? ` of ${c.queryFile} in ${queries ?? 'the query file'}` : '';
  return c.reference !== undefined
    ? `coverage: ${c.compared} queries answered by both runs (candidate answered ${c.candidate}, reference ${c.reference}${ofFile}); rates are over these ${c.compared}`
    : `coverage: ${c.compared} answered queries${ofFile}; rates are over these`;
}

/** The `eval tooleval` action, callable without commander. */
export async function runToolevalCommand(
  answerPaths: readonly string[],
  flags: ToolevalFlags,
  io: CommandIo,
): Promise<ToolevalResult> {
  if (answerPaths.length === 0) throw new InputError('give at least one answer file or folder');
  const runs = parseIntegerFlag('--runs', flags.runs);
  const rounds = parseIntegerFlag('--rounds', flags.rounds);
  const config = await loadConfig(io.cwd);
  const evaluator = await resolveEvaluator(flags.evaluator, io);
  // Worded here with the flag; the library says the same in option terms.
  if (evaluator !== undefined && !judgesPassRate(evaluator) && flags.reference === undefined) {
    throw new InputError(
      `${evaluator.dir}: ${evaluator.registeredClass} judges preference only: give --reference, or use tooleval_gpt-3.5-turbo_default for the pass rate`,
    );
  }
  // The judge: the one asked for, else the evaluator's own model (an OpenAI model name).
  const spec =
    flags.judgeModel ??
    flags.model ??
    (evaluator !== undefined ? `openai:${evaluator.model}` : config.stageModels?.judge);
  if (spec === undefined)
    throw new InputError('--judge-model SPEC is required (the model that judges the answers)');
  const resolved = modelOptionsFrom({ ...flags, model: spec }, config);

  const tasks: ToolBenchTask[] = flags.queries !== undefined ? await readToolBenchQueries(flags.queries) : [];
  const answers = await readToolBenchAnswers(answerPaths);
  const reference = flags.reference !== undefined ? await readToolBenchAnswers([flags.reference]) : undefined;

  const { ledger, pool } = await createModelPool(resolved, io);
  const progress = createProgressReporter({
    label: 'tooleval',
    stream: io.stderr,
    ...(io.env !== undefined ? { env: io.env } : {}),
  });
  const stages = reference !== undefined ? 3 : 1;
  const stageIndex = { candidate: 0, reference: 1, preference: 2 } as const;
  try {
    const judge = await pool.get(resolved.spec);
    const report = await runTooleval({
      answers,
      ...(reference !== undefined ? { reference } : {}),
      tasks,
      judge,
      ...(evaluator !== undefined ? { evaluator } : {}),
      ...(runs !== undefined ? { runs } : {}),
      ...(rounds !== undefined ? { rounds } : {}),
      concurrency: resolved.options.concurrency ?? 4,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      onProgress: (stage, done, total) =>
        progress.update({ done: stageIndex[stage] * total + done, total: stages * total }),
    });
    progress.finish();
    const result: ToolevalResult = { judge: resolved.spec, ...report };
    if (flags.json === true) {
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const lines: string[] = [];
      if (report.evaluator === 'project') {
        lines.push(`judge: ${resolved.spec} with this project's own prompts (${NOT_COMPARABLE_NOTE})`);
      } else {
        const e = report.evaluator;
        const model = spec === `openai:${e.model}` ? '' : ` (the evaluator names ${e.model})`;
        lines.push(`judge: ${resolved.spec}${model}, evaluator ${e.name} (${e.registeredClass}, ${e.dir})`);
      }
      lines.push(coverageLine(report, flags.queries));
      const p = report.passRate;
      if (p !== undefined) {
        lines.push(
          `pass rate: ${pct(p.passRate)} (${p.runs} judge runs; ${p.finished} of ${p.queries} end with Finish)`,
          `solvable pass rate: ${pct(p.solvablePassRate.mean)} (std ${pct(p.solvablePassRate.std)} over runs)`,
        );
      } else if (report.evaluator !== 'project') {
        lines.push('pass rate: not judged (this evaluator judges preference only)');
      }
      if (report.reference !== undefined)
        lines.push(
          `reference pass rate: ${pct(report.reference.passRate)}, solvable pass rate: ${pct(report.reference.solvablePassRate.mean)}`,
        );
      if (report.winRate !== undefined) {
        const w = report.winRate;
        lines.push(
          `win rate vs reference: ${pct(w.win)} (tie ${pct(w.tie)}, lose ${pct(w.lose)}; ${w.runs} rounds)`,
        );
      }
      if (report.evaluator === 'project') lines.push(`note: ${NOT_COMPARABLE_NOTE}`);
      io.stdout.write(`${lines.join('\n')}\n`);
    }
    printLedger(io, ledger);
    return result;
  } finally {
    progress.finish();
    await pool.close();
  }
}

export interface EvalRetrievalFlags {
  queries?: string[];
  /** Files whose APIs, all together and deduplicated, are the corpus every query is scored over. */
  corpus?: string[];
  k?: string;
  embeddings?: string;
  retriever?: string;
  baseUrl?: string;
  threads?: string;
  json?: boolean;
}

export interface RetrievalFileResult {
  /** A query file, or "all" (every query of the files, one mean) when scored over a shared corpus. */
  file: string;
  retriever: string;
  queries: number;
  apis: number;
  /** "file": the query file's own APIs; "union": every API of the --corpus files. */
  corpus: 'file' | 'union';
  ndcg: Record<number, number>;
  /** Relevant APIs of these queries that are not in the corpus (they count as not retrieved). */
  missingRelevant?: number;
}

const RETRIEVERS = ['lexical', 'bm25', 'dense', 'hybrid'] as const;

/**
 * The `eval retrieval` action: NDCG@1 and NDCG@k per query file, each over its own APIs, or, with
 * `--corpus`, every query over the APIs of all the corpus files together (ToolBench's protocol: the
 * retriever searches every API of the group), per file and over all queries.
 */
export async function runEvalRetrievalCommand(
  flags: EvalRetrievalFlags,
  io: CommandIo,
): Promise<RetrievalFileResult[]> {
  const files = flags.queries ?? [];
  if (files.length === 0) throw new InputError('--queries FILE is required (a ToolBench query file)');
  const k = parseIntegerFlag('--k', flags.k) ?? 5;
  const kind = flags.retriever ?? (flags.embeddings !== undefined ? 'dense' : 'lexical');
  if (!(RETRIEVERS as readonly string[]).includes(kind))
    throw new InputError(`--retriever: expected one of ${RETRIEVERS.join(', ')}, got "${kind}"`);
  if ((kind === 'dense' || kind === 'hybrid') && flags.embeddings === undefined)
    throw new InputError(`--retriever ${kind} needs --embeddings SPEC`);
  const threads = parseIntegerFlag('--threads', flags.threads);
  // Every input is read before a model is loaded.
  const read = await Promise.all(
    files.map(async (file) => ({ file, ...(await readRetrievalQueries(file)) })),
  );
  const union =
    flags.corpus !== undefined && flags.corpus.length > 0 ? await unionCorpus(flags.corpus) : undefined;
  const embedder =
    flags.embeddings !== undefined && (kind === 'dense' || kind === 'hybrid')
      ? await createEmbedder(flags.embeddings, {
          ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
          ...(threads !== undefined ? { threads } : {}),
        })
      : undefined;
  const ks = [...new Set([1, k])];
  const scorerOf = async (documents: ApiDocument[]): Promise<CorpusScorer> => {
    if (kind === 'bm25') return new LexicalRetriever(documents, PLAIN_BM25);
    if (kind === 'lexical') return new LexicalRetriever(documents, DEFAULT_LEXICAL);
    const dense = await DenseRetriever.build(documents, embedder!);
    return kind === 'dense'
      ? dense
      : new HybridRetriever(documents, [new LexicalRetriever(documents), dense]);
  };
  const missing = (queries: readonly RetrievalQuery[], documents: readonly ApiDocument[]): number => {
    const ids = new Set(documents.map((d) => d.id));
    return queries.reduce((n, q) => n + q.relevant.filter((id) => !ids.has(id)).length, 0);
  };
  const results: RetrievalFileResult[] = [];
  try {
    if (union === undefined) {
      for (const { file, queries, documents } of read) {
        const report = await evaluateRetrieval(await scorerOf(documents), documents, queries, ks);
        results.push({
          file,
          retriever: kind,
          queries: report.queries,
          apis: report.apis,
          corpus: 'file',
          ndcg: report.ndcg,
        });
      }
    } else {
      const scorer = await scorerOf(union);
      const all: RetrievalQuery[] = [];
      for (const { file, queries } of read) {
        const report = await evaluateRetrieval(scorer, union, queries, ks);
        const lost = missing(queries, union);
        results.push({
          file,
          retriever: kind,
          queries: report.queries,
          apis: report.apis,
          corpus: 'union',
          ndcg: report.ndcg,
          ...(lost > 0 ? { missingRelevant: lost } : {}),
        });
        all.push(...queries);
      }
      if (read.length > 1) {
        const report = await evaluateRetrieval(scorer, union, all, ks);
        const lost = missing(all, union);
        results.push({
          file: 'all',
          retriever: kind,
          queries: report.queries,
          apis: report.apis,
          corpus: 'union',
          ndcg: report.ndcg,
          ...(lost > 0 ? { missingRelevant: lost } : {}),
        });
      }
    }
  } finally {
    await embedder?.close?.();
  }
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  } else {
    for (const r of results) {
      const figures = ks.map((kk) => `NDCG@${kk} ${(r.ndcg[kk] ?? 0).toFixed(4)}`).join('  ');
      const over = r.corpus === 'union' ? `all ${r.apis} APIs of the corpus files` : `${r.apis} APIs`;
      const lost =
        r.missingRelevant !== undefined ? ` (${r.missingRelevant} relevant APIs not in the corpus)` : '';
      io.stdout.write(`${r.file}: ${r.queries} queries over ${over} (${r.retriever})  ${figures}${lost}\n`);
    }
  }
  return results;
}

/** Every API of the corpus files, each (tool, API) once, in file order. */
async function unionCorpus(files: readonly string[]): Promise<ApiDocument[]> {
  const seen = new Map<string, ApiDocument>();
  for (const file of files)
    for (const doc of await loadApiDocuments(file)) if (!seen.has(doc.id)) seen.set(doc.id, doc);
  return [...seen.values()];
}

/** Registers `tooleval` under the `eval` command group. */
export function registerToolevalCommand(evalCommand: Command): void {
  const command = evalCommand
    .command('tooleval')
    .description(
      'ToolEval on ToolBench answer files: pass rate (K judge runs, majority), Solvable Pass Rate, and win rate against a reference run, judged as a StableToolBench evaluator folder says (default: the fetched tooleval_gpt-3.5-turbo_default), on the queries answered (by both runs, with --reference)',
    )
    .argument('<answers...>', 'answer files or folders (ToolBench layout: QUERYID_METHOD.json)')
    .option(
      '--evaluator <dir>',
      'StableToolBench evaluator folder (config.yaml + template.txt); "project" for this project\'s own prompts (not comparable with published figures). Default: the folder `datasets fetch stabletoolbench-evaluators` put in place, else project',
    )
    .option(
      '--judge-model <spec>',
      "model that judges (default --model, else the evaluator's model as openai:MODEL)",
    )
    .option(
      '--runs <k>',
      'pass-rate judge runs per answer (default 4 with an evaluator, 3 with project prompts)',
    )
    .option('--rounds <k>', 'win-rate rounds per query (default 2)')
    .option('--reference <dir>', 'answers of a reference run to compute the win rate against')
    .option(
      '--queries <file>',
      'ToolBench query file: only its queries are compared (coverage says how many were answered); supplies queries and tools',
    )
    .option('--json', 'print the full report as JSON');
  addModelOptions(command, { concurrency: 4 });
  command.action(async (answers: string[], flags: ToolevalFlags) => {
    await runToolevalCommand(answers, flags, { stdout: process.stdout, stderr: process.stderr });
  });
}

/** Registers `retrieval` under the `eval` command group. */
export function registerEvalRetrievalCommand(evalCommand: Command): void {
  evalCommand
    .command('retrieval')
    .description(
      "NDCG@1 and NDCG@k of the API retriever against each query's relevant APIs, over all APIs of the query file, or of every --corpus file together.",
    )
    .option('--queries <file...>', 'ToolBench / StableToolBench query file(s); each is scored on its own')
    .option(
      '--corpus <file...>',
      "score every query over all APIs of these files together, deduplicated (ToolBench's protocol), per file and over all queries",
    )
    .option('--k <n>', 'the larger cutoff (default 5)')
    .option('--retriever <kind>', `${RETRIEVERS.join(' | ')} (default lexical, or dense with --embeddings)`)
    .option('--embeddings <spec>', 'embedding model: openai:MODEL (/v1/embeddings) or llama:PATH.gguf')
    .option('--base-url <url>', 'OpenAI-compatible server URL ending in /v1 (default OPENAI_BASE_URL)')
    .option('--threads <n>', 'llama: CPU threads (default 1)')
    .option('--json', 'print JSON')
    .action(async (flags: EvalRetrievalFlags) => {
      await runEvalRetrievalCommand(flags, { stdout: process.stdout, stderr: process.stderr });
    });
}
