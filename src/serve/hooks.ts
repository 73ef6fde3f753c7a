/**
 * Request handling shared by every route: access checks, body parsers, the per-request log line, the
 * error handler.
 */
import type { FastifyInstance } from 'fastify';
import { messageOf, oneLine } from '../core/errors.js';
import { crossSite, hostAllowed, tokenAccepted, type AccessRules } from './access.js';
import { formToObject, headerValue, parseMultipart } from './arguments.js';
import { setSource, sourceOf, type ServeContext } from './context.js';

/**
 * Before routing: a `Host` that does not name this server gets 421, a browser's cross-site request 403,
 * a request without the token 401 (see `access.ts`).
 */
export function installAccessChecks(app: FastifyInstance, context: ServeContext, rules: AccessRules): void {
  app.addHook('onRequest', (request, reply, done) => {
    const headers = request.headers;
    if (!hostAllowed(rules, headers.host)) {
      setSource(request, 'refused');
      reply.code(421).send({ error: 'misdirected request: this server does not answer for that Host' });
    } else if (crossSite(rules, headerValue(headers.origin), headerValue(headers['sec-fetch-site']))) {
      setSource(request, 'refused');
      reply.code(403).send({ error: 'cross-site requests are refused' });
    } else if (!tokenAccepted(rules, headers.authorization)) {
      setSource(request, 'refused');
      reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
    } else {
      done();
    }
  });
}

/** Bodies: JSON and text are fastify's; forms are parsed here; anything else arrives as text. */
export function installBodyParsers(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, formToObject(new URLSearchParams(String(body)))),
  );
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string' }, (request, body, done) =>
    done(null, parseMultipart(String(body), headerValue(request.headers['content-type']) ?? '')),
  );
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
}

/** One line per request once answered: `METHOD path status ms source`. */
export function installRequestLog(
  app: FastifyInstance,
  context: ServeContext,
  log: (line: string) => void,
): void {
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const source = sourceOf(request);
    log(`${request.method} ${path} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms ${source}`);
  });
}

/** Errors as JSON: 413 over the body limit, 415, other 4xx as `invalid request`, the rest 500. */
export function installErrorHandler(app: FastifyInstance, context: ServeContext): void {
  app.setErrorHandler(async (error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return reply.code(413).send({ error: 'request body too large', limitBytes: context.bodyLimit });
    }
    if (status === 415) {
      return reply.code(415).send({ error: 'unsupported media type', reason: error.message });
    }
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'invalid request', details: [oneLine(error.message)] });
    }
    setSource(request, 'error');
    return reply.code(500).send({ error: 'internal error', reason: oneLine(messageOf(error)) });
  });
}
