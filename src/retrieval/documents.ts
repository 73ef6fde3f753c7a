/**
 * API documents: the retrieval unit. One per API (ToolBench) or per function (project tools), with
 * the fields the retriever indexes. Readers accept ToolBench/StableToolBench query files (their
 * `api_list`s are the corpus), ToolBench tool files (`toolenv/tools/CATEGORY/TOOL.json`), folders of
 * those, and anything `readToolSource` reads (ToolAlpaca JSON, OpenAPI files or folders).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError, messageOf } from '../core/errors.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import { readToolSource, toolsOfSource } from '../formats/toolalpaca-json.js';
import { isRecord } from '../core/json-text.js';

export interface ApiParameterDoc {
  name: string;
  description?: string;
}

export interface ApiDocument {
  /** `tool::api`, unique within a corpus. */
  id: string;
  category: string;
  tool: string;
  api: string;
  description: string;
  toolDescription?: string;
  parameters: ApiParameterDoc[];
}

/** The id of an API, as used to match ToolBench's `relevant APIs` pairs. */
export function apiId(tool: string, api: string): string {
  return `${tool}::${api}`;
}

/** A retrieval query with its gold APIs (`relevant APIs` of a ToolBench query). */
export interface RetrievalQuery {
  id: string;
  query: string;
  relevant: string[];
}

type Json = Record<string, unknown>;

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

function parametersOf(entry: Json): ApiParameterDoc[] {
  const out: ApiParameterDoc[] = [];
  for (const key of ['required_parameters', 'optional_parameters']) {
    const list = entry[key];
    if (!Array.isArray(list)) continue;
    for (const p of list) {
      if (!isRecord(p) || text(p.name) === '') continue;
      const description = text(p.description);
      out.push({ name: text(p.name), ...(description !== '' ? { description } : {}) });
    }
  }
  return out;
}

/** True when `data` is a ToolBench query list (objects with `query` and `api_list`). */
export function isToolBenchQueryList(data: unknown): data is Json[] {
  return (
    Array.isArray(data) &&
    data.length > 0 &&
    data.every((q) => isRecord(q) && typeof q.query === 'string' && Array.isArray(q.api_list))
  );
}

/** True when `data` is one ToolBench tool file (`tool_name` and `api_list`). */
export function isToolBenchToolFile(data: unknown): data is Json {
  return isRecord(data) && typeof data.tool_name === 'string' && Array.isArray(data.api_list);
}

function addDocument(into: Map<string, ApiDocument>, doc: ApiDocument): void {
  if (!into.has(doc.id)) into.set(doc.id, doc);
}

/** The API corpus of a ToolBench query list: every `api_list` entry, once per (tool, api). */
export function documentsFromToolBenchQueries(queries: readonly Json[]): ApiDocument[] {
  const docs = new Map<string, ApiDocument>();
  for (const q of queries) {
    for (const entry of (q.api_list as unknown[]) ?? []) {
      if (!isRecord(entry)) continue;
      const tool = text(entry.tool_name);
      const api = text(entry.api_name);
      if (tool === '' || api === '') continue;
      addDocument(docs, {
        id: apiId(tool, api),
        category: text(entry.category_name),
        tool,
        api,
        description: text(entry.api_description),
        parameters: parametersOf(entry),
      });
    }
  }
  return [...docs.values()];
}

/** The APIs of one ToolBench tool file; the category defaults to the folder name, as ToolBench lays them out. */
export function documentsFromToolBenchTool(data: Json, category = ''): ApiDocument[] {
  const tool = text(data.tool_name) || text(data.title);
  const toolDescription = text(data.tool_description);
  const docs = new Map<string, ApiDocument>();
  for (const entry of data.api_list as unknown[]) {
    if (!isRecord(entry)) continue;
    const api = text(entry.name) || text(entry.api_name);
    if (api === '') continue;
    addDocument(docs, {
      id: apiId(tool, api),
      category: text(data.category_name) || category,
      tool,
      api,
      description: text(entry.description) || text(entry.api_description),
      ...(toolDescription !== '' ? { toolDescription } : {}),
      parameters: parametersOf(entry),
    });
  }
  return [...docs.values()];
}

/** A function's arguments (its input schema's properties) with their descriptions. */
function argumentDocs(fn: ToolFunction): ApiParameterDoc[] {
  const properties = isRecord(fn.inputSchema.properties) ? fn.inputSchema.properties : {};
  return Object.entries(properties).map(([name, schema]) => {
    const description = isRecord(schema) ? schema.description : undefined;
    return { name, ...(typeof description === 'string' ? { description } : {}) };
  });
}

/** One document per function of a project tool. */
export function documentsFromTool(tool: Tool): ApiDocument[] {
  return tool.functions.map((fn) => ({
    id: apiId(tool.name, fn.name),
    category: tool.category ?? '',
    tool: tool.name,
    api: fn.name,
    description: [fn.summary, fn.description].filter((s) => s !== undefined && s !== '').join('. '),
    ...(tool.description !== '' ? { toolDescription: tool.description } : {}),
    parameters: argumentDocs(fn),
  }));
}

/** Retrieval queries of a ToolBench query list (`relevant APIs` as [tool, api] pairs). */
export function retrievalQueriesFromToolBench(queries: readonly Json[]): RetrievalQuery[] {
  return queries.map((q, index) => {
    const pairs = Array.isArray(q['relevant APIs']) ? (q['relevant APIs'] as unknown[]) : [];
    const relevant = pairs
      .filter(
        (p): p is [string, string] =>
          Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string',
      )
      .map(([tool, api]) => apiId(tool.trim(), api.trim()));
    return {
      id: q.query_id === undefined ? String(index) : String(q.query_id),
      query: text(q.query),
      relevant,
    };
  });
}

async function readJson(path: string): Promise<unknown> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`${path}: cannot read (${messageOf(error)})`, { cause: error });
  }
  try {
    return JSON.parse(raw.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    throw new InputError(`${path}: not valid JSON (${messageOf(error)})`, { cause: error });
  }
}

async function jsonFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await jsonFilesUnder(full)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.json')) out.push(full);
  }
  return out.sort();
}

/** Reads a ToolBench query file as retrieval queries and its API corpus. */
export async function readRetrievalQueries(
  path: string,
): Promise<{ queries: RetrievalQuery[]; documents: ApiDocument[] }> {
  const data = await readJson(path);
  if (!isToolBenchQueryList(data))
    throw new InputError(
      `${path}: not a ToolBench query file (expected a list of objects with "query" and "api_list")`,
    );
  return { queries: retrievalQueriesFromToolBench(data), documents: documentsFromToolBenchQueries(data) };
}

/**
 * The API documents of a file or folder: ToolBench query files and tool files (recursively in a
 * folder), otherwise whatever `readToolSource` understands.
 */
export async function loadApiDocuments(path: string): Promise<ApiDocument[]> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new InputError(`${path}: cannot read (${messageOf(error)})`, { cause: error });
  }
  const files = isDirectory ? await jsonFilesUnder(path) : path.toLowerCase().endsWith('.json') ? [path] : [];
  const docs = new Map<string, ApiDocument>();
  let toolBenchShaped = false;
  for (const file of files) {
    let data: unknown;
    try {
      data = await readJson(file);
    } catch (error) {
      if (!isDirectory) throw error;
      continue;
    }
    let found: ApiDocument[];
    if (isToolBenchQueryList(data)) found = documentsFromToolBenchQueries(data);
    else if (isToolBenchToolFile(data)) found = documentsFromToolBenchTool(data, basename(dirname(file)));
    else continue;
    toolBenchShaped = true;
    for (const doc of found) addDocument(docs, doc);
  }
  if (toolBenchShaped) return [...docs.values()];
  const sourced = await toolsOfSource(await readToolSource(path));
  for (const entry of sourced) {
    if (entry.tool === undefined) continue;
    for (const doc of documentsFromTool(entry.tool)) addDocument(docs, doc);
  }
  if (docs.size === 0) throw new InputError(`${path}: no APIs found to retrieve from`);
  return [...docs.values()];
}
