/**
 * Verification of corpora past memory (runnable alone: `node --import tsx bench/verify/corpus.bench.ts
 * [--sizes 10000,50000] [--no-write]`; needs `npm run build`).
 *
 * Writes synthetic ToolAlpaca corpora (200 tools with one real documentation, instances spread evenly,
 * one or two steps each, every tenth instance with a defect) and verifies each with the compiled CLI
 * (`verify --json`, the rule-based stages) in a child process whose peak resident memory (maxRSS) is read
 * as it exits. Memory must not grow with the instances beyond one small verification per instance.
 * Records the "Verification of corpora" section of docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { machineDescription, recordBenchmarkSection } from '../benchmarks-doc.js';
import { cliPath } from '../../test/helpers/cli.js';
import { makeTempDir, repoRoot } from '../../test/helpers/paths.js';
import type { Instance, ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { openToolAlpacaWriter } from '../../src/formats/corpus-stream.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';

const TOOLS = 200;

interface Row {
  instances: number;
  megabytes: number;
  seconds: number;
  cpuSeconds: number;
  peakMb: number;
  passed: number;
  failed: number;
}

function syntheticInstance(tool: number, index: number): Instance {
  const rate = (1 + (index % 97) / 100).toFixed(2);
  const defect = index % 10 === 9;
  const action = defect ? 'getRates' : 'getLatestRates';
  const input = `{"from": "EUR", "to": "C${index % 50}"}`;
  return {
    input: `What is the exchange rate between the euro and currency C${index % 50} (tool ${tool}, question ${index})?`,
    output: `One euro buys ${rate} C${index % 50} today.`,
    'Final Thought': 'I have the latest rate.',
    intermediate_steps: Array.from({ length: 1 + ((tool + index) % 2) }, (_, s) => [
      [
        action,
        input,
        `Thought: I need the latest rate (step ${s + 1}).\nAction: ${action}\nAction Input: ${input}`,
      ],
      `Status Code: 200. Response: {"amount": 1.0, "base": "EUR", "date": "2024-05-0${s + 1}", "rates": {"C${index % 50}": ${rate}}}`,
    ]),
  };
}

async function toolRecords(): Promise<ToolAlpacaRecord[]> {
  const records = await readToolAlpacaFile(join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json'));
  const { Instances: _dropped, ...head } = records.find((r) => r.Name === 'Frankfurter') as ToolAlpacaRecord;
  return Array.from({ length: TOOLS }, (_, t) => ({ ...head, Name: `Exchange ${t}` }));
}

async function writeCorpus(path: string, tools: ToolAlpacaRecord[], instances: number): Promise<void> {
  const writer = await openToolAlpacaWriter(path);
  const perTool = Math.ceil(instances / TOOLS);
  let written = 0;
  for (let t = 0; t < TOOLS && written < instances; t++) {
    await writer.tool(tools[t] as ToolAlpacaRecord);
    for (let i = 0; i < perTool && written < instances; i++, written++)
      await writer.instance(syntheticInstance(t, i));
  }
  await writer.close();
}

async function verifyWithCli(
  data: string,
  out: string,
  dir: string,
): Promise<{ seconds: number; cpuSeconds: number; peakMb: number; stdout: string }> {
  const rssFile = join(dir, 'rss.json');
  const preload = join(dir, 'max-rss.cjs');
  await writeFile(
    preload,
    `process.on('exit', () => { require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, JSON.stringify(process.resourceUsage())); });\n`,
  );
  const started = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--require', preload, cliPath, 'verify', data, '--out', out, '--json', '--force'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(chunks).toString('utf8'))
        : reject(new Error(`verify exited with ${code}`)),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  const usage = JSON.parse(await readFile(rssFile, 'utf8')) as NodeJS.ResourceUsage;
  return {
    seconds,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peakMb: usage.maxRSS / 1024,
    stdout,
  };
}

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  const sizesArg = process.argv[process.argv.indexOf('--sizes') + 1];
  const sizes =
    process.argv.includes('--sizes') && sizesArg !== undefined
      ? sizesArg.split(',').map(Number)
      : [10_000, 50_000];
  const tools = await toolRecords();
  const dir = makeTempDir('toolalpaca-verify-bench-');
  const rows: Row[] = [];
  try {
    for (const instances of sizes) {
      const data = join(dir, `c${instances}.json`);
      await writeCorpus(data, tools, instances);
      const megabytes = (await stat(data)).size / 2 ** 20;
      const out = join(dir, `v${instances}.json`);
      const run = await verifyWithCli(data, out, dir);
      const summary = JSON.parse(run.stdout) as { passed: number; failed: number };
      rows.push({ instances, megabytes, ...run, passed: summary.passed, failed: summary.failed });
      console.log(
        `${instances} instances (${megabytes.toFixed(0)} MB): ${run.seconds.toFixed(1)} s, ${(instances / run.cpuSeconds).toFixed(0)} per CPU second, peak RSS ${run.peakMb.toFixed(0)} MB; ${summary.passed} passed, ${summary.failed} failed`,
      );
      await rm(data, { force: true });
      await rm(out, { force: true });
      await rm(`${out}.log.jsonl`, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (!write) return;
  const section = [
    '## Verification of corpora',
    '',
    `Synthetic ToolAlpaca corpora (${TOOLS} tools with one real documentation, one or two steps per instance,`,
    'every tenth instance calling an unknown function) verified by the compiled CLI (`verify --json`, rule-based',
    'stages: a journal line per instance, fsynced in groups; the corpus read twice, streamed) in a child process;',
    'peak memory is its maxRSS. Memory holds a batch of 256 instances and, per instance, a map entry (a hashed',
    'id and a shared object for a plain pass; a failed instance keeps its reasons): peak memory grows by about',
    '0.5 KB per instance (heap high-water included), so a million instances need about 0.8 GB.',
    '',
    `- Machine: ${machineDescription()}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')} at the end (the machine is shared: wall times vary with it, CPU seconds less)`,
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Command: \`npm run build && node --import tsx bench/verify/corpus.bench.ts --sizes ${sizes.join(',')}\``,
    '',
    '| instances | file MB | wall s | CPU s | instances / CPU s | peak RSS MB | passed | failed |',
    '|-----------|---------|--------|-------|-------------------|-------------|--------|--------|',
    ...rows.map(
      (r) =>
        `| ${r.instances.toLocaleString('en')} | ${r.megabytes.toFixed(0)} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${(r.instances / r.cpuSeconds).toFixed(0)} | ${r.peakMb.toFixed(0)} | ${r.passed} | ${r.failed} |`,
    ),
    '',
  ].join('\n');
  console.log(`wrote the Verification of corpora section of ${recordBenchmarkSection(section)}`);
}

await main();
