/**
 * Threads of the embedded llama.cpp engine, on the tiny random-weight GGUF the tests write
 * (test/helpers/tiny-gguf.ts): generation speed with 1 thread, 2 threads and the default ("auto": the
 * cores available to the process, shared between contexts), one call at a time and two calls at once on
 * two sequences. Random weights produce gibberish; the figures are tokens per second of the real engine.
 *
 *   node --import tsx bench/models/llama-threads.bench.ts [--quick] [--no-write]
 *
 * Prints a table and (unless --no-write) records it under "Embedded engine threads" in docs/benchmarks.md.
 */
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import type { ChatRequest } from '../../src/models/chat-model.js';
import { createLlamaChatModel, type LlamaChatModel } from '../../src/models/llama-cpp/llama-model.js';
import { makeTempDir } from '../../test/helpers/paths.js';
import { writeTinyGguf } from '../../test/helpers/tiny-gguf.js';
import { machineDescription, median, recordBenchmarkSection } from '../benchmarks-doc.js';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const write = !args.has('--no-write');
const ROUNDS = quick ? 3 : 7;
const MAX_TOKENS = quick ? 64 : 128;

const request = (seed: number): ChatRequest => ({
  messages: [
    { role: 'system', content: 'You answer briefly.' },
    { role: 'user', content: 'Tell me about the weather in a few sentences.' },
  ],
  maxTokens: MAX_TOKENS,
  temperature: 0.8,
  seed,
});

interface Row {
  threads: string;
  idealThreads: number;
  sequential: number;
  parallel: number;
}

/** Tokens per second over `calls` chats started together. */
async function tokensPerSecond(model: LlamaChatModel, calls: number, seed: number): Promise<number> {
  const started = performance.now();
  const replies = await Promise.all(
    Array.from({ length: calls }, (_, i) => model.chat(request(seed * 10 + i))),
  );
  const seconds = (performance.now() - started) / 1000;
  return replies.reduce((sum, reply) => sum + reply.usage.completionTokens, 0) / seconds;
}

const dir = makeTempDir('toolalpaca-bench-llama-');
const path = join(dir, 'tiny.gguf');
await writeTinyGguf(path, { seed: 3 });
const loadBefore = loadavg()[0]!;

const settings: { label: string; threads?: number }[] = [
  { label: '1', threads: 1 },
  { label: '2', threads: 2 },
  { label: `auto (${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)})` },
];
const models = new Map<string, LlamaChatModel>();
for (const setting of settings) {
  models.set(
    setting.label,
    await createLlamaChatModel(
      { path },
      {
        sequences: 2,
        asciiOnly: true,
        ...(setting.threads !== undefined ? { threads: setting.threads } : {}),
      },
    ),
  );
}
// Warm-up, then rounds interleaving the settings so that load changes hit them alike.
const sequential = new Map<string, number[]>();
const parallel = new Map<string, number[]>();
for (const model of models.values()) await tokensPerSecond(model, 1, 0);
for (let round = 1; round <= ROUNDS; round++) {
  for (const [label, model] of models) {
    (sequential.get(label) ?? sequential.set(label, []).get(label)!).push(
      await tokensPerSecond(model, 1, round),
    );
    (parallel.get(label) ?? parallel.set(label, []).get(label)!).push(await tokensPerSecond(model, 2, round));
  }
}
const rows: Row[] = [...models].map(([label, model]) => ({
  threads: label,
  idealThreads: model.info.threads,
  sequential: median(sequential.get(label) ?? []),
  parallel: median(parallel.get(label) ?? []),
}));
for (const model of models.values()) await model.close();
const loadAfter = loadavg()[0]!;

const base = rows[0]!;
const table = [
  '| threads | context threads | 1 call: tokens/s | ×1 thread | 2 calls at once: tokens/s (total) | ×1 thread |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (row) =>
      `| ${row.threads} | ${row.idealThreads} | ${row.sequential.toFixed(0)} | ${(row.sequential / base.sequential).toFixed(2)} | ${row.parallel.toFixed(0)} | ${(row.parallel / base.parallel).toFixed(2)} |`,
  ),
].join('\n');

const auto = rows[rows.length - 1]!;
const same = rows.slice(0, -1).find((row) => row.idealThreads === auto.idealThreads);
const sameNote =
  same === undefined
    ? ''
    : ` Here "auto" resolved to ${auto.idealThreads} thread${auto.idealThreads === 1 ? '' : 's'}, the same setting as the "${same.threads}" row: the spread between those two rows is this run's noise.`;

const command = `node --import tsx bench/models/llama-threads.bench.ts${quick ? ' --quick' : ''}`;
const section = `## Embedded engine threads

\`llama:\` models on the tiny random-weight GGUF of the tests (128K parameters; \`test/helpers/tiny-gguf.ts\`),
${MAX_TOKENS} new tokens per call at temperature 0.8, one context with 2 sequences per setting, ${ROUNDS} rounds
interleaving the settings after a warm-up, medians reported. "auto" is the default: the cores available to
the process (\`os.availableParallelism()\` less the cores the 1-minute load average says are busy, at least 1),
within the budget node-llama-cpp shares between the contexts evaluating at once (the process's cores).

- Machine: ${machineDescription()}
- Date: ${new Date().toISOString().slice(0, 10)}
- Command: \`${command}\`
- Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} (other work on the machine adds noise)

${table}

llama.cpp's threads wait for each other at every step of a token: when another process holds a core,
the thread waiting for it stalls the others, so threads beyond the idle cores cost orders of magnitude
(the 2-thread rows above on a crowded machine). That is why "auto" counts only the cores not already
busy. A model this small has almost no work per token, so even on an idle machine extra threads mostly
add synchronisation; real models spend their time in matrix products the threads share.${sameNote}
`;

process.stdout.write(`\n${section}\n`);
if (write) process.stdout.write(`recorded in ${recordBenchmarkSection(section)}\n`);
