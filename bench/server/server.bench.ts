/**
 * Virtual API server throughput: autocannon against (a) a bare fastify hello-world route, (b) the schema
 * executor route of one shared tool with a warm cache (same arguments on every request), as `serve` runs it,
 * and (c) the same route with the answer memo turned off (every request collected, checked, executed and
 * written again; for reference), in one run.
 *
 *   node --import tsx bench/server/server.bench.ts [--duration 10] [--connections 10] [--rounds 5]
 *                                                 [--profile DIR]
 *
 * The servers run in a child process (this file with `--serve`), so that autocannon's own work does not
 * share an event loop with them. Only loopback addresses are used; every run is bounded in time.
 *
 * Besides req/s, each round records the server process's CPU time per request (user + system, asked from the
 * child before and after the round). On a busy machine req/s depends on how much CPU the server gets; CPU
 * per request says what each answer costs. `--profile DIR` also writes a V8 CPU profile of the server per
 * round (`DIR/TARGET-ROUND-REQUESTS.cpuprofile`, sampled every 100 µs) for a per-request breakdown.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyFactory from 'fastify';
import { createSchemaExecutor } from '../../src/executors/schema-executor.js';
import { createToolServer } from '../../src/serve/index.js';
import { readToolSource, toolsOfSource } from '../../src/formats/toolalpaca-json.js';
import { sharedData } from '../../test/helpers/paths.js';
import { machineDescription, median } from '../benchmarks-doc.js';

const TOOL_FILE = sharedData('toolalpaca/eval_real.json');
const TOOL_PATH = '/Nager.Date/api/v3/PublicHolidays/2024/DE';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; average: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<AutocannonResult>;

// autocannon ships no type declarations.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** The targets, in the order of each round. */
const TARGETS = [
  { name: 'bare', label: 'bare fastify hello-world' },
  { name: 'tool', label: `schema executor, Nager.Date ${TOOL_PATH}, warm cache (as served)` },
  { name: 'nomemo', label: 'the same, answer memo off (reference)' },
] as const;
type TargetName = (typeof TARGETS)[number]['name'];

type ChildMessage = 'cpu' | { profile: 'start' } | { profile: 'stop'; file: string };

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index < 0 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

function textFlag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? undefined : process.argv[index + 1];
}

/** Child side: the servers on 127.0.0.1, their URLs sent to the parent. */
async function serveAll(): Promise<void> {
  const bare = fastifyFactory({ logger: false });
  bare.get('/hello', async () => ({ hello: 'world' }));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const address = bare.server.address();
  const barePort = typeof address === 'object' && address !== null ? address.port : 0;

  const tools = (await toolsOfSource(await readToolSource(TOOL_FILE)))
    .map((entry) => entry.tool)
    .filter((tool) => tool !== undefined);
  const tool = tools.find((t) => t.name === 'Nager.Date');
  if (tool === undefined) throw new Error('Nager.Date not found in eval_real.json');
  const server = await createToolServer([tool], createSchemaExecutor(), { host: '127.0.0.1', port: 0 });
  const noMemo = await createToolServer([tool], createSchemaExecutor(), {
    host: '127.0.0.1',
    port: 0,
    answerMemoSize: 0,
  });
  // Warm the schema executor's cache and the memo (and fastify's routing, ajv's compiled validators).
  for (const s of [server, noMemo]) {
    for (let i = 0; i < 50; i++) {
      const response = await s.app.inject({ method: 'GET', url: TOOL_PATH });
      if (response.statusCode !== 200) throw new Error(`warm-up: ${response.statusCode} ${response.body}`);
    }
  }
  const session = new Session();
  process.on('message', (message: ChildMessage) => void answerParent(session, message));
  const urls: Record<TargetName, string> = {
    bare: `http://127.0.0.1:${barePort}/hello`,
    tool: `${server.url}${TOOL_PATH}`,
    nomemo: `${noMemo.url}${TOOL_PATH}`,
  };
  process.send?.(urls);
  process.on('disconnect', () => {
    void Promise.all([bare.close(), server.close(), noMemo.close()]).then(() => process.exit(0));
  });
}

/** Child side: the CPU time used so far, or a profile started / stopped and written. */
async function answerParent(session: Session, message: ChildMessage): Promise<void> {
  if (message === 'cpu') {
    const usage = process.cpuUsage();
    process.send?.({ cpuMicros: usage.user + usage.system });
  } else if (message.profile === 'start') {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    process.send?.({ profiling: true });
  } else {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(message.file, JSON.stringify(profile));
    session.disconnect();
    process.send?.({ profiling: false });
  }
}

type RoundResult = AutocannonResult & { cpuPerRequest: number };

/** Parent side: the child's answer to one message. */
function ask<T>(child: ChildProcess, message: ChildMessage): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send(message);
  });
}

/** One autocannon round against `url` and the server's CPU microseconds per request during it. */
async function round(
  child: ChildProcess,
  url: string,
  options: { connections: number; seconds: number; profileFile?: (requests: number) => string },
): Promise<RoundResult> {
  if (options.profileFile !== undefined) await ask(child, { profile: 'start' });
  const cpuBefore = (await ask<{ cpuMicros: number }>(child, 'cpu')).cpuMicros;
  const result = await autocannon({ url, connections: options.connections, duration: options.seconds });
  const cpu = (await ask<{ cpuMicros: number }>(child, 'cpu')).cpuMicros - cpuBefore;
  if (options.profileFile !== undefined) {
    await ask(child, { profile: 'stop', file: options.profileFile(result.requests.total) });
  }
  return { ...result, cpuPerRequest: cpu / Math.max(1, result.requests.total) };
}

function printResults(
  results: Record<TargetName, RoundResult[]>,
  settings: {
    connections: number;
    rounds: number;
    roundSeconds: number;
    duration: number;
    loadBefore: number;
  },
): void {
  const summary = (rounds: RoundResult[]) => ({
    rps: rounds.reduce((sum, r) => sum + r.requests.total, 0) / settings.duration,
    p99: median(rounds.map((r) => r.latency.p99)),
    mean: median(rounds.map((r) => r.latency.average)),
    total: rounds.reduce((sum, r) => sum + r.requests.total, 0),
    cpu: median(rounds.map((r) => r.cpuPerRequest)),
  });
  console.log(`machine: ${machineDescription()}`);
  const loadAfter = (loadavg()[0] ?? 0).toFixed(2);
  console.log(`load average (1 min) before / after: ${settings.loadBefore.toFixed(2)} / ${loadAfter}`);
  console.log(
    `autocannon: ${settings.connections} connections, keep-alive, ${settings.rounds} alternating rounds of ${settings.roundSeconds} s per target (${settings.duration} s each)`,
  );
  console.log(
    '| target | req/s | p99 latency ms (median of rounds) | mean latency ms | requests | server CPU µs/request (median of rounds) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const target of TARGETS) {
    const s = summary(results[target.name]);
    console.log(
      `| ${target.label} | ${s.rps.toFixed(0)} | ${s.p99} | ${s.mean.toFixed(2)} | ${s.total} | ${s.cpu.toFixed(0)} |`,
    );
  }
  const bare = results.bare;
  for (const name of ['tool', 'nomemo'] as const) {
    const ratios = results[name].map((r, i) => r.requests.total / (bare[i]?.requests.total ?? 1));
    const cpuRatios = results[name].map((r, i) => (bare[i]?.cpuPerRequest ?? 0) / r.cpuPerRequest);
    const ratio = median(ratios);
    const verdict = name === 'tool' ? ` (target >= 0.5x) ${ratio >= 0.5 ? 'PASS' : 'FAIL'}` : '';
    console.log(`${name}: per-round ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
    console.log(`${name}: ratio (${name} / bare req/s, median of rounds): ${ratio.toFixed(2)}x${verdict}`);
    console.log(
      `${name}: server CPU per request, bare / ${name} (median of rounds ${cpuRatios.map((r) => r.toFixed(2)).join(', ')}): ${median(cpuRatios).toFixed(2)}x`,
    );
  }
}

async function main(): Promise<void> {
  const duration = flag('duration', 10);
  const connections = flag('connections', 10);
  const rounds = flag('rounds', 5);
  const profileDir = textFlag('profile');
  if (profileDir !== undefined) mkdirSync(resolve(profileDir), { recursive: true });
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const urls = await new Promise<Record<TargetName, string>>((resolve, reject) => {
    child.once('message', (message) => resolve(message as Record<TargetName, string>));
    child.once('exit', (code) => reject(new Error(`server process exited ${code}`)));
  });
  const loadBefore = loadavg()[0] ?? 0;
  // The machine may be busy with other work; alternating short rounds of the targets spreads that noise
  // over all of them instead of charging it to whichever ran last.
  const roundSeconds = duration / rounds;
  try {
    for (const target of TARGETS) await autocannon({ url: urls[target.name], connections, duration: 2 }); // JIT warm-up
    const results: Record<TargetName, RoundResult[]> = { bare: [], tool: [], nomemo: [] };
    for (let index = 0; index < rounds; index++) {
      for (const { name } of TARGETS) {
        const profileFile =
          profileDir === undefined
            ? undefined
            : (requests: number) => join(resolve(profileDir), `${name}-${index}-${requests}.cpuprofile`);
        results[name].push(
          await round(child, urls[name], {
            connections,
            seconds: roundSeconds,
            ...(profileFile !== undefined ? { profileFile } : {}),
          }),
        );
      }
    }
    for (const result of Object.values(results).flat()) {
      if (result.errors > 0 || result.non2xx > 0) {
        throw new Error(`${result.errors} errors, ${result.non2xx} non-2xx answers`);
      }
    }
    printResults(results, { connections, rounds, roundSeconds, duration, loadBefore });
  } finally {
    child.disconnect();
  }
}

if (process.argv.includes('--serve')) await serveAll();
else await main();
