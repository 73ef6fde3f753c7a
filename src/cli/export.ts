/** `toolalpaca export`: a corpus as training data in one SFT layout (flags only; logic in src/export). */
import { Option, type Command } from 'commander';
import { InputError } from '../core/errors.js';
import { SFT_LAYOUT_NAMES } from '../core/sft.js';
import { runExport, type ExportOptions, type ExportResult } from '../export/export.js';

export interface ExportCommandOptions {
  data: string;
  format: string;
  out: string;
  onlyVerified?: boolean;
  dedupe: boolean;
  toolalpacaFilters: boolean;
  valRatio: string;
  valTools?: string;
  seed?: string;
  maxExampleTokens?: string;
  /** The old name of --max-example-tokens: refused with a hint. */
  maxTokens?: string;
  license?: string;
  truncate: 'drop' | 'cut';
  template?: string;
  tokenizer?: string;
  prompt: 'test_v1' | 'train_v1';
  json?: boolean;
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InputError(`${flag} must be a number, got '${value}'`);
  return n;
}

/** Turns parsed flags into export options (exported for tests). */
export function exportOptionsFrom(flags: ExportCommandOptions): ExportOptions {
  if (flags.maxTokens !== undefined) {
    throw new InputError(
      '--max-tokens is a model reply limit elsewhere; the per-example token limit of export is --max-example-tokens',
    );
  }
  // Worded here with flag names; the library checks the same options in its own terms.
  if ((flags.template === undefined) !== (flags.tokenizer === undefined)) {
    throw new InputError('token masks need both --template and --tokenizer');
  }
  const maxExampleTokens =
    flags.maxExampleTokens !== undefined ? number(flags.maxExampleTokens, '--max-example-tokens') : undefined;
  if (maxExampleTokens !== undefined && (!Number.isInteger(maxExampleTokens) || maxExampleTokens <= 0)) {
    throw new InputError(`--max-example-tokens must be a positive integer, got ${maxExampleTokens}`);
  }
  const ratio = number(flags.valRatio, '--val-ratio');
  if (ratio < 0 || ratio >= 1) throw new InputError(`--val-ratio must be in [0, 1), got ${ratio}`);
  return {
    data: flags.data,
    format: flags.format,
    out: flags.out,
    onlyVerified: flags.onlyVerified === true,
    dedupe: flags.dedupe,
    toolalpacaFilters: flags.toolalpacaFilters,
    validationRatio: ratio,
    ...(flags.valTools !== undefined
      ? {
          validationTools: flags.valTools
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== ''),
        }
      : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(maxExampleTokens !== undefined ? { maxExampleTokens } : {}),
    ...(flags.license !== undefined ? { license: flags.license } : {}),
    truncation: flags.truncate,
    ...(flags.template !== undefined ? { template: flags.template } : {}),
    ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
    prompt: flags.prompt,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  };
}

export function summaryLines(result: ExportResult): string {
  const m = result.manifest;
  const c = m.counts;
  const filters =
    m.toolalpacaFilters === false
      ? "ToolAlpaca's filters off"
      : `ToolAlpaca's filters: ${c.zeroSteps} with 0 steps, ${c.overFiveSteps} with more than 5 steps, ${c.onlyGetDetails} with only getDetails`;
  const lines = [
    `${m.layout}: ${c.train} train, ${c.validation} validation examples in ${result.dir}`,
    `read ${c.read}; dropped: ${c.failed} failed; ${filters}; ${c.unverified} unverified${c.unverified ? ` (${c.neverVerified} never verified)` : ''}, ${c.duplicates} duplicates, ${c.mixedSplit} mixing train and validation tools, ${c.overLimitDropped} over the token limit, ${c.maskCheckFailed} failing the mask check`,
  ];
  for (const [name, s] of Object.entries(m.stats)) {
    lines.push(
      `${name}: tokens p50 ${s.p50}, p95 ${s.p95}, max ${s.max} (${m.tokenCounts}); over limit ${(s.shareOverLimit * 100).toFixed(1)}%`,
    );
  }
  lines.push(`files: ${result.files.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .summary('Write a corpus as training data (SFT layouts, token masks, dataset card).')
    .description(
      "Write the completed instances of a corpus as fine-tuning data in one layout, after ToolAlpaca's dataset filters, split by tool so that validation tools are unseen, with a dataset card (README.md, with Hugging Face metadata) and a manifest (export.json) that `toolalpaca train` reads. Corpora of any size are streamed.",
    )
    .requiredOption(
      '--data <path>',
      'corpus: a ToolAlpaca JSON file with Instances, a generation journal (OUT.json.log.jsonl), or a folder of ToolBench answer files',
    )
    .addOption(
      new Option('--format <layout>', 'output layout').choices([...SFT_LAYOUT_NAMES]).makeOptionMandatory(),
    )
    .requiredOption('--out <dir>', 'folder to write into')
    .option('--only-verified', 'keep only instances a verification stage passed (verification.passed)')
    .option('--no-dedupe', 'keep repeated (tool, instruction) pairs')
    .option(
      '--no-toolalpaca-filters',
      "keep what ToolAlpaca's dataset filters drop: instances with 0 steps, more than 5 steps, or only getDetails",
    )
    .option('--val-ratio <r>', 'share of tools held out for validation', '0.1')
    .option('--val-tools <names>', 'comma-separated tools to hold out instead of drawing them')
    .option('--seed <text>', 'seed of the validation-tool draw (default toolalpaca)')
    .option('--max-example-tokens <n>', 'token limit per example (see --truncate; default no limit)')
    .addOption(new Option('--max-tokens <n>').hideHelp())
    .addOption(
      new Option(
        '--truncate <policy>',
        'over --max-example-tokens: drop the example, or cut its token files from the right',
      )
        .choices(['drop', 'cut'])
        .default('drop'),
    )
    .option(
      '--template <name>',
      "chat template for token masks: 'default', a template name in tokenizer_config.json, or a .jinja file",
    )
    .option(
      '--tokenizer <dir>',
      'folder with tokenizer.json + tokenizer_config.json (for token masks and exact counts)',
    )
    .addOption(
      new Option('--prompt <layout>', 'prompt of the toolalpaca layout')
        .choices(['test_v1', 'train_v1'])
        .default('test_v1'),
    )
    .option(
      '--license <id>',
      "licence of the dataset card's metadata (a Hugging Face licence id; default apache-2.0 for ToolBench, other for generated corpora)",
    )
    .option('--json', 'print the manifest as JSON')
    .action(async (flags: ExportCommandOptions) => {
      const result = await runExport(exportOptionsFrom(flags));
      process.stdout.write(
        flags.json ? `${JSON.stringify(result.manifest, null, 2)}\n` : summaryLines(result),
      );
    });
}
