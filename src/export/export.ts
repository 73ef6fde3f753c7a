/**
 * `toolalpaca export`: corpus → filtered, split, laid-out training files (+ token masks, dataset card,
 * manifest). Each step is a function of its own file; this one only runs them in order and writes.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import type { ExportManifest, LengthStats, SftLayoutName, TokenRecord } from '../core/sft.js';
import { datasetCard } from './dataset-card.js';
import type { SftExample } from './example.js';
import { filterExamples, splitByTool } from './filters.js';
import { datasetInfoEntry } from './layout-llamafactory.js';
import type { ToolAlpacaPrompt } from './layout-toolalpaca.js';
import { getSftLayout, type SftLayout } from './layouts.js';
import { readCorpus } from './read-corpus.js';
import { estimateTokens, lengthStats } from './stats.js';
import { loadHfTokenizer, maskConversation, resolveChatTemplate, type HfTokenizer } from './token-masks.js';

export interface ExportOptions {
  /** Corpus: a ToolAlpaca JSON file or a folder (or file) of ToolBench answers. */
  data: string;
  format: SftLayoutName | string;
  out: string;
  onlyVerified?: boolean;
  dedupe?: boolean;
  validationRatio?: number;
  validationTools?: readonly string[];
  seed?: string;
  maxTokens?: number;
  /** What to do with examples over `maxTokens`: drop them (default) or cut their token files. */
  truncation?: 'drop' | 'cut';
  /** Chat template name (`default`, a named template, or a file) — needs `tokenizer`. */
  template?: string;
  /** Folder with tokenizer.json + tokenizer_config.json. */
  tokenizer?: string;
  /** Prompt of the toolalpaca layout. */
  prompt?: ToolAlpacaPrompt;
  /** Called with one-line warnings (examples dropped by the mask check). */
  onWarning?: (message: string) => void;
}

export interface ExportResult {
  dir: string;
  manifest: ExportManifest;
  /** Files written, relative to `dir`. */
  files: string[];
}

interface Prepared {
  example: SftExample;
  record: unknown;
  tokens?: TokenRecord;
  length: number;
}

function serialize(layout: SftLayout, records: readonly unknown[]): string {
  if (layout.fileFormat === 'json') return `${JSON.stringify(records, null, 2)}\n`;
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

function prepare(
  layout: SftLayout,
  example: SftExample,
  masks: { tok: HfTokenizer; template: string } | undefined,
  warn: (message: string) => void,
): Prepared | undefined {
  const record = layout.render(example);
  const checked = layout.schema.safeParse(record);
  if (!checked.success) {
    // A layout that writes records its own schema rejects is a bug, not bad input.
    throw new Error(
      `${layout.name} layout wrote an invalid record for ${example.id}: ${checked.error.issues[0]?.message}`,
    );
  }
  if (masks === undefined || layout.chatTurns === undefined) {
    return { example, record, length: estimateTokens(JSON.stringify(record)) };
  }
  let masked;
  try {
    masked = maskConversation(masks.tok, masks.template, layout.chatTurns(example));
  } catch (error) {
    warn(`${example.id}: dropped, ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  if (!masked.check.decodeMatches || !masked.check.spansExact) {
    warn(`${example.id}: dropped, mask check failed: ${masked.check.problems.join('; ')}`);
    return undefined;
  }
  return {
    example,
    record,
    length: masked.input_ids.length,
    tokens: {
      id: example.id,
      input_ids: masked.input_ids,
      attention_mask: masked.input_ids.map(() => 1 as const),
      labels: masked.labels,
      assistant_masks: masked.assistant_masks,
    },
  };
}

function cutTokens(tokens: TokenRecord, max: number): TokenRecord {
  return {
    id: tokens.id,
    input_ids: tokens.input_ids.slice(0, max),
    attention_mask: tokens.attention_mask.slice(0, max),
    labels: tokens.labels.slice(0, max),
    assistant_masks: tokens.assistant_masks.slice(0, max),
  };
}

export async function runExport(options: ExportOptions): Promise<ExportResult> {
  const layout = getSftLayout(options.format, options.prompt !== undefined ? { prompt: options.prompt } : {});
  if ((options.template === undefined) !== (options.tokenizer === undefined)) {
    throw new InputError('token masks need both --template and --tokenizer');
  }
  if (options.template !== undefined && layout.chatTurns === undefined) {
    throw new InputError(
      `token masks are written for the text layouts (toolalpaca, sharegpt, toolbench); the ${layout.name} layout holds native tool calls that the training engine tokenises with its own template`,
    );
  }
  if (options.maxTokens !== undefined && (!Number.isInteger(options.maxTokens) || options.maxTokens <= 0)) {
    throw new InputError(`--max-tokens must be a positive integer, got ${options.maxTokens}`);
  }
  const truncation = options.truncation ?? 'drop';
  const warn = options.onWarning ?? (() => undefined);
  const corpus = await readCorpus(options.data);
  let masks: { tok: HfTokenizer; template: string } | undefined;
  if (options.tokenizer !== undefined && options.template !== undefined) {
    const tok = await loadHfTokenizer(options.tokenizer);
    masks = { tok, template: await resolveChatTemplate(tok, options.template) };
  }

  const { kept, counts } = filterExamples(corpus.examples, {
    ...(options.onlyVerified !== undefined ? { onlyVerified: options.onlyVerified } : {}),
    ...(options.dedupe !== undefined ? { dedupe: options.dedupe } : {}),
  });
  const split = splitByTool(kept, {
    validationRatio: options.validationRatio ?? 0.1,
    ...(options.validationTools !== undefined ? { validationTools: options.validationTools } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });

  let maskFailures = 0;
  let droppedOverLimit = 0;
  const stats: Record<string, LengthStats> = {};
  const finish = (name: 'train' | 'validation', examples: readonly SftExample[]): Prepared[] => {
    const prepared: Prepared[] = [];
    for (const example of examples) {
      const p = prepare(layout, example, masks, warn);
      if (p === undefined) maskFailures++;
      else prepared.push(p);
    }
    stats[`${layout.name}/${name}`] = lengthStats(
      prepared.map((p) => p.length),
      options.maxTokens,
    );
    if (options.maxTokens === undefined) return prepared;
    const max = options.maxTokens;
    if (truncation === 'drop') {
      const within = prepared.filter((p) => p.length <= max);
      droppedOverLimit += prepared.length - within.length;
      return within;
    }
    return prepared.map((p) => (p.tokens && p.length > max ? { ...p, tokens: cutTokens(p.tokens, max) } : p));
  };
  const train = finish('train', split.train);
  const validation = finish('validation', split.validation);
  if (train.length === 0) {
    throw new InputError(
      `${options.data}: no training examples left (read ${counts.read}, failed ${counts.failed}, unverified ${counts.unverified}, duplicates ${counts.duplicates}, validation ${validation.length})`,
    );
  }

  const dir = resolve(options.out);
  await mkdir(dir, { recursive: true });
  const ext = layout.fileFormat;
  const files: ExportManifest['files'] = { train: `train.${ext}` };
  if (validation.length > 0) files.validation = `validation.${ext}`;
  const written: string[] = [];
  const write = async (name: string, text: string): Promise<void> => {
    await writeFileAtomic(join(dir, name), text);
    written.push(name);
  };
  await write(
    files.train,
    serialize(
      layout,
      train.map((p) => p.record),
    ),
  );
  if (files.validation)
    await write(
      files.validation,
      serialize(
        layout,
        validation.map((p) => p.record),
      ),
    );

  let tokens: ExportManifest['tokens'];
  if (masks !== undefined && options.template !== undefined) {
    tokens = {
      train: 'train.tokens.jsonl',
      template: options.template,
      tokenizer: resolve(options.tokenizer ?? ''),
    };
    await write(tokens.train, train.map((p) => JSON.stringify(p.tokens)).join('\n') + '\n');
    if (validation.length > 0) {
      tokens.validation = 'validation.tokens.jsonl';
      await write(tokens.validation, validation.map((p) => JSON.stringify(p.tokens)).join('\n') + '\n');
    }
  }
  let datasetInfo: string | undefined;
  if (layout.name === 'llamafactory') {
    datasetInfo = 'dataset_info.json';
    const info: Record<string, unknown> = { toolalpaca_train: datasetInfoEntry(files.train) };
    if (files.validation) info.toolalpaca_validation = datasetInfoEntry(files.validation);
    await write(datasetInfo, `${JSON.stringify(info, null, 2)}\n`);
  }

  const manifest: ExportManifest = {
    layout: layout.name,
    source: corpus.source,
    corpus: resolve(options.data),
    files,
    ...(tokens !== undefined ? { tokens } : {}),
    ...(datasetInfo !== undefined ? { datasetInfo } : {}),
    ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    tokenCounts: masks !== undefined ? 'tokenizer' : 'estimate',
    counts: {
      read: counts.read,
      failed: counts.failed,
      unverified: counts.unverified,
      duplicates: counts.duplicates,
      mixedSplit: split.mixed,
      maskCheckFailed: maskFailures,
      overLimitDropped: droppedOverLimit,
      train: train.length,
      validation: validation.length,
    },
    stats,
  };
  await write('export.json', `${JSON.stringify(manifest, null, 2)}\n`);
  await write(
    'README.md',
    datasetCard({
      manifest,
      train: train.map((p) => p.example),
      validation: validation.map((p) => p.example),
      validationTools: split.validationTools,
      truncation,
    }),
  );
  return { dir, manifest, files: written };
}
