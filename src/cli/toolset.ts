/**
 * `toolalpaca toolset ...`: build toolsets from API catalogues. `catalog` counts a catalogue's entries,
 * `build` runs the staged LLM build (resumable), `stats` reports a toolset's diversity. Flag parsing
 * and printing only; the work lives in src/pipeline/toolset.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { readToolSource, toolsOfSource } from '../formats/toolalpaca-json.js';
import { loadConfig } from '../models/config.js';
import { createChatModel } from '../models/create-model.js';
import { CostLedger } from '../models/ledger.js';
import { loadPriceTable } from '../models/prices.js';
import { readCatalog, type CatalogFormat } from '../pipeline/toolset/catalog-readers.js';
import { buildToolset, formatBuildSummary, type BuildSummary } from '../pipeline/toolset/build.js';
import {
  formatCatalogSummary,
  selectEntries,
  summarizeCatalog,
  type CatalogSelection,
  type CatalogSummary,
} from '../pipeline/toolset/select.js';
import {
  formatToolsetStats,
  statsToolOf,
  toolsetStats,
  type ToolsetStats,
} from '../pipeline/toolset/stats.js';
import { type CommandIo } from './generate.js';
import {
  addModelOptions,
  downloadProgressPrinter,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
  parseFractionFlag,
} from './model-options.js';
import { createRunProgress, printRunSummary, runInterruptible } from './run-helpers.js';

export interface SelectionFlags {
  category?: string[];
  auth?: string[];
  https?: string;
  perCategory?: string;
  limit?: string;
  seed?: string;
  format?: string;
}

export interface BuildFlags extends ModelFlagValues, SelectionFlags {
  catalog?: string;
  out?: string;
  maxRepairs?: string;
  maxTokens?: string;
  resume?: boolean;
  force?: boolean;
  grace?: string;
  json?: boolean;
}

const FORMATS: readonly CatalogFormat[] = ['json', 'markdown', 'csv'];

function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

function parseFormat(value: string | undefined): CatalogFormat | undefined {
  if (value === undefined) return undefined;
  if (!(FORMATS as readonly string[]).includes(value)) {
    throw new InputError(`--format: expected one of ${FORMATS.join(', ')}, got "${value}"`);
  }
  return value as CatalogFormat;
}

/** The selection the flags ask for (only the keys given, so the resume check compares like with like). */
export function selectionFromFlags(flags: SelectionFlags): CatalogSelection {
  const selection: CatalogSelection = {};
  if (flags.category !== undefined && flags.category.length > 0) selection.categories = flags.category;
  if (flags.auth !== undefined && flags.auth.length > 0) selection.auth = flags.auth;
  if (flags.https !== undefined) {
    const value = flags.https.trim().toLowerCase();
    if (['yes', 'true', '1'].includes(value)) selection.https = true;
    else if (['no', 'false', '0'].includes(value)) selection.https = false;
    else throw new InputError(`--https: expected yes or no, got "${flags.https}"`);
  }
  const perCategory = parseIntegerFlag('--per-category', flags.perCategory);
  if (perCategory !== undefined) selection.perCategory = perCategory;
  const limit = parseIntegerFlag('--limit', flags.limit);
  if (limit !== undefined) selection.limit = limit;
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  if (seed !== undefined) selection.seed = seed;
  return selection;
}

/** `toolset catalog`: the counts of a catalogue (after the selection flags, when given). */
export async function runCatalogCommand(
  file: string,
  flags: SelectionFlags & { json?: boolean },
  io: Pick<CommandIo, 'stdout'>,
): Promise<CatalogSummary> {
  const entries = await readCatalog(file, parseFormat(flags.format));
  const summary = summarizeCatalog(selectEntries(entries, selectionFromFlags(flags)));
  io.stdout.write(
    flags.json === true ? `${JSON.stringify(summary, null, 2)}\n` : formatCatalogSummary(summary),
  );
  return summary;
}

/** `toolset build`, callable without commander (tests, scripts). */
export async function runBuildCommand(flags: BuildFlags, io: CommandIo): Promise<BuildSummary> {
  if (flags.catalog === undefined) throw new InputError('--catalog FILE is required');
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  if (flags.resume === true && flags.force === true)
    throw new InputError('--resume and --force exclude each other');
  const selection = selectionFromFlags(flags);
  const maxRepairs = parseIntegerFlag('--max-repairs', flags.maxRepairs, 0);
  const maxTokens = parseIntegerFlag('--max-tokens', flags.maxTokens);
  const graceSeconds = parseIntegerFlag('--grace', flags.grace, 0);
  const entries = await readCatalog(flags.catalog, parseFormat(flags.format));

  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const ledger = new CostLedger({ prices: await loadPriceTable(resolved.pricesFile) });
  const model = await createChatModel(resolved.spec, {
    ...resolved.options,
    ledger,
    onDownloadProgress: downloadProgressPrinter(io.stderr),
  });
  const progress = createRunProgress('toolset build', io);
  try {
    const summary = await buildToolset({
      catalogPath: flags.catalog,
      entries,
      out: flags.out,
      model,
      selection,
      ...(maxRepairs !== undefined ? { maxRepairs } : {}),
      concurrency: resolved.options.concurrency ?? 4,
      ...(selection.seed !== undefined ? { seed: selection.seed } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      resume: flags.resume === true,
      force: flags.force === true,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      ...(graceSeconds !== undefined ? { graceMs: graceSeconds * 1000 } : {}),
      ledger,
      onProgress: progress.report,
      onTool: (line) => {
        if (line.status === 'failed') io.stderr.write(`failed: ${line.name}: ${line.error ?? ''}\n`);
      },
    });
    progress.finish();
    printRunSummary(io, flags.json === true, summary, formatBuildSummary, ledger);
    return summary;
  } finally {
    progress.finish();
    await model.close();
  }
}

/** `toolset stats`: the diversity report of a toolset (ToolAlpaca JSON or OpenAPI files). */
export async function runStatsCommand(
  files: readonly string[],
  flags: { json?: boolean; threshold?: string },
  io: Pick<CommandIo, 'stdout'>,
): Promise<ToolsetStats> {
  const threshold = parseFractionFlag('--threshold', flags.threshold);
  const tools = [];
  for (const file of files) {
    for (const item of await toolsOfSource(await readToolSource(file))) {
      tools.push(statsToolOf(item.record, item.name, item.tool, item.error));
    }
  }
  const stats = toolsetStats(tools, threshold !== undefined ? { threshold } : {});
  io.stdout.write(flags.json === true ? `${JSON.stringify(stats, null, 2)}\n` : formatToolsetStats(stats));
  return stats;
}

function addSelectionOptions(command: Command): Command {
  return command
    .option('--category <name>', 'only this category (repeatable, or comma-separated)', collect)
    .option('--auth <label>', 'only this auth label: none, apiKey, OAuth... (repeatable)', collect)
    .option('--https <yes|no>', 'only HTTPS (yes) or only plain-HTTP (no) APIs')
    .option('--per-category <n>', 'at most N APIs per category')
    .option('--limit <n>', 'at most N APIs in all')
    .option('--seed <n>', 'shuffle with this seed before quotas and the limit (same seed, same APIs)')
    .option('--format <format>', `catalogue format: ${FORMATS.join(', ')} (default: from the file)`);
}

const CATALOG_HELP = `
A catalogue is ToolAlpaca's public_apis.json ({count, entries: [{API, Description, Auth, HTTPS, Cors,
Link, Category}]}), the public-apis README (markdown tables under "### Category" headings), a CSV file
with a header row (name/API, description, category, link, auth, https, cors), or a JSON list of objects
with those keys.`;

export function registerToolsetCommands(program: Command): void {
  const toolset = program
    .command('toolset')
    .description(
      'Build toolsets (OpenAPI + NL documentation) from API catalogues, and report their diversity.',
    );

  addSelectionOptions(
    toolset
      .command('catalog')
      .summary('count a catalogue by category, auth and HTTPS')
      .description('Read an API catalogue and print its entries counted by category, auth label and HTTPS.')
      .argument('<file>', 'catalogue: JSON, README markdown or CSV')
      .option('--json', 'print the counts as JSON'),
  )
    .addHelpText(
      'after',
      `${CATALOG_HELP}\n\nExample:\n  $ toolalpaca toolset catalog public_apis.json --json`,
    )
    .action(async (file: string, flags: SelectionFlags & { json?: boolean }) => {
      await runCatalogCommand(file, flags, { stdout: process.stdout });
    });

  const build = addSelectionOptions(
    toolset
      .command('build')
      .summary('build tools (introduction, functions, OpenAPI spec, NL docs) from a catalogue; resumable')
      .description(
        'For each selected catalogue entry ask the model for an introduction, a function list and an OpenAPI 3.0 ' +
          'spec, checking each answer and sending the errors back for repair (up to --max-repairs rounds). Built ' +
          'tools go to OUT as ToolAlpaca JSON; tools that still fail go to OUT.failed.json with their last error.',
      )
      .requiredOption('--catalog <file>', 'catalogue: JSON, README markdown or CSV')
      .requiredOption(
        '--out <file>',
        'output ToolAlpaca JSON (OUT.log.jsonl, OUT.failed.json, OUT.meta.json beside it)',
      )
      .option('--max-repairs <k>', 'repair rounds per stage after a failed check (default 3)')
      .option('--max-tokens <n>', 'reply token limit per call')
      .option('--resume', 'continue the build recorded in the log (same parameters), skipping finished tools')
      .option('--force', 'discard an existing log and start over')
      .option('--grace <seconds>', 'after Ctrl-C, how long tools in flight may finish (default 30)')
      .option('--json', 'print the summary as JSON'),
  ).addHelpText(
    'after',
    `${CATALOG_HELP}\n\nExample:\n  $ toolalpaca toolset build --catalog public_apis.json --model openai:gpt-4o-mini \\\n      --out toolset.json --per-category 2 --seed 1 --concurrency 8`,
  );
  addModelOptions(build);
  build.action(async (flags: BuildFlags) => {
    await runInterruptible(
      (io) => runBuildCommand(flags, io),
      (summary) => summary.interrupted,
    );
  });

  toolset
    .command('stats')
    .summary('diversity report: categories, functions, parameter types, methods, near-duplicates')
    .description(
      'Report the diversity of a toolset: tools per category, functions per tool, parameter types and ' +
        'locations, HTTP methods, and near-duplicate tools (by name, description and function names).',
    )
    .argument('<file...>', 'ToolAlpaca JSON file, OpenAPI spec, or folder of specs')
    .option('--json', 'print the report as JSON')
    .option('--threshold <score>', 'near-duplicate score threshold in (0, 1] (default 0.6)')
    .action(async (files: string[], flags: { json?: boolean; threshold?: string }) => {
      await runStatsCommand(files, flags, { stdout: process.stdout });
    });
}
