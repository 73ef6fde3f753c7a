/**
 * The functions a prompt lists, built from a tool's record (ToolAlpaca's NL documentation) and the tool
 * itself (parameter names and types for compact layouts).
 */
import { normalizeSchema, type JsonSchema } from '../../core/json-schema.js';
import { isRecord } from '../../core/json-text.js';
import type { Tool, ToolFunction } from '../../core/tool.js';
import type { ToolAlpacaRecord } from '../../core/toolalpaca-record.js';
import { recomputeDerivedFields, toolToRecord } from '../../formats/toolalpaca-json.js';
import type { PromptFunction, PromptParameter } from './layout.js';

const MAX_ENUM_VALUES = 8;
const MAX_SUMMARY_CHARS = 90;

function typeWord(schema: JsonSchema): string {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.filter((t) => t !== 'null').join('|') || 'string';
  if (schema.properties !== undefined) return 'object';
  if (schema.items !== undefined) return 'array';
  return 'string';
}

function parameterOf(name: string, schema: JsonSchema, required: boolean): PromptParameter {
  const normalized = normalizeSchema(schema);
  const values = Array.isArray(normalized.enum) ? normalized.enum.map((v) => String(v)) : undefined;
  return {
    name,
    type: typeWord(normalized),
    required,
    ...(values !== undefined && values.length > 0 && values.length <= MAX_ENUM_VALUES
      ? { enum: values }
      : {}),
  };
}

/** Parameters of a function as the assistant passes them: the properties of its input schema, in order. */
export function parametersOf(fn: ToolFunction): PromptParameter[] {
  const properties = isRecord(fn.inputSchema.properties) ? fn.inputSchema.properties : {};
  const required = Array.isArray(fn.inputSchema.required) ? (fn.inputSchema.required as unknown[]) : [];
  return Object.entries(properties)
    .filter((entry): entry is [string, JsonSchema] => isRecord(entry[1]))
    .map(([name, schema]) => parameterOf(name, schema, required.includes(name)));
}

/** First sentence of a text, on one line, bounded. */
export function firstSentence(text: string, max = MAX_SUMMARY_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.!?](\s|$)/);
  const sentence = end >= 0 ? flat.slice(0, end + 1) : flat;
  return sentence.length > max ? `${sentence.slice(0, max - 1).trimEnd()}…` : sentence;
}

function descriptionsOf(record: ToolAlpacaRecord | undefined, tool: Tool): Record<string, string> {
  if (record?.Function_Description !== undefined) return record.Function_Description;
  if (record?.Documentation !== undefined && record.Documentation.trim() !== '') {
    try {
      return recomputeDerivedFields(record).Function_Description ?? {};
    } catch {
      // fall back to the tool
    }
  }
  return toolToRecord(tool).Function_Description ?? {};
}

/**
 * The tool's functions as prompts list them, in ToolAlpaca's order (its `Function_Projection`, else the
 * tool's). As ToolAlpaca does, the `components` description is appended to the last function's text.
 */
export function toolPromptFunctions(tool: Tool, record?: ToolAlpacaRecord): PromptFunction[] {
  // Every episode of a tool lists the same functions: computed once per tool object (and record).
  const cached = cache.get(tool);
  if (cached !== undefined && cached.record === record) return cached.functions;
  const functions = buildPromptFunctions(tool, record);
  cache.set(tool, { record, functions });
  return functions;
}

const cache = new WeakMap<Tool, { record: ToolAlpacaRecord | undefined; functions: PromptFunction[] }>();

function buildPromptFunctions(tool: Tool, record?: ToolAlpacaRecord): PromptFunction[] {
  const descriptions = descriptionsOf(record, tool);
  const byName = new Map(tool.functions.map((fn) => [fn.name, fn]));
  const order = record?.Function_Projection ? Object.keys(record.Function_Projection) : [];
  const names = order.filter((n) => byName.has(n));
  for (const fn of tool.functions) if (!names.includes(fn.name)) names.push(fn.name);
  const components = descriptions.components ?? '';
  return names.map((name, i) => {
    const fn = byName.get(name);
    let description = descriptions[name] ?? fn?.description ?? fn?.summary ?? '';
    // ToolAlpaca (get_agent.py, build_dataset.py) concatenates without a separator; kept for compatibility.
    if (i === names.length - 1) description += components;
    const summarySource = fn?.summary ?? fn?.description ?? (descriptions[name] ?? '').split('\n')[0] ?? '';
    return {
      name,
      description,
      summary: firstSentence(summarySource),
      parameters: fn ? parametersOf(fn) : [],
    };
  });
}
