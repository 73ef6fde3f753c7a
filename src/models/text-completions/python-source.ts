/**
 * Reads string literals out of Python source, so that texts a template needs (a default system message,
 * the sentences ToolBench adds to ToolLLaMA's system message) are taken at run time from the original
 * file rather than copied into this project. Handles the literal forms those files use: '…', "…", triple
 * quotes, r/u/b prefixes, escapes, implicit concatenation of adjacent literals; comments are skipped.
 */

export interface PythonString {
  value: string;
  /** Offsets of the literal in the source (prefix and quotes included). */
  start: number;
  end: number;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\u0007',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function decode(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i]!;
    if (char !== '\\' || i === body.length - 1) {
      out += char;
      continue;
    }
    const next = body[i + 1]!;
    if (next === '\n') {
      i++; // a backslash at the end of a line joins the lines
      continue;
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
      i++;
      continue;
    }
    const hex = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (hex > 0 && /^[0-9a-fA-F]+$/.test(body.slice(i + 2, i + 2 + hex)) && body.length >= i + 2 + hex) {
      out += String.fromCodePoint(Number.parseInt(body.slice(i + 2, i + 2 + hex), 16));
      i += 1 + hex;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1));
    if (octal !== null) {
      out += String.fromCodePoint(Number.parseInt(octal[0], 8));
      i += octal[0].length;
      continue;
    }
    out += char; // an unknown escape keeps its backslash, as Python does
  }
  return out;
}

/** Every string literal of `source`, in order (comments skipped). */
export function pythonStrings(source: string): PythonString[] {
  const found: PythonString[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i]!;
    if (char === '#') {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
      continue;
    }
    const prefix = /^(?:[rRuUbBfF]{1,2})?(?='|")/.exec(source.slice(i, i + 3));
    const startsWord = i > 0 && /[A-Za-z0-9_]/.test(source[i - 1]!);
    if (prefix === null || (prefix[0] !== '' && startsWord)) {
      i++;
      continue;
    }
    const start = i;
    const raw = /r/i.test(prefix[0]);
    i += prefix[0].length;
    const quote = source.startsWith(source[i]!.repeat(3), i) ? source[i]!.repeat(3) : source[i]!;
    i += quote.length;
    let body = '';
    while (i < source.length && !source.startsWith(quote, i)) {
      if (source[i] === '\\' && i + 1 < source.length) {
        body += source.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (quote.length === 1 && source[i] === '\n') break; // unterminated one-line literal
      body += source[i];
      i++;
    }
    i += quote.length;
    found.push({ value: raw ? body : decode(body), start, end: Math.min(i, source.length) });
  }
  return found;
}

/**
 * The value of the literal starting at `strings[index]` joined with the literals right after it that are
 * separated only by whitespace (Python's implicit concatenation).
 */
export function concatenatedAt(source: string, strings: readonly PythonString[], index: number): string {
  let value = strings[index]?.value ?? '';
  for (let k = index + 1; k < strings.length; k++) {
    const gap = source.slice(strings[k - 1]!.end, strings[k]!.start);
    if (!/^\s*$/.test(gap)) break;
    value += strings[k]!.value;
  }
  return value;
}

/** The first literal starting at or after `offset`, as an index into `strings`; -1 when none. */
export function stringAfter(strings: readonly PythonString[], offset: number): number {
  return strings.findIndex((literal) => literal.start >= offset);
}
