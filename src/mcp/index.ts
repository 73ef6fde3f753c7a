/**
 * `toolalpaca/mcp`: MCP servers as tool sources. Read a client configuration, start (or reach) its
 * servers, list their tools as toolalpaca tools with `mcp` bindings, and call them. The `mcp` executor
 * (`createExecutor('mcp')` in `toolalpaca/executors`) and `readTools` on a configuration file use these;
 * serving tools as an MCP server is `toolalpaca/serve`.
 */
export {
  type McpConfig,
  type McpHttpServer,
  type McpServerSpec,
  type McpStdioServer,
  isStdioServer,
  McpServerSpecSchema,
} from '../core/mcp-config.js';
export { isMcpConfigFile, looksLikeMcpConfig, parseMcpConfig } from './config.js';
export {
  connectMcpServer,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  McpServerError,
  startMcpServer,
  type McpCallOptions,
  type McpConnection,
  type McpConnectOptions,
  type McpListedTool,
  type McpServerIdentity,
} from './connection.js';
export { contentBlockText, mcpResultView, type McpResultView } from './result.js';
export {
  MCP_CATEGORY,
  mcpServerTool,
  mcpToolFunction,
  readMcpConfigTools,
  readMcpServerTool,
  type McpServerReading,
} from './tools.js';
