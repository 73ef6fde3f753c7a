/**
 * Reading MCP client configurations (see src/core/mcp-config.ts for the format): detection by content,
 * validation with one-line errors naming the file and the server, `${env:NAME}` / `${NAME}` resolution,
 * `{instanceDir}` substitution, the minimal environment a stdio server is started with, and the copy of a
 * server's launch spec that may be written out with the tools (secrets left out).
 */
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';
import {
  isStdioServer,
  McpHttpServerSchema,
  McpStdioServerSchema,
  type McpConfig,
  type McpServerSpec,
} from '../core/mcp-config.js';

/**
 * True when parsed JSON is an MCP client configuration: an object with an `mcpServers` object, or VS
 * Code's `servers` object (an OpenAPI document's `servers` is an array, and it has `openapi`/`swagger`).
 */
export function looksLikeMcpConfig(data: unknown): boolean {
  if (!isRecord(data)) return false;
  if (isRecord(data.mcpServers)) return true;
  return isRecord(data.servers) && data.openapi === undefined && data.swagger === undefined;
}

/** Largest file looked at by `isMcpConfigFile` (configurations are small). */
const MAX_CONFIG_PEEK_BYTES = 1024 * 1024;

/**
 * True when `path` is a (small) file holding an MCP client configuration; false for folders, large or
 * unreadable files and anything else, which the caller then reads as it otherwise would.
 */
export async function isMcpConfigFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_CONFIG_PEEK_BYTES) return false;
    const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
    if (!text.trimStart().startsWith('{')) return false;
    return looksLikeMcpConfig(JSON.parse(text));
  } catch {
    return false;
  }
}

function issueText(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const field = issue.path.map(String).join('.');
  return field === '' ? issue.message : `field "${field}": ${issue.message}`;
}

/** One entry, validated; `where` (file and server) starts every message. */
function parseServer(value: unknown, where: string): McpServerSpec {
  if (!isRecord(value)) throw new InputError(`${where}: expected an object with "command" or "url"`);
  const type = value.type;
  if (type === 'sse') {
    throw new InputError(
      `${where}: type "sse" (the deprecated HTTP+SSE transport) is not supported; use a streamable HTTP URL`,
    );
  }
  if (typeof value.command === 'string' || type === 'stdio') {
    const parsed = McpStdioServerSchema.safeParse(value);
    if (!parsed.success) throw new InputError(`${where}: ${issueText(parsed.error)}`);
    return parsed.data;
  }
  if (typeof value.url === 'string' || type !== undefined) {
    const parsed = McpHttpServerSchema.safeParse(value);
    if (!parsed.success) throw new InputError(`${where}: ${issueText(parsed.error)}`);
    let url: URL;
    try {
      url = new URL(parsed.data.url);
    } catch {
      throw new InputError(`${where}: "url" is not a URL`);
    }
    // The URL is only checked for its scheme here; `${env:...}` parts are resolved at connection time.
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InputError(`${where}: "url" must be http(s), got ${url.protocol}`);
    }
    return parsed.data;
  }
  throw new InputError(`${where}: expected "command" (a stdio server) or "url" (a streamable HTTP server)`);
}

/**
 * Validates parsed JSON as an MCP client configuration. Disabled servers are left out; a configuration
 * without any server is an error. `label` (usually the file path) starts every message.
 */
export function parseMcpConfig(data: unknown, label: string): McpConfig {
  if (!looksLikeMcpConfig(data)) {
    throw new InputError(`${label}: expected an MCP client configuration ({"mcpServers": {NAME: {...}}})`);
  }
  const record = data as Record<string, unknown>;
  const servers = (isRecord(record.mcpServers) ? record.mcpServers : record.servers) as Record<
    string,
    unknown
  >;
  const out: Record<string, McpServerSpec> = {};
  for (const [name, value] of Object.entries(servers)) {
    const where = `${label}: server "${name}"`;
    if (name.trim() === '') throw new InputError(`${label}: a server has an empty name`);
    const spec = parseServer(value, where);
    if (spec.disabled === true) continue;
    out[name] = spec;
  }
  if (Object.keys(out).length === 0) throw new InputError(`${label}: no enabled MCP server in mcpServers`);
  return { mcpServers: out };
}

const REFERENCE = /\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** True when a configured string names an environment variable (`${env:NAME}` or `${NAME}`). */
export function hasEnvReference(text: string): boolean {
  REFERENCE.lastIndex = 0;
  return REFERENCE.test(text);
}

/**
 * `text` with `${env:NAME}` / `${NAME}` replaced from `env` and `{instanceDir}` by `instanceDir`. A
 * variable that is not set is an `InputError` naming `where` and the variable (never its value).
 */
export function resolveConfigString(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
  instanceDir?: string,
): string {
  const resolved = text.replace(REFERENCE, (_match, name: string) => {
    const value = env[name];
    if (value === undefined) throw new InputError(`${where} refers to \${env:${name}}, which is not set`);
    return value;
  });
  return instanceDir === undefined ? resolved : resolved.split(INSTANCE_DIR).join(instanceDir);
}

/** The placeholder for a server process's own working folder. */
export const INSTANCE_DIR = '{instanceDir}';

/** True when the spec uses `{instanceDir}` anywhere (then every process gets a fresh folder). */
export function usesInstanceDir(spec: McpServerSpec): boolean {
  const texts = isStdioServer(spec)
    ? [...(spec.args ?? []), ...Object.values(spec.env ?? {}), spec.cwd ?? '']
    : [spec.url, ...Object.values(spec.headers ?? {})];
  return texts.some((text) => text.includes(INSTANCE_DIR));
}

/**
 * Variables a stdio server inherits from the parent besides those its entry names: the ones a program needs
 * to find itself and its locale, never keys or tokens.
 */
export const INHERITED_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_MESSAGES',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'SYSTEMROOT',
  'APPDATA',
  'LOCALAPPDATA',
  'USERPROFILE',
  'PROGRAMFILES',
] as const;

/**
 * The environment of a stdio server: `INHERITED_ENV` from `parent` (values that look like exported shell
 * functions left out), then the entry's `env`, resolved. Nothing else of the parent's environment.
 */
export function serverEnvironment(
  name: string,
  env: Readonly<Record<string, string>> | undefined,
  parent: Readonly<Record<string, string | undefined>>,
  instanceDir?: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const value = parent[key];
    if (value !== undefined && !value.startsWith('()')) out[key] = value;
  }
  for (const [key, value] of Object.entries(env ?? {})) {
    out[key] = resolveConfigString(value, parent, `MCP server "${name}": env ${key}`, instanceDir);
  }
  return out;
}

/** Names that usually hold keys, tokens or passwords. */
const SECRET_NAME = /key|token|secret|passw|pwd|auth|credential|cookie|session|bearer|private/i;

/**
 * The spec as it may be written out with the tools (ToolAlpaca JSON's `mcpServers`): header values and
 * secret-looking `env` values are kept only when they refer to environment variables (`${env:NAME}`), so
 * no secret is ever written; `dropped` names what was left out (`headers.Authorization`, `env.API_KEY`).
 */
export function specForRecord(spec: McpServerSpec): { spec: McpServerSpec; dropped: string[] } {
  const dropped: string[] = [];
  const keep = (map: Record<string, string> | undefined, prefix: string, all: boolean) => {
    if (map === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(map)) {
      if (hasEnvReference(value) || value.includes(INSTANCE_DIR) || (!all && !SECRET_NAME.test(key))) {
        out[key] = value;
      } else {
        dropped.push(`${prefix}.${key}`);
      }
    }
    return out;
  };
  if (isStdioServer(spec)) {
    const env = keep(spec.env, 'env', false);
    return { spec: { ...spec, ...(env !== undefined ? { env } : {}) }, dropped };
  }
  const headers = keep(spec.headers, 'headers', true);
  return { spec: { ...spec, ...(headers !== undefined ? { headers } : {}) }, dropped };
}
