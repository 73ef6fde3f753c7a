/**
 * Real executor: calls the tool's actual API with fetch.
 *
 * Safety rules:
 * - Requests go only to hosts of the tool's `servers`, the explicit `baseUrl` override, or `allowedHosts`;
 *   anything else (including a redirect elsewhere) is refused before a connection is made.
 * - Secrets are injected per the tool's auth schemes and redacted (raw, URL-encoded and base64 forms) from
 *   everything returned or logged: body, headers, URLs, error messages.
 * - A timeout covers the whole exchange; the body is read as a stream and reading stops at
 *   `maxResponseBytes`; text longer than `maxBodyChars` is cut. Either sets `truncated: true`.
 *
 * Secrets (`{ [toolName]: { apiKey?, bearer?, headers?, query? } }`) come from `secrets`, a JSON
 * `secretsFile` with that shape, and the environment: `TOOLALPACA_SECRET_<TOOLNAME>` where TOOLNAME is
 * the tool name upper-cased with every run of other characters than A-Z and 0-9 replaced by `_`
 * ("Nager.Date" → `TOOLALPACA_SECRET_NAGER_DATE`). The variable holds either a JSON object of the same
 * shape or a bare string, which is the `apiKey`. Environment beats file beats `secrets`, field by field.
 *
 * Injection: apiKey schemes put `apiKey` in their header/query/cookie; http bearer (and oauth2 /
 * openIdConnect, whose token is a bearer) send `Authorization: Bearer <bearer ?? apiKey>`; http basic
 * sends `apiKey` ("user:password") base64-encoded. When the spec declares no scheme but a function has a
 * key-like query/header parameter (`api_key`, `access_key`, `apikey`, `appid`, `key`, `token`...), the
 * apiKey fills it, overriding whatever placeholder the model passed. `headers` and `query` are always added.
 */
import { readFile } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { httpBindingOf } from '../core/http-binding.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import { elapsedMs, type ExecutionContext, type Observation, type ToolExecutor } from './executor.js';
import { prepareCall, type CheckOptions } from './arguments.js';
import { buildHttpRequest, cookieHeader, type HttpRequest } from './http-request.js';
import { isRecord } from '../core/json-text.js';

export interface ToolSecret {
  apiKey?: string;
  bearer?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

export type Secrets = Record<string, ToolSecret>;

export interface RealExecutorOptions extends CheckOptions {
  /** Base URL used instead of the tool's first server; its host is allowed. */
  baseUrl?: string;
  /** Extra allowed hosts (`host` or `host:port`). */
  allowedHosts?: readonly string[];
  secrets?: Secrets;
  /** JSON file with `Secrets`; read once, on first use. */
  secretsFile?: string;
  /** Where `TOOLALPACA_SECRET_*` variables are read; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Whole-exchange timeout in ms. Default 20 000. */
  timeoutMs?: number;
  /** Bytes of response body read at most. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Characters of body text kept. Default 20 000. */
  maxBodyChars?: number;
  /** Redirects followed (each target must be an allowed host). Default 5. */
  maxRedirects?: number;
  /** One line per request (redacted). Default: no logging. */
  log?: (line: string) => void;
  /** fetch implementation (tests). Default global fetch. */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_MAX_BODY_CHARS = 20_000;
const REDACTED = '***';
const KEY_PARAMETER =
  /^(api[_-]?key|access[_-]?key|apikey|app[_-]?id|appid|key|token|access[_-]?token|auth[_-]?token)$/i;

/** `TOOLALPACA_SECRET_<TOOLNAME>` for a tool name. */
export function secretEnvName(toolName: string): string {
  const name = toolName
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `TOOLALPACA_SECRET_${name}`;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

function toSecret(value: unknown): ToolSecret | undefined {
  if (typeof value === 'string') return value === '' ? undefined : { apiKey: value };
  if (!isRecord(value)) return undefined;
  const secret: ToolSecret = {};
  if (typeof value.apiKey === 'string') secret.apiKey = value.apiKey;
  if (typeof value.bearer === 'string') secret.bearer = value.bearer;
  const headers = stringRecord(value.headers);
  if (headers) secret.headers = headers;
  const query = stringRecord(value.query);
  if (query) secret.query = query;
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
  for (const [tool, entry] of Object.entries(value)) {
    const secret = toSecret(entry);
    if (secret) out[tool] = secret;
  }
  return out;
}

/** Read a secrets file (see `parseSecrets`). */
export async function loadSecretsFile(path: string): Promise<Secrets> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      oneLine(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read: ${messageOf(error)}`}`),
      { cause: error },
    );
  }
  return parseSecrets(text, path);
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

/** The secret for a tool from `secrets`, then a file's, then the environment (later wins per field). */
export function resolveSecret(
  toolName: string,
  sources: { secrets?: Secrets; fileSecrets?: Secrets; env?: Record<string, string | undefined> },
): ToolSecret | undefined {
  const raw = sources.env?.[secretEnvName(toolName)];
  let fromEnv: ToolSecret | undefined;
  if (raw !== undefined && raw.trim() !== '') {
    if (raw.trim().startsWith('{')) {
      try {
        fromEnv = toSecret(JSON.parse(raw) as unknown);
      } catch {
        throw new InputError(`${secretEnvName(toolName)}: not valid JSON`);
      }
    } else fromEnv = { apiKey: raw.trim() };
  }
  return mergeSecret(lookup(sources.secrets, toolName), lookup(sources.fileSecrets, toolName), fromEnv);
}

/** Every form a secret may take on the wire, longest first. */
function secretForms(secret: ToolSecret | undefined): string[] {
  if (!secret) return [];
  const values = [
    secret.apiKey,
    secret.bearer,
    ...Object.values(secret.headers ?? {}),
    ...Object.values(secret.query ?? {}),
  ].filter((v): v is string => typeof v === 'string' && v !== '');
  const forms = new Set<string>();
  for (const value of values) {
    forms.add(value);
    forms.add(encodeURIComponent(value));
    forms.add(new URLSearchParams({ v: value }).toString().slice(2));
    forms.add(Buffer.from(value).toString('base64'));
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  return [...forms].filter((f) => f !== '').sort((a, b) => b.length - a.length);
}

/** A function that replaces every form of the given secrets with `***` in text. */
export function makeRedactor(secret: ToolSecret | undefined): (text: string) => string {
  const forms = secretForms(secret);
  if (forms.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  };
}

function redactValue(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[redact(key)] = redactValue(item, redact);
    return out;
  }
  return value;
}

function setQuery(url: URL, name: string, value: string): void {
  url.searchParams.delete(name);
  url.searchParams.append(name, value);
}

/** Put the secret into the request as the tool's auth schemes say (see the module comment). */
export function injectAuth(
  tool: Tool,
  fn: ToolFunction,
  req: HttpRequest,
  secret: ToolSecret | undefined,
): HttpRequest {
  if (!secret) return req;
  const headers = { ...req.headers };
  const cookies = { ...req.cookies };
  const url = new URL(req.url);
  const apiKey = secret.apiKey;
  let placed = false;
  for (const scheme of tool.auth) {
    if (scheme.type === 'apiKey' && apiKey !== undefined) {
      const name = scheme.parameterName ?? scheme.name;
      if (scheme.in === 'query') setQuery(url, name, apiKey);
      else if (scheme.in === 'cookie') cookies[name] = apiKey;
      else headers[name] = apiKey;
      placed = true;
    } else if (scheme.type === 'http' && (scheme.scheme ?? 'bearer').toLowerCase() === 'basic') {
      if (apiKey !== undefined) {
        headers.Authorization = `Basic ${Buffer.from(apiKey).toString('base64')}`;
        placed = true;
      }
    } else if (scheme.type === 'http' || scheme.type === 'oauth2' || scheme.type === 'openIdConnect') {
      const token = secret.bearer ?? apiKey;
      if (token !== undefined) {
        headers.Authorization = `Bearer ${token}`;
        placed = true;
      }
    }
  }
  if (!placed && secret.bearer !== undefined) {
    headers.Authorization = `Bearer ${secret.bearer}`;
    placed = true;
  }
  if (!placed && apiKey !== undefined) {
    // No usable scheme: fill key-like parameters (ToolAlpaca's eval_real passes keys as plain parameters).
    for (const param of httpBindingOf(fn)?.parameters ?? []) {
      if (!KEY_PARAMETER.test(param.name)) continue;
      if (param.in === 'query') setQuery(url, param.name, apiKey);
      else if (param.in === 'header') headers[param.name] = apiKey;
    }
  }
  for (const [name, value] of Object.entries(secret.headers ?? {})) headers[name] = value;
  for (const [name, value] of Object.entries(secret.query ?? {})) setQuery(url, name, value);
  return { ...req, url: url.toString(), headers, cookies };
}

function hostOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:'
      ? parsed.host.toLowerCase()
      : undefined;
  } catch {
    return undefined;
  }
}

/** Hosts the executor may call for a tool. */
export function allowedHostsFor(
  tool: Tool,
  options: Pick<RealExecutorOptions, 'baseUrl' | 'allowedHosts'>,
): Set<string> {
  const hosts = new Set<string>();
  for (const server of tool.servers) {
    const host = hostOf(server);
    if (host !== undefined) hosts.add(host);
  }
  if (options.baseUrl !== undefined) {
    const host = hostOf(options.baseUrl);
    if (host !== undefined) hosts.add(host);
  }
  for (const host of options.allowedHosts ?? []) hosts.add(host.toLowerCase());
  return hosts;
}

function isTextual(contentType: string): boolean {
  const type = contentType.toLowerCase();
  return (
    type === '' ||
    type.startsWith('text/') ||
    /json|xml|javascript|x-www-form-urlencoded|yaml|csv|html/.test(type)
  );
}

async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; total: number; capped: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(0), total: 0, capped: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let capped = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - total;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      total += room;
      capped = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    total += value.byteLength;
  }
  return { bytes: Buffer.concat(chunks), total, capped };
}

/**
 * The real executor (`kind` and observation `source` are `real`). A failed call is an observation with
 * `error` (502 network error or refused host, 504 timeout, 499 aborted); only an unreadable secrets file
 * or `TOOLALPACA_SECRET_*` variable throws (`InputError`).
 */
export function createRealExecutor(options: RealExecutorOptions = {}): ToolExecutor {
  const doFetch = options.fetch ?? fetch;
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxChars = options.maxBodyChars ?? DEFAULT_MAX_BODY_CHARS;
  const maxRedirects = options.maxRedirects ?? 5;
  let fileSecrets: Promise<Secrets> | undefined;
  const log = options.log;

  async function run(
    tool: Tool,
    functionName: string,
    args: Record<string, unknown>,
    context: ExecutionContext | undefined,
  ): Promise<Observation> {
    const start = performance.now();
    const prepared = prepareCall(tool, functionName, args, 'real', options);
    if (!prepared.ok) return prepared.observation;
    const { fn } = prepared;
    let redact: (text: string) => string = (text) => text;
    const fail = (status: number, message: string, method: string, url: string): Observation => {
      const error = redact(message);
      log?.(redact(`real ${method} ${url} -> ${status} error: ${oneLine(error, 300)}`));
      return {
        status,
        body: { error },
        headers: {},
        source: 'real',
        latencyMs: elapsedMs(start),
        error,
        ...(prepared.warnings.length > 0 ? { warnings: prepared.warnings } : {}),
      };
    };
    const binding = httpBindingOf(fn);
    if (binding === undefined) {
      return fail(
        501,
        `tool '${tool.name}' function '${fn.name}' has no HTTP binding; the real executor calls HTTP APIs only`,
        'CALL',
        fn.name,
      );
    }
    let method = binding.method.toUpperCase();
    let shownUrl = binding.path;
    try {
      if (options.secretsFile !== undefined) fileSecrets ??= loadSecretsFile(options.secretsFile);
      const secret = resolveSecret(tool.name, {
        ...(options.secrets ? { secrets: options.secrets } : {}),
        ...(fileSecrets ? { fileSecrets: await fileSecrets } : {}),
        env,
      });
      redact = makeRedactor(secret);
      const base = options.baseUrl ?? tool.servers.find((server) => hostOf(server) !== undefined);
      if (base === undefined) {
        return fail(
          502,
          `tool '${tool.name}' has no http(s) server URL and no base URL was given`,
          method,
          shownUrl,
        );
      }
      const allowed = allowedHostsFor(tool, options);
      let req = buildHttpRequest(tool, binding, prepared.args, base);
      shownUrl = req.url;
      const host = hostOf(req.url);
      if (host === undefined || !allowed.has(host)) {
        return fail(
          502,
          `refused: host ${host ?? '(none)'} is not allowed for tool '${tool.name}' (allowed: ${[...allowed].join(', ') || 'none'})`,
          method,
          shownUrl,
        );
      }
      req = injectAuth(tool, fn, req, secret);

      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = context?.signal ? AbortSignal.any([timeout, context.signal]) : timeout;
      let url = req.url;
      let body = req.body;
      const headers: Record<string, string> = {
        Accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
        ...req.headers,
      };
      const cookies = cookieHeader(req.cookies);
      if (cookies !== '') headers.Cookie = cookies;
      let response: Response | undefined;
      for (let hop = 0; ; hop++) {
        response = await doFetch(url, {
          method,
          headers,
          redirect: 'manual',
          signal,
          ...(body !== undefined ? { body } : {}),
        });
        const location = response.headers.get('location');
        if (response.status < 300 || response.status >= 400 || location === null || hop >= maxRedirects)
          break;
        const next = new URL(location, url).toString();
        const nextHost = hostOf(next);
        await response.body?.cancel().catch(() => undefined);
        if (nextHost === undefined || !allowed.has(nextHost)) {
          return fail(
            502,
            `refused: redirect to host ${nextHost ?? '(none)'} is not allowed for tool '${tool.name}'`,
            method,
            shownUrl,
          );
        }
        if (
          response.status === 303 ||
          ((response.status === 301 || response.status === 302) && method === 'POST')
        ) {
          method = 'GET';
          body = undefined;
          delete headers['Content-Type'];
        }
        url = next;
        shownUrl = next;
      }
      const { bytes, total, capped } = await readCapped(response, maxBytes);
      const contentType = response.headers.get('content-type') ?? '';
      const responseHeaders: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        responseHeaders[name] = redact(value);
      });
      let truncated = capped;
      let value: unknown;
      if (!isTextual(contentType)) {
        value = `Received ${contentType || 'binary'} content (${total}${capped ? '+' : ''} bytes), not shown.`;
      } else {
        let text = redact(new TextDecoder().decode(bytes));
        if (text.length > maxChars) {
          text = text.slice(0, maxChars);
          truncated = true;
        }
        value = text;
        if (!truncated && /json/i.test(contentType) && text.trim() !== '') {
          try {
            value = redactValue(JSON.parse(text) as unknown, redact);
          } catch {
            value = text;
          }
        }
      }
      const latencyMs = elapsedMs(start);
      log?.(
        redact(
          `real ${method} ${shownUrl} -> ${response.status} ${latencyMs}ms${truncated ? ' truncated' : ''}`,
        ),
      );
      return {
        status: response.status,
        body: value,
        headers: responseHeaders,
        source: 'real',
        latencyMs,
        ...(truncated ? { truncated: true } : {}),
        ...(prepared.warnings.length > 0 ? { warnings: prepared.warnings } : {}),
      };
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError') return fail(504, `timed out after ${timeoutMs} ms`, method, shownUrl);
      if (name === 'AbortError') return fail(499, 'aborted', method, shownUrl);
      // A broken secrets file or variable is a setup problem, not a failed call; its message holds no secret.
      if (error instanceof InputError) throw error;
      const cause = error instanceof Error && error.cause !== undefined ? `: ${messageOf(error.cause)}` : '';
      return fail(502, `network error: ${messageOf(error)}${cause}`, method, shownUrl);
    }
  }

  return {
    kind: 'real',
    execute(tool, functionName, args, context) {
      return run(tool, functionName, args, context);
    },
  };
}
