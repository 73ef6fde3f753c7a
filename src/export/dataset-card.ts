/**
 * The dataset card (`README.md`) every export writes: Hugging Face YAML metadata (licence, task, size, and
 * `configs` naming each split's file, so that the Hub and `datasets.load_dataset` read the folder as is),
 * then source, counts, filters, tools, categories, lengths and licence notes. Paths are relative to the
 * export folder.
 */
import { stringify } from 'yaml';
import type { ExportManifest, LengthStats } from '../core/sft.js';

/** Per-tool, per-category and per-kind example counts of the written splits. */
export interface CardCounts {
  tools: Map<string, number>;
  categories: Map<string, number>;
  kinds: Map<string, number>;
  /** Instances with follow-up turns: read from the corpus, and written to the splits. */
  multiTurn?: { read: number; written: number };
}

export interface CardInput {
  manifest: ExportManifest;
  counts: CardCounts;
  validationTools: readonly string[];
  truncation: 'drop' | 'cut';
  /** Licence identifier (Hugging Face's list); default: apache-2.0 for ToolBench, `other` otherwise. */
  license?: string;
}

const LICENCE: Record<ExportManifest['source'], string> = {
  toolalpaca:
    "Generated with the ToolAlpaca method (arXiv 2306.05301; code and data Apache-2.0). The trajectories were written by the model that ran the generation: its provider's terms of use apply to training on its outputs. Tool documentation comes from the public-apis catalogue (MIT) and the APIs' own documentation; observations were simulated unless the corpus says otherwise.",
  toolbench:
    'From ToolBench (OpenBMB, Apache-2.0): answers generated with ChatGPT (OpenAI terms of use apply to training on them) over RapidAPI tools whose responses belong to their providers.',
};

/** Rows of the tools and categories tables; the rest is summed up in one line. */
const TABLE_ROWS = 50;

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string =>
    `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function sorted(counts: Map<string, number>): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** A table of at most TABLE_ROWS rows, with a line for the ones left out. */
function cappedTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  noun: string,
): string {
  const shown = table(header, rows.slice(0, TABLE_ROWS));
  if (rows.length <= TABLE_ROWS) return shown;
  return `${shown}\n\nand ${rows.length - TABLE_ROWS} more ${noun} (every count is in the data files).`;
}

function statsRow(name: string, s: LengthStats): (string | number)[] {
  return [name, s.count, s.p50, s.p95, s.max, s.overLimit, `${(s.shareOverLimit * 100).toFixed(1)}%`];
}

/** Hugging Face's size_categories bucket for `n` examples. */
export function sizeCategory(n: number): string {
  const buckets: [number, string][] = [
    [1e3, 'n<1K'],
    [1e4, '1K<n<10K'],
    [1e5, '10K<n<100K'],
    [1e6, '100K<n<1M'],
    [1e7, '1M<n<10M'],
    [1e8, '10M<n<100M'],
  ];
  for (const [limit, name] of buckets) if (n < limit) return name;
  return '100M<n<1B';
}

/** The `configs` entry of the card: the layout's files, and the token files as a second config. */
function configs(m: ExportManifest): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const splits = (train: string, validation: string | undefined): Record<string, string>[] => [
    { split: 'train', path: train },
    ...(validation !== undefined ? [{ split: 'validation', path: validation }] : []),
  ];
  // The toolalpaca layout's records are [segments, trainable] pairs, which `datasets` cannot read as rows.
  if (m.layout !== 'toolalpaca')
    out.push({ config_name: 'default', data_files: splits(m.files.train, m.files.validation) });
  if (m.tokens !== undefined) {
    out.push({
      config_name: m.layout === 'toolalpaca' ? 'default' : 'tokens',
      data_files: splits(m.tokens.train, m.tokens.validation),
    });
  }
  return out;
}

/** The card's YAML metadata block, as the Hub's dataset card specification names its keys. */
export function cardMetadata(m: ExportManifest, license?: string): Record<string, unknown> {
  const licence = license ?? (m.source === 'toolbench' ? 'apache-2.0' : 'other');
  const examples = (m.counts.train ?? 0) + (m.counts.validation ?? 0);
  const list = configs(m);
  return {
    pretty_name: `ToolAlpaca SFT export (${m.layout})`,
    license: licence,
    ...(licence === 'other'
      ? { license_name: 'generated-model-outputs', license_link: 'README.md#licence-notes' }
      : {}),
    language: ['en'],
    task_categories: ['text-generation'],
    tags: ['tool-use', 'function-calling', m.source === 'toolalpaca' ? 'synthetic' : 'toolbench'],
    size_categories: [sizeCategory(examples)],
    ...(list.length > 0 ? { configs: list } : {}),
  };
}

/** The Files section's list: the layout's files, the token files, LLaMA-Factory's entries, the manifest. */
function fileLines(m: ExportManifest): string[] {
  return [
    `- \`${m.files.train}\` (train)${m.files.validation ? `, \`${m.files.validation}\` (validation)` : ''}`,
    ...(m.tokens
      ? [
          `- \`${m.tokens.train}\`${m.tokens.validation ? `, \`${m.tokens.validation}\`` : ''}: \`input_ids\`, \`labels\` (-100 outside assistant turns), \`attention_mask\`, \`assistant_masks\`; chat template \`${m.tokens.template}\`, tokenizer \`${m.tokens.tokenizer}\``,
        ]
      : []),
    ...(m.datasetInfo
      ? [`- \`${m.datasetInfo}\`: the entries LLaMA-Factory reads (\`dataset_dir\` = this folder)`]
      : []),
    "- `export.json`: this export's manifest (read by `toolalpaca train`)",
  ];
}

/** The token limit per example, if one was set. */
function tokenLimit(m: ExportManifest): number | undefined {
  return m.maxExampleTokens ?? m.maxTokens;
}

/** What happened to examples over the token limit. */
function truncationPolicy(m: ExportManifest, truncation: CardInput['truncation']): string {
  const max = tokenLimit(m);
  if (max === undefined) return 'No length limit was set.';
  return truncation === 'drop'
    ? `Examples longer than ${max} tokens are dropped whole (a cut trajectory would teach a call without its result).`
    : `Examples longer than ${max} tokens are kept; their token files are cut at ${max} tokens from the right (what engines do at \`cutoff_len\`/\`max_length\`).`;
}

/** How `datasets` (or ToolAlpaca's train.py) reads the folder. */
function loadingLine(m: ExportManifest): string {
  return m.layout === 'toolalpaca'
    ? "This layout is the input of ToolAlpaca's own `train.py` (`[segments, trainable]` pairs); `datasets` cannot read it as rows" +
        (m.tokens ? ', so the `default` config is the token files.' : '.')
    : `\`datasets.load_dataset("PATH")\` reads the \`default\` config (the ${m.layout} files)${m.tokens ? ' and `tokens` (the token files)' : ''}.`;
}

/** The Filters section's text. */
function filtersText(m: ExportManifest, counts: CardCounts): string {
  const c = m.counts;
  const multiTurn = counts.multiTurn?.read ?? 0;
  // Said only when the corpus had multi-turn instances, so that a one-turn export's card is unchanged.
  const turns =
    multiTurn > 0
      ? ` Every turn of the ${multiTurn} multi-turn instances was checked on its own steps: a turn with more than five steps or only getDetails drops the instance (a follow-up may have no step, answered from what earlier calls returned).`
      : '';
  const toolalpaca =
    m.toolalpacaFilters === false
      ? "ToolAlpaca's dataset filters were off (`--no-toolalpaca-filters`)."
      : `ToolAlpaca's dataset filters (its training-data preparation) dropped ${c.zeroSteps ?? 0} instances with no step, ${c.overFiveSteps ?? 0} with more than five steps and ${c.onlyGetDetails ?? 0} whose only action was getDetails (ToolAlpaca corpora only).${turns}`;
  return `Only completed instances are kept. ${toolalpaca}${c.unverified ? ` ${c.unverified} were left out as not verified (${c.neverVerified ?? 0} never verified).` : ''} Repeated (tools, instruction) pairs were removed${c.duplicates ? ` (${c.duplicates})` : ''}.`;
}

/** The Instance kinds section (with its leading blank line), when the corpus labels kinds. */
function kindsSection(counts: CardCounts): string {
  const kinds = sorted(counts.kinds);
  const labelled = kinds.length > 1 || (kinds.length === 1 && kinds[0]?.[0] !== 'unlabelled');
  return labelled ? `\n## Instance kinds\n\n${table(['kind', 'examples'], kinds)}\n` : '';
}

/** The Token statistics section's body: the table, how multi-turn examples count, the truncation policy. */
function tokenStatistics(m: ExportManifest, input: CardInput): string {
  const stats = table(
    ['split', 'examples', 'p50', 'p95', 'max', 'over limit', 'share over limit'],
    Object.entries(m.stats).map(([k, s]) => statsRow(k, s)),
  );
  const written = input.counts.multiTurn?.written ?? 0;
  const turns =
    written > 0
      ? `\n\nAn example's length is its whole conversation: every turn of the ${written} multi-turn examples is counted.`
      : '';
  return `${stats}${turns}\n\nTruncation policy: ${truncationPolicy(m, input.truncation)}`;
}

export function datasetCard(input: CardInput): string {
  const { manifest: m } = input;
  const held = new Set(input.validationTools);
  const max = tokenLimit(m);
  return `---
${stringify(cardMetadata(m, input.license), { lineWidth: 0 }).trimEnd()}
---

# ToolAlpaca SFT export (${m.layout})

- Source: ${m.source} corpus \`${m.corpus}\` (relative to this folder)
- Layout: \`${m.layout}\`; loss on assistant turns only (training configs from \`toolalpaca train\` say so to the engine)
- Token counts: ${m.tokenCounts === 'tokenizer' ? 'exact (tokenizer)' : 'estimated (characters / 4)'}; limit: ${max === undefined ? 'none' : `${max} tokens`}
- Loading: ${loadingLine(m)}

## Files

${fileLines(m).join('\n')}

## Counts

${table(['what', 'examples'], Object.entries(m.counts))}

## Filters

${filtersText(m, input.counts)}

## Splits

Validation tools are unseen in training: an example goes to validation only if all its tools are held out, and examples mixing train and validation tools are dropped.

- Validation tools (${input.validationTools.length}): ${input.validationTools.length > 0 ? input.validationTools.map((t) => `\`${t}\``).join(', ') : 'none'}

## Tools

${cappedTable(
  ['tool', 'examples', 'split'],
  sorted(input.counts.tools).map(([tool, n]) => [tool, n, held.has(tool) ? 'validation' : 'train']),
  'tools',
)}

## Categories

${cappedTable(['category', 'examples'], sorted(input.counts.categories), 'categories')}
${kindsSection(input.counts)}
## Token statistics

${tokenStatistics(m, input)}

## Licence notes

${LICENCE[m.source]}
`;
}
