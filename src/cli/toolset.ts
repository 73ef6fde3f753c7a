/**
 * `toolalpaca toolset ...`: build toolsets from API catalogues. `catalog` counts a catalogue's entries,
 * `build` runs the staged LLM build (resumable), `stats` reports a toolset's diversity. Flag parsing
 * and printing only; the work lives in src/pipeline/toolset.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { readToolSource, toolsOfSource } from '../formats/toolalpaca-json.js';
import { loadConfig } from '../models/config.js';
import { readCatalog, type CatalogFormat } from '../pipeline/toolset/catalog-readers.js';
import { buildToolset, type BuildSummary } from '../pipeline/toolset/build.js';
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
import { createModelPool, type CommandIo } from './context.js';
import { addQueueOption, queueSchedulerOf, type QueueFlagValues } from './queue-producer.js';
import {
  addModelOptions,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
  parseFractionFlag,
} from './model-options.js';
import {
  addRunOptions,
  createRunProgress,
  exitCodeOf,
  parseRunFlags,
  printRunSummary,
  reportRunStatus,
  runInterruptible,
  summaryCost,
  withRunErrors,
  type RunFlagValues,
} from './run-helpers.js';
import type { CostLedger } from '../models/ledger.js';
import { checkRunOutput } from '../run/index.js';

export interface SelectionFlags {
  category?: string[];
  auth?: string[];
  https?: string;
  perCategory?: string;
  limit?: string;
  seed?: string;
  format?: string;
}

export interface BuildFlags extends ModelFlagValues, SelectionFlags, RunFlagValues, QueueFlagValues {
  catalog?: string;
  out?: string;
  maxRepairs?: string;
  maxTokens?: string;
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

/** The summary as a few human lines. */
export function formatBuildSummary(summary: BuildSummary, ledger?: CostLedger): string {
  const lines: string[] = [];
  const stages = Object.entries(summary.failedByStage)
    .map(([stage, n]) => `${stage} ${n}`)
    .join(', ');
  lines.push(
    `${summary.interrupted ? 'interrupted: ' : ''}${summary.built + summary.failed}/${summary.selected} APIs: ${summary.built} built, ${summary.failed} failed${stages !== '' ? ` (at ${stages})` : ''}`,
  );
  if (summary.resumed > 0 || summary.retried > 0) {
    lines.push(
      `resumed: ${summary.resumed} tools read from ${summary.log}${summary.retried > 0 ? `, ${summary.retried} failed ones built again` : ''}`,
    );
  }
  if (summary.notFinished > 0) lines.push(`not finished: ${summary.notFinished} (rerun with --resume)`);
  const fixes = Object.entries(summary.localFixes)
    .map(([fix, n]) => `${fix} ${n}`)
    .join(', ');
  lines.push(
    `repairs: ${summary.repaired} tools repaired, ${summary.repairRounds} repair rounds${fixes !== '' ? `; local fixes: ${fixes}` : ''}`,
  );
  lines.push(
    `tokens in ${summary.promptTokens}, out ${summary.completionTokens}; cost ${summaryCost(summary.costUsd, ledger)}; cache hits ${summary.cacheHits}`,
  );
  lines.push(`wrote ${summary.out} (failed tools ${summary.failedFile}, log ${summary.log})`);
  return `${lines.join('\n')}\n`;
}

/** `toolset build`, callable without commander (tests, scripts). */
export async function runBuildCommand(flags: BuildFlags, io: CommandIo): Promise<BuildSummary> {
  if (flags.catalog === undefined) throw new InputError('--catalog FILE is required');
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  const run = parseRunFlags(flags);
  const selection = selectionFromFlags(flags);
  const maxRepairs = parseIntegerFlag('--max-repairs', flags.maxRepairs, 0);
  const maxTokens = parseIntegerFlag('--max-tokens', flags.maxTokens);
  const entries = await readCatalog(flags.catalog, parseFormat(flags.format));

  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { ledger, pool } = await createModelPool(resolved, io);
  const progress = createRunProgress('toolset build', io, { ledger });
  try {
    const model = await pool.get(resolved.spec);
    const scheduler = await queueSchedulerOf(flags, io, {
      command: 'toolset-build',
      flags,
      inputs: {},
      failedOutput: () => ({ failure: { reason: 'queue_failed', stage: 'queue', error: 'the job failed' } }),
    });
    // A bad --out is a usage error (2) even when the server is down too (3): checked first.
    await checkRunOutput(flags.out as string);
    // With a queue, the workers call the model (each probes its own).
    if (scheduler === undefined) await pool.probe(io.signal);
    const summary = await withRunErrors(() =>
      buildToolset({
        catalogPath: flags.catalog as string,
        entries,
        out: flags.out as string,
        model,
        selection,
        ...(maxRepairs !== undefined ? { maxRepairs } : {}),
        concurrency: resolved.options.concurrency ?? 4,
        ...(selection.seed !== undefined ? { seed: selection.seed } : {}),
        ...(maxTokens !== undefined ? { maxTokens } : {}),
        ...run,
        ...(io.signal !== undefined ? { signal: io.signal } : {}),
        ledger,
        ...(scheduler !== undefined
          ? { scheduler, cacheHits: () => ledger.totals().cachedCalls }
          : { cacheHits: () => pool.cacheHits() }),
        onProgress: progress.report,
        onTool: (line) => {
          if (line.status === 'failed') io.stderr.write(`failed: ${line.name}: ${line.error ?? ''}\n`);
        },
      }),
    );
    progress.finish();
    printRunSummary(io, flags.json === true || io.json === true, summary, formatBuildSummary, ledger);
    reportRunStatus(io, summary, pool.endpoints(), 'tools');
    return summary;
  } finally {
    progress.finish();
    await pool.close();
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
    .option('--https <yes|no>', 'only HTTPS (yes) or only plain-HTTP (no) APIs (default both)')
    .option('--per-category <n>', 'at most N APIs per category (default no limit)')
    .option('--limit <n>', 'at most N APIs in all (default no limit)')
    .option(
      '--seed <n>',
      'shuffle with this seed before quotas and the limit (same seed, same APIs; default catalogue order)',
    )
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
        'output ToolAlpaca JSON (the journal OUT.log.jsonl, OUT.failed.json, OUT.meta.json and the lock OUT.lock beside it)',
      )
      .option('--max-repairs <k>', 'repair rounds per stage after a failed check (default 3)')
      .option('--max-tokens <n>', "reply token limit per call (default the server's)")
      .option('--json', 'print the summary as JSON'),
  ).addHelpText(
    'after',
    `${CATALOG_HELP}\n\nExample:\n  $ toolalpaca toolset build --catalog public_apis.json --model openai:gpt-4o-mini \\\n      --out toolset.json --per-category 2 --seed 1 --concurrency 8`,
  );
  addRunOptions(build, 'tools');
  addQueueOption(build);
  addModelOptions(build, { concurrency: 4 });
  build.action(async (flags: BuildFlags) => {
    await runInterruptible((io) => runBuildCommand(flags, io), exitCodeOf);
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
