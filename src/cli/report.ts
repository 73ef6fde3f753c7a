/**
 * `toolalpaca report RUN_OR_JUDGED… --out report.html [--format html|md|csv]`: several runs and judged
 * files side by side (ToolAlpaca's published judged files and evaluation outputs are read directly). HTML is one self-contained file with inline SVG charts (opens offline); md is
 * Markdown tables; csv is one row per trajectory for human evaluation. With `--view-url`, figures link to
 * the matching filtered lists of `toolalpaca view`.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { writeReport, type ReportFormat } from '../eval/report/index.js';

export interface ReportFlags {
  out?: string;
  format?: string;
  viewUrl?: string;
}

/** The `report` action, callable without commander. */
export async function runReportCommand(
  inputs: readonly string[],
  flags: ReportFlags,
  io: { stdout: { write(text: string): unknown } },
): Promise<ReportFormat> {
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  const { format, sources } = await writeReport(
    inputs,
    flags.out,
    flags.format,
    flags.viewUrl !== undefined ? { viewUrl: flags.viewUrl } : {},
  );
  const items = sources.reduce((sum, s) => sum + s.items.length, 0);
  io.stdout.write(`wrote ${flags.out} (${format}, ${sources.length} input(s), ${items} items)\n`);
  return format;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'Report on evaluation runs and judged files: per tool and overall, charts, model comparison, CSV for human evaluation.',
    )
    .argument(
      '<files...>',
      "RUN.json and/or JUDGED.json files (ours, or ToolAlpaca's published judged files and evaluation outputs)",
    )
    .requiredOption('--out <file>', 'report file to write')
    .option('--format <format>', 'html (default; from .md/.csv extensions: md/csv), md or csv')
    .option(
      '--view-url <url>',
      'base URL of `toolalpaca view` over the same files: every figure links to its filtered list there',
    )
    .action(async (files: string[], flags: ReportFlags) => {
      await runReportCommand(files, flags, { stdout: process.stdout });
    });
}
