/**
 * A fault-injecting HTTP proxy on loopback, put in front of the fake OpenAI server: each chat request
 * is, with probability `rate` (seeded), answered by a fault instead of the server — a connection reset,
 * a 5xx, a 429 with Retry-After, a slow reply, a body cut in the middle, or garbage JSON. `down` makes
 * every request (the pre-flight probe included) a connection reset: a dead or flapping server.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../src/core/random.js';

export const FAULT_KINDS = ['reset', 'server_error', 'rate_limit', 'slow', 'truncated', 'garbage'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultProxyOptions {
  /** Origin of the server behind the proxy, e.g. http://127.0.0.1:4321. */
  target: string;
  /** Seed of the fault draws (same seed, same sequence of decisions). */
  seed: number;
  /** Probability that a chat request gets a fault (default 0). */
  rate?: number;
  /** Faults drawn from (default all). */
  kinds?: readonly FaultKind[];
  /** Delay of a slow reply, in ms (default 300). */
  slowMs?: number;
  /** A flapping server: of every `up + down` chat requests, the last `down` are connection resets. */
  flap?: { up: number; down: number };
}

export interface FaultProxy {
  /** "http://127.0.0.1:PORT/v1", for --base-url. */
  baseUrl: string;
  /** Faults injected so far, per kind. */
  injected: Record<FaultKind, number>;
  /** Connection resets while down. */
  downResets: number;
  /** Requests passed to the server unharmed. */
  forwarded: number;
  /** Sum of `injected` and `downResets`. */
  faults(): number;
  setRate(rate: number): void;
  /** While down, every request is a connection reset. */
  setDown(down: boolean): void;
  /** Chat requests wait (unanswered) until `release`. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

/** Forwards `body` to the target; resolves with the whole answer. */
function forward(
  target: URL,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function openAiError(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify({ error: { message: `injected ${status}`, type: 'server_error' } });
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(payload);
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const random = seededRandom(options.seed);
  const kinds = options.kinds ?? FAULT_KINDS;
  const slowMs = options.slowMs ?? 300;
  let rate = options.rate ?? 0;
  let down = false;
  let chatRequests = 0;
  let held: { promise: Promise<void>; open: () => void } | undefined;
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const sockets = new Set<Socket>();

  const proxy = {
    baseUrl: '',
    injected,
    downResets: 0,
    forwarded: 0,
    faults: () => Object.values(injected).reduce((a, b) => a + b, 0) + proxy.downResets,
    setRate: (r: number) => (rate = r),
    setDown: (d: boolean) => (down = d),
    hold: () => {
      if (held !== undefined) return;
      let open = (): void => undefined;
      const promise = new Promise<void>((resolve) => (open = resolve));
      held = { promise, open };
    },
    release: () => {
      held?.open();
      held = undefined;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    if (down) {
      proxy.downResets++;
      req.socket.destroy();
      return;
    }
    const chat = /\/chat\/completions$|\/completions$/.test(req.url ?? '');
    if (chat && held !== undefined) await held.promise;
    if (chat && options.flap !== undefined) {
      const position = chatRequests++ % (options.flap.up + options.flap.down);
      if (position >= options.flap.up) {
        proxy.downResets++;
        req.socket.destroy();
        return;
      }
    }
    // Draw for every chat request (one draw for the decision, one for the kind) so a seed replays.
    const hit = chat && random() < rate;
    const kind = kinds[Math.floor(random() * kinds.length)] ?? 'reset';
    if (!hit) {
      const answer = await forward(target, req, body);
      proxy.forwarded++;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      return;
    }
    injected[kind]++;
    switch (kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'server_error':
        openAiError(res, 503);
        return;
      case 'rate_limit':
        openAiError(res, 429, { 'retry-after': '0' });
        return;
      case 'slow': {
        await new Promise((resolve) => setTimeout(resolve, slowMs));
        const answer = await forward(target, req, body);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      case 'truncated': {
        const answer = await forward(target, req, body);
        res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
        res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
        // The promised length never arrives: the client sees the connection end mid-body.
        setImmediate(() => req.socket.destroy());
        return;
      }
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "chatcmpl-x", "choices": [ {"message": garbage');
        return;
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => req.socket.destroy());
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return proxy;
}
