/**
 * The diversity report of a toolset: tools per category, functions per tool, parameter types, HTTP
 * methods, and near-duplicate tools. ToolAlpaca's point is that toolset diversity drives generalisation,
 * so a build is judged by this report as much as by its size.
 *
 * Near-duplicates: a pair of tools scores the weighted mean of name similarity (word Dice), description
 * similarity (ROUGE-L over words) and function-name similarity (Jaccard over normalised names); a pair at
 * or above the threshold, or with the same normalised name, is flagged.
 */
import { httpBindingOf } from '../../core/http-binding.js';
import { isRecord } from '../../core/json-text.js';
import type { Tool } from '../../core/tool.js';
import type { ToolAlpacaRecord } from '../../core/toolalpaca-record.js';
import { instructionSimilarity, normalizeInstruction } from '../similarity.js';
import { pushCountBlock, sortedCounts } from './select.js';

export interface StatsTool {
  name: string;
  category?: string;
  description: string;
  /** Undefined when the tool's Documentation could not be read. */
  tool?: Tool;
  error?: string;
  /** Each instruction's kind (`unlabelled` for none: ToolAlpaca's instructions). */
  instructionKinds?: string[];
  /** Each instance's kind (`unlabelled` for none: ToolAlpaca's instances). */
  instanceKinds?: string[];
}

export interface Distribution {
  min: number;
  max: number;
  mean: number;
  median: number;
  /** value → number of tools with it. */
  histogram: Record<string, number>;
}

export interface NearDuplicate {
  a: string;
  b: string;
  score: number;
  nameSimilarity: number;
  descriptionSimilarity: number;
  functionSimilarity: number;
}

export interface ToolsetStats {
  tools: number;
  /** Tools whose Documentation could not be read (left out of the function figures). */
  unreadable: { name: string; error: string }[];
  categories: number;
  toolsPerCategory: Record<string, number>;
  functions: number;
  functionsPerTool: Distribution;
  parametersPerFunction: Distribution;
  /** JSON Schema type of every parameter and top-level request-body property → count. */
  parameterTypes: Record<string, number>;
  /** Where parameters go: query, path, header, cookie, body → count. */
  parameterLocations: Record<string, number>;
  methods: Record<string, number>;
  /** Distinct function names over all tools / functions (1 = no function name repeats). */
  functionNameDiversity: number;
  nearDuplicates: NearDuplicate[];
  threshold: number;
  /** Instructions per kind (`instructions --kinds`), when any tool records kinds. */
  instructionsPerKind?: Record<string, number>;
  /** Instances per kind, when any instance has a kind; `unlabelled`: ToolAlpaca's original instances. */
  instancesPerKind?: Record<string, number>;
}

export interface StatsOptions {
  /** Score at or above which a pair is a near-duplicate (default 0.6). */
  threshold?: number;
}

function increment(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

function distribution(values: readonly number[]): Distribution {
  const histogram: Record<string, number> = {};
  for (const value of [...values].sort((a, b) => a - b)) increment(histogram, String(value));
  if (values.length === 0) return { min: 0, max: 0, mean: 0, median: 0, histogram };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return {
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    mean: Math.round((values.reduce((s, v) => s + v, 0) / values.length) * 100) / 100,
    median,
    histogram,
  };
}

function schemaType(schema: Record<string, unknown>): string {
  const type = schema.type;
  if (typeof type === 'string') {
    if (type === 'array' && typeof schema.items === 'object' && schema.items !== null) {
      const inner = (schema.items as Record<string, unknown>).type;
      return typeof inner === 'string' ? `array<${inner}>` : 'array';
    }
    return type;
  }
  if (Array.isArray(type)) return type.filter((t) => t !== 'null').join('|') || 'null';
  if (Array.isArray(schema.enum)) return 'enum';
  if (schema.oneOf !== undefined || schema.anyOf !== undefined) return 'union';
  return 'unspecified';
}

/** Words of a name: camelCase and punctuation split, lowercased. */
function nameWords(name: string): string[] {
  return normalizeInstruction(name.replace(/([a-z0-9])([A-Z])/g, '$1 $2'))
    .split(' ')
    .filter((w) => w !== '' && w !== 'api');
}

function dice(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const x = new Set(a);
  const y = new Set(b);
  let shared = 0;
  for (const w of x) if (y.has(w)) shared++;
  return (2 * shared) / (x.size + y.size);
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Weights of name, description and function-name similarity in the pair score. */
const WEIGHTS = { name: 0.3, description: 0.3, functions: 0.4 };

export function nearDuplicatePairs(tools: readonly StatsTool[], threshold = 0.6): NearDuplicate[] {
  const prepared = tools.map((t) => ({
    name: t.name,
    words: nameWords(t.name),
    normal: nameWords(t.name).join(' '),
    description: t.description,
    functions: new Set((t.tool?.functions ?? []).map((f) => f.name.toLowerCase().replace(/[^a-z0-9]/g, ''))),
  }));
  const pairs: NearDuplicate[] = [];
  for (let i = 0; i < prepared.length; i++) {
    for (let j = i + 1; j < prepared.length; j++) {
      const a = prepared[i] as (typeof prepared)[number];
      const b = prepared[j] as (typeof prepared)[number];
      const nameSimilarity = dice(a.words, b.words);
      const functionSimilarity = jaccard(a.functions, b.functions);
      // Cheap filter first: ROUGE-L is quadratic in words, skip pairs that cannot reach the threshold.
      const bound =
        WEIGHTS.name * nameSimilarity + WEIGHTS.functions * functionSimilarity + WEIGHTS.description;
      const sameName = a.normal !== '' && a.normal === b.normal;
      if (bound < threshold && !sameName) continue;
      const descriptionSimilarity =
        a.description.trim() === '' || b.description.trim() === ''
          ? 0
          : instructionSimilarity(a.description, b.description);
      const score =
        WEIGHTS.name * nameSimilarity +
        WEIGHTS.description * descriptionSimilarity +
        WEIGHTS.functions * functionSimilarity;
      if (score >= threshold || sameName) {
        const round = (v: number): number => Math.round(v * 1000) / 1000;
        pairs.push({
          a: a.name,
          b: b.name,
          score: round(score),
          nameSimilarity: round(nameSimilarity),
          descriptionSimilarity: round(descriptionSimilarity),
          functionSimilarity: round(functionSimilarity),
        });
      }
    }
  }
  return pairs.sort((x, y) => y.score - x.score);
}

/** The diversity report of `tools`. */
export function toolsetStats(tools: readonly StatsTool[], options: StatsOptions = {}): ToolsetStats {
  const threshold = options.threshold ?? 0.6;
  const toolsPerCategory: Record<string, number> = {};
  const parameterTypes: Record<string, number> = {};
  const parameterLocations: Record<string, number> = {};
  const methods: Record<string, number> = {};
  const functionsPerTool: number[] = [];
  const parametersPerFunction: number[] = [];
  const functionNames = new Set<string>();
  let functions = 0;
  const unreadable: { name: string; error: string }[] = [];
  for (const item of tools) {
    increment(toolsPerCategory, item.category ?? '(none)');
    if (item.tool === undefined) {
      unreadable.push({ name: item.name, error: item.error ?? 'could not be read' });
      continue;
    }
    functionsPerTool.push(item.tool.functions.length);
    for (const fn of item.tool.functions) {
      functions++;
      functionNames.add(fn.name.toLowerCase());
      const binding = httpBindingOf(fn);
      if (binding === undefined) {
        // Not called over HTTP: the binding's kind stands for the method, arguments for locations.
        increment(methods, (fn.binding?.kind ?? 'none').toUpperCase());
        const properties = isRecord(fn.inputSchema.properties) ? fn.inputSchema.properties : {};
        for (const schema of Object.values(properties)) {
          increment(parameterLocations, 'argument');
          increment(parameterTypes, isRecord(schema) ? schemaType(schema) : 'unspecified');
        }
        parametersPerFunction.push(Object.keys(properties).length);
        continue;
      }
      increment(methods, binding.method.toUpperCase());
      let count = binding.parameters.length;
      for (const param of binding.parameters) {
        increment(parameterTypes, schemaType(param.schema));
        increment(parameterLocations, param.in);
      }
      const body = binding.requestBody?.schema;
      if (body !== undefined) {
        const properties = body.properties;
        if (typeof properties === 'object' && properties !== null) {
          for (const schema of Object.values(properties as Record<string, unknown>)) {
            count++;
            increment(parameterLocations, 'body');
            increment(
              parameterTypes,
              typeof schema === 'object' && schema !== null
                ? schemaType(schema as Record<string, unknown>)
                : 'unspecified',
            );
          }
        } else {
          count++;
          increment(parameterLocations, 'body');
          increment(parameterTypes, schemaType(body));
        }
      }
      parametersPerFunction.push(count);
    }
  }
  return {
    tools: tools.length,
    unreadable,
    categories: Object.keys(toolsPerCategory).length,
    toolsPerCategory: sortedCounts(Object.entries(toolsPerCategory)),
    functions,
    functionsPerTool: distribution(functionsPerTool),
    parametersPerFunction: distribution(parametersPerFunction),
    parameterTypes: sortedCounts(Object.entries(parameterTypes)),
    parameterLocations: sortedCounts(Object.entries(parameterLocations)),
    methods: sortedCounts(Object.entries(methods)),
    functionNameDiversity: functions === 0 ? 0 : Math.round((functionNames.size / functions) * 1000) / 1000,
    nearDuplicates: nearDuplicatePairs(tools, threshold),
    threshold,
    ...optionalCounts(
      'instructionsPerKind',
      kindTotals(tools, (t) => t.instructionKinds),
    ),
    ...optionalCounts(
      'instancesPerKind',
      kindTotals(tools, (t) => t.instanceKinds),
    ),
  };
}

function optionalCounts<K extends string>(
  key: K,
  counts: Record<string, number> | undefined,
): Partial<Record<K, Record<string, number>>> {
  return counts === undefined ? {} : ({ [key]: counts } as Record<K, Record<string, number>>);
}

/** Stats input from a ToolAlpaca record and the tool read from it (or the reason it could not be). */
export function statsToolOf(
  record: ToolAlpacaRecord | undefined,
  name: string,
  tool?: Tool,
  error?: string,
): StatsTool {
  const category = record?.Category ?? tool?.category;
  const instances = record?.Instances ?? [];
  return {
    name,
    ...(category !== undefined ? { category } : {}),
    description: record?.Description ?? tool?.description ?? '',
    ...(tool !== undefined ? { tool } : {}),
    ...(error !== undefined ? { error } : {}),
    instructionKinds: (record?.Instructions ?? []).map(
      (_text, i) => record?.Instruction_Kinds?.[i]?.kind ?? 'unlabelled',
    ),
    instanceKinds: instances.map((instance) => instance.kind ?? 'unlabelled'),
  };
}

/** Counts of the kinds the tools list (`pick`), or undefined when none has a kind. */
function kindTotals(
  tools: readonly StatsTool[],
  pick: (tool: StatsTool) => string[] | undefined,
): Record<string, number> | undefined {
  const counts: Record<string, number> = {};
  for (const tool of tools) for (const kind of pick(tool) ?? []) increment(counts, kind);
  const kinds = Object.keys(counts);
  return kinds.length === 0 || (kinds.length === 1 && kinds[0] === 'unlabelled') ? undefined : counts;
}

/** The report as text: one block per figure. */
export function formatToolsetStats(stats: ToolsetStats): string {
  const lines: string[] = [];
  const dist = (d: Distribution): string => `min ${d.min}, median ${d.median}, mean ${d.mean}, max ${d.max}`;
  lines.push(
    `${stats.tools} tools in ${stats.categories} categories, ${stats.functions} functions${stats.unreadable.length > 0 ? ` (${stats.unreadable.length} tools unreadable)` : ''}`,
  );
  lines.push(`functions per tool: ${dist(stats.functionsPerTool)}`);
  lines.push(`parameters per function: ${dist(stats.parametersPerFunction)}`);
  lines.push(`distinct function names: ${(stats.functionNameDiversity * 100).toFixed(1)}%`);
  pushCountBlock(lines, 'tools per category:', stats.toolsPerCategory);
  pushCountBlock(lines, 'functions per tool (histogram):', stats.functionsPerTool.histogram);
  pushCountBlock(lines, 'parameter types:', stats.parameterTypes);
  pushCountBlock(lines, 'parameter locations:', stats.parameterLocations);
  pushCountBlock(lines, 'methods:', stats.methods);
  if (stats.instructionsPerKind !== undefined)
    pushCountBlock(lines, 'instructions per kind:', stats.instructionsPerKind);
  if (stats.instancesPerKind !== undefined)
    pushCountBlock(lines, 'instances per kind:', stats.instancesPerKind);
  lines.push('', `near-duplicate tools (score >= ${stats.threshold}): ${stats.nearDuplicates.length}`);
  for (const pair of stats.nearDuplicates) {
    lines.push(
      `  ${pair.a} ~ ${pair.b}: ${pair.score} (name ${pair.nameSimilarity}, description ${pair.descriptionSimilarity}, functions ${pair.functionSimilarity})`,
    );
  }
  for (const item of stats.unreadable) lines.push(`unreadable: ${item.name}: ${item.error}`);
  return `${lines.join('\n')}\n`;
}
