/**
 * Values of the deterministic checker: reading standard-answer parameters (which are not always JSON:
 * ToolAlpaca's golden answers write `${animeId from searchAnime}` placeholders, sometimes unquoted or
 * half-quoted), normalising values, deciding which standard values the instruction mentions, and
 * comparing a solution's value with a standard one.
 */
import { parseActionArgs } from '../../agents/react-parser.js';

/** A `${…}` value of the standard answer: "some value", usually taken from an earlier return. */
export interface Placeholder {
  readonly placeholder: string;
  /** The function named after `from` (`${animeId from searchAnime}` → `searchAnime`), when there is one. */
  readonly from?: string;
}

export function isPlaceholder(value: unknown): value is Placeholder {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { placeholder?: unknown }).placeholder === 'string' &&
    Object.keys(value).every((key) => key === 'placeholder' || key === 'from')
  );
}

// Marks a placeholder inside JSON text until it is parsed; not something a golden answer contains.
const MARK = '\u0000PH:';

function makePlaceholder(text: string): Placeholder {
  const inner = text.trim();
  const from = /\bfrom\s+([A-Za-z_][\w.-]*)/.exec(inner)?.[1];
  return from === undefined ? { placeholder: inner } : { placeholder: inner, from };
}

/**
 * Replaces each `${…}` in `text` by a JSON string marker. Golden answers close placeholders
 * inconsistently (`"${x}"`, `${x}"`, `${x` before the next key), so a placeholder ends at its `}` or,
 * failing that, before the next `, "key"`; quotes right around it are absorbed.
 */
function markPlaceholders(text: string): { text: string; found: boolean } {
  let out = '';
  let found = false;
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    found = true;
    let before = text.slice(i, start);
    if (before.endsWith('"')) before = before.slice(0, -1);
    out += before;
    const close = text.indexOf('}', start + 2);
    const nextKey = /,\s*"/.exec(text.slice(start + 2));
    const nextKeyAt = nextKey === null ? -1 : start + 2 + nextKey.index;
    let end: number;
    let resume: number;
    if (close >= 0 && (nextKeyAt < 0 || close < nextKeyAt) && !text.slice(start + 2, close).includes('${')) {
      end = close;
      resume = close + 1;
    } else if (nextKeyAt >= 0) {
      end = nextKeyAt;
      resume = nextKeyAt;
    } else {
      end = close >= 0 ? close : text.length;
      resume = end + 1;
    }
    const inner = text.slice(start + 2, end).replace(/"$/, '');
    out += JSON.stringify(MARK + inner);
    if (text[resume] === '"') resume++;
    i = resume;
  }
  return { text: out, found };
}

function revive(value: unknown): unknown {
  if (typeof value === 'string') {
    if (value.startsWith(MARK)) return makePlaceholder(value.slice(MARK.length));
    // `"{start date}"`: a whole string in braces is a placeholder written without the `$`.
    if (/^\{[^{}"]*[A-Za-z][^{}"]*\}$/.test(value.trim()) && !value.includes(':')) {
      return makePlaceholder(value.trim().slice(1, -1));
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(revive);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = revive(item);
    return out;
  }
  return value;
}

export type ParsedParameters =
  { ok: true; params: Record<string, unknown> } | { ok: false; raw: string; error: string };

/** Parses the parameters of a standard-answer step, turning `${…}` into placeholders. */
export function parseStandardParameters(actionInput: string): ParsedParameters {
  const marked = markPlaceholders(actionInput);
  const parsed = parseActionArgs(marked.text);
  if (parsed.ok) return { ok: true, params: revive(parsed.args) as Record<string, unknown> };
  // Last resort for broken text (unbalanced braces...): read `"key": value` pairs one by one.
  const params = readPairs(marked.text);
  if (params !== undefined) return { ok: true, params: revive(params) as Record<string, unknown> };
  return { ok: false, raw: actionInput, error: parsed.error };
}

/** Parses the parameters of a solution step (the model's action input). */
export function parseSolutionParameters(actionInput: string): ParsedParameters {
  const parsed = parseActionArgs(actionInput);
  if (parsed.ok) return { ok: true, params: parsed.args };
  return { ok: false, raw: actionInput, error: parsed.error };
}

function readPairs(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const pair = /"([^"\\]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null|\[[^[\]]*\])/g;
  let found = false;
  for (const match of text.matchAll(pair)) {
    const key = match[1] as string;
    if (key in out) continue;
    try {
      out[key] = JSON.parse(match[2] as string);
      found = true;
    } catch {
      // skip a value that still is not JSON
    }
  }
  return found ? out : undefined;
}

/** Lower case, accents dropped, punctuation turned into spaces, whitespace collapsed. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The number a value stands for: numbers, and strings that are only a number ("3", " 2.5 "). */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

const NUMBER_WORDS: Readonly<Record<string, number>> = {
  zero: 0, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19, twenty: 20, thirty: 30, forty: 40, fifty: 50, hundred: 100,
  dozen: 12,
}; // prettier-ignore
// "one", "first", "a couple"... are left out: they are too often not quantities ("the other one").

/** What the instruction says, prepared for "is this value mentioned?" questions. */
export interface InstructionText {
  /** The instruction in lower case, accents dropped, whitespace collapsed (punctuation kept). */
  readonly literal: string;
  /** Every number written in the instruction, in digits or as a word. */
  readonly numbers: ReadonlySet<number>;
}

export function prepareInstruction(instruction: string): InstructionText {
  const normalized = normalizeText(instruction);
  const numbers = new Set<number>();
  for (const match of instruction.matchAll(/-?\d+(?:[.,]\d+)*/g)) {
    const text = match[0];
    numbers.add(Number(text.replace(/,/g, '')));
    for (const part of text.split(/[.,]/)) if (part !== '' && part !== '-') numbers.add(Number(part));
  }
  for (const word of normalized.split(' ')) {
    const n = NUMBER_WORDS[word];
    if (n !== undefined) numbers.add(n);
  }
  return { literal: literalText(instruction), numbers };
}

/** Lower case, accents dropped, whitespace collapsed; punctuation is kept. */
function literalText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Does `text` (already `literalText`) contain `value` as the user would write it: case-insensitive, as
 * whole words (an English plural `-s`/`-es` allowed), with the value's outer punctuation and quotes
 * ignored? Inner punctuation must match: `delete_content` is an API identifier, not the words
 * "delete content".
 */
function mentionsText(text: string, value: string): boolean {
  const needle = literalText(value).replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  if (needle === '') return false;
  let index = text.indexOf(needle);
  while (index >= 0) {
    const before = index === 0 ? '' : (text[index - 1] as string);
    const rest = text.slice(index + needle.length);
    const after = /^(es|s)?([^\p{L}\p{N}]|$)/u.test(rest);
    if (!/[\p{L}\p{N}]/u.test(before) && after) return true;
    index = text.indexOf(needle, index + 1);
  }
  return false;
}

// A standard value that is only a pronoun ("me", "us") stands for someone the instruction does not
// identify: the user says "me", but the API needs their user name, which the instruction does not give.
const PRONOUNS: ReadonlySet<string> = new Set([
  'i', 'me', 'myself', 'my', 'mine', 'we', 'us', 'our', 'ourselves', 'you', 'your', 'yourself',
]); // prettier-ignore

/** Is the value only a personal pronoun (`"me"`, `"Us"`)? */
export function isPronoun(value: unknown): boolean {
  return typeof value === 'string' && PRONOUNS.has(normalizeText(value));
}

/** Is there something to require at all? Empty strings, null and placeholders are "not required". */
function isUnspecified(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'string') return normalizeText(value) === '';
  if (isPlaceholder(value)) return true;
  if (Array.isArray(value)) return value.every(isUnspecified);
  if (typeof value === 'object') return Object.values(value).every(isUnspecified);
  return false;
}

/**
 * Does the instruction mention this standard value? Only mentioned values are "necessary" parameters:
 * ToolAlpaca's guideline lets parameters the instruction does not mention differ from the standard.
 * Numbers (and numeric strings) must appear as numbers (digits or words); strings must appear as whole
 * words after normalisation (a pronoun such as "me" never is: it names no one the API knows); lists
 * and objects are mentioned when any member is.
 */
export function isMentioned(value: unknown, instruction: InstructionText): boolean {
  if (isUnspecified(value)) return false;
  const n = numberOf(value);
  if (n !== undefined) return instruction.numbers.has(n);
  if (typeof value === 'string') return !isPronoun(value) && mentionsText(instruction.literal, value);
  if (typeof value === 'boolean') return false;
  if (Array.isArray(value)) return value.some((item) => isMentioned(item, instruction));
  if (typeof value === 'object' && value !== null) {
    return Object.values(value).some((item) => isMentioned(item, instruction));
  }
  return false;
}

/** Equality after normalisation: numbers by value ("3" = 3), strings by normalised text, booleans loosely. */
export function sameScalar(standard: unknown, solution: unknown): boolean {
  const a = numberOf(standard);
  const b = numberOf(solution);
  if (a !== undefined || b !== undefined) return a !== undefined && b !== undefined && a === b;
  if (typeof standard === 'boolean' || typeof solution === 'boolean') {
    return String(standard).toLowerCase() === String(solution).toLowerCase();
  }
  if (typeof standard === 'string' && typeof solution === 'string') {
    const a = normalizeText(standard);
    const b = normalizeText(solution);
    if (a === b) return true;
    if (standard.includes(',') && solution.includes(',')) return sameParts(standard, solution);
    return isCodeOf(solution, standard) || isCodeOf(standard, solution);
  }
  return false;
}

/** Comma-separated strings ("GOLD,BTC" and "BTC, gold") compare as sets of their parts. */
function sameParts(a: string, b: string): boolean {
  const parts = (text: string): Set<string> =>
    new Set(
      text
        .split(',')
        .map(normalizeText)
        .filter((part) => part !== ''),
    );
  const x = parts(a);
  const y = parts(b);
  return x.size === y.size && [...x].every((part) => y.has(part));
}

/**
 * Is `code` a 2-3 letter upper-case code of the name `name`: its initials ("NY" for "New York") or, for a
 * one-word name, its first letters ("CA" for "Canada")? Country, state and currency codes are common
 * stand-ins for names in API parameters.
 */
export function isCodeOf(code: string, name: string): boolean {
  const c = code.trim();
  if (!/^[A-Z]{2,3}$/.test(c)) return false;
  const words = normalizeText(name)
    .split(' ')
    .filter((word) => word !== '');
  if (words.length === 0 || words.join('').length <= c.length) return false;
  const lower = c.toLowerCase();
  if (words.length > 1) return words.map((word) => word[0]).join('') === lower;
  return (words[0] as string).startsWith(lower);
}

/** A solution value seen as a list: lists as they are, a comma-separated string as its parts. */
function asList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return value.split(/\s*,\s*/).filter((part) => part !== '');
  if (typeof value === 'number' || typeof value === 'boolean') return [value];
  return undefined;
}

/**
 * Why the solution's value of a parameter disagrees with the standard one, or undefined when it agrees.
 * Only the parts of the standard value that the instruction mentions are compared.
 */
export function valueMismatch(
  standard: unknown,
  solution: unknown,
  instruction: InstructionText,
): string | undefined {
  if (!isMentioned(standard, instruction)) return undefined;
  if (solution === undefined || solution === null) return 'missing';
  if (Array.isArray(standard)) {
    const list = asList(solution);
    if (list === undefined) return 'not a list';
    const wanted = standard.filter((item) => isMentioned(item, instruction));
    const missing = wanted.filter(
      (item) => !list.some((got) => valueMismatch(item, got, instruction) === undefined),
    );
    if (missing.length > 0) return `lacks ${missing.map((item) => JSON.stringify(item)).join(', ')}`;
    // Every member mentioned: the list is fully specified, so extra members are wrong too.
    if (wanted.length === standard.length && list.length > standard.length) {
      const extra = list.filter((got) => !standard.some((item) => sameValue(item, got)));
      if (extra.length > 0) return `has extra ${extra.map((item) => JSON.stringify(item)).join(', ')}`;
    }
    return undefined;
  }
  if (typeof standard === 'object' && standard !== null) {
    if (typeof solution !== 'object' || Array.isArray(solution)) return 'not an object';
    for (const [key, item] of Object.entries(standard)) {
      const why = valueMismatch(item, (solution as Record<string, unknown>)[key], instruction);
      if (why !== undefined) return `${key}: ${why}`;
    }
    return undefined;
  }
  if (Array.isArray(solution) && solution.length === 1)
    return valueMismatch(standard, solution[0], instruction);
  return sameScalar(standard, solution)
    ? undefined
    : `${JSON.stringify(solution)} ≠ ${JSON.stringify(standard)}`;
}

/** Deep normalised equality (used for extra list members). */
function sameValue(standard: unknown, solution: unknown): boolean {
  if (isPlaceholder(standard)) return true;
  if (Array.isArray(standard)) {
    return (
      Array.isArray(solution) &&
      standard.length === solution.length &&
      standard.every((item, i) => sameValue(item, solution[i]))
    );
  }
  if (typeof standard === 'object' && standard !== null) {
    if (typeof solution !== 'object' || solution === null || Array.isArray(solution)) return false;
    return Object.entries(standard).every(([key, item]) =>
      sameValue(item, (solution as Record<string, unknown>)[key]),
    );
  }
  return sameScalar(standard, solution);
}
