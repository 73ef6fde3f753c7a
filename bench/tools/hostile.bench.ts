/**
 * Hostile tool input benchmark (runnable alone: `node --import tsx bench/tools/hostile.bench.ts [--no-write]`).
 *
 * How long the readers take to refuse hostile files, in process (no CLI start-up), and how much memory
 * they take meanwhile: a `$ref` bomb (40 schemas each referencing the previous one twice), a schema nested
 * 10,000 levels, a 300 MB spec (sparse) and /dev/zero; and, for scale, what the added bounds cost on the
 * 21 shared evaluation specs (loading each with and without the checks' walks). Records the "Hostile
 * tool input" section of docs/benchmarks.md.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData } from '../../test/helpers/paths.js';
import { machineDescription, median, recordBenchmarkSection } from '../benchmarks-doc.js';
import { depthWithin, expandedSizeWithin } from '../../src/formats/document-limits.js';
import { loadOpenApi, parseSpecText } from '../../src/formats/openapi.js';
import { readToolAlpacaFile, readToolSource } from '../../src/formats/toolalpaca-json.js';

const RUNS = 5;

function bombText(): string {
  const schemas: Record<string, unknown> = { S0: { type: 'object', properties: { v: { type: 'string' } } } };
  for (let i = 1; i < 40; i++) {
    const ref = { $ref: `#/components/schemas/S${i - 1}` };
    schemas[`S${i}`] = { type: 'object', properties: { a: ref, b: { ...ref } } };
  }
  const ok = {
    description: 'ok',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/S39' } } },
  };
  return JSON.stringify({
    openapi: '3.0.0',
    info: { title: 'Bomb', version: '1' },
    paths: { '/b': { get: { operationId: 'explode', responses: { '200': ok } } } },
    components: { schemas },
  });
}

function deepText(levels: number): string {
  const schema = `${'{"type":"object","properties":{"x":'.repeat(levels)}{"type":"string"}${'}}'.repeat(levels)}`;
  return `{"openapi":"3.0.0","info":{"title":"Deep","version":"1"},"paths":{"/d":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":${schema}}}}}}}}}`;
}

interface Row {
  input: string;
  msToRefuse: number;
  /** Largest growth of the resident set seen during the runs, in MB. */
  rssGrowthMb: number;
  message: string;
}

async function timeRefusal(input: string, run: () => Promise<unknown>): Promise<Row> {
  const times: number[] = [];
  let message = '';
  let growth = 0;
  for (let i = 0; i < RUNS; i++) {
    const before = process.memoryUsage().rss;
    const start = performance.now();
    try {
      await run();
      message = '(accepted)';
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    times.push(performance.now() - start);
    growth = Math.max(growth, process.memoryUsage().rss - before);
  }
  return { input, msToRefuse: median(times), rssGrowthMb: growth / 2 ** 20, message };
}

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  const dir = mkdtempSync(join(tmpdir(), 'toolalpaca-hostile-'));
  const rows: Row[] = [];
  try {
    const bomb = join(dir, 'bomb.json');
    writeFileSync(bomb, bombText());
    rows.push(await timeRefusal('$ref bomb, 5 KB (2^40 nodes expanded)', () => readToolSource(bomb)));
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, deepText(10_000));
    rows.push(await timeRefusal('schema nested 10,000 levels, 370 KB', () => readToolSource(deep)));
    const huge = join(dir, 'huge.yaml');
    const fd = openSync(huge, 'w');
    writeSync(fd, 'openapi: 3.0.0\n');
    ftruncateSync(fd, 300 * 2 ** 20);
    closeSync(fd);
    rows.push(await timeRefusal('300 MB spec (sparse file)', () => readToolSource(huge)));
    rows.push(await timeRefusal('/dev/zero', () => readToolSource('/dev/zero')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // What the bounds cost on real specs: the two walks alone, against a whole load.
  const docs: Record<string, unknown>[] = [];
  for (const file of ['toolalpaca/eval_real.json', 'toolalpaca/eval_simulated.json']) {
    for (const record of await readToolAlpacaFile(sharedData(file))) {
      if (record.Documentation !== undefined) docs.push(parseSpecText(record.Documentation, record.Name));
    }
  }
  const walks: number[] = [];
  const loads: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let start = performance.now();
    for (const doc of docs) {
      depthWithin(doc, 1000);
      expandedSizeWithin(doc, 1_000_000);
    }
    walks.push(performance.now() - start);
    start = performance.now();
    for (const doc of docs) await loadOpenApi(doc, 'spec');
    loads.push(performance.now() - start);
  }
  const walkMs = median(walks);
  const loadMs = median(loads);

  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    '## Hostile tool input',
    '',
    `Machine: ${machineDescription()}. Date: ${date}. Command: \`node --import tsx bench/tools/hostile.bench.ts\`.`,
    `Median of ${RUNS} runs in one process (no CLI start-up); memory is the largest growth of the resident set.`,
    '',
    '| input | time to refuse | memory growth | message |',
    '|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.input} | ${r.msToRefuse.toFixed(1)} ms | ${r.rssGrowthMb.toFixed(1)} MB | ${r.message.replace(/\|/g, '\\|').replace(/\/tmp\/[^/]+\//, '')} |`,
    ),
    '',
    `The bounds on the 21 shared evaluation specs: the depth and \`$ref\`-expansion walks take ${walkMs.toFixed(1)} ms`,
    `for all 21, against ${loadMs.toFixed(1)} ms to load them (${((100 * walkMs) / loadMs).toFixed(1)} %).`,
    'Before these bounds the bomb ran for 60 s per tool (the resolver walks every expanded node, about 10 µs',
    'each, until its timeout), the deep schema overflowed the stack, and the 300 MB file and /dev/zero were',
    'read whole first (720 MB and 657 MB of memory, issue 13).',
    '',
  ];
  const section = lines.join('\n');
  process.stdout.write(`${section}\n`);
  if (write) process.stdout.write(`recorded in ${recordBenchmarkSection(section)}\n`);
}

await main();
