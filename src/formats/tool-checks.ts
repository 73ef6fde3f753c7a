/**
 * Usability checks on a tool, after ToolAlpaca's filter of generated documentation: a tool is only useful for
 * corpus generation when every function can be named, called and understood, and the API can be reached.
 */
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

  if (tool.servers.length === 0) add('no servers');
  if (tool.functions.length === 0) add('no functions');

  const uses = new Map<string, number>();
  for (const fn of tool.functions) uses.set(fn.name, (uses.get(fn.name) ?? 0) + 1);
  const reported = new Set<string>();

  for (const fn of tool.functions) {
    const where = `${fn.method.toUpperCase()} ${fn.path}`;
    if (fn.nameDerived) add(`no operationId (${where})`, fn.name);
    const count = uses.get(fn.name) ?? 0;
    if (count > 1 && !reported.has(fn.name)) {
      reported.add(fn.name);
      add(`operationId used by ${count} functions`, fn.name);
    }
    for (const param of fn.parameters) {
      if (param.description === undefined || param.description.trim() === '') {
        add(`parameter '${param.name}' (${param.in}) has no description`, fn.name);
      }
    }
    if (fn.response === undefined) add('no 2xx response', fn.name);
    else if (fn.response.schema === undefined || Object.keys(fn.response.schema).length === 0) {
      add(`${fn.response.status} response has no schema`, fn.name);
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
