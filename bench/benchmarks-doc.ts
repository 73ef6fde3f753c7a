/**
 * What every benchmark writes into docs/benchmarks.md: the machine line, and its own `## Title` section,
 * replaced in place when present (other benchmarks' sections are kept), appended otherwise.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, platform, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/helpers/paths.js';

/** "AMD EPYC, 2 cores, 24 GiB RAM, linux x64, Node v20.20.2". */
export function machineDescription(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memory = `${Math.round(totalmem() / 2 ** 30)} GiB RAM`;
  return `${cpu}, ${availableParallelism()} cores, ${memory}, ${platform()} ${arch()}, Node ${process.version}`;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const INTRO =
  '# Benchmarks\n\n' +
  'Figures measured by the benchmarks under `bench/`, each runnable on its own. They depend on the\n' +
  'machine: every section names the machine, Node version, date and command that produced it.\n';

/**
 * Writes `section` (starting with its `## Title` line) into docs/benchmarks.md and returns the file's
 * path. The file is read right before writing: other benchmarks may have written their sections meanwhile.
 */
export function recordBenchmarkSection(section: string): string {
  const heading = section.split('\n', 1)[0] ?? '';
  if (!heading.startsWith('## ')) throw new Error(`a benchmark section must start with "## ": ${heading}`);
  const file = join(repoRoot, 'docs', 'benchmarks.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : INTRO;
  const start = current.search(new RegExp(`^${escape(heading)}$`, 'm'));
  let next: string;
  if (start === -1) next = `${current.trimEnd()}\n\n${section}`;
  else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    next = `${current.slice(0, start)}${section}${end === -1 ? '' : `\n${rest.slice(end)}`}`;
  }
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`, 'utf8');
  return file;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
