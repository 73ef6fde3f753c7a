/**
 * MCP tools in an OpenAPI document, so that a tool read from an MCP server survives being written as
 * ToolAlpaca JSON (whose `Documentation` is OpenAPI) or as an OpenAPI file and read back:
 *
 * - each MCP function is the operation `POST /{name}` of the tool's HTTP view (its request body is the
 *   tool's `inputSchema`, its 200 answer the `outputSchema`), marked `x-mcp-tool: {server, tool,
 *   annotations?}`; reading such an operation gives the function back with its `mcp` binding and the body
 *   schema as `inputSchema`;
 * - the document's `x-mcp-servers` holds each server's launch spec (an MCP client configuration entry),
 *   with literal secrets left out (see `specForRecord`), so a later run can start the server again.
 *
 * Both are OpenAPI extensions: the NL documentation and every OpenAPI reader ignore them.
 */
import { isRecord } from '../core/json-text.js';
import { McpServerSpecSchema, type McpServerSpec } from '../core/mcp-config.js';
import type { McpBinding, Tool, ToolFunction } from '../core/tool.js';
import { specForRecord } from '../mcp/config.js';

/** The operation extension naming an MCP function's server and tool. */
export const MCP_TOOL_KEY = 'x-mcp-tool';
/** The document extension holding the servers' launch specs. */
export const MCP_SERVERS_KEY = 'x-mcp-servers';

/** `x-mcp-tool` for a function with an `mcp` binding, else undefined. */
export function mcpToolExtension(fn: ToolFunction): Record<string, unknown> | undefined {
  const binding = fn.binding;
  if (binding?.kind !== 'mcp') return undefined;
  return {
    server: binding.server,
    tool: binding.tool,
    ...(binding.annotations !== undefined ? { annotations: binding.annotations } : {}),
  };
}

/** `x-mcp-servers` for a tool that has launch specs (secrets left out), else undefined. */
export function mcpServersExtension(tool: Tool): Record<string, McpServerSpec> | undefined {
  if (tool.mcpServers === undefined) return undefined;
  const out: Record<string, McpServerSpec> = {};
  for (const [name, spec] of Object.entries(tool.mcpServers)) out[name] = specForRecord(spec).spec;
  return out;
}

/**
 * One warning per launch spec value left out when `tools` are written (a literal header or secret-looking
 * `env` value): without it a later `--executor mcp` run cannot authenticate, so commands that write tools
 * say so. Names the server and the key, never the value.
 */
export function mcpSecretsLeftOut(tools: readonly Tool[]): string[] {
  const out: string[] = [];
  for (const tool of tools) {
    for (const [name, spec] of Object.entries(tool.mcpServers ?? {})) {
      for (const key of specForRecord(spec).dropped) {
        out.push(
          `MCP server "${name}": ${key} is a literal secret and is not written with the tools; write it as \${env:NAME} so that a later run can send it`,
        );
      }
    }
  }
  return out;
}

/**
 * The MCP function an operation marked `x-mcp-tool` stands for, from the function read from it as HTTP;
 * undefined for an operation without a valid mark.
 */
export function mcpFunctionOf(
  operation: Record<string, unknown>,
  fn: ToolFunction,
): ToolFunction | undefined {
  const mark = operation[MCP_TOOL_KEY];
  if (!isRecord(mark) || typeof mark.server !== 'string' || typeof mark.tool !== 'string') return undefined;
  const binding: McpBinding = {
    kind: 'mcp',
    server: mark.server,
    tool: mark.tool,
    ...(isRecord(mark.annotations) ? { annotations: mark.annotations } : {}),
  };
  const body = fn.binding?.kind === 'http' ? fn.binding.requestBody?.schema : undefined;
  return {
    name: fn.name,
    ...(fn.nameDerived !== undefined ? { nameDerived: fn.nameDerived } : {}),
    ...(fn.summary !== undefined ? { summary: fn.summary } : {}),
    ...(fn.description !== undefined ? { description: fn.description } : {}),
    inputSchema: body ?? { type: 'object', properties: {} },
    ...(fn.outputSchema !== undefined ? { outputSchema: fn.outputSchema } : {}),
    binding,
  };
}

/** The valid entries of a document's `x-mcp-servers`, or undefined when it has none. */
export function mcpServersOf(doc: Record<string, unknown>): Record<string, McpServerSpec> | undefined {
  const value = doc[MCP_SERVERS_KEY];
  if (!isRecord(value)) return undefined;
  const out: Record<string, McpServerSpec> = {};
  for (const [name, entry] of Object.entries(value)) {
    const parsed = McpServerSpecSchema.safeParse(entry);
    if (parsed.success) out[name] = parsed.data;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
