/**
 * Usability checks on a tool, after ToolAlpaca's filter of generated documentation: a tool is only useful for
 * corpus generation when every function can be named, called and understood, and the API can be reached.
 */
import { httpBindingOf } from '../core/http-binding.js';
import { isRecord } from '../core/json-text.js';
import type { Tool } from '../core/tool.js';

export interface ToolProblem {
  tool: string;
  function?: string;
  message: string;
}

/** Every usability problem of `tool`; an empty list means it passes. */
export function checkTool(tool: Tool): ToolProblem[] {
  const problems: ToolProblem[] = [];
  const add = (message: string, fn?: string): void => {
    problems.push(
      fn === undefined ? { tool: tool.name, message } : { tool: tool.name, function: fn, message },
    );
  };

  // Servers matter for functions called over HTTP; tools without them (MCP...) need none.
  const overHttp =
    tool.functions.length === 0 || tool.functions.some((fn) => httpBindingOf(fn) !== undefined);
  if (tool.servers.length === 0 && overHttp) add('no servers');
  if (tool.functions.length === 0) add('no functions');

  const uses = new Map<string, number>();
  for (const fn of tool.functions) uses.set(fn.name, (uses.get(fn.name) ?? 0) + 1);
  const reported = new Set<string>();

  for (const fn of tool.functions) {
    const binding = httpBindingOf(fn);
    if (fn.nameDerived === true && binding !== undefined) {
      add(`no operationId (${binding.method.toUpperCase()} ${binding.path})`, fn.name);
    }
    const count = uses.get(fn.name) ?? 0;
    if (count > 1 && !reported.has(fn.name)) {
      reported.add(fn.name);
      add(`${binding !== undefined ? 'operationId' : 'name'} used by ${count} functions`, fn.name);
    }
    if (binding === undefined) {
      // Other functions: every argument described; no response is required of them.
      const properties = isRecord(fn.inputSchema.properties) ? fn.inputSchema.properties : {};
      for (const [name, schema] of Object.entries(properties)) {
        const description = isRecord(schema) ? schema.description : undefined;
        if (typeof description !== 'string' || description.trim() === '') {
          add(`argument '${name}' has no description`, fn.name);
        }
      }
      continue;
    }
    for (const param of binding.parameters) {
      if (param.description === undefined || param.description.trim() === '') {
        add(`parameter '${param.name}' (${param.in}) has no description`, fn.name);
      }
    }
    if (binding.response === undefined) add('no 2xx response', fn.name);
    else if (binding.response.schema === undefined || Object.keys(binding.response.schema).length === 0) {
      add(`${binding.response.status} response has no schema`, fn.name);
    }
  }
  return problems;
}

/** `tool › function: message`, or `tool: message` for tool-level problems. */
export function formatProblem(problem: ToolProblem): string {
  return problem.function === undefined
    ? `${problem.tool}: ${problem.message}`
    : `${problem.tool} › ${problem.function}: ${problem.message}`;
}
