/**
 * From a call's checked arguments to the HTTP request an `http` binding describes: parameter placement
 * (path, query, header, cookie, body), body serialisation and a curl rendering.
 *
 * - Query arrays are repeated keys (`a=1&a=2`, OpenAPI's default form/explode); query objects are sent as
 *   JSON text; path arrays are comma-joined.
 * - Arguments that match no parameter or body property are not sent.
 */
import { bodyIsObject } from '../core/http-binding.js';
import { isRecord } from '../core/json-text.js';
import type { HttpBinding, Tool } from '../core/tool.js';

type Json = Record<string, unknown>;

/** Where an argument of an HTTP function goes. */
export type ArgumentSlot = 'path' | 'query' | 'header' | 'cookie' | 'body-property' | 'body';

const slotCache = new WeakMap<HttpBinding, ReadonlyMap<string, ArgumentSlot>>();

/**
 * Where each argument name of an HTTP function goes: parameters first (the first of two with the same
 * name wins), then the properties of an object body, or `body` for any other body.
 */
export function argumentSlots(binding: HttpBinding): ReadonlyMap<string, ArgumentSlot> {
  const cached = slotCache.get(binding);
  if (cached) return cached;
  const slots = new Map<string, ArgumentSlot>();
  for (const p of binding.parameters) if (!slots.has(p.name)) slots.set(p.name, p.in);
  const body = binding.requestBody;
  if (body) {
    if (bodyIsObject(binding)) {
      const props = isRecord(body.schema.properties) ? body.schema.properties : {};
      for (const [name, sub] of Object.entries(props)) {
        if (!slots.has(name) && isRecord(sub)) slots.set(name, 'body-property');
      }
    } else if (!slots.has('body')) {
      slots.set('body', 'body');
    }
  }
  slotCache.set(binding, slots);
  return slots;
}

export interface HttpRequest {
  /** Upper-case method. */
  method: string;
  /** Absolute URL (relative when the tool has no server and no base URL was given). */
  url: string;
  /** Header names as the spec spells them; `Content-Type` is set when there is a body. */
  headers: Record<string, string>;
  cookies: Record<string, string>;
  /** Serialised body (JSON, urlencoded or multipart text). */
  body?: string;
  /** The body value before serialisation, when there is a body. */
  bodyValue?: unknown;
}

/** A multipart boundary that is fixed so that requests (and curl renderings) are reproducible. */
export const MULTIPART_BOUNDARY = '----toolalpaca-form-boundary';

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

/** Join a server URL and an operation path with exactly one `/` between them. */
export function joinUrl(base: string, path: string): string {
  if (base === '') return path.startsWith('/') ? path : `/${path}`;
  const left = base.replace(/\/+$/, '');
  const right = path.replace(/^\/+/, '');
  return right === '' ? `${left}/` : `${left}/${right}`;
}

function formFields(value: Json): [string, string][] {
  const fields: [string, string][] = [];
  for (const [name, item] of Object.entries(value)) {
    if (item === undefined) continue;
    if (Array.isArray(item)) for (const one of item) fields.push([name, textOf(one)]);
    else fields.push([name, textOf(item)]);
  }
  return fields;
}

function serializeBody(contentType: string, value: unknown): string {
  const type = contentType.toLowerCase();
  if (type.includes('x-www-form-urlencoded') && isRecord(value)) {
    return new URLSearchParams(formFields(value)).toString();
  }
  if (type.includes('multipart/form-data') && isRecord(value)) {
    const parts = formFields(value).map(
      ([name, text]) =>
        `--${MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="${name.replace(/"/g, '%22')}"\r\n\r\n${text}\r\n`,
    );
    return `${parts.join('')}--${MULTIPART_BOUNDARY}--\r\n`;
  }
  if (type.includes('json') || typeof value !== 'string') return JSON.stringify(value);
  return value;
}

/**
 * The HTTP request a call of a function with this binding stands for. `args` should be the checked
 * arguments (`checkArguments(...).args`); arguments that match no parameter or body property are left out.
 * The base URL is `baseUrl`, else the tool's first server, else none (the URL is then just the path).
 */
export function buildHttpRequest(
  tool: Pick<Tool, 'servers'>,
  binding: HttpBinding,
  args: Record<string, unknown>,
  baseUrl?: string,
): HttpRequest {
  const slots = argumentSlots(binding);
  const headers: Record<string, string> = {};
  const cookies: Record<string, string> = {};
  const query = new URLSearchParams();
  const used = new Set<string>();

  const path = binding.path.replace(/\{([^}]+)\}/g, (whole, name: string) => {
    const slot = slots.get(name);
    const value = args[name];
    // Also fill placeholders the spec forgot to declare as parameters, when an argument has that name.
    if (value === undefined || (slot !== undefined && slot !== 'path')) return whole;
    used.add(name);
    const text = Array.isArray(value) ? value.map(textOf).join(',') : textOf(value);
    return encodeURIComponent(text);
  });

  let bodyValue: unknown;
  const bodyProps: Json = {};
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || used.has(name)) continue;
    const slot = slots.get(name);
    switch (slot) {
      case 'query':
        if (Array.isArray(value)) for (const item of value) query.append(name, textOf(item));
        else query.append(name, textOf(value));
        break;
      case 'header':
        headers[name] = Array.isArray(value) ? value.map(textOf).join(',') : textOf(value);
        break;
      case 'cookie':
        cookies[name] = Array.isArray(value) ? value.map(textOf).join(',') : textOf(value);
        break;
      case 'body-property':
        bodyProps[name] = value;
        break;
      case 'body':
        bodyValue = value;
        break;
      default:
        break; // path (already placed) or unknown (not sent)
    }
  }
  const requestBody = binding.requestBody;
  if (requestBody && bodyIsObject(binding)) {
    if (Object.keys(bodyProps).length > 0 || requestBody.required) bodyValue = bodyProps;
  }

  const base = baseUrl ?? tool.servers[0] ?? '';
  let url = joinUrl(base, path);
  const queryText = query.toString();
  if (queryText !== '') url += `${url.includes('?') ? '&' : '?'}${queryText}`;

  const request: HttpRequest = { method: binding.method.toUpperCase(), url, headers, cookies };
  if (bodyValue !== undefined && requestBody) {
    const contentType = requestBody.contentType.toLowerCase().includes('multipart/form-data')
      ? `multipart/form-data; boundary=${MULTIPART_BOUNDARY}`
      : requestBody.contentType;
    request.headers = { 'Content-Type': contentType, ...headers };
    request.body = serializeBody(requestBody.contentType, bodyValue);
    request.bodyValue = bodyValue;
  }
  return request;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The request as a curl command line (shell-quoted), as ToolAlpaca's simulator prompt shows requests. */
export function toCurl(req: HttpRequest): string {
  const parts = ['curl', '-X', req.method, shellQuote(req.url)];
  for (const [name, value] of Object.entries(req.headers)) parts.push('-H', shellQuote(`${name}: ${value}`));
  const cookieText = Object.entries(req.cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
  if (cookieText !== '') parts.push('-b', shellQuote(cookieText));
  if (req.body !== undefined) parts.push('-d', shellQuote(req.body));
  return parts.join(' ');
}

/** Cookie header text for a request's cookies (values URL-encoded). */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('; ');
}
