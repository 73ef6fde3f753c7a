/**
 * A call's arguments as an HTTP request carries them: path, query (a repeated key is an array), declared
 * headers and cookies, and the body (an object body's properties, or the whole body when the body schema
 * is not an object).
 */
import type { FastifyRequest } from 'fastify';
import { isRecord } from '../core/json-text.js';
import type { ToolFunction } from '../core/tool.js';
import { bodyIsObject, httpViewOf } from '../core/http-binding.js';
import { argumentSlots } from '../executors/http-request.js';

type Json = Record<string, unknown>;

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (header === undefined) return out;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // keep the raw text
    }
    if (name !== '' && !(name in out)) out[name] = value;
  }
  return out;
}

/** A header's value as one string (repeated headers joined with `, `). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Form fields as an object; a repeated field is an array. */
export function formToObject(fields: Iterable<[string, string]>): Json {
  const out: Json = {};
  for (const [name, value] of fields) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

/** Text fields of a multipart/form-data body (files are kept as their text). */
export function parseMultipart(body: string, contentType: string): Json | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const mark = boundary?.[1] ?? boundary?.[2];
  if (mark === undefined) return undefined;
  const fields: [string, string][] = [];
  for (const part of body.split(`--${mark.trim()}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    fields.push([name, part.slice(split + 4).replace(/\r\n$/, '')]);
  }
  return formToObject(fields);
}

/** How a function's arguments are collected from a request, worked out once per function. */
interface CollectPlan {
  slots: [name: string, slot: string, header: string][];
  /** The function takes an object body whose properties are arguments. */
  objectBody: boolean;
}

const collectPlans = new WeakMap<ToolFunction, CollectPlan>();

function collectPlanOf(fn: ToolFunction): CollectPlan {
  let plan = collectPlans.get(fn);
  if (plan === undefined) {
    // Functions without an HTTP binding are served as POST /{name} with the arguments as a JSON body.
    const binding = httpViewOf(fn);
    plan = {
      slots: [...argumentSlots(binding)].map(([name, slot]) => [name, slot, name.toLowerCase()]),
      objectBody: binding.requestBody !== undefined && bodyIsObject(binding),
    };
    collectPlans.set(fn, plan);
  }
  return plan;
}

/** The headers (lower case) and whether the cookies a function reads arguments from, besides URL and body. */
export function requestInputsOf(fn: ToolFunction): { headers: string[]; cookies: boolean } {
  const plan = collectPlanOf(fn);
  return {
    headers: plan.slots.filter(([, slot]) => slot === 'header').map(([, , header]) => header),
    cookies: plan.slots.some(([, slot]) => slot === 'cookie'),
  };
}

/** The call's arguments as the request carries them: declared locations first, then the body. */
export function collectArguments(
  fn: ToolFunction,
  pathValues: Record<string, string>,
  request: FastifyRequest,
): Record<string, unknown> {
  const plan = collectPlanOf(fn);
  const args: Record<string, unknown> = {};
  const query = isRecord(request.query) ? request.query : {};
  let cookies: Record<string, string> | undefined;
  let body: unknown = request.body;
  if (typeof body === 'string' && plan.objectBody && /^\s*\{/.test(body)) {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      // left as text; validation says what is wrong
    }
  }
  for (const [name, slot, header] of plan.slots) {
    let value: unknown;
    switch (slot) {
      case 'path':
        value = pathValues[name];
        break;
      case 'query':
        value = query[name];
        break;
      case 'header':
        value = headerValue(request.headers[header]);
        break;
      case 'cookie':
        cookies ??= parseCookies(headerValue(request.headers.cookie));
        value = cookies[name];
        break;
      case 'body-property':
        value = isRecord(body) ? body[name] : undefined;
        break;
      case 'body':
        value = body === '' ? undefined : body;
        break;
    }
    if (value !== undefined) args[name] = value;
  }
  // Undeclared query keys and body properties are passed on so that the check reports them (as warnings).
  for (const name in query) if (Object.hasOwn(query, name) && !(name in args)) args[name] = query[name];
  if (plan.objectBody && isRecord(body)) {
    for (const [name, value] of Object.entries(body)) if (!(name in args)) args[name] = value;
  }
  return args;
}
