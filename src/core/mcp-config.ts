/**
 * MCP client configuration, the format Claude Desktop, Cursor and VS Code read:
 * `{"mcpServers": {NAME: {command, args?, env?, cwd?} | {url, headers?}}}` (VS Code's `{"servers": ...}`
 * with `type` is read too). Each entry is one server: launched over stdio, or reached over streamable HTTP.
 *
 * Keys this project adds to an entry (other clients ignore unknown keys, and so does this reader):
 * - `perInstance`: a fresh server process (with a fresh `{instanceDir}`) for every generated instance, so
 *   that stateful servers (memory, filesystem) do not leak state from one instance into the next;
 * - `timeout`: milliseconds one `tools/call` may take (default 30 000).
 * - `startTimeout`: milliseconds a server may take to start and answer `initialize` (default 20 000; a
 *   server fetched by `npx -y` on first use may need more).
 *
 * Strings may name environment variables as `${env:NAME}` (VS Code) or `${NAME}` (Claude Code); they are
 * resolved when a server is started, never stored resolved. `{instanceDir}` in `args`, `env` values and
 * `cwd` is the server process's own fresh working folder.
 */
import { z } from 'zod';

const StringMapSchema = z.record(z.string(), z.string());

/** Keys every entry may carry, whatever its transport. */
const CommonShape = {
  /** Claude Desktop / Cline: a disabled server is skipped. */
  disabled: z.boolean().optional(),
  perInstance: z.boolean().optional(),
  timeout: z.number().int().positive().optional(),
  startTimeout: z.number().int().positive().optional(),
};

export const McpStdioServerSchema = z.object({
  type: z.literal('stdio').optional(),
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: StringMapSchema.optional(),
  cwd: z.string().optional(),
  ...CommonShape,
});
export type McpStdioServer = z.infer<typeof McpStdioServerSchema>;

export const McpHttpServerSchema = z.object({
  type: z.enum(['http', 'streamable-http', 'streamableHttp']).optional(),
  url: z.string().min(1),
  /** Sent with every request; secrets (never printed, never written with the tools unless `${env:...}`). */
  headers: StringMapSchema.optional(),
  ...CommonShape,
});
export type McpHttpServer = z.infer<typeof McpHttpServerSchema>;

/** One server of an MCP client configuration: its launch (stdio) or address (HTTP). */
export const McpServerSpecSchema = z.union([McpStdioServerSchema, McpHttpServerSchema]);
export type McpServerSpec = McpStdioServer | McpHttpServer;

/** True for a stdio entry (it has a `command`). */
export function isStdioServer(spec: McpServerSpec): spec is McpStdioServer {
  return 'command' in spec && typeof spec.command === 'string';
}

/** A whole configuration: servers by name. */
export interface McpConfig {
  mcpServers: Record<string, McpServerSpec>;
}
