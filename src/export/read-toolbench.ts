/**
 * ToolBench answer files (`answer/G*_answer/*_DFS_woFilter_w2.json`) as SftExamples. The conversation is
 * the longest of `answer_generation.train_messages` (each entry is a prefix of the winning path); an
 * assistant message with text and no call is the thought of the call that follows, as ToolBench's
 * preprocess_toolllama_data.py reads it. `Finish` ends the run: `give_answer` completes it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { InputError, messageOf } from '../core/errors.js';
import { FINISH_FUNCTION_NAME, SftAnswerFileSchema, type AnswerMessage } from '../core/toolbench.js';
import { toolOfFunction } from '../formats/toolbench.js';
import type { SftExample, SftFunction, SftStep } from './example.js';

function parseFinish(args: string): { returnType: string; finalAnswer: string } {
  try {
    const parsed = JSON.parse(args) as { return_type?: unknown; final_answer?: unknown };
    return {
      returnType: typeof parsed.return_type === 'string' ? parsed.return_type : '',
      finalAnswer: typeof parsed.final_answer === 'string' ? parsed.final_answer : '',
    };
  } catch {
    return { returnType: '', finalAnswer: '' };
  }
}

/** One answer file's example; `label` names it in errors and ids. */
export function exampleOfAnswer(data: unknown, label: string, group: string): SftExample {
  const parsed = SftAnswerFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new InputError(
      `${label}: not a ToolBench answer file (${parsed.error.issues[0]?.message ?? 'bad shape'})`,
    );
  }
  const gen = parsed.data.answer_generation;
  const verificationField = (data as { verification?: unknown }).verification;
  const verification: SftExample['verification'] =
    typeof verificationField !== 'object' || verificationField === null
      ? 'none'
      : (verificationField as { passed?: unknown }).passed === true
        ? 'passed'
        : 'failed';
  const conversations = gen.train_messages ?? [];
  const longest = conversations.reduce<AnswerMessage[]>((best, c) => (c.length > best.length ? c : best), []);
  const system = longest.find((m) => m.role === 'system')?.content ?? undefined;
  const steps: SftStep[] = [];
  let thought = '';
  let finalThought = '';
  let finish: { returnType: string; finalAnswer: string } | undefined;
  for (let i = 0; i < longest.length; i++) {
    const m = longest[i] as AnswerMessage;
    if (m.role !== 'assistant') continue;
    if (m.function_call === undefined) {
      thought = thought === '' ? (m.content ?? '') : `${thought}\n${m.content ?? ''}`;
      continue;
    }
    const call = m.function_call;
    // ChatGPT's function-calling replies may carry the thought in the same message.
    if (m.content) thought = thought === '' ? m.content : `${thought}\n${m.content}`;
    if (call.name === FINISH_FUNCTION_NAME) {
      finish = parseFinish(call.arguments);
      finalThought = thought;
      break;
    }
    const next = longest[i + 1];
    steps.push({
      thought: thought.trim(),
      action: call.name,
      actionInput: call.arguments,
      observation: next?.role === 'function' ? (next.content ?? '') : '',
    });
    thought = '';
  }
  const functions: SftFunction[] = gen.function
    .filter((fn) => fn.name !== FINISH_FUNCTION_NAME)
    .map((fn) => ({
      name: fn.name,
      description: fn.description ?? '',
      parameters: fn.parameters ?? { type: 'object', properties: {} },
    }));
  const tools = [...new Set(functions.map((fn) => toolOfFunction(fn.name)))];
  const finalAnswer = finish?.finalAnswer ?? '';
  const completed =
    gen.valid_data !== false &&
    longest.length > 0 &&
    finish?.returnType === 'give_answer' &&
    finalAnswer.trim() !== '';
  return {
    id: `toolbench/${group}/${basename(label, '.json')}`,
    source: 'toolbench',
    tools: tools.length > 0 ? tools : ['(none)'],
    category: group,
    toolDescriptions: {},
    instruction: gen.query,
    functions,
    steps,
    finalThought: finalThought.trim(),
    finalAnswer,
    completed,
    verified: verification === 'passed',
    verification,
    ...(system !== undefined ? { toolbenchSystem: system } : {}),
  };
}

async function jsonFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name, 'en'))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await jsonFilesUnder(path)));
    else if (entry.name.endsWith('.json')) out.push(path);
  }
  return out;
}

/** The answer files under `path` (a folder, searched recursively, in name order; or one file). */
export async function toolBenchAnswerFiles(path: string): Promise<{ root: string; files: string[] }> {
  const info = await stat(path).catch((error: unknown) => {
    throw new InputError(`cannot read ${path}: ${messageOf(error)}`);
  });
  return info.isDirectory()
    ? { root: path, files: await jsonFilesUnder(path) }
    : { root: dirname(path), files: [path] };
}

/** The example of each answer file, one file in memory at a time. */
export async function* streamToolBenchAnswers(
  root: string,
  files: readonly string[],
): AsyncGenerator<SftExample> {
  for (const file of files) {
    let data: unknown;
    try {
      data = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new InputError(`${file}: not JSON (${messageOf(error)})`);
    }
    const rel = relative(root, dirname(file));
    // The group is the folder the file sits in (G1_answer → G1), as ToolBench lays its answers out.
    const group = (rel === '' ? basename(dirname(file)) : (rel.split(/[\\/]/).pop() ?? rel)).replace(
      /_answer$/,
      '',
    );
    yield exampleOfAnswer(data, file, group);
  }
}

/** Every answer file under `path` (a folder, searched recursively, or one file). */
export async function readToolBenchAnswers(path: string): Promise<SftExample[]> {
  const { root, files } = await toolBenchAnswerFiles(path);
  const out: SftExample[] = [];
  for await (const example of streamToolBenchAnswers(root, files)) out.push(example);
  return out;
}

/** Is `data` (a parsed JSON file) a ToolBench answer file? */
export function looksLikeToolBenchAnswer(data: unknown): boolean {
  return typeof data === 'object' && data !== null && 'answer_generation' in data;
}
