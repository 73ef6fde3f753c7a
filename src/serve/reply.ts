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
 * Copies the observation's headers to the response (except framing, content type and this server's own),
 * and returns its content type.
 */
function copyHeaders(headers: Record<string, string>, reply: FastifyReply): string | undefined {
  let contentType: string | undefined;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const lower = name.toLowerCase();
    if (lower === 'content-type') {
      contentType ??= headers[name];
      continue;
    }
    if (DROPPED_HEADERS.has(lower) || lower.startsWith('x-toolalpaca-') || !HEADER_NAME.test(name)) continue;
    reply.header(lower, headerSafe(String(headers[name])));
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

/** Sends `o`, the answer to a call of `fn`; `checkWarnings` are the argument check's own warnings. */
export function sendObservation(
  o: Observation,
  fn: ToolFunction,
  checkWarnings: string[],
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  setSource(request, o.source);
  reply.header(SOURCE_HEADER, o.source);
  const warnings = o.warnings ?? checkWarnings;
  if (warnings.length > 0) reply.header(WARNINGS_HEADER, headerSafe(warnings.join('; ')));
  if (o.validationErrors !== undefined && o.validationErrors.length > 0) {
    return reply.code(400).send({ error: 'invalid request', function: fn.name, details: o.validationErrors });
  }
  const validStatus = Number.isInteger(o.status) && o.status >= 200 && o.status <= 599;
  if (o.error !== undefined) {
    const status = validStatus && o.status >= 400 ? o.status : 502;
    return reply.code(status).send({ error: 'tool call failed', reason: o.error, source: o.source });
  }
  const contentType = copyHeaders(o.headers, reply);
  reply.code(validStatus ? o.status : 502);
  if (typeof o.body === 'string') {
    reply.header('content-type', contentType ?? 'text/plain; charset=utf-8');
    return reply.send(o.body);
  }
  if (o.status === 204 || o.status === 304) return reply.send();
  // Non-string bodies are JSON whatever the spec's content type said; serialise here so that fastify
  // does not treat `null` or a number specially.
  reply.header(
    'content-type',
    contentType !== undefined && /json/i.test(contentType) ? contentType : 'application/json; charset=utf-8',
  );
  return reply.send(jsonText(o.body));
}
