/**
 * Reads module-level string constants out of Python source (`NAME = """..."""`), so that prompt texts
 * defined in another project's Python module are used at run time from the fetched file, never copied.
 *
 * Understood: assignments at column 0 whose value is one or more string literals (adjacent literals are
 * concatenated, parentheses and backslash line continuations allowed); `'`, `"`, `'''`, `"""` quotes;
 * `r`/`u` prefixes; Python's escape sequences. Other statements are skipped (strings inside them are
 * stepped over so that their contents never look like assignments). f-strings and bytes are not
 * constants and are skipped.
 */
import { InputError } from '../core/errors.js';

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

interface Literal {
  /** The string's value; undefined for a literal that is not a plain string (f-string, bytes). */
  value: string | undefined;
  end: number;
}

/** Position after the closing quote of the literal whose prefix starts at `pos`, with its value. */
function readLiteral(text: string, pos: number, label: string): Literal | undefined {
  const prefix = /[rRuUbBfF]{0,2}(?=['"])/y;
  prefix.lastIndex = pos;
  const match = prefix.exec(text);
  if (match === null) return undefined;
  const flags = match[0].toLowerCase();
  if (flags.length === 2 && !['rb', 'br', 'rf', 'fr'].includes(flags)) return undefined;
  let at = pos + match[0].length;
  const quoteChar = text[at] as string;
  const triple = text.startsWith(quoteChar.repeat(3), at);
  const quote = triple ? quoteChar.repeat(3) : quoteChar;
  at += quote.length;
  const raw = flags.includes('r');
  const plain = !flags.includes('b') && !flags.includes('f');
  let value = '';
  for (;;) {
    if (at >= text.length) throw new InputError(`${label}: unterminated string literal`);
    if (text.startsWith(quote, at)) return { value: plain ? value : undefined, end: at + quote.length };
    const char = text[at] as string;
    if (!triple && char === '\n') throw new InputError(`${label}: unterminated string literal`);
    if (char !== '\\') {
      value += char;
      at++;
      continue;
    }
    const next = text[at + 1] ?? '';
    if (raw) {
      // A raw string keeps the backslash; it still cannot end the string.
      value += char + next;
      at += 2;
      continue;
    }
    if (next === '\n') {
      at += 2;
      continue;
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      value += simple;
      at += 2;
      continue;
    }
    const octal = /[0-7]{1,3}/y;
    octal.lastIndex = at + 1;
    const oct = octal.exec(text);
    if (oct !== null) {
      value += String.fromCodePoint(Number.parseInt(oct[0], 8));
      at += 1 + oct[0].length;
      continue;
    }
    const width = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (width > 0) {
      const digits = text.slice(at + 2, at + 2 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits))
        throw new InputError(`${label}: bad \\${next} escape`);
      value += String.fromCodePoint(Number.parseInt(digits, 16));
      at += 2 + width;
      continue;
    }
    // Unknown escapes keep their backslash, as Python does.
    value += char;
    at++;
  }
}

/** Skips spaces, tabs, comments and (inside brackets, or after a backslash) line ends. */
function skipBlank(text: string, pos: number, newlines: boolean): number {
  let at = pos;
  for (;;) {
    const char = text[at];
    if (char === ' ' || char === '\t' || char === '\f') at++;
    else if (char === '\\' && text[at + 1] === '\n') at += 2;
    else if (char === '\\' && text.startsWith('\r\n', at + 1)) at += 3;
    else if (newlines && (char === '\n' || char === '\r')) at++;
    else if (newlines && char === '#') while (at < text.length && text[at] !== '\n') at++;
    else return at;
  }
}

/** The value of a string-only expression at `pos`, and where it ends; undefined when it is not one. */
function readStringExpression(text: string, pos: number, label: string): Literal | undefined {
  let at = pos;
  let depth = 0;
  let value = '';
  let count = 0;
  for (;;) {
    at = skipBlank(text, at, depth > 0);
    const char = text[at];
    if (char === '(') {
      if (count > 0) return undefined; // a call on a string, e.g. "...".format(...)
      depth++;
      at++;
      continue;
    }
    if (char === ')' && depth > 0) {
      depth--;
      at++;
      continue;
    }
    const literal = readLiteral(text, at, label);
    if (literal === undefined) break;
    if (literal.value === undefined) return undefined;
    value += literal.value;
    count++;
    at = literal.end;
  }
  if (count === 0 || depth !== 0) return undefined;
  at = skipBlank(text, at, false);
  const rest = text[at];
  if (rest !== undefined && rest !== '\n' && rest !== '\r' && rest !== '#' && rest !== ';') return undefined;
  return { value, end: at };
}

/** Every module-level `NAME = "string"` of `source`, by name (a later assignment wins, as in Python). */
export function pythonStringConstants(source: string, label = 'Python module'): Map<string, string> {
  const text = source.replace(/^\uFEFF/, '');
  const constants = new Map<string, string>();
  const assignment = /([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?!=)[ \t]*/y;
  let depth = 0;
  let pos = 0;
  let lineStart = true;
  while (pos < text.length) {
    if (lineStart && depth === 0) {
      assignment.lastIndex = pos;
      const match = assignment.exec(text);
      if (match !== null) {
        const expression = readStringExpression(text, pos + match[0].length, label);
        if (expression !== undefined && expression.value !== undefined) {
          constants.set(match[1] as string, expression.value);
          pos = expression.end;
          lineStart = false;
          continue;
        }
      }
    }
    const char = text[pos] as string;
    lineStart = false;
    if (char === '\n') {
      lineStart = true;
      pos++;
    } else if (char === '#') {
      while (pos < text.length && text[pos] !== '\n') pos++;
    } else if (char === '(' || char === '[' || char === '{') {
      depth++;
      pos++;
    } else if (char === ')' || char === ']' || char === '}') {
      depth = Math.max(0, depth - 1);
      pos++;
    } else if (char === '\\' && text[pos + 1] === '\n') {
      pos += 2;
    } else if (/[rRuUbBfF'"]/.test(char) && (pos === 0 || !/[A-Za-z0-9_]/.test(text[pos - 1] ?? ''))) {
      const literal = readLiteral(text, pos, label);
      pos = literal !== undefined ? literal.end : pos + 1;
    } else {
      pos++;
    }
  }
  return constants;
}

/** The named constant of `source`, or an InputError naming the module and the constant. */
export function requirePythonString(constants: Map<string, string>, name: string, label: string): string {
  const value = constants.get(name);
  if (value === undefined) throw new InputError(`${label}: no string constant ${name}`);
  return value;
}
