/**
 * Synthetic ToolAlpaca corpora for the benchmarks of corpora past memory (bench/export, bench/verify):
 * one real tool documentation under many names, instances spread evenly over the tools, one or two steps
 * each; and a runner for the compiled CLI that reads the child's peak memory as it exits.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPath } from '../../test/helpers/cli.js';
import { repoRoot } from '../../test/helpers/paths.js';
import type { Instance, ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { openToolAlpacaWriter } from '../../src/formats/corpus-stream.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';

export interface SyntheticInstanceOptions {
  /** Every tenth instance calls a function the tool does not have (for verification benchmarks). */
  defects?: boolean;
}

/** Instance `index` of tool `tool`: a currency question answered in one or two getLatestRates steps. */
export function syntheticInstance(
  tool: number,
  index: number,
  options: SyntheticInstanceOptions = {},
): Instance {
  const steps = 1 + ((tool + index) % 2);
  const city = `City ${tool}-${index}`;
  const rate = (1 + (index % 97) / 100).toFixed(2);
  const action = options.defects === true && index % 10 === 9 ? 'getRates' : 'getLatestRates';
  const input = `{"from": "EUR", "to": "C${index % 50}"}`;
  return {
    input: `What is the exchange rate between the euro and the currency of ${city} today?`,
    output: `One euro buys ${rate} units of ${city}'s currency today.`,
    'Final Thought': 'I have the latest rate for the requested currency.',
    intermediate_steps: Array.from({ length: steps }, (_, s) => [
      [
        action,
        input,
        `Thought: I need the latest rate (step ${s + 1}).\nAction: ${action}\nAction Input: ${input}`,
      ],
      `Status Code: 200. Response: {"amount": 1.0, "base": "EUR", "date": "2024-05-0${s + 1}", "rates": {"C${index % 50}": ${rate}}}`,
    ]),
  };
}

/** `count` tools: the fixture's Frankfurter record (without instances) as `Exchange N`, optionally in categories. */
export async function syntheticToolRecords(
  count: number,
  options: { categories?: number } = {},
): Promise<ToolAlpacaRecord[]> {
  const records = await readToolAlpacaFile(join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json'));
  const { Instances: _dropped, ...head } = records.find((r) => r.Name === 'Frankfurter') as ToolAlpacaRecord;
  const categories = options.categories;
  return Array.from({ length: count }, (_, t) => ({
    ...head,
    Name: `Exchange ${t}`,
    ...(categories !== undefined ? { Category: `Category ${t % categories}` } : {}),
  }));
}

/** Writes `instances` instances spread evenly over `tools` as ToolAlpaca JSON, with the streaming writer. */
export async function writeSyntheticCorpus(
  path: string,
  tools: readonly ToolAlpacaRecord[],
  instances: number,
  options: SyntheticInstanceOptions = {},
): Promise<void> {
  const writer = await openToolAlpacaWriter(path);
  const perTool = Math.ceil(instances / tools.length);
  let written = 0;
  for (let t = 0; t < tools.length && written < instances; t++) {
    await writer.tool(tools[t] as ToolAlpacaRecord);
    for (let i = 0; i < perTool && written < instances; i++, written++)
      await writer.instance(syntheticInstance(t, i, options));
  }
  await writer.close();
}

export interface MeasuredRun {
  seconds: number;
  /** CPU seconds of the child (user + system): less sensitive to a busy machine than wall time. */
  cpuSeconds: number;
  /** The child's peak resident memory (maxRSS), read by a preload as it exits. */
  peakMb: number;
  stdout: string;
}

/** Runs the compiled CLI with `args` in a child process (scratch files in `dir`); fails on a non-zero exit. */
export async function runCliMeasured(args: readonly string[], dir: string): Promise<MeasuredRun> {
  const rssFile = join(dir, 'rss.json');
  const preload = join(dir, 'max-rss.cjs');
  await writeFile(
    preload,
    `process.on('exit', () => { require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, JSON.stringify(process.resourceUsage())); });\n`,
  );
  const started = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', preload, cliPath, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(chunks).toString('utf8'))
        : reject(new Error(`${args[0] ?? 'the CLI'} exited with ${code}`)),
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
