/** The dataset card (`README.md`) every export writes: source, counts, tools, categories, lengths, licences. */
import type { ExportManifest, LengthStats } from '../core/sft.js';
import type { SftExample } from './example.js';

export interface CardInput {
  manifest: ExportManifest;
  train: readonly SftExample[];
  validation: readonly SftExample[];
  validationTools: readonly string[];
  truncation: 'drop' | 'cut';
}

const LICENCE: Record<ExportManifest['source'], string> = {
  toolalpaca:
    "Generated with the ToolAlpaca method (arXiv 2306.05301; code and data Apache-2.0). The trajectories were written by the model that ran the generation: its provider's terms of use apply to training on its outputs. Tool documentation comes from the public-apis catalogue (MIT) and the APIs' own documentation; observations were simulated unless the corpus says otherwise.",
  toolbench:
    'From ToolBench (OpenBMB, Apache-2.0): answers generated with ChatGPT (OpenAI terms of use apply to training on them) over RapidAPI tools whose responses belong to their providers.',
};

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string =>
    `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function countBy(
  examples: readonly SftExample[],
  key: (e: SftExample) => readonly string[],
): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of examples) for (const k of key(e)) out.set(k, (out.get(k) ?? 0) + 1);
  return new Map([...out].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

function statsRow(name: string, s: LengthStats): (string | number)[] {
  return [name, s.count, s.p50, s.p95, s.max, s.overLimit, `${(s.shareOverLimit * 100).toFixed(1)}%`];
}

export function datasetCard(input: CardInput): string {
  const { manifest: m } = input;
  const held = new Set(input.validationTools);
  const toolCounts = countBy([...input.train, ...input.validation], (e) => e.tools);
  const categories = countBy([...input.train, ...input.validation], (e) => [e.category]);
  const files = [
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
  const limit = m.maxTokens === undefined ? 'none' : `${m.maxTokens} tokens`;
  const policy =
    m.maxTokens === undefined
      ? 'No length limit was set.'
      : input.truncation === 'drop'
        ? `Examples longer than ${m.maxTokens} tokens are dropped whole (a cut trajectory would teach a call without its result).`
        : `Examples longer than ${m.maxTokens} tokens are kept; their token files are cut at ${m.maxTokens} tokens from the right (what engines do at \`cutoff_len\`/\`max_length\`).`;
  return `# ToolAlpaca SFT export (${m.layout})

- Source: ${m.source} corpus \`${m.corpus}\`
- Layout: \`${m.layout}\`; loss on assistant turns only
- Token counts: ${m.tokenCounts === 'tokenizer' ? 'exact (tokenizer)' : 'estimated (characters / 4)'}; limit: ${limit}

## Files

${files.join('\n')}

## Counts

${table(['what', 'examples'], Object.entries(m.counts))}

## Splits

Validation tools are unseen in training: an example goes to validation only if all its tools are held out, and examples mixing train and validation tools are dropped.

- Validation tools (${input.validationTools.length}): ${input.validationTools.length > 0 ? input.validationTools.map((t) => `\`${t}\``).join(', ') : 'none'}

## Tools

${table(
  ['tool', 'examples', 'split'],
  [...toolCounts].map(([tool, n]) => [tool, n, held.has(tool) ? 'validation' : 'train']),
)}

## Categories

${table(['category', 'examples'], [...categories])}

## Token statistics

${table(
  ['split', 'examples', 'p50', 'p95', 'max', 'over limit', 'share over limit'],
  Object.entries(m.stats).map(([k, s]) => statsRow(k, s)),
)}

Truncation policy: ${policy}

## Licence notes

${LICENCE[m.source]}
`;
}
