/**
 * One call to read tools from any source a user may hold: a ToolAlpaca JSON file, an OpenAPI / Swagger
 * spec (JSON or YAML, a file or a folder of specs), or a ToolBench query file (the tools of its `api_list`).
 */
import type { Tool } from '../core/tool.js';
import { readToolSource, toolsOfSource, type ReadToolSourceOptions } from './toolalpaca-json.js';
import { readToolBenchTools } from './toolbench.js';

/** `auto`: ToolAlpaca JSON or OpenAPI, told apart by content; `toolbench`: a ToolBench query file. */
export type ToolsFormat = 'auto' | 'toolbench';

export interface ReadToolsOptions extends ReadToolSourceOptions {
  format?: ToolsFormat;
}

export interface ReadToolsResult {
  tools: Tool[];
  /** Tools of the source that could not be built, with the reason (the others are still read). */
  skipped: { name: string; error: string }[];
}

/** Reads the tools of a file or folder; an unreadable source is an `InputError`, an unreadable tool is skipped. */
export async function readTools(path: string, options: ReadToolsOptions = {}): Promise<ReadToolsResult> {
  const { format = 'auto', ...limits } = options;
  if (format === 'toolbench') return { tools: await readToolBenchTools(path), skipped: [] };
  const tools: Tool[] = [];
  const skipped: ReadToolsResult['skipped'] = [];
  for (const item of await toolsOfSource(await readToolSource(path, limits))) {
    if (item.tool !== undefined) tools.push(item.tool);
    else skipped.push({ name: item.name, error: item.error ?? 'cannot be read' });
  }
  return { tools, skipped };
}
