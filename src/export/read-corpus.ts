/**
 * A corpus of any kind, detected from its content, as a stream of SftExamples: ToolAlpaca JSON (read
 * incrementally), a generation journal (`OUT.json.log.jsonl`), or ToolBench answer files (a folder or one
 * file). The stream can be read again (an export reads it twice: once to draw the split, once to write),
 * and yields the same examples in the same order each time.
 */
import { open, stat } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import {
  corpusFileKind,
  journalSummary,
  readJournalStream,
  readToolAlpacaRecordsStream,
  readToolAlpacaStream,
  type CorpusItem,
} from '../formats/corpus-stream.js';
import { loadGenerationTools } from '../pipeline/generate.js';
import type { SftExample } from './example.js';
import { exampleOfInstance, RecordFunctions } from './read-toolalpaca.js';
import { looksLikeToolBenchAnswer, streamToolBenchAnswers, toolBenchAnswerFiles } from './read-toolbench.js';

export type CorpusKind = 'toolalpaca-json' | 'journal' | 'toolbench';

export interface CorpusReader {
  source: 'toolalpaca' | 'toolbench';
  kind: CorpusKind;
  /**
   * The examples, in corpus order. Without `functions`, ToolAlpaca examples come without their function
   * lists (cheaper: enough to filter and split).
   */
  examples(options?: { functions?: boolean }): AsyncGenerator<SftExample>;
}

/** Answer files are small; a `{`-started file larger than this is read as one ToolAlpaca record. */
const ANSWER_FILE_LIMIT = 64 * 2 ** 20;

async function isToolBenchAnswerFile(path: string, size: number): Promise<boolean> {
  if (size > ANSWER_FILE_LIMIT) return false;
  const handle = await open(path, 'r');
  let text: string;
  try {
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  if (
    !text
      .replace(/^\uFEFF/, '')
      .trimStart()
      .startsWith('{')
  )
    return false;
  try {
    return looksLikeToolBenchAnswer(JSON.parse(text.replace(/^\uFEFF/, '')));
  } catch {
    return false; // the ToolAlpaca reader reports where the JSON breaks
  }
}

/**
 * Records of the tools of a journal that carries none (written before tool notes existed): from the
 * run's ToolAlpaca output beside it (`OUT.json` for `OUT.json.log.jsonl`), read record by record without
 * its instances, else from the tools input its header names.
 */
async function journalTools(path: string): Promise<Map<string, ToolAlpacaRecord> | undefined> {
  const summary = await journalSummary(path);
  if (summary.hasToolNotes) return undefined;
  const tools = new Map<string, ToolAlpacaRecord>();
  const output = path.endsWith('.log.jsonl') ? path.slice(0, -'.log.jsonl'.length) : undefined;
  const isFile = (file: string): Promise<boolean> =>
    stat(file)
      .then((s) => s.isFile())
      .catch(() => false);
  if (summary.kind === 'generate' && output !== undefined && (await isFile(output))) {
    for await (const record of readToolAlpacaRecordsStream(output)) {
      if (!tools.has(record.Name)) tools.set(record.Name, record);
    }
    return tools;
  }
  const input = summary.context.tools;
  if (
    typeof input === 'string' &&
    (await stat(input)
      .then(() => true)
      .catch(() => false))
  ) {
    for (const { record } of (await loadGenerationTools(input)).tools) tools.set(record.Name, record);
  }
  return tools;
}

async function* examplesOfItems(
  items: AsyncIterable<CorpusItem>,
  label: string,
  withFunctions: boolean,
): AsyncGenerator<SftExample> {
  const functions = new RecordFunctions(label);
  for await (const item of items) {
    yield exampleOfInstance(
      item.tool,
      item.instance,
      item.index,
      withFunctions ? await functions.of(item.tool) : undefined,
    );
  }
}

/** Opens a corpus for streaming; bad or missing input is a one-line InputError. */
export async function openCorpus(path: string): Promise<CorpusReader> {
  const info = await stat(path).catch((error: unknown) => {
    throw new InputError(oneLine(`cannot read corpus ${path}: ${messageOf(error)}`), { cause: error });
  });
  if (info.isDirectory()) {
    const { root, files } = await toolBenchAnswerFiles(path);
    if (files.length === 0)
      throw new InputError(`${path}: no ToolBench answer files (*.json) in this folder`);
    return { source: 'toolbench', kind: 'toolbench', examples: () => streamToolBenchAnswers(root, files) };
  }
  const kind = await corpusFileKind(path);
  if (kind === 'journal') {
    const tools = await journalTools(path);
    return {
      source: 'toolalpaca',
      kind,
      examples: (options = {}) =>
        examplesOfItems(
          readJournalStream(path, tools !== undefined ? { tools } : {}),
          path,
          options.functions !== false,
        ),
    };
  }
  if (await isToolBenchAnswerFile(path, info.size)) {
    const { root, files } = await toolBenchAnswerFiles(path);
    return { source: 'toolbench', kind: 'toolbench', examples: () => streamToolBenchAnswers(root, files) };
  }
  return {
    source: 'toolalpaca',
    kind,
    examples: (options = {}) =>
      examplesOfItems(readToolAlpacaStream(path), path, options.functions !== false),
  };
}

export interface Corpus {
  source: 'toolalpaca' | 'toolbench';
  examples: SftExample[];
}

/** A whole corpus in memory: for small corpora (tests, benchmarks of one step). */
export async function readCorpus(path: string): Promise<Corpus> {
  const reader = await openCorpus(path);
  const examples: SftExample[] = [];
  for await (const example of reader.examples()) examples.push(example);
  return { source: reader.source, examples };
}
