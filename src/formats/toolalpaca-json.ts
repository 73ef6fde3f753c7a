/**
 * ToolAlpaca's own JSON files (data/eval_*.json, generated corpora): a JSON array of tool records.
 * Reading keeps every key of every record, in order, so that read → write is lossless; writing uses
 * the same layout as ToolAlpaca's Python `json.dump(..., indent=4, ensure_ascii=False)`.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseJsonText, describeFsError, readTextLimited, writeFileAtomic } from '../core/atomic-write.js';
import { InputError, messageOf } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import { ToolAlpacaRecordSchema, type ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import { deriveNlDocumentation, deriveNlDocumentationFromText } from './nl-documentation.js';
import {
  loadOpenApi,
  openApiToTool,
  parseSpecText,
  readOpenApiPath,
  specLimit,
  toolToOpenApi,
} from './openapi.js';
import type { LoadedSpec } from './openapi.js';
import { pythonJsonDumps } from './python-json.js';
import type { McpConfig } from '../core/mcp-config.js';
import { looksLikeMcpConfig, parseMcpConfig } from '../mcp/config.js';

/** The order in which ToolAlpaca writes a record's keys; used only when a key has to be added. */
const CANONICAL_KEY_ORDER = [
  'Name',
  'Description',
  'Link',
  'Category',
  'Authentication',
  'Introduction',
  'Functions',
  'Documentation',
  'NLDocumentation',
  'Function_Description',
  'Function_Projection',
  'Instructions',
  'Golden_Answers',
  'Instances',
] as const;

type IssuePath = ReadonlyArray<PropertyKey>;

function formatIssuePath(path: IssuePath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function recordLabel(value: unknown, index: number | undefined): string {
  const name =
    typeof value === 'object' && value !== null && typeof (value as { Name?: unknown }).Name === 'string'
      ? (value as { Name: string }).Name
      : undefined;
  const position = index === undefined ? 'record' : `record ${index}`;
  return name === undefined ? position : `${position} ("${name}")`;
}

/** Validates one record; on failure throws an InputError naming the file, record and field. */
function validateRecord(value: unknown, label: string, index: number | undefined): ToolAlpacaRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${label}: ${recordLabel(value, index)}: expected an object with a "Name"`);
  }
  const result = ToolAlpacaRecordSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue === undefined ? '' : formatIssuePath(issue.path);
    const what = issue?.message ?? 'invalid';
    throw new InputError(
      `${label}: ${recordLabel(value, index)}: field ${field === '' ? '(record)' : `"${field}"`}: ${what}`,
    );
  }
  // Return the input object itself, not zod's copy: zod moves unknown keys to the end, and key order
  // must survive a round trip. The schema has no defaults or transforms, so nothing is lost.
  return value as ToolAlpacaRecord;
}

/**
 * Validates parsed JSON as ToolAlpaca records: a JSON array of records, or one record object.
 * `label` (usually the file path) starts every error message.
 */
export function parseToolAlpacaJson(data: unknown, label: string): ToolAlpacaRecord[] {
  if (Array.isArray(data)) return data.map((value, index) => validateRecord(value, label, index));
  if (typeof data === 'object' && data !== null) return [validateRecord(data, label, undefined)];
  throw new InputError(`${label}: expected a JSON array of ToolAlpaca records or one record object`);
}

/** True when parsed JSON looks like ToolAlpaca data (an array, or an object with a `Name`) rather than OpenAPI. */
export function looksLikeToolAlpaca(data: unknown): boolean {
  if (Array.isArray(data)) return true;
  return typeof data === 'object' && data !== null && 'Name' in data;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`${path}: ${describeFsError(error)}`, { cause: error });
  }
}

/** Reads a ToolAlpaca JSON file (an array of records or one record object). */
export async function readToolAlpacaFile(path: string): Promise<ToolAlpacaRecord[]> {
  return parseToolAlpacaJson(parseJsonText(await readText(path), path), path);
}

/** ToolAlpaca's file layout: 4-space indentation, non-ASCII kept as UTF-8, no trailing newline. */
export function serializeToolAlpaca(records: readonly ToolAlpacaRecord[]): string {
  return JSON.stringify(records, null, 4);
}

/** Writes records atomically; if serialisation fails the existing file is left as it was. */
export async function writeToolAlpacaFile(path: string, records: readonly ToolAlpacaRecord[]): Promise<void> {
  const text = serializeToolAlpaca(records);
  await writeFileAtomic(path, text);
}

/**
 * A copy of `base` with `updates` applied: keys already in `base` keep their place, new keys are
 * inserted where ToolAlpaca would put them.
 */
function mergeInOrder(
  base: Record<string, unknown>,
  updates: Record<string, unknown>,
): Record<string, unknown> {
  const rank = (key: string): number =>
    CANONICAL_KEY_ORDER.indexOf(key as (typeof CANONICAL_KEY_ORDER)[number]);
  const pending = Object.keys(updates)
    .filter((key) => !(key in base))
    .sort((a, b) => (rank(a) < 0 ? Infinity : rank(a)) - (rank(b) < 0 ? Infinity : rank(b)));
  const out: Record<string, unknown> = {};
  const flushBefore = (limit: number): void => {
    while (pending.length > 0) {
      const next = pending[0] as string;
      const r = rank(next);
      if (r < 0 || r >= limit) break;
      out[next] = updates[next];
      pending.shift();
    }
  };
  for (const [key, value] of Object.entries(base)) {
    const r = rank(key);
    if (r >= 0) flushBefore(r);
    out[key] = key in updates ? updates[key] : value;
  }
  for (const key of pending) out[key] = updates[key];
  return out;
}

function nameOf(record: { Name?: unknown }): string {
  return typeof record.Name === 'string' ? record.Name : '(unnamed)';
}

/** The parsed OpenAPI object in a record's `Documentation`; InputError when missing or unparsable. */
export function parseRecordDocumentation(record: ToolAlpacaRecord): Record<string, unknown> {
  const documentation = record.Documentation;
  if (documentation === undefined || documentation.trim() === '') {
    throw new InputError(`tool "${nameOf(record)}": no Documentation (OpenAPI spec) in the record`);
  }
  // parseSpecText also rejects a Documentation that is not an object.
  return parseSpecText(documentation, `tool "${nameOf(record)}" Documentation`);
}

/**
 * A copy of `record` whose NLDocumentation / Function_Description / Function_Projection are recomputed
 * from its `Documentation`; every other key is kept, in its place.
 */
export function recomputeDerivedFields(record: ToolAlpacaRecord): ToolAlpacaRecord {
  const documentation = record.Documentation;
  if (documentation === undefined || documentation.trim() === '') {
    throw new InputError(`tool "${nameOf(record)}": no Documentation (OpenAPI spec) in the record`);
  }
  // Parsed the way Python parses it, so that response-code key order and number spelling match ToolAlpaca.
  const derived = deriveNlDocumentationFromText(documentation, {
    label: `tool "${nameOf(record)}" Documentation`,
  });
  return mergeInOrder(record, { ...derived }) as ToolAlpacaRecord;
}

/** The Tool described by a record: its `Documentation` parsed as OpenAPI, named after the record. */
export async function recordToTool(record: ToolAlpacaRecord): Promise<Tool> {
  const spec = await loadOpenApi(parseRecordDocumentation(record), `tool "${nameOf(record)}" Documentation`);
  const auth = (record as Record<string, unknown>).Auth;
  return openApiToTool(spec, {
    name: record.Name,
    ...(record.Description !== undefined ? { description: record.Description } : {}),
    ...(record.Category !== undefined ? { category: record.Category } : {}),
    ...(typeof record.Link === 'string' ? { link: record.Link } : {}),
    ...(typeof auth === 'string' ? { authLabel: auth } : {}),
  });
}

/**
 * A ToolAlpaca record for `tool`: Documentation is the tool's OpenAPI spec (as Python's json.dumps writes it)
 * and the NL fields are derived from it. Keys of `base` not produced here (Instructions, unknown keys...)
 * are kept in place.
 */
export function toolToRecord(tool: Tool, base: Partial<ToolAlpacaRecord> = {}): ToolAlpacaRecord {
  const openapi = toolToOpenApi(tool);
  const derived = deriveNlDocumentation(openapi);
  const updates: Record<string, unknown> = { Name: tool.name, Description: tool.description };
  if (tool.link !== undefined) updates.Link = tool.link;
  if (tool.category !== undefined) updates.Category = tool.category;
  updates.Documentation = pythonJsonDumps(openapi);
  Object.assign(updates, derived);
  return mergeInOrder(base as Record<string, unknown>, updates) as ToolAlpacaRecord;
}

/** What a tools input file or folder turned out to be. */
export type ToolSource =
  | { kind: 'toolalpaca'; path: string; records: ToolAlpacaRecord[] }
  | { kind: 'openapi'; path: string; specs: LoadedSpec[] }
  | { kind: 'mcp'; path: string; config: McpConfig };

/** 256 MiB: the largest ToolAlpaca JSON file read as tools (a spec stays limited to 10 MiB). */
export const DEFAULT_MAX_TOOLS_FILE_BYTES = 256 * 1024 * 1024;

export interface ReadToolSourceOptions {
  /** Largest ToolAlpaca JSON file, in bytes. Default 256 MiB. */
  maxToolsFileBytes?: number;
  /** Largest OpenAPI spec, in bytes. Default 10 MiB. */
  maxSpecBytes?: number;
}

/** Text that starts like ToolAlpaca data: a JSON array, or an object whose first key is `Name`. */
function startsLikeToolAlpaca(head: string): boolean {
  return /^\uFEFF?\s*(\[|\{\s*"Name"\s*:)/.test(head);
}

/**
 * Reads a file or folder of tools, detecting the format: a JSON array, or a JSON object with `Name`,
 * is ToolAlpaca; a JSON object with `mcpServers` (or VS Code's `servers`) is an MCP client configuration;
 * anything else (JSON or YAML spec, or a folder of specs) is OpenAPI. Sizes are checked before reading: a
 * spec may have 10 MiB, a file that starts like ToolAlpaca data 256 MiB.
 */
export async function readToolSource(path: string, options: ReadToolSourceOptions = {}): Promise<ToolSource> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new InputError(`${path}: ${describeFsError(error)}`, { cause: error });
  }
  const specOptions = options.maxSpecBytes !== undefined ? { maxBytes: options.maxSpecBytes } : {};
  if (isDirectory) return { kind: 'openapi', path, specs: await readOpenApiPath(path, specOptions) };
  const spec = specLimit(options.maxSpecBytes);
  const tools = {
    maxBytes: Math.max(spec.maxBytes, options.maxToolsFileBytes ?? DEFAULT_MAX_TOOLS_FILE_BYTES),
    name: 'tools file size limit',
  };
  const text = await readTextLimited(path, spec, (head) => (startsLikeToolAlpaca(head) ? tools : spec));
  const body = text.replace(/^\uFEFF/, '').trimStart();
  const isJson = extname(path).toLowerCase() === '.json' || body.startsWith('[') || body.startsWith('{');
  if (isJson) {
    let data: unknown;
    try {
      data = parseJsonText(text, path);
    } catch (error) {
      // `{`-started YAML flow mappings are rare but legal; let the OpenAPI reader judge non-.json files.
      if (extname(path).toLowerCase() === '.json' || body.startsWith('[')) throw error;
      return { kind: 'openapi', path, specs: [await loadOpenApi(text, path, specOptions)] };
    }
    if (looksLikeToolAlpaca(data))
      return { kind: 'toolalpaca', path, records: parseToolAlpacaJson(data, path) };
    if (looksLikeMcpConfig(data)) return { kind: 'mcp', path, config: parseMcpConfig(data, path) };
  }
  return { kind: 'openapi', path, specs: [await loadOpenApi(text, path, specOptions)] };
}

/** One tool read from a source, or the reason it could not be understood. */
export interface SourcedTool {
  source: string;
  name: string;
  tool?: Tool;
  record?: ToolAlpacaRecord;
  /** Why the tool could not be built (e.g. a record whose Documentation is not valid OpenAPI). */
  error?: string;
}

/**
 * The tools of a source. A record whose Documentation cannot be read does not stop the others; it comes
 * back with `error` set so that commands can report it as a problem of that tool.
 */
export async function toolsOfSource(source: ToolSource): Promise<SourcedTool[]> {
  const out: SourcedTool[] = [];
  if (source.kind === 'mcp') {
    // Each server is started (or reached), listed and stopped; one that fails is that tool's problem.
    // The MCP client is loaded only for MCP sources.
    const { readMcpConfigTools } = await import('../mcp/tools.js');
    for (const reading of await readMcpConfigTools(source.config)) {
      if ('tool' in reading) out.push({ source: source.path, name: reading.name, tool: reading.tool });
      else out.push({ source: source.path, name: reading.name, error: reading.error });
    }
  } else if (source.kind === 'toolalpaca') {
    for (const record of source.records) {
      try {
        out.push({ source: source.path, name: record.Name, record, tool: await recordToTool(record) });
      } catch (error) {
        // A stack overflow is this record's problem too (a walk the bounds did not foresee).
        const reason =
          error instanceof InputError
            ? messageOf(error)
            : error instanceof RangeError
              ? `tool "${record.Name}" Documentation: nested too deeply to read (${error.message})`
              : undefined;
        if (reason === undefined) throw error;
        out.push({ source: source.path, name: record.Name, record, error: reason });
      }
    }
  } else {
    for (const spec of source.specs) {
      const tool = openApiToTool(spec);
      out.push({ source: spec.label, name: tool.name, tool });
    }
  }
  return out;
}
