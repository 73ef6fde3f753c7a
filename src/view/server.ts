/**
 * The viewer's HTTP server (fastify): the JSON API over the open files, a stream of change events
 * (server-sent events: live logs grow in the browser without polling), and the front end's assets from
 * the package (no CDN; nothing is fetched from elsewhere, and the Content-Security-Policy forbids it).
 * Loopback only by default, with serve's access rules (src/serve/access.ts): a Host allow-list against
 * DNS rebinding, and cross-site browser requests refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { FACET_NAMES } from './api.js';
import type { ListQuery } from './file-index.js';
import { accessRules, crossSite, hostAllowed, type AccessRules } from '../serve/access.js';
import type { Source } from './sources/source.js';
import type { Viewer } from './viewer.js';

export interface ViewServerOptions {
  host?: string;
  port?: number;
  /** Extra Host header names to accept (besides loopback names and the bound address). */
  allowHosts?: readonly string[];
}

export interface ViewServer {
  app: FastifyInstance;
  url: string;
  /** Pushes the current file list to every connected browser (on every viewer change). */
  broadcast(): void;
  close(): Promise<void>;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The bundled front end: next to this module once built (dist/view/assets), or in dist/ from src/. */
export function assetsDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'assets'), join(here, '..', '..', 'dist', 'view', 'assets')]) {
    if (existsSync(join(dir, 'app.js'))) return dir;
  }
  return undefined;
}

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>toolalpaca view</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head><body><div id="app"><p class="loading">loading…</p></div>
<script type="module" src="/assets/app.js"></script>
</body></html>
`;

/** The list query of a request's query string: `q`, `sort` and one repeated parameter per facet. */
export function listQueryOf(query: Record<string, unknown>): ListQuery {
  const filters: Record<string, string[]> = {};
  for (const name of FACET_NAMES) {
    const value = query[name];
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    const clean = values.filter((v): v is string => typeof v === 'string' && v !== '');
    if (clean.length > 0) filters[name] = clean;
  }
  const out: ListQuery = { filters };
  if (typeof query.q === 'string' && query.q !== '') out.q = query.q;
  if (query.sort === 'disagreements') out.sort = 'disagreements';
  return out;
}

function intOf(value: unknown, fallback: number, max: number): number {
  const n = typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : fallback;
}

/** serve's access rules on every request (Host allow-list, cross-site pages refused) and safe headers. */
function guardRequests(app: FastifyInstance, rules: AccessRules): void {
  app.addHook('onRequest', async (request, reply) => {
    const header = (value: string | string[] | undefined): string | undefined =>
      Array.isArray(value) ? value[0] : value;
    if (!hostAllowed(rules, request.headers.host)) {
      await reply.code(421).send({ error: 'misdirected request: this server does not answer for that Host' });
      return reply;
    }
    if (crossSite(rules, header(request.headers.origin), header(request.headers['sec-fetch-site']))) {
      await reply.code(403).send({ error: 'cross-site requests are refused' });
      return reply;
    }
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    return undefined;
  });
}

type Params = { id: string; n: string };
type Query = Record<string, unknown>;

/** The file of `:id`, or a 404 sent. */
function sourceOf(viewer: Viewer, id: unknown, reply: FastifyReply): Source | undefined {
  const source = viewer.source(Number(id));
  if (source === undefined) void reply.code(404).send({ error: `no file ${String(id)}` });
  return source;
}

/** The item number `:n` of a file, or a 404 sent. */
function itemOf(source: Source, n: unknown, reply: FastifyReply): number | undefined {
  const index = Number(n);
  if (!Number.isInteger(index) || index < 0 || index >= source.index.size) {
    void reply.code(404).send({ error: `no item ${String(n)} in ${source.path}` });
    return undefined;
  }
  return index;
}

/** The routes of one file: its list, an item's position and id, its chart summary. */
function fileRoutes(app: FastifyInstance, viewer: Viewer): void {
  app.get('/api/files', async () => viewer.sources.map((s) => s.info()));
  app.get<{ Params: Params; Querystring: Query }>('/api/files/:id/list', async (request, reply) => {
    const source = sourceOf(viewer, request.params.id, reply);
    if (source === undefined) return reply;
    const q = request.query;
    return viewer.list(source, listQueryOf(q), intOf(q.offset, 0, 1e9), intOf(q.limit, 50, 500) || 50);
  });
  app.get<{ Params: Params; Querystring: Query }>('/api/files/:id/position', async (request, reply) => {
    const source = sourceOf(viewer, request.params.id, reply);
    if (source === undefined) return reply;
    return viewer.position(source, listQueryOf(request.query), intOf(request.query.n, -1, 1e9));
  });
  app.get<{ Params: Params; Querystring: { item?: string } }>(
    '/api/files/:id/find',
    async (request, reply) => {
      const source = sourceOf(viewer, request.params.id, reply);
      if (source === undefined) return reply;
      const n = source.find(request.query.item ?? '');
      if (n === undefined)
        return reply.code(404).send({ error: `no item "${request.query.item ?? ''}" in ${source.path}` });
      return { n };
    },
  );
  app.get<{ Params: Params }>('/api/files/:id/summary', async (request, reply) => {
    const source = sourceOf(viewer, request.params.id, reply);
    if (source === undefined) return reply;
    return viewer.summary(source) ?? null;
  });
}

/** One item (its detail, or as stored), and two files compared. */
function itemRoutes(app: FastifyInstance, viewer: Viewer): void {
  app.get<{ Params: Params }>('/api/files/:id/items/:n', async (request, reply) => {
    const source = sourceOf(viewer, request.params.id, reply);
    if (source === undefined) return reply;
    const n = itemOf(source, request.params.n, reply);
    if (n === undefined) return reply;
    return viewer.detail(source, n);
  });
  app.get<{ Params: Params }>('/api/files/:id/items/:n/raw', async (request, reply) => {
    const source = sourceOf(viewer, request.params.id, reply);
    if (source === undefined) return reply;
    const n = itemOf(source, request.params.n, reply);
    if (n === undefined) return reply;
    return { raw: await source.raw(n) };
  });
  app.get<{ Querystring: Query }>('/api/compare', async (request, reply) => {
    const q = request.query;
    const a = sourceOf(viewer, q.a, reply);
    if (a === undefined) return reply;
    const b = sourceOf(viewer, q.b, reply);
    if (b === undefined) return reply;
    const only = q.only === 'differ' || q.only === 'both' ? q.only : 'all';
    return viewer.compare(a, b, {
      ...(typeof q.q === 'string' ? { q: q.q } : {}),
      only,
      offset: intOf(q.offset, 0, 1e9),
      limit: intOf(q.limit, 50, 500) || 50,
    });
  });
}

/** Server-sent events: the file list now, then on every change (`broadcast`), with a heartbeat. */
function eventStream(app: FastifyInstance, viewer: Viewer): Pick<ViewServer, 'broadcast' | 'close'> {
  const clients = new Set<ServerResponse>();
  const filesEvent = (): string => `data: ${JSON.stringify(viewer.sources.map((s) => s.info()))}\n\n`;
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 1000\n${filesEvent()}`);
    clients.add(res);
    request.raw.on('close', () => clients.delete(res));
  });
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();
  return {
    broadcast() {
      const data = filesEvent();
      for (const res of clients) res.write(data);
    },
    async close() {
      clearInterval(heartbeat);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}

/** The page and the bundled front end, from the package. */
function frontEnd(app: FastifyInstance): void {
  const assets = assetsDir();
  const asset = (name: string, type: string): void => {
    app.get(`/assets/${name}`, async (_request, reply) => {
      if (assets === undefined)
        return reply.code(404).send({ error: 'the front end is not built: run npm run build' });
      return reply
        .type(type)
        .header('cache-control', 'no-cache')
        .send(readFileSync(join(assets, name)));
    });
  };
  asset('app.js', 'text/javascript; charset=utf-8');
  asset('app.css', 'text/css; charset=utf-8');
  app.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-cache')
      .send(INDEX_HTML),
  );
}

/** The URL to print for the bound address (a wildcard address is shown as loopback). */
function urlOf(app: FastifyInstance, host: string, fallbackPort: number): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : fallbackPort;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `http://${shownHost === '0.0.0.0' || shownHost === '[::]' ? '127.0.0.1' : shownHost}:${port}`;
}

export async function startViewServer(viewer: Viewer, options: ViewServerOptions = {}): Promise<ViewServer> {
  const host = options.host ?? '127.0.0.1';
  const app = Fastify({ logger: false, forceCloseConnections: true });
  // The same rules as `serve`: Host must name this server (loopback names, the bound address,
  // --allow-host), and a browser page of another site is refused.
  guardRequests(app, accessRules({ listenHost: host, extraHosts: options.allowHosts ?? [] }));
  fileRoutes(app, viewer);
  itemRoutes(app, viewer);
  const events = eventStream(app, viewer);
  frontEnd(app);
  await app.listen({ host, port: options.port ?? 0 });
  return {
    app,
    url: urlOf(app, host, options.port ?? 0),
    broadcast: events.broadcast,
    async close() {
      await events.close();
      await app.close();
    },
  };
}
