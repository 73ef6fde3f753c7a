/**
 * Parses one ReAct turn of the assistant: `Thought:` / `Action:` / `Action Input:` / `Final Answer:`, and
 * the test layouts' `ASSISTANT Action:` … `ASSISTANT Response:` forms.
 *
 * Tolerates what real models write: extra whitespace, markdown bold labels, code fences around the input,
 * single-quoted (Python-style) JSON, trailing commentary after the JSON (the first balanced JSON value is
 * taken), a missing `Thought:` label, an action name in backticks or quotes.
 *
 * When a reply holds both an action and a final answer, the final answer wins: that is ToolAlpaca's rule
 * (its parser checks for `Final Answer:` first). One exception: a marker that sits inside the action's
 * JSON input (e.g. `{"q": "Final Answer: x"}`) is part of the arguments, not a marker.
 *
 * Never throws.
 */
import { isRecord } from '../core/json-text.js';

export type ParsedTurn =
  | {
      kind: 'action';
      thought: string;
      action: string;
      /** The text after `Action Input:` as the model wrote it (up to an `Observation:` line), trimmed. */
      actionInput: string;
      /** The arguments when the input holds a JSON object (repaired if needed). */
      args?: Record<string, unknown>;
      /** Valid JSON text of `args`: the model's own text when it parsed as written, else re-serialised. */
      argsText?: string;
      /** Why `args` is missing (not JSON, not an object...). */
      parseError?: string;
    }
  | { kind: 'final'; thought: string; answer: string }
  | { kind: 'invalid'; reason: string };

// Markers are case-sensitive on their first letters as ToolAlpaca's are (so "the final answer is" in a
// thought is not a marker). `ASSISTANT ` prefixes (test_v1) are optional; labels may be wrapped in `**`.
const PREFIX = String.raw`(?:ASSISTANT[ \t]*)?`;
const LABEL_END = String.raw`[ \t]*\d*[ \t]*\**[ \t]*:[ \t]*\**`;
const FINAL_RE = new RegExp(
  String.raw`\**${PREFIX}(?:[Ff]inal[ \t]*[Aa]nswer|(?<=ASSISTANT[ \t]*)Response)${LABEL_END}`,
  'g',
);
const ACTION_LINE_RE = new RegExp(String.raw`(^|\n)[ \t>*#-]*${PREFIX}[Aa]ction${LABEL_END}([^\n]*)`, 'g');
// Fallback for an `Action:` glued to the thought ("...search.Action: x").
const ACTION_ANY_RE = new RegExp(String.raw`()\b${PREFIX}[Aa]ction${LABEL_END}([^\n]*)`, 'g');
const INPUT_RE = new RegExp(String.raw`[ \t>*#-]*${PREFIX}[Aa]ction[ \t]*\d*[ \t]*[Ii]nput${LABEL_END}`);
const OBSERVATION_RE = new RegExp(String.raw`\n[ \t]*${PREFIX}[Oo]bservation[ \t]*\d*[ \t]*:`);
const THOUGHT_LABEL_RE = new RegExp(String.raw`^[ \t\n>*#-]*${PREFIX}[Tt]hought${LABEL_END}`);

/** `text` without a leading `Thought:` label (also `ASSISTANT Thought:`), trimmed. */
export function stripThoughtLabel(text: string): string {
  return text.replace(THOUGHT_LABEL_RE, '').trim();
}

/** The action name without decoration: backticks, quotes, brackets, `()`, trailing punctuation. */
export function cleanActionName(raw: string): string {
  let name = raw.trim();
  for (let i = 0; i < 3; i++) {
    name = name.replace(/^[\s`'"*[(<]+/, '').replace(/[\s`'"*\])(>.,;:]+$/, '');
  }
  return name;
}

interface ActionMatch {
  /** Start of the `Action:` line in the text. */
  start: number;
  name: string;
  /** Index just after `Action Input:`; -1 when there is no input label. */
  inputStart: number;
}

function findAction(text: string): ActionMatch | undefined {
  return findActionWith(ACTION_LINE_RE, text) ?? findActionWith(ACTION_ANY_RE, text);
}

function findActionWith(re: RegExp, text: string): ActionMatch | undefined {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index + (m[1] ?? '').length;
    const lineEnd = m.index + m[0].length;
    const sameLine = m[2] ?? '';
    // "Action: x Action Input: {...}" on one line.
    const inline = INPUT_RE.exec(sameLine);
    if (inline !== null && inline.index > 0) {
      return {
        start,
        name: cleanActionName(sameLine.slice(0, inline.index)),
        inputStart: lineEnd - sameLine.length + inline.index + inline[0].length,
      };
    }
    const rest = text.slice(lineEnd);
    const next = INPUT_RE.exec(rest);
    if (next !== null) {
      // Only blank lines may sit between the action line and its input label.
      const between = rest.slice(0, next.index);
      if (between.trim() === '') {
        return { start, name: cleanActionName(sameLine), inputStart: lineEnd + next.index + next[0].length };
      }
    }
    if (cleanActionName(sameLine) !== '') return { start, name: cleanActionName(sameLine), inputStart: -1 };
  }
  return undefined;
}

/** Span of the first balanced JSON object/array in `text` (quotes of both kinds respected). */
export function firstBalancedJson(text: string): { start: number; end: number } | undefined {
  const start = text.search(/[{[]/);
  if (start < 0) return undefined;
  const stack: string[] = [];
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '{' || c === '[') stack.push(c === '{' ? '}' : ']');
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return undefined;
      if (stack.length === 0) return { start, end: i + 1 };
    }
  }
  return undefined;
}

/**
 * Rewrites Python-ish JSON into JSON: single-quoted strings become double-quoted, `True`/`False`/`None`
 * become `true`/`false`/`null`, trailing commas are dropped. Double-quoted strings are left as they are.
 */
export function repairJson(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "'") {
      let s = '"';
      let j = i + 1;
      for (; j < text.length && text[j] !== "'"; j++) {
        const d = text[j] as string;
        if (d === '\\') {
          const e = text[j + 1] ?? '';
          s += e === "'" ? "'" : `\\${e}`;
          j++;
        } else if (d === '"') s += '\\"';
        else if (d === '\n') s += '\\n';
        else if (d === '\t') s += '\\t';
        else if (d === '\r') s += '\\r';
        else s += d;
      }
      out += `${s}"`;
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      const word = /^[A-Za-z_]+/.exec(text.slice(i))?.[0] ?? c;
      out += word === 'True' ? 'true' : word === 'False' ? 'false' : word === 'None' ? 'null' : word;
      i += word.length;
    } else if (c === ',') {
      const after = /^\s*[}\]]/.test(text.slice(i + 1));
      if (!after) out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

type ArgsResult =
  | { ok: true; args: Record<string, unknown>; argsText: string; span?: { start: number; end: number } }
  | { ok: false; error: string; span?: { start: number; end: number } };

/** The arguments object in an action input (first balanced JSON value; fences and commentary ignored). */
export function parseActionArgs(input: string): ArgsResult {
  const trimmed = input.trim();
  const bare = trimmed
    .replace(/^```[\w-]*\s*/, '')
    .replace(/```$/, '')
    .trim();
  if (bare === '' || /^(none|null|\{\s*\})$/i.test(bare)) {
    const span = firstBalancedJson(input);
    return { ok: true, args: {}, argsText: '{}', ...(span ? { span } : {}) };
  }
  if (bare.startsWith('"')) {
    // The object written as a JSON string ("{\"a\": 1}").
    try {
      const inner: unknown = JSON.parse(bare);
      if (typeof inner === 'string' && /^\s*[{[]/.test(inner)) {
        const parsed = parseActionArgs(inner);
        return parsed.ok ? { ok: true, args: parsed.args, argsText: JSON.stringify(parsed.args) } : parsed;
      }
    } catch {
      // not a JSON string: read on
    }
  }
  const span = firstBalancedJson(input);
  if (span === undefined) {
    return { ok: false, error: 'Action Input is not JSON: expected a JSON object such as {"name": "value"}' };
  }
  const slice = input.slice(span.start, span.end);
  let value: unknown;
  let argsText = slice;
  try {
    value = JSON.parse(slice);
  } catch {
    try {
      value = JSON.parse(repairJson(slice));
      argsText = JSON.stringify(value);
    } catch (error) {
      return { ok: false, error: `Action Input is not valid JSON (${(error as Error).message})`, span };
    }
  }
  if (Array.isArray(value)) {
    return { ok: false, error: "'Action Input' cannot be a list. Only call one function per action.", span };
  }
  if (!isRecord(value)) return { ok: false, error: 'Action Input must be a JSON object', span };
  return { ok: true, args: value, argsText, span };
}

/** Parses one assistant turn. `text` is what the model wrote after the prompt's last `Thought:`. */
export function parseReactOutput(text: unknown): ParsedTurn {
  if (typeof text !== 'string') return { kind: 'invalid', reason: 'the reply is not text' };
  let normalized = text.replace(/\r\n?/g, '\n');
  if (normalized.trim() === '') return { kind: 'invalid', reason: 'the reply is empty' };
  // What follows an `Observation:` line is the model imagining the tool's answer: a stop sequence would
  // have cut it, so it is ignored here too.
  const observation = OBSERVATION_RE.exec(normalized);
  if (observation !== null) normalized = normalized.slice(0, observation.index);

  const action = findAction(normalized);
  let actionResult: ParsedTurn | undefined;
  let jsonSpan: { start: number; end: number } | undefined;
  if (action !== undefined && action.inputStart >= 0 && action.name !== '') {
    const rest = normalized.slice(action.inputStart);
    const actionInput = rest.trim().replace(/^"(?=[{[])|(?<=[}\]])"$/g, '');
    const parsed = parseActionArgs(rest);
    if (parsed.span)
      jsonSpan = { start: action.inputStart + parsed.span.start, end: action.inputStart + parsed.span.end };
    const thought = stripThoughtLabel(normalized.slice(0, action.start));
    actionResult = parsed.ok
      ? {
          kind: 'action',
          thought,
          action: action.name,
          actionInput,
          args: parsed.args,
          argsText: parsed.argsText,
        }
      : { kind: 'action', thought, action: action.name, actionInput, parseError: parsed.error };
  }

  // Final-answer markers outside the action's JSON; ToolAlpaca takes the text after the last one.
  let finalAt: { index: number; length: number } | undefined;
  FINAL_RE.lastIndex = 0;
  for (let m = FINAL_RE.exec(normalized); m !== null; m = FINAL_RE.exec(normalized)) {
    const inJson = jsonSpan !== undefined && m.index >= jsonSpan.start && m.index < jsonSpan.end;
    if (!inJson) finalAt = { index: m.index, length: m[0].length };
  }
  if (finalAt !== undefined) {
    return {
      kind: 'final',
      thought: stripThoughtLabel(normalized.slice(0, finalAt.index)),
      answer: normalized.slice(finalAt.index + finalAt.length).trim(),
    };
  }
  if (actionResult !== undefined) return actionResult;
  if (action !== undefined && action.name !== '') {
    return { kind: 'invalid', reason: `found 'Action: ${action.name}' but no 'Action Input:'` };
  }
  return { kind: 'invalid', reason: "no 'Action:' with 'Action Input:' and no 'Final Answer:' in the reply" };
}
