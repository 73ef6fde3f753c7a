/**
 * Multi-tool instructions, as ToolBench builds its I2 and I3 sets: sample 2–5 tools of one category
 * (I2, intra-category) or of one collection (I3, intra-collection), up to 3 APIs of each, show their
 * documentation to a model and ask for queries that need several of them, each with its relevant APIs.
 * The result is in ToolBench's query shape (`api_list`, `query`, `relevant APIs`, `query_id`), so it is
 * read back like any ToolBench query file. Sampling is seeded; prompts are this project's own.
 */
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import type { RawToolBenchApi, RawToolBenchQuery } from '../core/toolbench.js';
import { collectionsOf, functionToRawApi } from '../formats/toolbench.js';
import type { ChatModel } from '../models/chat-model.js';
import { chatJson } from '../models/structured.js';
import { seededRandom, shuffleWith } from '../core/random.js';

export type MultiToolMode = 'I2' | 'I3';

export interface MultiToolOptions {
  tools: readonly Tool[];
  mode: MultiToolMode;
  model: ChatModel;
  /** Instructions wanted in all. */
  count: number;
  /** Queries asked for per sample of tools. Default 5. */
  perSample?: number;
  seed?: number;
  /** Tools per sample, at least and at most (ToolBench: 2–5). */
  minTools?: number;
  maxTools?: number;
  /** APIs per sampled tool at most (ToolBench: 3). */
  apisPerTool?: number;
  /** Samples tried at most before giving up on reaching `count`. Default 3 × count / perSample + 3. */
  maxSamples?: number;
  /** First `query_id`. Default 1. */
  firstId?: number;
  temperature?: number;
  signal?: AbortSignal;
  onSample?: (report: {
    sample: number;
    group: string;
    tools: string[];
    kept: number;
    dropped: number;
    error?: string;
  }) => void;
}

export interface MultiToolResult {
  queries: RawToolBenchQuery[];
  samples: number;
  dropped: number;
  promptTokens: number;
  completionTokens: number;
}

/** Groups of at least `min` tools (with functions): by category for I2, by collection for I3. */
export function toolGroups(tools: readonly Tool[], mode: MultiToolMode, min = 2): Map<string, Tool[]> {
  const groups = new Map<string, Tool[]>();
  for (const tool of tools) {
    if (tool.functions.length === 0) continue;
    const keys =
      mode === 'I2'
        ? tool.category !== undefined && tool.category !== ''
          ? [tool.category]
          : []
        : collectionsOf(tool);
    for (const key of keys) {
      const list = groups.get(key) ?? [];
      list.push(tool);
      groups.set(key, list);
    }
  }
  for (const [key, list] of groups) if (list.length < min) groups.delete(key);
  return groups;
}

export interface ToolSample {
  group: string;
  apis: RawToolBenchApi[];
}

/** One sample: a group, then 2–5 of its tools, then up to `apisPerTool` APIs of each. */
export function sampleTools(
  groups: Map<string, Tool[]>,
  random: () => number,
  options: { minTools?: number; maxTools?: number; apisPerTool?: number } = {},
): ToolSample {
  const keys = [...groups.keys()].sort();
  const group = keys[Math.floor(random() * keys.length)] as string;
  const members = groups.get(group) ?? [];
  const min = Math.max(1, options.minTools ?? 2);
  const max = Math.max(min, options.maxTools ?? 5);
  const upper = Math.min(max, members.length);
  const lower = Math.min(min, upper);
  const size = lower + Math.floor(random() * (upper - lower + 1));
  const chosen = shuffleWith(members, random).slice(0, size);
  const apis = chosen.flatMap((tool) =>
    shuffleWith(tool.functions, random)
      .slice(0, options.apisPerTool ?? 3)
      .map((fn) => functionToRawApi(tool, fn)),
  );
  return { group, apis };
}

const REPLY_SCHEMA = {
  type: 'object',
  properties: {
    queries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          query: { type: 'string', minLength: 1 },
          related_apis: {
            type: 'array',
            items: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 },
          },
        },
        required: ['query', 'related_apis'],
      },
    },
  },
  required: ['queries'],
} as const;

interface Reply {
  queries: { query: string; related_apis: string[][] }[];
}

function apiDoc(api: RawToolBenchApi): Record<string, unknown> {
  return {
    category_name: api.category_name,
    tool_name: api.tool_name,
    api_name: api.api_name,
    api_description: oneLine(api.api_description ?? '', 300),
    required_parameters: api.required_parameters,
    optional_parameters: api.optional_parameters,
  };
}

export function multiToolPrompt(
  apis: readonly RawToolBenchApi[],
  mode: MultiToolMode,
  perSample: number,
): string {
  const scope = mode === 'I2' ? 'tools of the same category' : 'tools of the same collection';
  return [
    `Below are APIs of ${scope} on RapidAPI. Write ${perSample} different requests a user could make to an assistant that can call these APIs.`,
    'Each request must:',
    '- need at least two of the APIs, from at least two different tools, to be answered fully;',
    '- sound like a real person with a real goal, in the first person, with the concrete values the calls need (names, ids, places, dates) written in the text;',
    '- not name the APIs or the tools.',
    'For every request, list the APIs it needs as [tool_name, api_name] pairs, spelled exactly as below.',
    'Reply with JSON only: {"queries": [{"query": "...", "related_apis": [["tool_name", "api_name"], ...]}, ...]}',
    'APIs:',
    JSON.stringify(apis.map(apiDoc), null, 1),
  ].join('\n');
}

/** Keeps the pairs that name a sampled API; a query needs two of them, from two tools. */
export function checkRelatedApis(
  related: readonly string[][],
  apis: readonly RawToolBenchApi[],
): { ok: true; pairs: [string, string][] } | { ok: false; reason: string } {
  const known = new Set(apis.map((a) => `${a.tool_name}\u0000${a.api_name}`));
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (const pair of related) {
    const [tool, api] = pair;
    if (tool === undefined || api === undefined) continue;
    const key = `${tool}\u0000${api}`;
    if (!known.has(key)) return { ok: false, reason: `unknown API [${tool}, ${api}]` };
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([tool, api]);
  }
  if (pairs.length < 2) return { ok: false, reason: 'fewer than two relevant APIs' };
  if (new Set(pairs.map(([tool]) => tool)).size < 2)
    return { ok: false, reason: 'relevant APIs of one tool only' };
  return { ok: true, pairs };
}

export async function generateMultiToolInstructions(options: MultiToolOptions): Promise<MultiToolResult> {
  const groups = toolGroups(options.tools, options.mode, Math.min(2, options.minTools ?? 2));
  if (groups.size === 0) {
    throw new InputError(
      options.mode === 'I2'
        ? 'no category has two tools with APIs: I2 needs tools that share a category'
        : 'no collection has two tools with APIs: I3 needs tools with collections (info.x-toolbench.collections, written by `toolbench import` for G3 files)',
    );
  }
  const perSample = Math.max(1, options.perSample ?? 5);
  const maxSamples = options.maxSamples ?? Math.ceil((3 * options.count) / perSample) + 3;
  const random = seededRandom(options.seed ?? 0);
  const result: MultiToolResult = {
    queries: [],
    samples: 0,
    dropped: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
  const seenQueries = new Set<string>();
  let nextId = options.firstId ?? 1;
  while (result.queries.length < options.count && result.samples < maxSamples) {
    options.signal?.throwIfAborted();
    const sample = sampleTools(groups, random, {
      ...(options.minTools !== undefined ? { minTools: options.minTools } : {}),
      ...(options.maxTools !== undefined ? { maxTools: options.maxTools } : {}),
      ...(options.apisPerTool !== undefined ? { apisPerTool: options.apisPerTool } : {}),
    });
    result.samples++;
    const tools = [...new Set(sample.apis.map((a) => a.tool_name))];
    let reply: Reply;
    try {
      const answer = await chatJson<Reply>(
        options.model,
        {
          messages: [
            {
              role: 'system',
              content: 'You write realistic user requests for testing tool-using assistants.',
            },
            { role: 'user', content: multiToolPrompt(sample.apis, options.mode, perSample) },
          ],
          ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        },
        REPLY_SCHEMA,
        {
          stage: 'instructions',
          name: 'queries',
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
        },
      );
      result.promptTokens += answer.response.usage.promptTokens;
      result.completionTokens += answer.response.usage.completionTokens;
      reply = answer.value;
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      options.onSample?.({
        sample: result.samples,
        group: sample.group,
        tools,
        kept: 0,
        dropped: 0,
        error: oneLine(messageOf(error)),
      });
      continue;
    }
    let kept = 0;
    let dropped = 0;
    for (const item of reply.queries) {
      const query = item.query.trim();
      const check = checkRelatedApis(item.related_apis, sample.apis);
      if (
        !check.ok ||
        query === '' ||
        seenQueries.has(query.toLowerCase()) ||
        result.queries.length >= options.count
      ) {
        dropped++;
        continue;
      }
      seenQueries.add(query.toLowerCase());
      result.queries.push({ api_list: sample.apis, query, 'relevant APIs': check.pairs, query_id: nextId++ });
      kept++;
    }
    result.dropped += dropped;
    options.onSample?.({ sample: result.samples, group: sample.group, tools, kept, dropped });
  }
  return result;
}
