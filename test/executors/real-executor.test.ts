import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpFunction } from '../../src/core/http-binding.js';
import type { AuthScheme, Tool, ToolFunction, ToolParameter } from '../../src/core/tool.js';
import { observationText, type Observation } from '../../src/executors/executor.js';
import {
  allowedHostsFor,
  createRealExecutor,
  type RealExecutorOptions,
} from '../../src/executors/real-executor.js';
import { secretEnvName } from '../../src/executors/secrets.js';
import { InputError } from '../../src/core/errors.js';
import { forbiddenAddressCategory } from '../../src/executors/network-guard.js';
import { makeTempDir } from '../helpers/paths.js';

// Characters that change under URL and base64 encoding, to check every form is redacted.
const SECRET = 's3cr3t+/K3y=&x!';
const BEARER = 'bearer-token-0123456789';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
}

function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

let api: Server;
let other: Server;
let otherConnections = 0;
const seen: Seen[] = [];
let bigFinished = false;
let bigClosedEarly = false;

before(async () => {
  api = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (url.pathname === '/echo' || url.pathname === '/fail') {
      // Echo everything, secrets included, as a careless API would.
      res.writeHead(url.pathname === '/fail' ? 500 : 200, {
        'content-type': 'application/json',
        'x-echo-auth': String(req.headers.authorization ?? req.headers['x-api-key'] ?? ''),
      });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    } else if (url.pathname === '/slow') {
      setTimeout(() => res.end('late'), 5000).unref();
    } else if (url.pathname === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'y'.repeat(64 * 1024);
      let sent = 0;
      res.on('close', () => {
        if (!bigFinished) bigClosedEarly = true;
      });
      const write = (): void => {
        while (sent < 200) {
          sent++;
          if (!res.write(chunk)) {
            res.once('drain', write);
            return;
          }
        }
        bigFinished = true;
        res.end();
      };
      write();
    } else if (url.pathname === '/long') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: Array.from({ length: 5000 }, (_, i) => `item-${i}`) }));
    } else if (url.pathname === '/redirect') {
      res.writeHead(302, { location: `http://localhost:${portOf(other)}/stolen` });
      res.end();
    } else if (url.pathname === '/parts') {
      // A careless API that echoes the Basic credentials' password in several forms.
      const basic = String(req.headers.authorization ?? '').replace(/^Basic /, '');
      const password = Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
      res.writeHead(200, { 'content-type': 'text/plain', 'x-password': encodeURIComponent(password) });
      res.end(
        `password=${password} b64=${Buffer.from(password).toString('base64')} url=${encodeURIComponent(password)} form=${new URLSearchParams({ p: password }).toString()}`,
      );
    } else if (url.pathname === '/to-other') {
      res.writeHead(302, { location: `http://localhost:${portOf(other)}/stolen` });
      res.end();
    } else if (url.pathname === '/image') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.alloc(100, 1));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  other = await startServer((_req, res) => res.end('should never be reached'));
  other.on('connection', () => otherConnections++);
});

after(() => {
  api.closeAllConnections();
  other.closeAllConnections();
  api.close();
  other.close();
});

function makeTool(auth: AuthScheme[], functions: ToolFunction[], name = 'Echo Tool'): Tool {
  return { name, description: '', auth, servers: [`http://127.0.0.1:${portOf(api)}`], functions };
}

function get(name: string, path: string, parameters: ToolParameter[] = []): ToolFunction {
  return httpFunction({ name, nameDerived: false, method: 'get', path, parameters });
}

const echo = get('echo', '/echo', [{ name: 'q', in: 'query', required: false, schema: { type: 'string' } }]);

/** Run `body` with everything written to stderr (and console) captured. */
async function captureStderr<T>(body: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  let captured = '';
  const originalWrite = process.stderr.write.bind(process.stderr);
  const originalError = console.error;
  const originalWarn = console.warn;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  console.error = (...args: unknown[]) => {
    captured += `${args.map(String).join(' ')}\n`;
  };
  console.warn = console.error;
  try {
    return { result: await body(), stderr: captured };
  } finally {
    process.stderr.write = originalWrite;
    console.error = originalError;
    console.warn = originalWarn;
  }
}

function assertNoSecret(text: string, what: string): void {
  for (const form of [SECRET, encodeURIComponent(SECRET), Buffer.from(SECRET).toString('base64'), BEARER]) {
    assert.ok(!text.includes(form), `${what} leaks a secret form: ${form}`);
  }
}

/** A real executor allowed to call the loopback test servers. */
function executor(options: RealExecutorOptions = {}) {
  return createRealExecutor({
    log: (line) => process.stderr.write(`${line}\n`),
    timeoutMs: 3000,
    allowPrivate: true,
    ...options,
  });
}

describe('real executor: auth injection and redaction', () => {
  test('apiKey in a header reaches the API; the echo comes back redacted', async () => {
    const tool = makeTool(
      [{ name: 'key', type: 'apiKey', in: 'header', parameterName: 'X-API-Key' }],
      [echo],
    );
    const { result: o, stderr } = await captureStderr(() =>
      executor({ secrets: { 'Echo Tool': { apiKey: SECRET } } }).execute(tool, 'echo', { q: 'hi' }),
    );
    assert.equal(o.status, 200);
    assert.equal(o.source, 'real');
    assert.equal(seen.at(-1)?.headers['x-api-key'], SECRET);
    const body = o.body as { headers: Record<string, string>; url: string };
    assert.equal(body.headers['x-api-key'], '***');
    assert.equal(o.headers['x-echo-auth'], '***');
    assertNoSecret(JSON.stringify(o), 'observation');
    assertNoSecret(observationText(o), 'observation text');
    assertNoSecret(stderr, 'stderr');
    assert.match(stderr, /real GET http:\/\/127\.0\.0\.1:\d+\/echo\?q=hi -> 200/);
  });

  test('apiKey in the query, from TOOLALPACA_SECRET_<TOOLNAME> (JSON form)', async () => {
    const tool = makeTool([{ name: 'key', type: 'apiKey', in: 'query', parameterName: 'api_key' }], [echo]);
    assert.equal(secretEnvName('Echo Tool'), 'TOOLALPACA_SECRET_ECHO_TOOL');
    const env = { TOOLALPACA_SECRET_ECHO_TOOL: JSON.stringify({ apiKey: SECRET }) };
    const { result: o, stderr } = await captureStderr(() =>
      executor({ env }).execute(tool, 'echo', { q: 'x' }),
    );
    assert.equal(o.status, 200);
    const sent = new URL(seen.at(-1)?.url ?? '', 'http://x');
    assert.equal(sent.searchParams.get('api_key'), SECRET);
    assert.equal(sent.searchParams.get('q'), 'x');
    assert.match((o.body as { url: string }).url, /api_key=\*\*\*/);
    assertNoSecret(JSON.stringify(o), 'observation');
    assertNoSecret(stderr, 'stderr');
  });

  test('http bearer from a secrets file', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ 'Echo Tool': { bearer: BEARER } }));
    const tool = makeTool([{ name: 'bearer', type: 'http', scheme: 'bearer' }], [echo]);
    const { result: o, stderr } = await captureStderr(() =>
      executor({ secretsFile: file }).execute(tool, 'echo', {}),
    );
    assert.equal(seen.at(-1)?.headers.authorization, `Bearer ${BEARER}`);
    assert.equal((o.body as { headers: Record<string, string> }).headers.authorization, 'Bearer ***');
    assertNoSecret(JSON.stringify(o), 'observation');
    assertNoSecret(stderr, 'stderr');
  });

  test('no auth scheme: a key-like parameter is filled from a bare-string env secret', async () => {
    const fn = get('current', '/echo', [
      { name: 'access_key', in: 'query', required: true, schema: { type: 'string' } },
      { name: 'query', in: 'query', required: true, schema: { type: 'string' } },
    ]);
    const tool = makeTool([], [fn], 'apilayer weatherstack');
    const env = { [secretEnvName('apilayer weatherstack')]: SECRET };
    const o = await executor({ env }).execute(tool, 'current', {
      access_key: 'YOUR_ACCESS_KEY',
      query: 'Paris',
    });
    const sent = new URL(seen.at(-1)?.url ?? '', 'http://x');
    assert.equal(sent.searchParams.get('access_key'), SECRET);
    assertNoSecret(JSON.stringify(o), 'observation');
  });

  test('error paths never show the secret: 5xx echo, network error, log lines', async () => {
    const fail = get('fail', '/fail');
    const tool = makeTool([{ name: 'key', type: 'apiKey', in: 'query', parameterName: 'key' }], [fail]);
    const secrets = { 'Echo Tool': { apiKey: SECRET } };
    const { result, stderr } = await captureStderr(async () => {
      const five = await executor({ secrets }).execute(tool, 'fail', {});
      // A closed port: connection refused.
      const closed = await startServer(() => undefined);
      const port = portOf(closed);
      await new Promise((resolve) => closed.close(resolve));
      const down = await executor({ secrets, baseUrl: `http://127.0.0.1:${port}` }).execute(tool, 'fail', {});
      return { five, down };
    });
    assert.equal(result.five.status, 500);
    assert.equal(result.down.status, 502);
    assert.match(result.down.error ?? '', /^network error: /);
    for (const o of [result.five, result.down]) {
      assertNoSecret(JSON.stringify(o), 'observation');
      assertNoSecret(observationText(o), 'observation text');
    }
    assertNoSecret(stderr, 'stderr');
    assert.match(stderr, /-> 502 error: network error/);
  });

  test('a missing or broken secrets file fails when the executor is created, never quoting it', () => {
    const dir = makeTempDir();
    const file = join(dir, 'secrets.json');
    const cases: [string, RegExp][] = [
      [`{"Echo Tool": {"apiKey": "${SECRET}"`, /secrets file is not valid JSON/],
      [
        JSON.stringify({ 'Echo Tool': { apikey: SECRET } }),
        /"Echo Tool": unknown field "apikey" \(did you mean "apiKey"\?\)/,
      ],
      [
        JSON.stringify({ 'Echo Tool': { apiKey: SECRET, hosts: 'api.example.com' } }),
        /"hosts" must be a non-empty list/,
      ],
      [
        JSON.stringify({ 'Echo Tool': { apiKey: SECRET, hosts: [`https://${SECRET}/`] } }),
        /"hosts": expected host names/,
      ],
      [JSON.stringify({ 'Echo Tool': { hosts: ['api.example.com'] } }), /no secret/],
      [JSON.stringify([SECRET]), /must be a JSON object keyed by tool name/],
    ];
    for (const [text, expected] of cases) {
      writeFileSync(file, text);
      assert.throws(
        () => executor({ secretsFile: file }),
        (error: Error) => {
          assert.ok(error instanceof InputError, String(error));
          assert.match(error.message, expected);
          assert.doesNotMatch(error.message, /\n/);
          assertNoSecret(error.message, 'thrown error');
          assertNoSecret(String(error.stack), 'thrown stack');
          return true;
        },
      );
    }
    assert.throws(
      () => executor({ secretsFile: join(dir, 'none.json') }),
      /none\.json: no such secrets file$/,
    );
    assert.throws(
      () => executor({ env: { TOOLALPACA_SECRET_ECHO_TOOL: `{"apiKey": "${SECRET}"` } }),
      /: TOOLALPACA_SECRET_ECHO_TOOL: not valid JSON$/,
    );
  });

  test('Basic credentials: the password alone is redacted in every form the API echoes', async () => {
    const tool = makeTool([{ name: 'basic', type: 'http', scheme: 'basic' }], [get('parts', '/parts')]);
    const password = 'pa ss/wörd+=1';
    const { result: o, stderr } = await captureStderr(() =>
      executor({ secrets: { 'Echo Tool': { apiKey: `api-user:${password}` } } }).execute(tool, 'parts', {}),
    );
    assert.equal(o.status, 200);
    const text = JSON.stringify(o);
    for (const form of [
      password,
      Buffer.from(password).toString('base64'),
      encodeURIComponent(password),
      new URLSearchParams({ p: password }).toString().slice(2),
    ]) {
      assert.ok(!text.includes(form), `observation leaks ${form}: ${text}`);
      assert.ok(!stderr.includes(form), `stderr leaks ${form}`);
    }
    assert.match(String(o.body), /^password=\*\*\* b64=\*\*\* url=\*\*\* form=p=\*\*\*$/);
    assert.equal(o.headers['x-password'], '***');
  });
});

describe('real executor: hosts, timeout, size', () => {
  test('only the tool servers and the base URL override are allowed hosts', () => {
    const tool = makeTool([], [echo]);
    const hosts = allowedHostsFor(tool, { baseUrl: 'https://override.example.com/v1' });
    assert.deepEqual([...hosts].sort(), [`127.0.0.1:${portOf(api)}`, 'override.example.com'].sort());
  });

  test('a redirect to another host is refused without connecting to it', async () => {
    const tool = makeTool([], [get('redirect', '/redirect')]);
    const before = otherConnections;
    const o = await executor({ secrets: { 'Echo Tool': { bearer: BEARER } } }).execute(tool, 'redirect', {});
    assert.equal(o.status, 502);
    assert.match(
      o.error ?? '',
      /^refused: redirect to host localhost:\d+ is not allowed for tool 'Echo Tool'/,
    );
    assert.equal(otherConnections, before);
  });

  test('a tool without an http(s) server is refused; nothing is fetched', async () => {
    let fetched = 0;
    const tool: Tool = { ...makeTool([], [echo]), servers: ['/relative/api'] };
    const o = await createRealExecutor({
      fetch: (async () => {
        fetched++;
        return new Response('{}');
      }) as typeof fetch,
    }).execute(tool, 'echo', {});
    assert.equal(o.status, 502);
    assert.match(o.error ?? '', /no http\(s\) server URL/);
    assert.equal(fetched, 0);
  });

  test('a slow API times out', async () => {
    // The API answers after 5 s: a 504 naming the 200 ms limit can only come from the timeout.
    const tool = makeTool([], [get('slow', '/slow')]);
    const o = await executor({ timeoutMs: 200 }).execute(tool, 'slow', {});
    assert.equal(o.status, 504);
    assert.equal(o.error, 'timed out after 200 ms');
  });

  test('reading stops at the response size cap', async () => {
    const tool = makeTool([], [get('big', '/big')]);
    const o = await executor({ maxResponseBytes: 100_000, maxBodyChars: 1_000_000 }).execute(tool, 'big', {});
    assert.equal(o.status, 200);
    assert.equal(o.truncated, true);
    assert.equal((o.body as string).length, 100_000);
    // The server was cut off long before its 12.5 MB were sent.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(bigFinished, false);
    assert.equal(bigClosedEarly, true);
  });

  test('long bodies are truncated to maxBodyChars; binary content is described, not shown', async () => {
    const tool = makeTool([], [get('long', '/long'), get('image', '/image')]);
    const ex = executor({ maxBodyChars: 500 });
    const long: Observation = await ex.execute(tool, 'long', {});
    assert.equal(long.truncated, true);
    assert.equal(typeof long.body, 'string');
    assert.equal((long.body as string).length, 500);
    assert.ok((long.body as string).startsWith('{"items":["item-0"'));
    const image = await ex.execute(tool, 'image', {});
    assert.equal(image.body, 'Received image/png content (100 bytes), not shown.');
    const full = await executor({ maxBodyChars: 100_000 }).execute(tool, 'long', {});
    assert.equal(full.truncated, undefined);
    assert.equal((full.body as { items: string[] }).items.length, 5000);
  });

  test('invalid arguments never reach the network', async () => {
    const fn = get('need', '/echo', [
      { name: 'id', in: 'query', required: true, schema: { type: 'integer' } },
    ]);
    const tool = makeTool([], [fn]);
    const count = seen.length;
    const o = await executor().execute(tool, 'need', { id: 'abc' });
    assert.equal(o.status, 400);
    assert.deepEqual(o.validationErrors, [`Parameter 'id' must be integer, got "abc"`]);
    assert.equal(seen.length, count);
  });
});

describe('real executor: secrets follow hosts', () => {
  const keyed = (name = 'Echo Tool') =>
    makeTool([{ name: 'key', type: 'apiKey', in: 'header', parameterName: 'X-API-Key' }], [echo], name);

  test('a secret tied to other hosts is not sent to a look-alike tool of the same name', async () => {
    const secrets = { 'Echo Tool': { apiKey: SECRET, hosts: ['api.echo.example'] } };
    const lines: string[] = [];
    const o = await executor({ secrets, log: (line) => lines.push(line) }).execute(keyed(), 'echo', {});
    assert.equal(o.status, 200);
    assert.equal(seen.at(-1)?.headers['x-api-key'], undefined);
    assert.ok(!JSON.stringify(seen.at(-1)).includes(SECRET));
    assert.ok(
      lines.some((line) =>
        /the secret of tool 'Echo Tool' is not sent to 127\.0\.0\.1:\d+: it is tied to api\.echo\.example/.test(
          line,
        ),
      ),
      lines.join('\n'),
    );
  });

  test('hosts entries: a name for any port, name:port for one, *.domain for subdomains', async () => {
    const port = portOf(api);
    for (const [hosts, sent] of [
      [['127.0.0.1'], true],
      [[`127.0.0.1:${port}`], true],
      [[`127.0.0.1:${port === 1 ? 2 : 1}`], false],
      [['*.0.0.1'], true],
      [['localhost'], false],
    ] as const) {
      await executor({ secrets: { 'Echo Tool': { apiKey: SECRET, hosts: [...hosts] } } }).execute(
        keyed(),
        'echo',
        {},
      );
      assert.equal(seen.at(-1)?.headers['x-api-key'], sent ? SECRET : undefined, hosts.join());
    }
  });

  test("without hosts (the older file format) a secret is tied to the spec's servers, not the base URL", async () => {
    const secrets = { 'Echo Tool': { apiKey: SECRET } };
    await executor({ secrets }).execute(keyed(), 'echo', {});
    assert.equal(seen.at(-1)?.headers['x-api-key'], SECRET);
    // The same server under another name, given as the base URL: not a host the secret is tied to.
    await executor({ secrets, baseUrl: `http://localhost:${portOf(api)}` }).execute(keyed(), 'echo', {});
    assert.equal(seen.at(-1)?.headers['x-api-key'], undefined);
  });

  test('once a secret was sent, a redirect to a host it is not tied to is refused', async () => {
    const tool = makeTool(
      [{ name: 'bearer', type: 'http', scheme: 'bearer' }],
      [get('toOther', '/to-other')],
    );
    const before = otherConnections;
    const o = await executor({
      secrets: { 'Echo Tool': { bearer: BEARER } },
      allowedHosts: [`localhost:${portOf(other)}`],
    }).execute(tool, 'toOther', {});
    assert.equal(o.status, 502);
    assert.match(
      o.error ?? '',
      /^refused: redirect to host localhost:\d+, which the secret of tool 'Echo Tool' is not tied to/,
    );
    assert.equal(otherConnections, before);
  });
});

describe('real executor: no calls to this machine or its network unless allowed', () => {
  test('address categories', () => {
    for (const [address, category] of [
      ['127.0.0.1', 'loopback'],
      ['127.8.9.10', 'loopback'],
      ['::1', 'loopback'],
      ['[::1]', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.31.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['fd12::1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['93.184.216.34', undefined],
      ['2606:4700::1111', undefined],
      ['example.com', undefined],
    ] as const) {
      assert.equal(forbiddenAddressCategory(address), category, address);
    }
  });

  test('loopback literals and names resolving to loopback are refused without connecting', async () => {
    const port = portOf(api);
    const count = seen.length;
    for (const [server, reason] of [
      [`http://127.0.0.1:${port}`, /^refused: 127\.0\.0\.1 is a loopback address/],
      [`http://[::ffff:127.0.0.1]:${port}`, /^refused: \[::ffff:7f00:1\] is a loopback address/],
      [`http://localhost:${port}`, /^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
      ['http://169.254.169.254', /^refused: 169\.254\.169\.254 is a link-local address/],
    ] as const) {
      const tool: Tool = { ...makeTool([], [echo]), servers: [server] };
      const o = await createRealExecutor({ timeoutMs: 3000 }).execute(tool, 'echo', {});
      assert.equal(o.status, 502, server);
      assert.match(o.error ?? '', reason);
    }
    assert.equal(seen.length, count, 'the local server was reached');
    const allowed = await executor().execute(makeTool([], [echo]), 'echo', {});
    assert.equal(allowed.status, 200);
  });
});
