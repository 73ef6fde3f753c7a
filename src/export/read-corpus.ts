/** Reads a corpus of either kind, detected from its content: ToolAlpaca JSON or ToolBench answer files. */
import { readFile, stat } from 'node:fs/promises';
import { InputError, messageOf } from '../core/errors.js';
import type { SftExample } from './example.js';
import { readToolAlpacaCorpus } from './read-toolalpaca.js';
import { looksLikeToolBenchAnswer, readToolBenchAnswers } from './read-toolbench.js';

export interface Corpus {
  source: 'toolalpaca' | 'toolbench';
  examples: SftExample[];
}

export async function readCorpus(path: string): Promise<Corpus> {
  const info = await stat(path).catch((error: unknown) => {
    throw new InputError(`cannot read corpus ${path}: ${messageOf(error)}`);
  });
  if (info.isDirectory()) {
    const examples = await readToolBenchAnswers(path);
    if (examples.length === 0)
      throw new InputError(`${path}: no ToolBench answer files (*.json) in this folder`);
    return { source: 'toolbench', examples };
  }
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InputError(`${path}: not JSON (${messageOf(error)})`);
  }
  if (looksLikeToolBenchAnswer(data))
    return { source: 'toolbench', examples: await readToolBenchAnswers(path) };
  return { source: 'toolalpaca', examples: await readToolAlpacaCorpus(path) };
}
