/**
 * `solve --tools FILE`: the tools of ToolBench-shaped tasks taken from a tool source (an MCP client
 * configuration, ToolAlpaca JSON, OpenAPI) instead of being rebuilt from the query's `api_list`. A query
 * file names its APIs only (tool name, API name, parameters), so the tools it yields can be simulated but
 * not called on a live server; bound to the source's tools, each task function keeps its ToolBench name
 * (`{api}_for_{tool}`, what the solver and the answer files use) and gets the source function's schemas
 * and binding (an `mcp` binding and the server's launch spec, or an HTTP one).
 */
import { InputError } from '../core/errors.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import type { ToolBenchTask } from '../core/toolbench.js';
import { readToolSource, toolsOfSource } from './toolalpaca-json.js';
import { originalToolName } from './toolbench.js';

/**
 * Every tool of a tool source (`readToolSource`); one that cannot be read (an MCP server that does not
 * start, a record with broken Documentation) is an `InputError` naming the file, not a tool left out.
 */
export async function readSourceTools(path: string): Promise<Tool[]> {
  const tools: Tool[] = [];
  for (const entry of await toolsOfSource(await readToolSource(path))) {
    if (entry.tool === undefined)
      throw new InputError(`${path}: ${entry.error ?? `tool "${entry.name}" could not be read`}`);
    tools.push(entry.tool);
  }
  return tools;
}

/** The names an API may be listed under for a function: its name, its summary, its MCP tool name. */
function apiNamesOf(fn: ToolFunction): string[] {
  const names = [fn.name];
  if (fn.summary !== undefined) names.push(fn.summary);
  if (fn.binding?.kind === 'mcp') names.push(fn.binding.tool);
  return names;
}

/** `tools` by every name a query file may spell them with (the tool's name, its original ToolBench one). */
function toolIndex(tools: readonly Tool[]): Map<string, Tool> {
  const index = new Map<string, Tool>();
  for (const tool of tools) {
    for (const name of [tool.name, originalToolName(tool)]) if (!index.has(name)) index.set(name, tool);
  }
  return index;
}

/**
 * `tasks` with their tools replaced by those of `tools` (see the module comment). Every API of every task
 * must be found: a task naming a tool or an API the source does not have is an `InputError` naming
 * `label`, the query and the API.
 */
export function bindTaskTools(
  tasks: readonly ToolBenchTask[],
  tools: readonly Tool[],
  label: string,
): ToolBenchTask[] {
  const index = toolIndex(tools);
  return tasks.map((task) => {
    const bound = new Map<Tool, Tool>();
    for (const api of task.apis) {
      const source = index.get(api.toolName) ?? index.get(api.standardToolName);
      if (source === undefined) {
        throw new InputError(
          `${label}: query ${task.queryId}: tool "${api.toolName}" is not among the given tools (${[...new Set(tools.map((t) => t.name))].join(', ')})`,
        );
      }
      const fn = source.functions.find((candidate) => apiNamesOf(candidate).includes(api.apiName));
      if (fn === undefined) {
        throw new InputError(
          `${label}: query ${task.queryId}: tool "${source.name}" has no API "${api.apiName}"`,
        );
      }
      let tool = bound.get(source);
      if (tool === undefined) {
        // The task's own tool name for it, so the solver's names and the answer files stay ToolBench's.
        tool = { ...source, name: api.standardToolName, functions: [] };
        bound.set(source, tool);
      }
      if (!tool.functions.some((existing) => existing.name === api.functionName))
        tool.functions.push({ ...fn, name: api.functionName, nameDerived: false });
    }
    return { ...task, tools: [...bound.values()] };
  });
}
