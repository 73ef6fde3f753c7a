/**
 * A real API on loopback for the Axolotl tool of eval_simulated.json that works for one route only:
 * `/search` answers (so a chain's real executor answers that call), every other path is a 503 (so the
 * chain falls back to the next executor). Tests of per-step observation sources use it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AxolotlApi {
  url: string;
  /** The paths requested, in order. */
  hits: string[];
  close(): Promise<void>;
}

export async function startAxolotlApi(): Promise<AxolotlApi> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.startsWith('/search') === true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ results: [{ url: 'https://example.org/a.png' }] }));
      return;
    }
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('Service Unavailable');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
