/**
 * Python-compatible JSON and `str()` rendering, for byte-identical output with ToolAlpaca's Python code.
 *
 * Two things plain `JSON.parse`/`JSON.stringify` lose:
 * - key order: JS objects list integer-like keys ("200", "0") first, Python dicts keep insertion order;
 * - number spelling: Python keeps `1.0` a float (`str` → "1.0") and big integers exact.
 * `parsePythonJson` records both in side tables (WeakMaps keyed by the parsed containers), and
 * `pythonKeys`, `pythonJsonDumps` and `pythonStr` honour them. Objects from `JSON.parse` work too, with
 * JS key order and JS number precision.
 */
import { InputError } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';

/** Key order in the source text, kept only for objects whose `Object.keys` order differs from it. */
const keyOrders = new WeakMap<object, readonly string[]>();
/** Number literals whose Python spelling differs from the JS number's default one (e.g. `1.0`, 2^64). */
const numberLiterals = new WeakMap<object, Map<string, string>>();

/** Deepest array/object nesting `parsePythonJson` accepts (Python's own json.loads stops near 1,000). */
export const MAX_JSON_NESTING = 1000;

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sets `obj[key]` as an own enumerable property, even for "__proto__". */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/**
 * Records the order in which Python would list `obj`'s keys (insertion order). Needed only when some
 * keys are integer-like; harmless otherwise.
 */
export function recordPythonKeyOrder(obj: object, keys: readonly string[]): void {
  if (sameOrder(Object.keys(obj), keys)) keyOrders.delete(obj);
  else keyOrders.set(obj, [...keys]);
}

/** `obj`'s keys in Python dict order: source order when known, else `Object.keys` order. */
export function pythonKeys(obj: object): string[] {
  const recorded = keyOrders.get(obj);
  if (recorded !== undefined && sameOrder([...recorded].sort(), Object.keys(obj).sort()))
    return [...recorded];
  return Object.keys(obj);
}

// ---------------------------------------------------------------------------------------------------
// Numbers

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa = '0', expText = '0'] = value.toExponential().split('e');
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expSign = exp < 0 ? '-' : '+';
    return `${sign}${head}e${expSign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const point = exp + 1; // digits before the decimal point
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** How Python would print a JSON number that JS holds as `value` (integers as ints, others as floats). */
function defaultNumberText(value: number): string {
  if (Number.isInteger(value)) return BigInt(value).toString();
  return pythonFloatRepr(value);
}

/** How Python prints the number parsed from JSON literal `raw` (int syntax → int, else float). */
function literalNumberText(raw: string): string {
  if (/^-?\d+$/.test(raw)) return BigInt(raw).toString();
  return pythonFloatRepr(Number(raw));
}

/** Python's `str()` of the number stored at `container[key]`, using the source literal when recorded. */
function numberTextAt(container: object | undefined, key: string | undefined, value: number): string {
  if (container !== undefined && key !== undefined) {
    const raw = numberLiterals.get(container)?.get(key);
    if (raw !== undefined) return literalNumberText(raw);
  }
  return defaultNumberText(value);
}

// ---------------------------------------------------------------------------------------------------
// str() and repr()

const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}

/** Python's `repr(str)`. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code < 0x7f) out += char;
    else if (char !== ' ' && NOT_PRINTABLE.test(char)) {
      if (code <= 0xff) out += `\\x${hex(code, 2)}`;
      else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
      else out += `\\U${hex(code, 8)}`;
    } else out += char;
  }
  return out + quote;
}

function reprAt(
  container: object | undefined,
  key: string | undefined,
  value: unknown,
  depth: number,
): string {
  if (typeof value === 'string') return pythonStringRepr(value);
  return strAt(container, key, value, depth);
}

function strAt(
  container: object | undefined,
  key: string | undefined,
  value: unknown,
  depth: number,
): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberTextAt(container, key, value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  if (depth > MAX_JSON_NESTING) return '...';
  if (Array.isArray(value)) {
    return `[${value.map((item, index) => reprAt(value, String(index), item, depth + 1)).join(', ')}]`;
  }
  if (isRecord(value)) {
    const parts = pythonKeys(value).map(
      (k) => `${pythonStringRepr(k)}: ${reprAt(value, k, value[k], depth + 1)}`,
    );
    return `{${parts.join(', ')}}`;
  }
  return String(value);
}

/**
 * Python's `str(value)` for a JSON value: strings as is, `True`/`False`/`None`, ints and floats as
 * Python prints them, lists and dicts in repr form (`['a', 1]`).
 */
export function pythonStr(value: unknown): string {
  return strAt(undefined, undefined, value, 0);
}

/** `str(container[key])`, exact for numbers parsed by `parsePythonJson` (`1.0` stays "1.0"). */
export function pythonStrAt(container: object, key: string): string {
  return strAt(container, key, (container as Record<string, unknown>)[key], 0);
}

/** Python's `repr(value)` for a JSON value. */
export function pythonRepr(value: unknown): string {
  return reprAt(undefined, undefined, value, 0);
}

// ---------------------------------------------------------------------------------------------------
// json.dumps

export interface PythonJsonDumpsOptions {
  /** Escape every character outside printable ASCII as \uXXXX (Python's default: true). */
  ensureAscii?: boolean;
  /** Pretty-print with this many spaces (Python's `indent=`); separators become "," and ": ". */
  indent?: number;
}

function dumpString(text: string, ensureAscii: boolean): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    const code = text.charCodeAt(i);
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char === '\b') out += '\\b';
    else if (char === '\f') out += '\\f';
    else if (code < 0x20 || (ensureAscii && code > 0x7e)) out += `\\u${hex(code, 4)}`;
    else out += char;
  }
  return `${out}"`;
}

function dumpNumber(container: object | undefined, key: string | undefined, value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return numberTextAt(container, key, value);
}

function isSkippable(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * JSON text exactly as Python's `json.dumps(value, ensure_ascii=..., indent=...)` writes it: ", " and
 * ": " separators (or "," plus newlines with `indent`), `\uXXXX` escapes (lowercase hex, surrogate
 * pairs) for non-ASCII when `ensureAscii` (the default), Python number spelling, Python key order.
 * `undefined` object members are left out, as `JSON.stringify` does; cycles throw a TypeError.
 */
export function pythonJsonDumps(value: unknown, options: PythonJsonDumpsOptions = {}): string {
  const ensureAscii = options.ensureAscii ?? true;
  const indent = options.indent;
  const itemSep = indent === undefined ? ', ' : ',';
  const onPath = new Set<object>();

  const dump = (
    container: object | undefined,
    key: string | undefined,
    item: unknown,
    level: number,
  ): string => {
    if (item === null || isSkippable(item)) return 'null';
    if (typeof item === 'string') return dumpString(item, ensureAscii);
    if (typeof item === 'number') return dumpNumber(container, key, item);
    if (typeof item === 'bigint') return item.toString();
    if (typeof item === 'boolean') return item ? 'true' : 'false';
    if (typeof item !== 'object') return dumpString(String(item), ensureAscii);
    const toJson = (item as { toJSON?: unknown }).toJSON;
    if (typeof toJson === 'function') return dump(undefined, undefined, toJson.call(item, key ?? ''), level);
    if (onPath.has(item)) throw new TypeError('pythonJsonDumps: circular reference detected');
    onPath.add(item);
    try {
      const open = indent === undefined ? '' : `\n${' '.repeat(indent * (level + 1))}`;
      const close = indent === undefined ? '' : `\n${' '.repeat(indent * level)}`;
      if (Array.isArray(item)) {
        if (item.length === 0) return '[]';
        const parts = item.map((element, index) => dump(item, String(index), element, level + 1));
        return `[${open}${parts.join(itemSep + open)}${close}]`;
      }
      const record = item as Record<string, unknown>;
      const keys = pythonKeys(record).filter((k) => !isSkippable(record[k]));
      if (keys.length === 0) return '{}';
      const parts = keys.map(
        (k) => `${dumpString(k, ensureAscii)}: ${dump(record, k, record[k], level + 1)}`,
      );
      return `{${open}${parts.join(itemSep + open)}${close}}`;
    } finally {
      onPath.delete(item);
    }
  };
  return dump(undefined, undefined, value, 0);
}

// ---------------------------------------------------------------------------------------------------
// json.loads

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;

/** The one-character escapes of JSON strings and what they stand for (`\u` is read on its own). */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** The words Python's `json.loads` reads besides numbers and strings. */
const LITERAL_WORDS = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
] as const;

/** A recursive-descent reader over one text; `pos` is where it is, and errors name that character. */
class PythonJsonParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly label: string,
  ) {}

  parseDocument(): unknown {
    const { value } = this.parseValue(0);
    this.skipWs();
    if (this.pos < this.text.length) this.fail('extra data after the JSON value');
    return value;
  }

  private fail(what: string): never {
    throw new InputError(`${this.label}: ${what} at character ${this.pos}`);
  }

  private skipWs(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  private parseString(): string {
    const { text } = this;
    this.pos++; // opening quote
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail('unterminated string');
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += text.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('invalid control character in string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += text.slice(start, this.pos) + this.parseEscape();
      start = this.pos;
    }
  }

  /** The character of the escape at `pos` (a backslash), moving past it. */
  private parseEscape(): string {
    const esc = this.text[this.pos + 1];
    this.pos += 2;
    if (esc !== undefined && Object.hasOwn(SIMPLE_ESCAPES, esc)) return SIMPLE_ESCAPES[esc] as string;
    if (esc === 'u') {
      const digits = this.text.slice(this.pos, this.pos + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape');
      this.pos += 4;
      return String.fromCharCode(parseInt(digits, 16));
    }
    this.pos -= 2; // the error names the backslash
    return this.fail('invalid escape');
  }

  private parseValue(depth: number): { value: unknown; raw?: string } {
    const { text } = this;
    this.skipWs();
    if (this.pos >= text.length) this.fail('unexpected end of input');
    const c = text[this.pos];
    if (c === '{' || c === '[') {
      if (depth >= MAX_JSON_NESTING) this.fail(`nesting deeper than ${MAX_JSON_NESTING}`);
      return { value: c === '{' ? this.parseObject(depth + 1) : this.parseArray(depth + 1) };
    }
    if (c === '"') return { value: this.parseString() };
    for (const [word, value] of LITERAL_WORDS) {
      if (text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { value };
      }
    }
    NUMBER_RE.lastIndex = this.pos;
    const match = NUMBER_RE.exec(text);
    if (match === null) return this.fail('unexpected character');
    this.pos += match[0].length;
    return { value: Number(match[0]), raw: match[0] };
  }

  private parseArray(depth: number): unknown[] {
    const { text } = this;
    this.pos++;
    const out: unknown[] = [];
    this.skipWs();
    if (text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      const { value, raw } = this.parseValue(depth);
      noteNumber(out, String(out.length), raw, value);
      out.push(value);
      this.skipWs();
      if (text[this.pos] === ',') this.pos++;
      else if (text[this.pos] === ']') {
        this.pos++;
        return out;
      } else this.fail("expected ',' or ']'");
    }
  }

  private parseObject(depth: number): Record<string, unknown> {
    const { text } = this;
    this.pos++;
    const out: Record<string, unknown> = {};
    const order: string[] = [];
    this.skipWs();
    if (text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (text[this.pos] !== '"') this.fail('expected a property name in double quotes');
      const key = this.parseString();
      this.skipWs();
      if (text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      const { value, raw } = this.parseValue(depth);
      if (!Object.hasOwn(out, key)) order.push(key);
      else numberLiterals.get(out)?.delete(key);
      setOwn(out, key, value);
      noteNumber(out, key, raw, value);
      this.skipWs();
      if (text[this.pos] === ',') this.pos++;
      else if (text[this.pos] === '}') {
        this.pos++;
        if (!sameOrder(Object.keys(out), order)) keyOrders.set(out, order);
        return out;
      } else this.fail("expected ',' or '}'");
    }
  }
}

/** Remembers a number's spelling when Python would not write it back the same way. */
function noteNumber(container: object, key: string, raw: string | undefined, value: unknown): void {
  if (raw === undefined || typeof value !== 'number') return;
  if (literalNumberText(raw) === defaultNumberText(value)) return;
  let table = numberLiterals.get(container);
  if (table === undefined) {
    table = new Map();
    numberLiterals.set(container, table);
  }
  table.set(key, raw);
}

/**
 * Parses JSON as Python's `json.loads` does (also `NaN`, `Infinity`, `-Infinity`; duplicate keys keep
 * the first position and the last value), into plain JS values, remembering key order and number
 * spelling for `pythonKeys`, `pythonStr*` and `pythonJsonDumps`. Throws an InputError (prefixed by
 * `label`) on malformed text or nesting deeper than MAX_JSON_NESTING.
 */
export function parsePythonJson(text: string, label = 'JSON'): unknown {
  return new PythonJsonParser(text, label).parseDocument();
}
