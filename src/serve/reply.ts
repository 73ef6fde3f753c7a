/**
 * An `Observation` as an HTTP response: status, the observation's own headers (framing and toolalpaca's
 * headers dropped), `X-Toolalpaca-Source` and `X-Toolalpaca-Warnings`, the body as text or JSON.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { oneLine } from '../core/errors.js';
import type { ToolFunction } from '../core/tool.js';
import type { Observation } from '../executors/executor.js';
import { setSource } from './context.js';
import { SOURCE_HEADER, WARNINGS_HEADER } from './options.js';

/** Observation headers not copied to the HTTP response (framing is fastify's business). */
const DROPPED_HEADERS = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'set-cookie',
  'date',
  'server',
  'upgrade',
  'trailer',
]);

/** A header value as printable ASCII on one line. */
export function headerSafe(text: string): string {
  return oneLine(text, 1000).replace(/[^\x20-\x7e]/g, '?');
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Adds the observation's headers to `out` (except framing, content type and this server's own), and returns
 * its content type.
 */
function copyHeaders(headers: Record<string, string>, out: Record<string, string>): string | undefined {
  let contentType: string | undefined;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const lower = name.toLowerCase();
    if (lower === 'content-type') {
      contentType ??= headers[name];
      continue;
    }
    if (DROPPED_HEADERS.has(lower) || lower.startsWith('x-toolalpaca-') || !HEADER_NAME.test(name)) continue;
    out[lower] = headerSafe(String(headers[name]));
  }
  return contentType;
}

/** JSON text of frozen bodies (the schema executor's cached answers), made once per body. */
const serialised = new WeakMap<object, string>();

function jsonText(body: unknown): string {
  if (typeof body !== 'object' || body === null || !Object.isFrozen(body)) {
    return JSON.stringify(body === undefined ? null : body);
  }
  let text = serialised.get(body);
  if (text === undefined) {
    text = JSON.stringify(body);
    serialised.set(body, text);
  }
  return text;
}

/** An observation as this server answers it. */
export interface Answer {
  status: number;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
  /** Text as it goes on the wire; an object for this server's own error answers (fastify serialises it). */
  payload: string | Record<string, unknown> | undefined;
  /** Where the observation came from, for the log line. */
  source: string;
  /** The API's own answer (not a rejection or failure), sent as text: an answer that may be reused. */
  reusable: boolean;
}

/** The answer to a call of `fn` that got `o`; `checkWarnings` are the argument check's own warnings. */
export function answerOf(o: Observation, fn: ToolFunction, checkWarnings: string[]): Answer {
  const headers: Record<string, string> = { [SOURCE_HEADER]: o.source };
  const warnings = o.warnings ?? checkWarnings;
  if (warnings.length > 0) headers[WARNINGS_HEADER] = headerSafe(warnings.join('; '));
  const answer = { headers, source: o.source, reusable: false };
  if (o.validationErrors !== undefined && o.validationErrors.length > 0) {
    const payload = { error: 'invalid request', function: fn.name, details: o.validationErrors };
    return { ...answer, status: 400, payload };
  }
  const validStatus = Number.isInteger(o.status) && o.status >= 200 && o.status <= 599;
  if (o.error !== undefined) {
    const status = validStatus && o.status >= 400 ? o.status : 502;
    return { ...answer, status, payload: { error: 'tool call failed', reason: o.error, source: o.source } };
  }
  const contentType = copyHeaders(o.headers, headers);
  const status = validStatus ? o.status : 502;
  if (typeof o.body === 'string') {
    headers['content-type'] = contentType ?? 'text/plain; charset=utf-8';
    return { ...answer, status, payload: o.body, reusable: true };
  }
  if (o.status === 204 || o.status === 304) return { ...answer, status, payload: undefined };
  // Non-string bodies are JSON whatever the spec's content type said; serialised here so that fastify
  // does not treat `null` or a number specially.
  headers['content-type'] =
    contentType !== undefined && /json/i.test(contentType) ? contentType : 'application/json; charset=utf-8';
  return { ...answer, status, payload: jsonText(o.body), reusable: true };
}

/** Sends a prepared answer. */
export function sendAnswer(answer: Answer, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  setSource(request, answer.source);
  return reply.code(answer.status).headers(answer.headers).send(answer.payload);
}
