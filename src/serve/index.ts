/**
 * `toolalpaca/serve`: the virtual API server behind `toolalpaca serve`. `createToolServer` answers HTTP
 * calls to a toolset's functions through any executor (and MCP at `/mcp` with `mcp: true`);
 * `serveMcpStdio` serves the same tools as an MCP server over stdio.
 */
export { createToolServer } from './server.js';
export { pluginManifest, servedOpenApi } from './documents.js';
export {
  DEFAULT_BODY_LIMIT,
  DEFAULT_INSTANCE,
  INSTANCE_HEADER,
  SOURCE_HEADER,
  WARNINGS_HEADER,
  type ToolServer,
  type ToolServerOptions,
} from './options.js';
export {
  createMcpToolServer,
  MCP_PATH,
  mcpServedTools,
  serveMcpStdio,
  type McpHttpRouteOptions,
  type McpServedTool,
  type McpServerOptions,
  type McpStdioOptions,
  type McpStdioServer,
} from './mcp.js';
