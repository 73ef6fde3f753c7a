/**
 * ToolAlpaca's natural-language function list ("1. Name: … / Description: … / Input: {…} / Output: …"):
 * parsing a model's reply into functions, checking them, and rendering the canonical layout.
 */
import { extractJson } from '../../core/json-text.js';

export interface FunctionSpec {
  name: string;
  description: string;
  /** Parameter name → "Required/Optional. Type. Description." */
  input: Record<string, string>;
  output: string;
}

export interface ParsedFunctions {
  functions: FunctionSpec[];
  /** Problems that must be repaired (one line each, naming the function). */
  errors: string[];
  /** Set when the reply was a JSON list of functions rather than the text layout. */
  fromJson: boolean;
}

const FIELD = /^\s*(?:[-*]\s*)?(?:\*\*)?(name|description|input|output)(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.*)$/i;
const NUMBERED = /^\s*(\d+)\s*[.)]\s*(.*)$/;

function stripFence(text: string): string {
  const fence = /```[a-zA-Z]*\s*\n([\s\S]*?)```/.exec(text);
  return fence?.[1] !== undefined ? fence[1] : text;
}

function inputFromUnknown(value: unknown): Record<string, string> | undefined {
  if (value === null || value === undefined || value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = typeof item === 'string' ? item : JSON.stringify(item);
  }
  return out;
}

function parseInput(text: string): Record<string, string> | undefined {
  const body = text.trim().replace(/^`+|`+$/g, '');
  if (body === '' || /^(none|n\/a|no input|\{\s*\})$/i.test(body)) return {};
  try {
    return inputFromUnknown(JSON.parse(body));
  } catch {
    return undefined;
  }
}

/** Functions from a JSON reply: an array (or `{functions: [...]}`) of {name, description, input, output}. */
function fromJsonValue(value: unknown): FunctionSpec[] | undefined {
  const list = Array.isArray(value)
    ? value
    : typeof value === 'object' &&
        value !== null &&
        Array.isArray((value as { functions?: unknown }).functions)
      ? (value as { functions: unknown[] }).functions
      : undefined;
  if (list === undefined || list.length === 0) return undefined;
  const out: FunctionSpec[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) return undefined;
    const record = Object.fromEntries(
      Object.entries(item as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]),
    );
    if (typeof record.name !== 'string') return undefined;
    out.push({
      name: record.name.trim(),
      description: typeof record.description === 'string' ? record.description.trim() : '',
      input: inputFromUnknown(record.input ?? record.parameters) ?? {},
      output: typeof record.output === 'string' ? record.output.trim() : '',
    });
  }
  return out;
}

/** Parses a Functions reply and lists what is wrong with it. */
export function parseFunctionsText(text: string): ParsedFunctions {
  const errors: string[] = [];
  const body = stripFence(text).trim();
  if (body === '') return { functions: [], errors: ['the reply is empty'], fromJson: false };

  if (body.startsWith('[') || body.startsWith('{')) {
    const json = extractJson(body);
    const functions = json !== undefined ? fromJsonValue(json.value) : undefined;
    if (functions !== undefined) {
      return { functions, errors: checkFunctions(functions), fromJson: true };
    }
  }

  const functions: FunctionSpec[] = [];
  const rawInputs: (string | undefined)[] = [];
  let current: { spec: FunctionSpec; last: keyof FunctionSpec | undefined } | undefined;
  for (const rawLine of body.split(/\r?\n/)) {
    let line = rawLine;
    const numbered = NUMBERED.exec(line);
    if (numbered !== null && FIELD.test(numbered[2] as string)) line = numbered[2] as string;
    const field = FIELD.exec(line);
    if (field !== null) {
      const key = (field[1] as string).toLowerCase() as keyof FunctionSpec;
      const value = (field[2] as string).trim().replace(/\*\*$/, '').trim();
      if (key === 'name') {
        current = {
          spec: {
            name: value.replace(/[`*]/g, '').replace(/\(\)$/, '').trim(),
            description: '',
            input: {},
            output: '',
          },
          last: 'name',
        };
        functions.push(current.spec);
        rawInputs.push(undefined);
      } else if (current !== undefined) {
        if (key === 'input') rawInputs[rawInputs.length - 1] = value;
        else current.spec[key] = value;
        current.last = key;
      }
      continue;
    }
    // A continuation line of a multi-line description, input or output.
    if (
      current !== undefined &&
      line.trim() !== '' &&
      current.last !== undefined &&
      current.last !== 'name'
    ) {
      if (current.last === 'input')
        rawInputs[rawInputs.length - 1] = `${rawInputs[rawInputs.length - 1] ?? ''} ${line.trim()}`;
      else current.spec[current.last] = `${current.spec[current.last] as string} ${line.trim()}`.trim();
    }
  }
  if (functions.length === 0) {
    return {
      functions,
      errors: ['no functions found: each function must start with "N. Name: functionName"'],
      fromJson: false,
    };
  }
  functions.forEach((fn, index) => {
    const raw = rawInputs[index];
    if (raw === undefined) {
      errors.push(`function ${fn.name}: no "Input:" line (write Input: {} when it takes none)`);
      return;
    }
    const input = parseInput(raw);
    if (input === undefined) errors.push(`function ${fn.name}: Input is not a JSON object on one line`);
    else fn.input = input;
  });
  return { functions, errors: [...errors, ...checkFunctions(functions)], fromJson: false };
}

/** Names, descriptions and outputs present; names unique identifiers. */
export function checkFunctions(functions: readonly FunctionSpec[]): string[] {
  const errors: string[] = [];
  if (functions.length === 0) errors.push('no functions');
  if (functions.length > 20) errors.push(`${functions.length} functions is too many (at most 20)`);
  const seen = new Set<string>();
  for (const [index, fn] of functions.entries()) {
    const label = fn.name === '' ? `function ${index + 1}` : `function ${fn.name}`;
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(fn.name)) {
      errors.push(`${label}: the name must be a lowerCamelCase identifier (letters and digits)`);
    }
    if (seen.has(fn.name)) errors.push(`${label}: the name is used twice`);
    seen.add(fn.name);
    if (fn.description.trim() === '') errors.push(`${label}: no Description`);
    if (fn.output.trim() === '') errors.push(`${label}: no Output`);
  }
  return errors;
}

/** The canonical ToolAlpaca layout of a function list. */
export function renderFunctionsText(functions: readonly FunctionSpec[]): string {
  return functions
    .map(
      (fn, index) =>
        `${index + 1}. Name: ${fn.name}\n   Description: ${fn.description}\n   Input: ${JSON.stringify(fn.input)}\n   Output: ${fn.output}`,
    )
    .join('\n\n');
}
