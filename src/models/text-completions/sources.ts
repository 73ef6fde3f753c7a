/**
 * Texts a template takes from original files at run time (never copied into this project):
 * - FastChat's `fastchat/conversation.py`: a template's default system message (`system_message=` in
 *   newer versions, `system=` in older ones) in its `register_conv_template(Conversation(name=…))` call;
 * - ToolBench's `toolbench/utils.py`: the strings of `process_system_message` (the sentence after which
 *   the ReAct format note is inserted, the note, and the text that introduces the function list).
 */
import { readFile } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../../core/errors.js';
import { concatenatedAt, pythonStrings, stringAfter } from './python-source.js';

export interface ToolBenchSystemTexts {
  /** The sentence of the system message the format note follows. */
  anchor: string;
  /** What `anchor` is replaced with (the anchor and the ReAct format note). */
  replacement: string;
  /** The text between the system message and the function list. */
  functionsPrefix: string;
}

export async function readSource(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(oneLine(`cannot read ${what} ${path}: ${messageOf(error)}`), { cause: error });
  }
}

/** The default system message of FastChat template `name`, from conversation.py's source. */
export function fastChatSystemMessage(source: string, name: string, file: string): string {
  const strings = pythonStrings(source);
  const nameAt = strings.findIndex(
    (literal) =>
      literal.value === name &&
      /name\s*=\s*$/.test(source.slice(Math.max(0, literal.start - 40), literal.start)),
  );
  if (nameAt < 0) throw new InputError(`${file}: no FastChat template named "${name}"`);
  // The call's keyword arguments up to the next template registration.
  const from = strings[nameAt]!.end;
  const nextCall = source.indexOf('register_conv_template(', from);
  const window = source.slice(from, nextCall < 0 ? source.length : nextCall);
  const keyword = /\bsystem(?:_message)?\s*=\s*/.exec(window);
  if (keyword === null) return '';
  const index = stringAfter(strings, from + keyword.index + keyword[0].length);
  const literal = strings[index];
  if (
    literal === undefined ||
    source.slice(from + keyword.index + keyword[0].length, literal.start).trim() !== ''
  ) {
    throw new InputError(`${file}: the system message of "${name}" is not a plain string`);
  }
  return concatenatedAt(source, strings, index);
}

/** The texts of ToolBench's `process_system_message`, from toolbench/utils.py's source. */
export function toolBenchSystemTexts(source: string, file: string): ToolBenchSystemTexts {
  const start = source.search(/^def process_system_message\(/m);
  if (start < 0)
    throw new InputError(
      `${file}: no process_system_message function (is it ToolBench's toolbench/utils.py?)`,
    );
  // The function ends where a later line starts unindented.
  const bodyStart = source.indexOf('\n', start) + 1;
  const next = bodyStart === 0 ? -1 : source.slice(bodyStart).search(/^\S/m);
  const end = next < 0 ? source.length : bodyStart + next;
  const strings = pythonStrings(source).filter((literal) => literal.start >= start && literal.end <= end);
  const replaceAt = codeMatch(source, /system_message\s*=\s*system_message\.replace\(\s*/g, start, end);
  const appendAt = codeMatch(source, /system_message\s*=\s*system_message\s*\+\s*/g, start, end);
  const literalAt = (offset: number): number => strings.findIndex((literal) => literal.start >= offset);
  if (replaceAt === null || appendAt === null) {
    throw new InputError(
      `${file}: process_system_message does not insert the format note and append the functions as ToolBench's does`,
    );
  }
  const anchorIndex = literalAt(replaceAt.index + replaceAt[0].length);
  const anchor = strings[anchorIndex];
  const replacement = strings[anchorIndex + 1];
  const prefix = strings[literalAt(appendAt.index + appendAt[0].length)];
  if (anchor === undefined || replacement === undefined || prefix === undefined) {
    throw new InputError(`${file}: cannot read the strings of process_system_message`);
  }
  return { anchor: anchor.value, replacement: replacement.value, functionsPrefix: prefix.value };
}

/** The first match of `pattern` in source[start, end) that is code, not inside a comment. */
function codeMatch(source: string, pattern: RegExp, start: number, end: number): RegExpExecArray | null {
  pattern.lastIndex = start;
  for (let match = pattern.exec(source); match !== null && match.index < end; match = pattern.exec(source)) {
    const lineStart = source.lastIndexOf('\n', match.index) + 1;
    if (!source.slice(lineStart, match.index).includes('#')) return match;
  }
  return null;
}
