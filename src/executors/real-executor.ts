/**
 * Real executor: calls the tool's actual API.
 *
 * Safety rules:
 * - Requests go only to hosts of the tool's `servers`, the explicit `baseUrl` override, or `allowedHosts`;
 *   anything else (including a redirect elsewhere) is refused before a connection is made.
 * - Loopback, private, link-local and other non-public addresses are refused unless `allowPrivate`: IP
 *   literals before the call, names by the addresses they resolve to when connecting (`network-guard.ts`).
 * - A secret (`secrets.ts`) is sent only to the hosts it is tied to; a spec that takes a configured tool's
 *   name but points elsewhere gets no key, and a redirect away from those hosts is refused once a secret
 *   was sent. Secrets are redacted (`redact.ts`) from everything returned or logged: body, headers, URLs,
 *   error messages. The secrets file and `TOOLALPACA_SECRET_*` variables are read and checked when the
 *   executor is created, so a missing or malformed file fails at start-up.
 * - A timeout covers the whole exchange; the body is read as a stream and reading stops at
 *   `maxResponseBytes`; text longer than `maxBodyChars` is cut. Either sets `truncated: true`.
 *
 * Injection: apiKey schemes put `apiKey` in their header/query/cookie; http bearer (and oauth2 /
 * openIdConnect, whose token is a bearer) send `Authorization: Bearer <bearer ?? apiKey>`; http basic
 * sends `apiKey` ("user:password") base64-encoded. When the spec declares no scheme but a function has a
 * key-like query/header parameter (`api_key`, `access_key`, `apikey`, `appid`, `key`, `token`...), the
 * apiKey fills it, overriding whatever placeholder the model passed. `headers` and `query` are always added.
 */
import { fetch as undiciFetch } from 'undici';
import { messageOf, oneLine } from '../core/errors.js';
import { httpBindingOf } from '../core/http-binding.js';
import { proxySettings } from '../core/http-dispatcher.js';
import type { HttpBinding, Tool, ToolFunction } from '../core/tool.js';
import { elapsedMs, type ExecutionContext, type Observation, type ToolExecutor } from './executor.js';
import { prepareCall, type CheckOptions } from './arguments.js';
import { buildHttpRequest, cookieHeader, type HttpRequest } from './http-request.js';
import {
  checkAddressLiteral,
  checkResolvedHost,
  createGuardedDispatcher,
  forbiddenAddressIn,
} from './network-guard.js';
import { makeRedactor, redactValue } from './redact.js';
import {
  hostTiedTo,
  loadSecretsFile,
  resolveSecret,
  secretHosts,
  secretsFromEnv,
  type Secrets,
  type ToolSecret,
} from './secrets.js';

export interface RealExecutorOptions extends CheckOptions {
  /** Base URL used instead of the tool's first server; its host is allowed. */
  baseUrl?: string;
  /** Extra allowed hosts (`host` or `host:port`). */
  allowedHosts?: readonly string[];
  secrets?: Secrets;
  /** JSON secrets file (see `secrets.ts`); read and checked when the executor is created. */
  secretsFile?: string;
  /** Allow loopback, private and link-local addresses (local test servers). Default false. */
  allowPrivate?: boolean;
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
  /** fetch implementation (tests); resolved addresses are then not checked. Default undici's fetch. */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_MAX_BODY_CHARS = 20_000;
const KEY_PARAMETER =
  /^(api[_-]?key|access[_-]?key|apikey|app[_-]?id|appid|key|token|access[_-]?token|auth[_-]?token)$/i;

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

interface Exchange {
  response: Response;
  /** The URL that answered (after redirects). */
  url: string;
  method: string;
}

type Fetch = typeof fetch;

/** The fetch a real executor uses: the caller's, or undici's through an address-checking dispatcher. */
function fetchFor(options: RealExecutorOptions): { fetch: Fetch; close?: () => Promise<void> } {
  if (options.fetch !== undefined) return { fetch: options.fetch };
  if (options.allowPrivate === true) return { fetch };
  if (proxySettings() !== undefined) {
    // Through a proxy the proxy connects, so the name is resolved and checked here first.
    return {
      fetch: (async (input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]) => {
        await checkResolvedHost(new URL(String(input)).hostname);
        return fetch(input, init);
      }) as Fetch,
    };
  }
  const dispatcher = createGuardedDispatcher();
  return {
    fetch: ((input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]) =>
      undiciFetch(String(input), { ...init, dispatcher } as never)) as unknown as Fetch,
    close: () => dispatcher.close(),
  };
}

/** The options with their defaults applied, the transport and the secret sources read at creation. */
interface RealSettings {
  options: RealExecutorOptions;
  transport: { fetch: Fetch; close?: () => Promise<void> };
  timeoutMs: number;
  maxBytes: number;
  maxChars: number;
  maxRedirects: number;
  sources: Parameters<typeof resolveSecret>[1];
  log: ((line: string) => void) | undefined;
}

function realSettingsOf(options: RealExecutorOptions): RealSettings {
  return {
    options,
    transport: fetchFor(options),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    maxChars: options.maxBodyChars ?? DEFAULT_MAX_BODY_CHARS,
    maxRedirects: options.maxRedirects ?? 5,
    sources: {
      ...(options.secrets ? { secrets: options.secrets } : {}),
      ...(options.secretsFile !== undefined ? { fileSecrets: loadSecretsFile(options.secretsFile) } : {}),
      envSecrets: secretsFromEnv(options.env ?? process.env),
    },
    log: options.log,
  };
}

/** A redirect the executor will not follow: the reason, and the URL that answered with it. */
interface RefusedRedirect {
  refused: string;
  url: string;
}

/** Where a redirect may go: allowed hosts only, and once a secret was sent, only hosts it is tied to. */
function refusedRedirect(
  tool: Tool,
  next: string,
  allowed: Set<string>,
  tied: readonly string[] | undefined,
): string | undefined {
  const nextHost = hostOf(next);
  if (nextHost === undefined || !allowed.has(nextHost)) {
    return `refused: redirect to host ${nextHost ?? '(none)'} is not allowed for tool '${tool.name}'`;
  }
  if (tied !== undefined && !hostTiedTo(next, tied)) {
    return `refused: redirect to host ${nextHost}, which the secret of tool '${tool.name}' is not tied to`;
  }
  return undefined;
}

/** Sends the request, following redirects to allowed hosts (and, once a secret was sent, tied ones). */
async function exchange(
  settings: RealSettings,
  tool: Tool,
  planned: PlannedRequest,
  method: string,
  signal: AbortSignal,
): Promise<Exchange | RefusedRedirect> {
  const { req, allowed, tied } = planned;
  let url = req.url;
  let body = req.body;
  const headers: Record<string, string> = {
    Accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
    ...req.headers,
  };
  const cookies = cookieHeader(req.cookies);
  if (cookies !== '') headers.Cookie = cookies;
  for (let hop = 0; ; hop++) {
    if (settings.options.allowPrivate !== true) checkAddressLiteral(new URL(url).hostname);
    const response = await settings.transport.fetch(url, {
      method,
      headers,
      redirect: 'manual',
      signal,
      ...(body !== undefined ? { body } : {}),
    });
    const location = response.headers.get('location');
    if (
      response.status < 300 ||
      response.status >= 400 ||
      location === null ||
      hop >= settings.maxRedirects
    ) {
      return { response, url, method };
    }
    const next = new URL(location, url).toString();
    await response.body?.cancel().catch(() => undefined);
    const refused = refusedRedirect(tool, next, allowed, tied);
    if (refused !== undefined) return { refused, url };
    if (
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && method === 'POST')
    ) {
      method = 'GET';
      body = undefined;
      delete headers['Content-Type'];
    }
    url = next;
  }
}

/** The response as an observation body: JSON or text (redacted, cut to `maxChars`), binary described. */
async function readBody(
  settings: RealSettings,
  response: Response,
  redact: (text: string) => string,
): Promise<{ value: unknown; truncated: boolean }> {
  const { bytes, total, capped } = await readCapped(response, settings.maxBytes);
  const contentType = response.headers.get('content-type') ?? '';
  if (!isTextual(contentType)) {
    return {
      value: `Received ${contentType || 'binary'} content (${total}${capped ? '+' : ''} bytes), not shown.`,
      truncated: capped,
    };
  }
  let text = redact(new TextDecoder().decode(bytes));
  let truncated = capped;
  if (text.length > settings.maxChars) {
    text = text.slice(0, settings.maxChars);
    truncated = true;
  }
  if (!truncated && /json/i.test(contentType) && text.trim() !== '') {
    try {
      return { value: redactValue(JSON.parse(text) as unknown, redact), truncated };
    } catch {
      return { value: text, truncated };
    }
  }
  return { value: text, truncated };
}

/** One call in progress: what its failures and log lines show (method and URL as known so far). */
interface RealCall {
  settings: RealSettings;
  tool: Tool;
  fn: ToolFunction;
  start: number;
  redact: (text: string) => string;
  warnings: { warnings?: string[] };
  shown: { method: string; url: string };
}

/** A failed call as an observation with `error` (redacted), logged. */
function failed(call: RealCall, status: number, message: string): Observation {
  const error = call.redact(message);
  call.settings.log?.(
    call.redact(`real ${call.shown.method} ${call.shown.url} -> ${status} error: ${oneLine(error, 300)}`),
  );
  return {
    status,
    body: { error },
    headers: {},
    source: 'real',
    latencyMs: elapsedMs(call.start),
    error,
    ...call.warnings,
  };
}

/** The request to send, the hosts it may reach, and the hosts its secret is tied to (when one was sent). */
interface PlannedRequest {
  req: HttpRequest;
  allowed: Set<string>;
  tied: string[] | undefined;
}

/** Builds the request against an allowed host and puts the secret in when the host is one it is tied to. */
function planRequest(
  call: RealCall,
  binding: HttpBinding,
  args: Record<string, unknown>,
  secret: ToolSecret | undefined,
): PlannedRequest | Observation {
  const { settings, tool } = call;
  const base = settings.options.baseUrl ?? tool.servers.find((server) => hostOf(server) !== undefined);
  if (base === undefined) {
    return failed(call, 502, `tool '${tool.name}' has no http(s) server URL and no base URL was given`);
  }
  const allowed = allowedHostsFor(tool, settings.options);
  let req = buildHttpRequest(tool, binding, args, base);
  call.shown.url = req.url;
  const host = hostOf(req.url);
  if (host === undefined || !allowed.has(host)) {
    return failed(
      call,
      502,
      `refused: host ${host ?? '(none)'} is not allowed for tool '${tool.name}' (allowed: ${[...allowed].join(', ') || 'none'})`,
    );
  }
  // The secret goes only to the hosts it is tied to: a look-alike spec pointing elsewhere gets none.
  let tied: string[] | undefined;
  if (secret !== undefined) {
    const hosts = secretHosts(tool, secret);
    if (hostTiedTo(req.url, hosts)) {
      req = injectAuth(tool, call.fn, req, secret);
      tied = hosts;
    } else {
      settings.log?.(
        `real: the secret of tool '${tool.name}' is not sent to ${host}: it is tied to ${hosts.join(', ') || 'no host'}`,
      );
    }
  }
  return { req, allowed, tied };
}

/** Sends the planned request under the timeout and reads the answer into an observation. */
async function send(
  call: RealCall,
  planned: PlannedRequest,
  context: ExecutionContext | undefined,
): Promise<Observation> {
  const { settings, redact } = call;
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const signal = context?.signal ? AbortSignal.any([timeout, context.signal]) : timeout;
  try {
    const done = await exchange(settings, call.tool, planned, call.shown.method, signal);
    call.shown.url = done.url;
    if ('refused' in done) return failed(call, 502, done.refused);
    call.shown.method = done.method;
    const { response } = done;
    const { value, truncated } = await readBody(settings, response, redact);
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((headerValue, name) => {
      responseHeaders[name] = redact(headerValue);
    });
    const latencyMs = elapsedMs(call.start);
    settings.log?.(
      redact(
        `real ${call.shown.method} ${call.shown.url} -> ${response.status} ${latencyMs}ms${truncated ? ' truncated' : ''}`,
      ),
    );
    return {
      status: response.status,
      body: value,
      headers: responseHeaders,
      source: 'real',
      latencyMs,
      ...(truncated ? { truncated: true } : {}),
      ...call.warnings,
    };
  } catch (error) {
    return transportFailure(call, error);
  }
}

/** A timeout (504), an abort (499), a refused address or a network error (502). */
function transportFailure(call: RealCall, error: unknown): Observation {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError') return failed(call, 504, `timed out after ${call.settings.timeoutMs} ms`);
  if (name === 'AbortError') return failed(call, 499, 'aborted');
  const forbidden = forbiddenAddressIn(error);
  if (forbidden !== undefined) {
    return failed(
      call,
      502,
      `refused: ${forbidden.message}; loopback, private and link-local addresses are not called`,
    );
  }
  const cause = error instanceof Error && error.cause !== undefined ? `: ${messageOf(error.cause)}` : '';
  return failed(call, 502, `network error: ${messageOf(error)}${cause}`);
}

async function executeReal(
  settings: RealSettings,
  tool: Tool,
  functionName: string,
  args: Record<string, unknown>,
  context: ExecutionContext | undefined,
): Promise<Observation> {
  const start = performance.now();
  const prepared = prepareCall(tool, functionName, args, 'real', settings.options);
  if (!prepared.ok) return prepared.observation;
  const { fn } = prepared;
  const secret = resolveSecret(tool.name, settings.sources);
  const binding = httpBindingOf(fn);
  const call: RealCall = {
    settings,
    tool,
    fn,
    start,
    redact: makeRedactor(secret),
    warnings: prepared.warnings.length > 0 ? { warnings: prepared.warnings } : {},
    shown: { method: binding?.method.toUpperCase() ?? 'CALL', url: binding?.path ?? fn.name },
  };
  if (binding === undefined) {
    return failed(
      call,
      501,
      `tool '${tool.name}' function '${fn.name}' has no HTTP binding; the real executor calls HTTP APIs only`,
    );
  }
  const planned = planRequest(call, binding, prepared.args, secret);
  if (!('req' in planned)) return planned;
  return send(call, planned, context);
}

/**
 * The real executor (`kind` and observation `source` are `real`). A failed call is an observation with
 * `error` (502 network error or refused host, 504 timeout, 499 aborted). Throws `InputError` at creation
 * for a missing or malformed secrets file or `TOOLALPACA_SECRET_*` variable.
 */
export function createRealExecutor(options: RealExecutorOptions = {}): ToolExecutor {
  const settings = realSettingsOf(options);
  return {
    kind: 'real',
    execute(tool, functionName, args, context) {
      return executeReal(settings, tool, functionName, args, context);
    },
    async close() {
      await settings.transport.close?.();
    },
  };
}
