/**
 * `toolalpaca export`: corpus → filtered, split, laid-out training files (+ token masks, dataset card,
 * manifest). Each step is a function of its own file; this one runs them in order over a stream of
 * examples and writes as it goes, so memory stays flat in the number of instances:
 *
 * 1. when the validation tools must be drawn, a first pass filters the corpus and collects the tools of
 *    the kept examples (one bit per example remembers which were kept);
 * 2. a second pass lays out, masks and writes each kept example into temp files, which are renamed into
 *    place only when the whole export succeeded (a failed export leaves the folder as it was).
 */
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { openAtomicFileWriter, writeFileAtomic, type AtomicFileWriter } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import type { ExportManifest, LengthStats, SftLayoutName, TokenRecord } from '../core/sft.js';
import { datasetCard, type CardCounts } from './dataset-card.js';
import type { SftExample } from './example.js';
import { ExampleFilter, sideOf, splitNeedsTools, validationToolsOf, type FilterCounts } from './filters.js';
import { datasetInfoEntry } from './layout-llamafactory.js';
import type { ToolAlpacaPrompt } from './layout-toolalpaca.js';
import { getSftLayout, type SftLayout } from './layouts.js';
import { openCorpus, type CorpusReader } from './read-corpus.js';
import { estimateTokens, LengthColumn } from './stats.js';
import { loadHfTokenizer, maskConversation, resolveChatTemplate, type HfTokenizer } from './token-masks.js';

export interface ExportOptions {
  /** Corpus: ToolAlpaca JSON, a generation journal (`OUT.json.log.jsonl`), or ToolBench answers. */
  data: string;
  format: SftLayoutName | string;
  out: string;
  onlyVerified?: boolean;
  dedupe?: boolean;
  /** ToolAlpaca's dataset filters (0 steps, more than 5 steps, only getDetails); default true. */
  toolalpacaFilters?: boolean;
  validationRatio?: number;
  validationTools?: readonly string[];
  seed?: string;
  /** Token limit per example (see `truncation`). */
  maxExampleTokens?: number;
  /** What to do with examples over `maxExampleTokens`: drop them (default) or cut their token files. */
  truncation?: 'drop' | 'cut';
  /** Chat template name (`default`, a named template, or a file) — needs `tokenizer`. */
  template?: string;
  /** Folder with tokenizer.json + tokenizer_config.json. */
  tokenizer?: string;
  /** Prompt of the toolalpaca layout. */
  prompt?: ToolAlpacaPrompt;
  /** Licence identifier of the dataset card (Hugging Face's list; default from the source). */
  license?: string;
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
  /** The record as JSON text (serialised once: it is both written and measured). */
  text: string;
  tokens?: TokenRecord;
  length: number;
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
  const text = JSON.stringify(record);
  if (masks === undefined || layout.chatTurns === undefined) return { text, length: estimateTokens(text) };
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
    text,
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

/** One output file written record by record: a JSON array (one record a line) or JSONL. */
class RecordFile {
  count = 0;

  private constructor(
    readonly name: string,
    private readonly file: AtomicFileWriter,
    private readonly format: 'json' | 'jsonl',
  ) {}

  static async open(dir: string, name: string, format: 'json' | 'jsonl'): Promise<RecordFile> {
    return new RecordFile(name, await openAtomicFileWriter(join(dir, name)), format);
  }

  add(record: unknown): Promise<void> {
    return this.addText(JSON.stringify(record));
  }

  /** Adds a record already serialised (one line of JSON). */
  async addText(text: string): Promise<void> {
    if (this.format === 'jsonl') await this.file.write(`${text}\n`);
    else await this.file.write(`${this.count === 0 ? '[\n' : ',\n'}${text}`);
    this.count++;
  }

  /** Ends the file (still under its temp name). */
  async end(): Promise<void> {
    if (this.format === 'json') await this.file.write(this.count === 0 ? '[]\n' : '\n]\n');
  }

  commit(): Promise<void> {
    return this.file.commit();
  }

  discard(): Promise<void> {
    return this.file.discard();
  }
}

/** One bit per example of the corpus: which ones the first pass kept. */
class BitSet {
  private bits = new Uint8Array(1024);

  set(index: number): void {
    const byte = index >>> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[byte] = (this.bits[byte] as number) | (1 << (index & 7));
  }

  has(index: number): boolean {
    const byte = index >>> 3;
    return byte < this.bits.length && ((this.bits[byte] as number) & (1 << (index & 7))) !== 0;
  }
}

/** `path` as seen from `dir`, with forward slashes (written into manifests and cards). */
function relativeTo(dir: string, path: string): string {
  const rel = relative(dir, resolve(path));
  return (rel === '' ? '.' : rel).split(sep).join('/');
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function checkOptions(options: ExportOptions, layout: SftLayout): void {
  if ((options.template === undefined) !== (options.tokenizer === undefined)) {
    throw new InputError(
      'token masks need both a chat template (`template`) and a tokenizer folder (`tokenizer`)',
    );
  }
  if (options.template !== undefined && layout.chatTurns === undefined) {
    throw new InputError(
      `token masks are written for the text layouts (toolalpaca, sharegpt, toolbench); the ${layout.name} layout holds native tool calls that the training engine tokenises with its own template`,
    );
  }
  const max = options.maxExampleTokens;
  if (max !== undefined && (!Number.isInteger(max) || max <= 0)) {
    throw new InputError(`maxExampleTokens must be a positive integer, got ${max}`);
  }
}

type Masks = { tok: HfTokenizer; template: string };
type Side = 'train' | 'validation';

/** The tokenizer and chat template when token masks were asked for. */
async function openMasks(options: ExportOptions): Promise<Masks | undefined> {
  if (options.tokenizer === undefined || options.template === undefined) return undefined;
  const tok = await loadHfTokenizer(options.tokenizer);
  return { tok, template: await resolveChatTemplate(tok, options.template) };
}

function exampleFilterOf(options: ExportOptions): ExampleFilter {
  return new ExampleFilter({
    ...(options.onlyVerified !== undefined ? { onlyVerified: options.onlyVerified } : {}),
    ...(options.dedupe !== undefined ? { dedupe: options.dedupe } : {}),
    ...(options.toolalpacaFilters !== undefined ? { toolalpacaFilters: options.toolalpacaFilters } : {}),
  });
}

/**
 * Pass 1, only when validation tools are drawn from the corpus: filter, remember which examples were kept
 * (so pass 2 does not filter again: dedupe is stateful) and collect their tools.
 */
async function drawValidationTools(
  corpus: CorpusReader,
  filter: ExampleFilter,
  options: ExportOptions,
): Promise<{ kept: BitSet | undefined; validationTools: string[] }> {
  const splitOptions = {
    validationRatio: options.validationRatio ?? 0.1,
    ...(options.validationTools !== undefined ? { validationTools: options.validationTools } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  if (!splitNeedsTools(splitOptions))
    return { kept: undefined, validationTools: validationToolsOf([], splitOptions) };
  const kept = new BitSet();
  const keptTools = new Set<string>();
  let ordinal = 0;
  for await (const example of corpus.examples({ functions: false })) {
    if (filter.accept(example)) {
      kept.set(ordinal);
      for (const tool of example.tools) keptTools.add(tool);
    }
    ordinal++;
  }
  return { kept, validationTools: validationToolsOf(keptTools, splitOptions) };
}

/** The record files of both sides (and their token files with masks), under temporary names. */
interface ExportFiles {
  outputs: Record<Side, RecordFile>;
  tokenFiles: Record<Side, RecordFile> | undefined;
  all: RecordFile[];
}

async function openExportFiles(
  dir: string,
  layout: SftLayout,
  masks: Masks | undefined,
): Promise<ExportFiles> {
  const ext = layout.fileFormat;
  const outputs = {
    train: await RecordFile.open(dir, `train.${ext}`, ext),
    validation: await RecordFile.open(dir, `validation.${ext}`, ext),
  };
  const tokenFiles =
    masks !== undefined
      ? {
          train: await RecordFile.open(dir, 'train.tokens.jsonl', 'jsonl'),
          validation: await RecordFile.open(dir, 'validation.tokens.jsonl', 'jsonl'),
        }
      : undefined;
  const all = [
    outputs.train,
    outputs.validation,
    ...(tokenFiles ? [tokenFiles.train, tokenFiles.validation] : []),
  ];
  return { outputs, tokenFiles, all };
}

/** What pass 2 counted besides the filter's own counts. */
interface WriteCounts {
  lengths: Record<Side, LengthColumn>;
  card: CardCounts;
  mixed: number;
  maskFailures: number;
  droppedOverLimit: number;
}

/** Pass 2: lay out, mask and write each kept example to its side. */
async function writeExamples(
  corpus: CorpusReader,
  filter: ExampleFilter,
  kept: BitSet | undefined,
  held: Set<string>,
  files: ExportFiles,
  context: { layout: SftLayout; masks: Masks | undefined; options: ExportOptions },
): Promise<WriteCounts> {
  const { layout, masks, options } = context;
  const max = options.maxExampleTokens;
  const truncation = options.truncation ?? 'drop';
  const warn = options.onWarning ?? (() => undefined);
  // Instances with follow-up turns, read and written (the card says how their turns count).
  const multiTurn = { read: 0, written: 0 };
  const counts: WriteCounts = {
    lengths: { train: new LengthColumn(), validation: new LengthColumn() },
    card: { tools: new Map(), categories: new Map(), kinds: new Map(), multiTurn },
    mixed: 0,
    maskFailures: 0,
    droppedOverLimit: 0,
  };
  let ordinal = 0;
  for await (const example of corpus.examples()) {
    const turns = example.followUps !== undefined && example.followUps.length > 0;
    if (turns) multiTurn.read++;
    const keep = kept !== undefined ? kept.has(ordinal) : filter.accept(example);
    ordinal++;
    if (!keep) continue;
    const side = sideOf(example, held);
    if (side === 'mixed') {
      counts.mixed++;
      continue;
    }
    const prepared = prepare(layout, example, masks, warn);
    if (prepared === undefined) {
      counts.maskFailures++;
      continue;
    }
    counts.lengths[side].push(prepared.length);
    let tokens = prepared.tokens;
    if (max !== undefined && prepared.length > max) {
      if (truncation === 'drop') {
        counts.droppedOverLimit++;
        continue;
      }
      if (tokens !== undefined) tokens = cutTokens(tokens, max);
    }
    await files.outputs[side].addText(prepared.text);
    if (files.tokenFiles !== undefined && tokens !== undefined) await files.tokenFiles[side].add(tokens);
    for (const tool of example.tools) increment(counts.card.tools, tool);
    increment(counts.card.categories, example.category);
    increment(counts.card.kinds, example.kind ?? 'unlabelled');
    if (turns) multiTurn.written++;
  }
  return counts;
}

/** One line naming why nothing is left to train on. */
function noTrainingExamples(
  options: ExportOptions,
  c: FilterCounts,
  w: WriteCounts,
  validation: number,
): InputError {
  const neverVerified =
    options.onlyVerified === true && c.neverVerified === c.unverified && c.unverified > 0
      ? ' (no instance carries verification.passed)'
      : '';
  return new InputError(
    `${options.data}: no training examples left (read ${c.read}; dropped ${c.failed} failed, ${c.zeroSteps + c.overFiveSteps + c.onlyGetDetails} by ToolAlpaca's filters, ${c.unverified} unverified${neverVerified}, ${c.duplicates} duplicates, ${w.mixed} mixing train and validation tools, ${w.maskFailures} failing the mask check, ${w.droppedOverLimit} over the token limit; validation ${validation})`,
  );
}

/** Puts the written files in place (an empty validation side is discarded) and names them. */
async function commitExportFiles(
  dir: string,
  files: ExportFiles,
  options: ExportOptions,
): Promise<{ written: string[]; files: ExportManifest['files']; tokens: ExportManifest['tokens'] }> {
  const { outputs, tokenFiles } = files;
  const written: string[] = [];
  const names: ExportManifest['files'] = { train: outputs.train.name };
  await outputs.train.commit();
  written.push(outputs.train.name);
  if (outputs.validation.count > 0) {
    await outputs.validation.commit();
    names.validation = outputs.validation.name;
    written.push(outputs.validation.name);
  } else await outputs.validation.discard();
  let tokens: ExportManifest['tokens'];
  if (tokenFiles !== undefined && options.template !== undefined && options.tokenizer !== undefined) {
    tokens = {
      train: tokenFiles.train.name,
      template: options.template,
      tokenizer: relativeTo(dir, options.tokenizer),
    };
    await tokenFiles.train.commit();
    written.push(tokenFiles.train.name);
    if (tokenFiles.validation.count > 0) {
      await tokenFiles.validation.commit();
      tokens.validation = tokenFiles.validation.name;
      written.push(tokenFiles.validation.name);
    } else await tokenFiles.validation.discard();
  }
  return { written, files: names, tokens };
}

function manifestOf(
  dir: string,
  layout: SftLayout,
  source: ExportManifest['source'],
  options: ExportOptions,
  parts: {
    files: ExportManifest['files'];
    tokens: ExportManifest['tokens'];
    datasetInfo: string | undefined;
    filterCounts: FilterCounts;
    written: WriteCounts;
    sides: Record<Side, RecordFile>;
  },
): ExportManifest {
  const max = options.maxExampleTokens;
  const counts = parts.filterCounts;
  const stats: Record<string, LengthStats> = {
    [`${layout.name}/train`]: parts.written.lengths.train.stats(max),
    [`${layout.name}/validation`]: parts.written.lengths.validation.stats(max),
  };
  return {
    layout: layout.name,
    source,
    corpus: relativeTo(dir, options.data),
    files: parts.files,
    ...(parts.tokens !== undefined ? { tokens: parts.tokens } : {}),
    ...(parts.datasetInfo !== undefined ? { datasetInfo: parts.datasetInfo } : {}),
    ...(max !== undefined ? { maxExampleTokens: max } : {}),
    toolalpacaFilters: options.toolalpacaFilters !== false,
    tokenCounts: options.tokenizer !== undefined && options.template !== undefined ? 'tokenizer' : 'estimate',
    counts: {
      read: counts.read,
      failed: counts.failed,
      zeroSteps: counts.zeroSteps,
      overFiveSteps: counts.overFiveSteps,
      onlyGetDetails: counts.onlyGetDetails,
      unverified: counts.unverified,
      neverVerified: counts.neverVerified,
      duplicates: counts.duplicates,
      mixedSplit: parts.written.mixed,
      maskCheckFailed: parts.written.maskFailures,
      overLimitDropped: parts.written.droppedOverLimit,
      train: parts.sides.train.count,
      validation: parts.sides.validation.count,
    },
    stats,
  };
}

export async function runExport(options: ExportOptions): Promise<ExportResult> {
  const layout = getSftLayout(options.format, options.prompt !== undefined ? { prompt: options.prompt } : {});
  checkOptions(options, layout);
  const corpus = await openCorpus(options.data);
  const masks = await openMasks(options);
  const filter = exampleFilterOf(options);
  const { kept, validationTools } = await drawValidationTools(corpus, filter, options);

  const dir = resolve(options.out);
  await mkdir(dir, { recursive: true });
  const files = await openExportFiles(dir, layout, masks);
  let counts: WriteCounts;
  try {
    counts = await writeExamples(corpus, filter, kept, new Set(validationTools), files, {
      layout,
      masks,
      options,
    });
    if (files.outputs.train.count === 0) {
      throw noTrainingExamples(options, filter.counts, counts, files.outputs.validation.count);
    }
    for (const file of files.all) await file.end();
  } catch (error) {
    await Promise.all(files.all.map((file) => file.discard()));
    throw error;
  }

  // Everything is written: put the files in place, then the small ones that describe them.
  const committed = await commitExportFiles(dir, files, options);
  const { written } = committed;
  const write = async (name: string, text: string): Promise<void> => {
    await writeFileAtomic(join(dir, name), text);
    written.push(name);
  };
  let datasetInfo: string | undefined;
  if (layout.name === 'llamafactory') {
    datasetInfo = 'dataset_info.json';
    const info: Record<string, unknown> = { toolalpaca_train: datasetInfoEntry(committed.files.train) };
    if (committed.files.validation) info.toolalpaca_validation = datasetInfoEntry(committed.files.validation);
    await write(datasetInfo, `${JSON.stringify(info, null, 2)}\n`);
  }
  const manifest = manifestOf(dir, layout, corpus.source, options, {
    files: committed.files,
    tokens: committed.tokens,
    datasetInfo,
    filterCounts: filter.counts,
    written: counts,
    sides: files.outputs,
  });
  await write('export.json', `${JSON.stringify(manifest, null, 2)}\n`);
  await write(
    'README.md',
    datasetCard({
      manifest,
      counts: counts.card,
      validationTools,
      truncation: options.truncation ?? 'drop',
      ...(options.license !== undefined ? { license: options.license } : {}),
    }),
  );
  return { dir, manifest, files: written };
}
