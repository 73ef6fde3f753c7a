/**
 * Tools as the server mounts them: under `/{encodeURIComponent(name)}`, functions grouped by method and
 * path shape (functions whose paths differ only in parameter names share one route).
 */
import { InputError } from '../core/errors.js';
import { httpViewOf } from '../core/http-binding.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import { parseTemplate, type PathTemplate } from './path-template.js';

export interface RouteCandidate {
  fn: ToolFunction;
  template: PathTemplate;
}

/** Functions that share a method and path shape (usually one). */
export interface RouteGroup {
  method: string;
  template: PathTemplate;
  candidates: RouteCandidate[];
}

export interface MountedTool {
  tool: Tool;
  /** `/` + encodeURIComponent(name). */
  prefix: string;
  groups: RouteGroup[];
  /** Routes as listed in 404 answers and the index. */
  routes: { method: string; path: string; function: string }[];
}

function mountTool(tool: Tool): MountedTool {
  const groups: RouteGroup[] = [];
  const byKey = new Map<string, RouteGroup>();
  const prefix = `/${encodeURIComponent(tool.name)}`;
  const routes: MountedTool['routes'] = [];
  for (const fn of tool.functions) {
    // Functions without an HTTP binding are served as POST /{name} with a JSON body.
    const view = httpViewOf(fn);
    const template = parseTemplate(view.path);
    const method = view.method.toUpperCase();
    const key = `${method} ${template.shape}`;
    let group = byKey.get(key);
    if (group === undefined) {
      group = { method, template, candidates: [] };
      byKey.set(key, group);
      groups.push(group);
    }
    group.candidates.push({ fn, template });
    routes.push({ method, path: `${prefix}${template.path}`, function: fn.name });
  }
  return { tool, prefix, groups, routes };
}

/** Every tool mounted, by name. Throws `InputError` for two tools with one name. */
export function mountTools(tools: readonly Tool[]): Map<string, MountedTool> {
  const mounted = new Map<string, MountedTool>();
  for (const tool of tools) {
    if (mounted.has(tool.name)) throw new InputError(`two tools are named '${tool.name}'; names must differ`);
    mounted.set(tool.name, mountTool(tool));
  }
  return mounted;
}

/** A tool name fastify can hold as a static prefix (find-my-way decodes it before matching). */
export function fastifySafeName(name: string): boolean {
  return !/[/?#%:*()]/.test(name) && name !== '.' && name !== '..' && name.trim() === name;
}
