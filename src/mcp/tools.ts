/**
 * MCP servers as tools of the tool model: each server of a configuration is one tool named after its key;
 * each tool of its `tools/list` is one function with an `mcp` binding (server, tool, annotations), the
 * tool's `inputSchema` and `outputSchema`, its title as the summary and its description. The tool keeps
 * the server's launch spec (`mcpServers`) so that an executor can start it again later.
 */
import { oneLine } from '../core/errors.js';
import type { McpConfig, McpServerSpec } from '../core/mcp-config.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import {
  startMcpServer,
  type McpConnectOptions,
  type McpListedTool,
  type McpServerIdentity,
} from './connection.js';

/** Category of tools read from MCP servers. */
export const MCP_CATEGORY = 'MCP';
const MAX_NAMES_IN_DESCRIPTION = 8;

/** The function an MCP tool of server `server` becomes. */
export function mcpToolFunction(server: string, listed: McpListedTool): ToolFunction {
  // A title is a display name ("Read Graph"): the summary only when there is no description, because
  // ToolAlpaca's documentation shows the summary in place of the description.
  const hasDescription = listed.description !== undefined && listed.description.trim() !== '';
  const summary = hasDescription ? undefined : (listed.title ?? listed.annotations?.title);
  const annotations = listed.annotations !== undefined ? { ...listed.annotations } : undefined;
  return {
    name: listed.name,
    ...(summary !== undefined && summary.trim() !== '' ? { summary } : {}),
    ...(hasDescription ? { description: listed.description } : {}),
    inputSchema: { ...listed.inputSchema },
    ...(listed.outputSchema !== undefined ? { outputSchema: { ...listed.outputSchema } } : {}),
    binding: {
      kind: 'mcp',
      server,
      tool: listed.name,
      ...(annotations !== undefined ? { annotations } : {}),
    },
  };
}

/**
 * A one-paragraph description: the first paragraph of the server's instructions when it gives them, else
 * what it is and which tools it has.
 */
function describeServer(name: string, identity: McpServerIdentity, tools: readonly McpListedTool[]): string {
  const first = identity.instructions
    ?.split(/\n\s*\n/)
    .map((part) => part.replace(/^#+\s.*$/gm, '').trim())
    .find((part) => part !== '');
  if (first !== undefined) return oneLine(first, 500);
  const names = tools.slice(0, MAX_NAMES_IN_DESCRIPTION).map((tool) => tool.name);
  const more = tools.length > names.length ? `, and ${tools.length - names.length} more` : '';
  const who = identity.title ?? identity.name ?? name;
  return `${who}, an MCP server with ${tools.length} tool${tools.length === 1 ? '' : 's'}: ${names.join(', ')}${more}.`;
}

/** The tool for server `name` from what it listed. */
export function mcpServerTool(
  name: string,
  spec: McpServerSpec,
  identity: McpServerIdentity,
  tools: readonly McpListedTool[],
): Tool {
  return {
    name,
    description: describeServer(name, identity, tools),
    category: MCP_CATEGORY,
    auth: [],
    servers: [],
    functions: tools.map((listed) => mcpToolFunction(name, listed)),
    mcpServers: { [name]: spec },
  };
}

/** Start (or reach) server `name`, list its tools and stop it; `McpServerError` when it cannot. */
export async function readMcpServerTool(
  name: string,
  spec: McpServerSpec,
  options: Omit<McpConnectOptions, 'instanceDir'> = {},
): Promise<Tool> {
  const connection = await startMcpServer(name, spec, options);
  try {
    const tools = await connection.listTools({ timeoutMs: spec.timeout ?? options.connectTimeoutMs });
    return mcpServerTool(name, spec, connection.identity, tools);
  } finally {
    await connection.close();
  }
}

/** One server's tool, or why it could not be read. */
export type McpServerReading = { name: string; tool: Tool } | { name: string; error: string; cause: unknown };

/** Every server of `config` read at once (each started, listed and stopped); failures do not stop others. */
export async function readMcpConfigTools(
  config: McpConfig,
  options: Omit<McpConnectOptions, 'instanceDir'> = {},
): Promise<McpServerReading[]> {
  return Promise.all(
    Object.entries(config.mcpServers).map(async ([name, spec]): Promise<McpServerReading> => {
      try {
        return { name, tool: await readMcpServerTool(name, spec, options) };
      } catch (error) {
        return { name, error: error instanceof Error ? error.message : String(error), cause: error };
      }
    }),
  );
}
