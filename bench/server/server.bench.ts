/**
 * Virtual API server throughput: autocannon against (a) a bare fastify hello-world route and (b) the schema
 * executor route of one shared tool with a warm cache (same arguments on every request), in one run.
 *
 *   node --import tsx bench/server/server.bench.ts [--duration 10] [--connections 10] [--rounds 5]
 *
 * The servers run in a child process (this file with `--serve`), so that autocannon's own work does not
 * share an event loop with them. Only loopback addresses are used; every run is bounded in time.
 *
 * Besides req/s, each round records the server process's CPU time per request (user + system, asked from the
 * child before and after the round). On a busy machine req/s depends on how much CPU the server gets; CPU
 * per request says what each answer costs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
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

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index < 0 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Child side: both servers on 127.0.0.1, their URLs sent to the parent. */
async function serveBoth(): Promise<void> {
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
  // Warm the schema executor's cache (and fastify's routing, ajv's compiled validators).
  for (let i = 0; i < 50; i++) {
    const response = await server.app.inject({ method: 'GET', url: TOOL_PATH });
    if (response.statusCode !== 200) throw new Error(`warm-up: ${response.statusCode} ${response.body}`);
  }
  process.on('message', (message) => {
    if (message === 'cpu') {
      const usage = process.cpuUsage();
      process.send?.({ cpuMicros: usage.user + usage.system });
    }
  });
  process.send?.({ bare: `http://127.0.0.1:${barePort}/hello`, tool: `${server.url}${TOOL_PATH}` });
  process.on('disconnect', () => {
    void Promise.all([bare.close(), server.close()]).then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  const duration = flag('duration', 10);
  const connections = flag('connections', 10);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const urls = await new Promise<{ bare: string; tool: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { bare: string; tool: string }));
    child.once('exit', (code) => reject(new Error(`server process exited ${code}`)));
  });
  const serverCpu = (): Promise<number> =>
    new Promise((resolve) => {
      child.once('message', (message) => resolve((message as { cpuMicros: number }).cpuMicros));
      child.send('cpu');
    });
  /** One autocannon round and the server's CPU microseconds per request during it. */
  const round = async (url: string): Promise<AutocannonResult & { cpuPerRequest: number }> => {
    const cpuBefore = await serverCpu();
    const result = await autocannon({ url, connections, duration: roundSeconds });
    const cpu = (await serverCpu()) - cpuBefore;
    return { ...result, cpuPerRequest: cpu / Math.max(1, result.requests.total) };
  };
  const before = loadavg()[0] ?? 0;
  // The machine may be busy with other work; alternating short rounds of the two targets spreads that noise
  // over both instead of charging it to whichever ran second.
  const rounds = flag('rounds', 5);
  const roundSeconds = duration / rounds;
  try {
    await autocannon({ url: urls.bare, connections, duration: 2 }); // JIT warm-up of both targets
    await autocannon({ url: urls.tool, connections, duration: 2 });
    const bare: (AutocannonResult & { cpuPerRequest: number })[] = [];
    const tool: (AutocannonResult & { cpuPerRequest: number })[] = [];
    for (let index = 0; index < rounds; index++) {
      bare.push(await round(urls.bare));
      tool.push(await round(urls.tool));
    }
    for (const result of [...bare, ...tool]) {
      if (result.errors > 0 || result.non2xx > 0) {
        throw new Error(`${result.errors} errors, ${result.non2xx} non-2xx answers`);
      }
    }
    const summary = (results: (AutocannonResult & { cpuPerRequest: number })[]) => ({
      rps: results.reduce((sum, r) => sum + r.requests.total, 0) / duration,
      p99: median(results.map((r) => r.latency.p99)),
      mean: median(results.map((r) => r.latency.average)),
      total: results.reduce((sum, r) => sum + r.requests.total, 0),
      cpu: median(results.map((r) => r.cpuPerRequest)),
    });
    const b = summary(bare);
    const t = summary(tool);
    const ratios = tool.map((r, i) => r.requests.total / (bare[i]?.requests.total ?? 1));
    const ratio = median(ratios);
    console.log(`machine: ${machineDescription()}`);
    console.log(
      `load average (1 min) before / after: ${before.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)}`,
    );
    console.log(
      `autocannon: ${connections} connections, keep-alive, ${rounds} alternating rounds of ${roundSeconds} s per target (${duration} s each)`,
    );
    console.log(
      '| target | req/s | p99 latency ms (median of rounds) | mean latency ms | requests | server CPU µs/request (median of rounds) |',
    );
    console.log('|---|---|---|---|---|---|');
    console.log(
      `| bare fastify hello-world | ${b.rps.toFixed(0)} | ${b.p99} | ${b.mean.toFixed(2)} | ${b.total} | ${b.cpu.toFixed(0)} |`,
    );
    console.log(
      `| schema executor, Nager.Date ${TOOL_PATH}, warm cache | ${t.rps.toFixed(0)} | ${t.p99} | ${t.mean.toFixed(2)} | ${t.total} | ${t.cpu.toFixed(0)} |`,
    );
    console.log(`per-round ratios: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
    console.log(
      `ratio (tool / bare req/s, median of rounds): ${ratio.toFixed(2)}x (target >= 0.5x) ${ratio >= 0.5 ? 'PASS' : 'FAIL'}`,
    );
    const cpuRatios = tool.map((r, i) => (bare[i]?.cpuPerRequest ?? 0) / r.cpuPerRequest);
    console.log(
      `server CPU per request, bare / tool (median of rounds ${cpuRatios.map((r) => r.toFixed(2)).join(', ')}): ${median(cpuRatios).toFixed(2)}x`,
    );
  } finally {
    child.disconnect();
  }
}

if (process.argv.includes('--serve')) await serveBoth();
else await main();
