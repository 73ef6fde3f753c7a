/**
 * Secrets of the real executor, and the hosts they may be sent to.
 *
 * Secrets file (JSON): an object keyed by tool name, each entry
 * `{"apiKey"?, "bearer"?, "headers"?: {...}, "query"?: {...}, "hosts"?: ["api.example.com", ...]}`.
 * A secret is sent only to the hosts it is tied to: `hosts` entries are `name` (any port), `name:port`,
 * or `*.example.com` (any subdomain). An entry without `hosts` (the format before hosts existed) is tied to
 * the hosts of the tool's own `servers` as the spec loaded in the run gives them, so a spec that takes a
 * configured tool's name but points elsewhere would get its key: add `hosts` to every entry.
 *
 * Environment: `TOOLALPACA_SECRET_<TOOLNAME>` (the tool name upper-cased, every run of other characters
 * than A-Z and 0-9 replaced by `_`: "Nager.Date" → `TOOLALPACA_SECRET_NAGER_DATE`) holds either a JSON
 * entry as above or a bare string, which is the `apiKey` (tied to the tool's servers). Environment beats
 * file beats secrets given in code, field by field.
 *
 * Errors never quote a secret: a bad file names the file, the tool and the field.
 */
import { readFileSync } from 'node:fs';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';
import type { Tool } from '../core/tool.js';

export interface ToolSecret {
  apiKey?: string;
  bearer?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** Hosts the secret may be sent to; undefined: the hosts of the tool's servers. */
  hosts?: string[];
}

export type Secrets = Record<string, ToolSecret>;

const FIELDS = ['apiKey', 'bearer', 'headers', 'query', 'hosts'];
const ENV_PREFIX = 'TOOLALPACA_SECRET_';

/** `TOOLALPACA_SECRET_<TOOLNAME>` for a tool name. */
export function secretEnvName(toolName: string): string {
  const name = toolName
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `${ENV_PREFIX}${name}`;
}

function stringRecord(value: unknown, where: string): Record<string, string> {
  if (!isRecord(value)) throw new InputError(`${where}: expected an object of strings`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new InputError(`${where}: "${key}" must be a string`);
    out[key] = item;
  }
  return out;
}

/** A host pattern as written in `hosts`: `name`, `name:port`, `[v6]`, `*.domain`. Lower case. */
function checkedHost(value: unknown, where: string): string {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!/^(\*\.)?([a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(text)) {
    throw new InputError(`${where}: expected host names like "api.example.com" or "api.example.com:8443"`);
  }
  return text;
}

/** One entry (string = apiKey), strictly checked; `where` names it in errors. */
function toSecret(value: unknown, where: string): ToolSecret {
  if (typeof value === 'string') {
    if (value === '') throw new InputError(`${where}: empty secret`);
    return { apiKey: value };
  }
  if (!isRecord(value)) throw new InputError(`${where}: expected an object or a string`);
  const secret: ToolSecret = {};
  for (const [field, item] of Object.entries(value)) {
    const at = `${where}: "${field}"`;
    switch (field) {
      case 'apiKey':
      case 'bearer':
        if (typeof item !== 'string' || item === '') throw new InputError(`${at} must be a non-empty string`);
        secret[field] = item;
        break;
      case 'headers':
      case 'query':
        secret[field] = stringRecord(item, at);
        break;
      case 'hosts':
        if (!Array.isArray(item) || item.length === 0) {
          throw new InputError(`${at} must be a non-empty list of host names`);
        }
        secret.hosts = item.map((host) => checkedHost(host, at));
        break;
      default: {
        const near = FIELDS.find((known) => known.toLowerCase() === field.toLowerCase());
        throw new InputError(
          `${where}: unknown field "${field}"${near !== undefined ? ` (did you mean "${near}"?)` : ''}; expected ${FIELDS.join(', ')}`,
        );
      }
    }
  }
  if (secret.apiKey === undefined && secret.bearer === undefined && !secret.headers && !secret.query) {
    throw new InputError(`${where}: no secret (give apiKey, bearer, headers or query)`);
  }
  return secret;
}

/** Parse a secrets JSON text (`{ [toolName]: secret }`); `label` names the source in errors. */
export function parseSecrets(text: string, label: string): Secrets {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    // Never echo the text: it holds secrets.
    throw new InputError(`${label}: secrets file is not valid JSON`);
  }
  if (!isRecord(value))
    throw new InputError(`${label}: secrets file must be a JSON object keyed by tool name`);
  const out: Secrets = {};
  for (const [tool, entry] of Object.entries(value)) out[tool] = toSecret(entry, `${label}: "${tool}"`);
  return out;
}

/** Read and check a secrets file now (see `parseSecrets`); one-line `InputError` when missing or bad. */
export function loadSecretsFile(path: string): Secrets {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      oneLine(`${path}: ${code === 'ENOENT' ? 'no such secrets file' : `cannot read: ${messageOf(error)}`}`),
      { cause: error },
    );
  }
  return parseSecrets(text, path);
}

/** Every `TOOLALPACA_SECRET_*` variable, checked; keyed by variable name. */
export function secretsFromEnv(env: Record<string, string | undefined>): Record<string, ToolSecret> {
  const out: Record<string, ToolSecret> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || raw.trim() === '') continue;
    const text = raw.trim();
    if (text.startsWith('{')) {
      let value: unknown;
      try {
        value = JSON.parse(text) as unknown;
      } catch {
        throw new InputError(`${name}: not valid JSON`);
      }
      out[name] = toSecret(value, name);
    } else {
      out[name] = { apiKey: text };
    }
  }
  return out;
}

function mergeSecret(...parts: (ToolSecret | undefined)[]): ToolSecret | undefined {
  let out: ToolSecret | undefined;
  for (const part of parts) {
    if (!part) continue;
    out ??= {};
    if (part.apiKey !== undefined) out.apiKey = part.apiKey;
    if (part.bearer !== undefined) out.bearer = part.bearer;
    if (part.headers) out.headers = { ...out.headers, ...part.headers };
    if (part.query) out.query = { ...out.query, ...part.query };
    if (part.hosts) out.hosts = [...part.hosts];
  }
  return out;
}

function lookup(secrets: Secrets | undefined, toolName: string): ToolSecret | undefined {
  if (!secrets) return undefined;
  if (secrets[toolName]) return secrets[toolName];
  const wanted = secretEnvName(toolName);
  const key = Object.keys(secrets).find((name) => secretEnvName(name) === wanted);
  return key === undefined ? undefined : secrets[key];
}

/** The secret for a tool from `secrets`, then a file's, then the environment's (later wins per field). */
export function resolveSecret(
  toolName: string,
  sources: { secrets?: Secrets; fileSecrets?: Secrets; envSecrets?: Record<string, ToolSecret> },
): ToolSecret | undefined {
  return mergeSecret(
    lookup(sources.secrets, toolName),
    lookup(sources.fileSecrets, toolName),
    sources.envSecrets?.[secretEnvName(toolName)],
  );
}

/** `host[:port]` of an http(s) URL, lower case; undefined for other URLs. */
function urlHost(url: string): { name: string; port: string } | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    return {
      name: parsed.hostname.toLowerCase(),
      port: parsed.port || (parsed.protocol === 'https:' ? '443' : '80'),
    };
  } catch {
    return undefined;
  }
}

/** The host patterns a secret is tied to: its `hosts`, else the host names of the tool's servers. */
export function secretHosts(tool: Tool, secret: ToolSecret): string[] {
  if (secret.hosts !== undefined) return secret.hosts;
  return tool.servers
    .map((server) => urlHost(server)?.name)
    .filter((name): name is string => name !== undefined);
}

/** True when `url`'s host matches one of the patterns (`name`, `name:port`, `*.domain`). */
export function hostTiedTo(url: string, patterns: readonly string[]): boolean {
  const host = urlHost(url);
  if (host === undefined) return false;
  return patterns.some((pattern) => {
    const colon = pattern.startsWith('[') ? pattern.indexOf(':', pattern.indexOf(']')) : pattern.indexOf(':');
    const name = colon < 0 ? pattern : pattern.slice(0, colon);
    const port = colon < 0 ? undefined : pattern.slice(colon + 1);
    if (port !== undefined && port !== host.port) return false;
    if (name.startsWith('*.')) return host.name.endsWith(name.slice(1));
    return name === host.name;
  });
}
