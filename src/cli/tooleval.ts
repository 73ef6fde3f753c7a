/**
 * `toolalpaca eval tooleval ANSWERS…` (ToolEval pass rate, Solvable Pass Rate, win rate against a
 * reference) and `toolalpaca eval retrieval` (NDCG@1/@5 of the API retriever). Flag parsing and
 * printing only: the work is in src/eval/tooleval and src/retrieval.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { ToolBenchTask } from '../core/toolbench.js';
import {
  evaluatePassRate,
  evaluateWinRate,
  judgedAnswerOf,
  type PassRateReport,
  type WinRateReport,
} from '../eval/tooleval/evaluate.js';
import { readToolBenchAnswers, readToolBenchQueries } from '../formats/toolbench.js';
import { loadConfig } from '../models/config.js';
import { printLedger } from './run-helpers.js';
import { readRetrievalQueries } from '../retrieval/documents.js';
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
  reference?: string;
  queries?: string;
  json?: boolean;
}

export interface ToolevalResult {
  passRate: PassRateReport;
  reference?: PassRateReport;
  winRate?: WinRateReport;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The `eval tooleval` action, callable without commander. */
export async function runToolevalCommand(
  answerPaths: readonly string[],
  flags: ToolevalFlags,
  io: CommandIo,
): Promise<ToolevalResult> {
  if (answerPaths.length === 0) throw new InputError('give at least one answer file or folder');
  const runs = parseIntegerFlag('--runs', flags.runs) ?? 3;
  const config = await loadConfig(io.cwd);
  const spec = flags.judgeModel ?? flags.model ?? config.stageModels?.judge;
  if (spec === undefined)
    throw new InputError('--judge-model SPEC is required (the model that judges the answers)');
  const resolved = modelOptionsFrom({ ...flags, model: spec }, config);

  const tasks: ToolBenchTask[] = flags.queries !== undefined ? await readToolBenchQueries(flags.queries) : [];
  const taskById = new Map(tasks.map((t) => [t.queryId, t]));
  const load = async (paths: readonly string[]) =>
    (await readToolBenchAnswers(paths)).map((record) => judgedAnswerOf(record, taskById.get(record.queryId)));
  const answers = await load(answerPaths);
  const reference = flags.reference !== undefined ? await load([flags.reference]) : undefined;
  // The denominator: every query of the query file when given, else every answered query.
  const queryIds =
    tasks.length > 0
      ? tasks.map((t) => t.queryId)
      : [...new Set([...answers.map((a) => a.queryId), ...(reference ?? []).map((a) => a.queryId)])];
  if (queryIds.length === 0) throw new InputError(`no answer files found in ${answerPaths.join(', ')}`);

  const { ledger, pool } = await createModelPool(resolved, io);
  const progress = createProgressReporter({
    label: 'tooleval',
    stream: io.stderr,
    ...(io.env !== undefined ? { env: io.env } : {}),
  });
  const total = queryIds.length * (reference !== undefined ? 3 : 1);
  let base = 0;
  const common = {
    runs,
    concurrency: resolved.options.concurrency ?? 4,
    onProgress: (done: number) => progress.update({ done: base + done, total }),
  };
  try {
    const judge = await pool.get(resolved.spec);
    const passRate = await evaluatePassRate(judge, answers, queryIds, common);
    const result: ToolevalResult = { passRate };
    if (reference !== undefined) {
      base = queryIds.length;
      result.reference = await evaluatePassRate(judge, reference, queryIds, common);
      base = 2 * queryIds.length;
      result.winRate = await evaluateWinRate(
        judge,
        { answers, verdicts: passRate.perQuery },
        { answers: reference, verdicts: result.reference.perQuery },
        queryIds,
        { runs, concurrency: common.concurrency },
      );
      progress.update({ done: total, total });
    }
    progress.finish();
    if (flags.json === true) {
      io.stdout.write(`${JSON.stringify({ judge: resolved.spec, ...result }, null, 2)}\n`);
    } else {
      const p = passRate;
      const lines = [
        `queries: ${p.queries} (answered ${p.answered}, with Finish ${p.finished}); judge ${resolved.spec} × ${p.runs} runs`,
        `pass rate: ${pct(p.passRate)}`,
        `solvable pass rate: ${pct(p.solvablePassRate.mean)} (std ${pct(p.solvablePassRate.std)} over runs)`,
      ];
      if (result.reference !== undefined && result.winRate !== undefined) {
        lines.push(
          `reference pass rate: ${pct(result.reference.passRate)}, solvable pass rate: ${pct(result.reference.solvablePassRate.mean)}`,
          `win rate vs reference: ${pct(result.winRate.win)} (tie ${pct(result.winRate.tie)}, lose ${pct(result.winRate.lose)})`,
        );
      }
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
  k?: string;
  embeddings?: string;
  retriever?: string;
  baseUrl?: string;
  threads?: string;
  json?: boolean;
}

export interface RetrievalFileResult {
  file: string;
  retriever: string;
  queries: number;
  apis: number;
  ndcg: Record<number, number>;
}

const RETRIEVERS = ['lexical', 'bm25', 'dense', 'hybrid'] as const;

/** The `eval retrieval` action: NDCG@1 and NDCG@k per query file. */
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
  const embedder =
    flags.embeddings !== undefined && (kind === 'dense' || kind === 'hybrid')
      ? await createEmbedder(flags.embeddings, {
          ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
          ...(threads !== undefined ? { threads } : {}),
        })
      : undefined;
  const ks = [...new Set([1, k])];
  const results: RetrievalFileResult[] = [];
  try {
    for (const file of files) {
      const { queries, documents } = await readRetrievalQueries(file);
      let scorer: CorpusScorer;
      if (kind === 'bm25') scorer = new LexicalRetriever(documents, PLAIN_BM25);
      else if (kind === 'lexical') scorer = new LexicalRetriever(documents, DEFAULT_LEXICAL);
      else {
        const dense = await DenseRetriever.build(documents, embedder!);
        scorer =
          kind === 'dense' ? dense : new HybridRetriever(documents, [new LexicalRetriever(documents), dense]);
      }
      const report = await evaluateRetrieval(scorer, documents, queries, ks);
      results.push({ file, retriever: kind, queries: report.queries, apis: report.apis, ndcg: report.ndcg });
    }
  } finally {
    await embedder?.close?.();
  }
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify(files.length === 1 ? results[0] : results, null, 2)}\n`);
  } else {
    for (const r of results) {
      const figures = ks.map((kk) => `NDCG@${kk} ${(r.ndcg[kk] ?? 0).toFixed(4)}`).join('  ');
      io.stdout.write(`${r.file}: ${r.queries} queries over ${r.apis} APIs (${r.retriever})  ${figures}\n`);
    }
  }
  return results;
}

/** Registers `tooleval` under the `eval` command group. */
export function registerToolevalCommand(evalCommand: Command): void {
  const command = evalCommand
    .command('tooleval')
    .description(
      'ToolEval on ToolBench answer files: pass rate (K judge runs, majority), Solvable Pass Rate, and win rate against a reference run.',
    )
    .argument('<answers...>', 'answer files or folders (ToolBench layout: QUERYID_METHOD.json)')
    .option('--judge-model <spec>', 'model that judges (default --model)')
    .option('--runs <k>', 'judge runs per answer; the majority decides (default 3)')
    .option('--reference <dir>', 'answers of a reference run to compute the win rate against')
    .option(
      '--queries <file>',
      'ToolBench query file: every query counts, answered or not; supplies queries and tools',
    )
    .option('--json', 'print the full report as JSON');
  addModelOptions(command);
  command.action(async (answers: string[], flags: ToolevalFlags) => {
    await runToolevalCommand(answers, flags, { stdout: process.stdout, stderr: process.stderr });
  });
}

/** Registers `retrieval` under the `eval` command group. */
export function registerEvalRetrievalCommand(evalCommand: Command): void {
  evalCommand
    .command('retrieval')
    .description(
      "NDCG@1 and NDCG@k of the API retriever against each query's relevant APIs, over all APIs of the query file.",
    )
    .option('--queries <file...>', 'ToolBench / StableToolBench query file(s); each is scored on its own')
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
