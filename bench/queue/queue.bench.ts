/**
 * Queue benchmark (runnable alone, after `npm run build`:
 * `node --import tsx bench/queue/queue.bench.ts [--tasks 96] [--concurrency 4] [--latency 200] [--rounds 1] [--no-write] [--cpu-prof DIR]`).
 *
 * One generation (the 10 tools of ../shared/data/toolalpaca/eval_simulated.json, 100 instructions; for
 * more `--tasks`, copies of the tools under numbered names; schema executor, no cache) against the fake OpenAI server with a fixed per-call latency, run by the
 * compiled CLI exactly as a user runs it:
 *   - locally (`generate --concurrency C`), and
 *   - through a real redis-server with 1, 2 and 4 `toolalpaca worker --concurrency C` processes (the
 *     command is the producer and collector).
 * Each run's span is read from its journal: from the run's start (the header's `startedAt`) to the last
 * task's `finishedAt`, so process start-up is left out and the workers' first job (opening the run's
 * task runner) is counted. Reported: speed-up over one worker (target ≥ 0.9 × workers up to 4: the
 * fake server's latency, not CPU, is the limit) and the queue's overhead per task: the extra time each
 * task holds a slot, (span with 1 worker − local span) × C / tasks.
 * Writes (or replaces) the "Queue (BullMQ workers)" section of docs/benchmarks.md unless --no-write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliPath, fakeGenerateArgs } from '../../test/helpers/cli.js';
import { makeTempDir, repoRoot, sharedData } from '../../test/helpers/paths.js';
import { startRedis } from '../../test/helpers/redis-server.js';
import { machineDescription, median, recordBenchmarkSection } from '../benchmarks-doc.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const WORKER_COUNTS = [1, 2, 4] as const;

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index < 0 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

const TASKS = flag('tasks', 96);
const CONCURRENCY = flag('concurrency', 4);
const LATENCY_MS = flag('latency', 200);
const ROUNDS = flag('rounds', 1);
/** `--cpu-prof DIR`: every process of the bench (server, producer, workers) writes a V8 CPU profile there. */
const CPU_PROF_DIR = process.argv.includes('--cpu-prof')
  ? process.argv[process.argv.indexOf('--cpu-prof') + 1]
  : undefined;
const NODE_FLAGS = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`];

/** The scripted fake server (bench/generate/world-server-process.ts) in its own process. */
async function startWorldServer(latencyMs: number): Promise<{ baseUrl: string; close(): void }> {
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      '--import',
      'tsx',
      join(repoRoot, 'bench/generate/world-server-process.ts'),
      EVAL,
      String(latencyMs),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve) => lines.once('line', resolve));
  const { baseUrl } = JSON.parse(first) as { baseUrl: string };
  return { baseUrl, close: () => child.stdin.end() };
}

/** Runs the CLI to its end; rejects when it fails. */
function runCli(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, cliPath, ...args], {
      cwd,
      env: { ...process.env, CI: 'true', OPENAI_API_KEY: 'bench' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`toolalpaca ${args[0]} exited ${code}: ${stderr.slice(-800)}`)),
    );
  });
}

/** Starts a worker and resolves once it takes jobs. */
function startWorker(queue: string, cwd: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...NODE_FLAGS, cliPath, 'worker', '--queue', queue, '--concurrency', String(CONCURRENCY)],
      {
        cwd,
        env: { ...process.env, CI: 'true', OPENAI_API_KEY: 'bench' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (/taking jobs/.test(stderr)) resolve(child);
    });
    child.on('close', (code) => reject(new Error(`worker exited ${code}: ${stderr.slice(-800)}`)));
  });
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.exitCode !== null) return resolve();
          worker.once('exit', () => resolve());
          worker.kill('SIGTERM');
        }),
    ),
  );
}

/** Seconds from the run's start to its last task, from the journal; checks every task completed. */
function spanOf(out: string): number {
  const lines = readFileSync(`${out}.log.jsonl`, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map(
      (line) =>
        JSON.parse(line) as { type: string; startedAt?: string; finishedAt?: string; status?: string },
    );
  const header = lines.find((line) => line.type === 'header');
  const tasks = lines.filter((line) => line.type === 'task');
  if (header?.startedAt === undefined) throw new Error(`${out}: no journal header`);
  if (tasks.length !== TASKS || tasks.some((t) => t.status !== 'completed')) {
    throw new Error(`${out}: ${tasks.length} tasks journaled, expected ${TASKS} completed`);
  }
  const last = Math.max(...tasks.map((t) => Date.parse(t.finishedAt ?? '')));
  return (last - Date.parse(header.startedAt)) / 1000;
}

/**
 * The tools file of the run: eval_simulated.json itself when its 100 instructions suffice, else enough
 * copies of its tools under numbered names (a longer run, so that each worker's first job and the last
 * instances weigh less in the span).
 */
function toolsFileFor(dir: string): string {
  const tools = JSON.parse(readFileSync(EVAL, 'utf8')) as { Name: string; Instructions?: unknown[] }[];
  const perCopy = tools.reduce((n, tool) => n + (tool.Instructions?.length ?? 0), 0);
  const copies = Math.ceil(TASKS / perCopy);
  if (copies <= 1) return EVAL;
  const all = Array.from({ length: copies }, (_, copy) =>
    tools.map((tool) => (copy === 0 ? tool : { ...tool, Name: `${tool.Name} ${copy + 1}` })),
  ).flat();
  const file = join(dir, 'tools.json');
  writeFileSync(file, JSON.stringify(all));
  return file;
}

function generateArgs(toolsFile: string, baseUrl: string, out: string, extra: string[]): string[] {
  return fakeGenerateArgs(toolsFile, baseUrl, '--no-cache', '--limit', String(TASKS), '--out', out, ...extra);
}

async function main(): Promise<void> {
  const dir = makeTempDir('toolalpaca-queue-bench-');
  const redis = await startRedis(dir);
  const server = await startWorldServer(LATENCY_MS);
  const toolsFile = toolsFileFor(dir);
  const local: number[] = [];
  const queued = new Map<number, number[]>(WORKER_COUNTS.map((k) => [k, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const out = join(dir, `local-${round}.json`);
      await runCli(generateArgs(toolsFile, server.baseUrl, out, ['--concurrency', String(CONCURRENCY)]), dir);
      local.push(spanOf(out));
      for (const k of WORKER_COUNTS) {
        const workers = await Promise.all(Array.from({ length: k }, () => startWorker(redis.url, dir)));
        try {
          const queuedOut = join(dir, `queue-${k}-${round}.json`);
          await runCli(generateArgs(toolsFile, server.baseUrl, queuedOut, ['--queue', redis.url]), dir);
          queued.get(k)!.push(spanOf(queuedOut));
        } finally {
          await stopWorkers(workers);
        }
      }
    }
  } finally {
    server.close();
    await redis.stop();
  }
  const localSpan = median(local);
  const spans = new Map([...queued].map(([k, values]) => [k, median(values)]));
  const one = spans.get(1)!;
  const overheadMs = ((one - localSpan) * 1000 * CONCURRENCY) / TASKS;
  const rows = WORKER_COUNTS.map((k) => {
    const span = spans.get(k)!;
    const speedUp = one / span;
    return `| ${k} | ${span.toFixed(2)} | ${(TASKS / span).toFixed(1)} | ${speedUp.toFixed(2)}× | ${speedUp >= 0.9 * k ? 'met' : 'not met'} (≥ ${(0.9 * k).toFixed(1)}×) |`;
  });
  const load = loadavg()[0]!.toFixed(1);
  const section = [
    '## Queue (BullMQ workers)',
    '',
    `Machine: ${machineDescription()}. Date: ${new Date().toISOString().slice(0, 10)}. Load average at the end: ${load}.`,
    `Command: \`npm run build && node --import tsx bench/queue/queue.bench.ts --tasks ${TASKS} --concurrency ${CONCURRENCY} --latency ${LATENCY_MS} --rounds ${ROUNDS}\`.`,
    '',
    `One generation of ${TASKS} instances (eval_simulated.json's tools${TASKS > 100 ? ', copied under numbered names' : ''}, schema executor, no cache) against the fake server`,
    `at ${LATENCY_MS} ms per call, through a real redis-server; every worker at --concurrency ${CONCURRENCY}. Span: from`,
    "the run's start to its last task in the journal (process start-up left out; the workers' first job, which",
    `opens the run's task runner, counted). Median of ${ROUNDS} round(s).`,
    '',
    '| workers | span (s) | instances/s | speed-up over 1 worker | target |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Local run at --concurrency ${CONCURRENCY}: ${localSpan.toFixed(2)} s. Queue overhead per task (the extra time a task`,
    `holds a slot with 1 worker, (${one.toFixed(2)} − ${localSpan.toFixed(2)}) s × ${CONCURRENCY} / ${TASKS}): ${overheadMs.toFixed(0)} ms.`,
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (!process.argv.includes('--no-write')) {
    process.stdout.write(`written to ${recordBenchmarkSection(section)}\n`);
  }
}

await main();
