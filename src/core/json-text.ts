/**
 * JSON in a model's text: parsing without throwing, finding where a bracketed value ends, and lenient
 * extraction (whole text, a ``` fence, or the first balanced span). Shared by the structured-reply
 * layer, the simulated executor and the toolset checks. Also the one check for "a JSON object".
 */

/** True for a JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `JSON.parse` that returns undefined instead of throwing. */
export function tryParseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/**
 * Index of the bracket closing the `{` or `[` at `start`, skipping strings: -1 when the text ends
 * first (the value is cut off), -2 when a closing bracket does not match.
 */
export function closingBracketIndex(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') stack.push('}');
    else if (ch === '[') stack.push(']');
    else if (ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return -2;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/**
 * Parses JSON out of a model's text: the whole text, else the body of a ``` fence, else the first
 * balanced {...} or [...] span. Undefined when none parses.
 */
export function extractJson(text: string): { value: unknown } | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const whole = tryParseJson(trimmed);
  if (whole !== undefined) return whole;
  const fence = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(trimmed);
  if (fence?.[1] !== undefined) {
    const fenced = tryParseJson(fence[1].trim());
    if (fenced !== undefined) return fenced;
  }
  for (let start = 0; start < trimmed.length; start++) {
    const open = trimmed[start];
    if (open !== '{' && open !== '[') continue;
    const end = closingBracketIndex(trimmed, start);
    if (end < 0) continue;
    const span = tryParseJson(trimmed.slice(start, end + 1));
    if (span !== undefined) return span;
  }
  return undefined;
}
