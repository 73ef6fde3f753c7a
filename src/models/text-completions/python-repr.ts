/**
 * Python's `repr()` of JSON data (what `str(list_of_dicts)` prints), for templates that put Python
 * objects into the prompt as their trainers did (ToolBench appends `str(functions)` to ToolLLaMA's
 * system message). JSON numbers print as Python would print the parsed value: integers without a
 * fraction, other numbers as floats.
 */

function reprString(text: string): string {
  // Python picks single quotes unless the text has a single quote and no double quote.
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '\\') out += '\\\\';
    else if (char === quote) out += `\\${quote}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0x80 && code <= 0xa0) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code === 0xad) out += '\\xad';
    else if (
      /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(char) ||
      (/\p{Zs}/u.test(char) && char !== ' ')
    ) {
      // Not printable for Python's str.isprintable(): escaped by code point.
      out +=
        code <= 0xffff
          ? `\\u${code.toString(16).padStart(4, '0')}`
          : `\\U${code.toString(16).padStart(8, '0')}`;
    } else out += char;
  }
  return out + quote;
}

function reprNumber(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  // JSON cannot tell 1 from 1.0: whole numbers print as Python ints (what an integer literal parses to).
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  // Python's float repr: shortest round-trip digits, exponent form from 1e16 up and below 1e-4.
  const magnitude = Math.abs(value);
  if (magnitude >= 1e16 || magnitude < 1e-4) {
    const [mantissa = '', exponent = ''] = value.toExponential().split('e');
    const sign = exponent.startsWith('-') ? '-' : '+';
    return `${mantissa}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
  }
  const text = String(value);
  return text.includes('.') ? text : `${text}.0`;
}

/** `repr()` of a JSON value as Python prints the equivalent object. */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'string') return reprString(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([key, v]) => `${reprString(key)}: ${pythonRepr(v)}`).join(', ')}}`;
  }
  return reprString(String(value));
}
