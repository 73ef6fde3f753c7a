/**
 * Proxies from the environment. A forward proxy started here maps every CONNECT to the fake model
 * server on 127.0.0.1, so a request to a made-up host name (`model.internal`, which no resolver knows)
 * can only succeed by going through it: the client never resolves a host it sends to a proxy.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import { createHttpDispatcher, proxySettings, LOOPBACK_HOSTS } from '../../src/core/http-dispatcher.js';
import { InputError } from '../../src/core/errors.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/paths.js';

interface ForwardProxy {
  url: string;
  port: number;
  /** `host:port` of every CONNECT received. */
  tunnels: string[];
  /** Proxy-Authorization values received. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** A CONNECT proxy that sends every tunnel to `targetPort` on 127.0.0.1; `requireAuth` is `user:password`. */
async function startForwardProxy(targetPort: number, requireAuth?: string): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(502).end('CONNECT only'));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const authorization = req.headers['proxy-authorization'];
    authorizations.push(authorization);
    if (
      requireAuth !== undefined &&
      authorization !== `Basic ${Buffer.from(requireAuth).toString('base64')}`
    ) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const closeBoth = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', closeBoth);
    client.on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('proxySettings', () => {
  test('nothing set: no proxy', () => {
    assert.equal(proxySettings({}), undefined);
    assert.equal(proxySettings({ HTTP_PROXY: '  ', NO_PROXY: 'x' }), undefined);
  });

  test('lower case wins over upper case, as curl reads them; loopback hosts always bypass', () => {
    const settings = proxySettings({
      http_proxy: 'http://lower:3128',
      HTTP_PROXY: 'http://upper:3128',
      HTTPS_PROXY: 'http://secure:3128',
      NO_PROXY: 'corp.example,.internal',
    });
    assert.deepEqual(settings, {
      httpProxy: 'http://lower:3128',
      httpsProxy: 'http://secure:3128',
      noProxy: ['corp.example,.internal', ...LOOPBACK_HOSTS].join(','),
    });
    assert.equal(proxySettings({ HTTPS_PROXY: 'http://p:1' })?.noProxy, LOOPBACK_HOSTS.join(','));
  });

  test('NO_PROXY=* turns the proxy off', () => {
    assert.equal(proxySettings({ HTTPS_PROXY: 'http://p:1', no_proxy: '*' }), undefined);
  });

  test('an unusable proxy URL is an InputError that does not echo the value (it may hold a password)', () => {
    for (const value of ['not a url hunter2', 'ftp://user:hunter2@proxy:21']) {
      assert.throws(
        () => proxySettings({ HTTPS_PROXY: value }),
        (error: unknown) =>
          error instanceof InputError &&
          error.message.startsWith('HTTPS_PROXY ') &&
          !error.message.includes('hunter2'),
      );
    }
  });
});

describe('requests through the proxy', () => {
  let model: FakeOpenAI;
  let proxy: ForwardProxy;
  let guarded: ForwardProxy;

  before(async () => {
    model = await startFakeOpenAI();
    proxy = await startForwardProxy(model.port);
    guarded = await startForwardProxy(model.port, 'agent:pa ss');
  });
  after(async () => {
    await proxy.close();
    await guarded.close();
    await model.close();
  });
  beforeEach(() => {
    model.reset();
    proxy.tunnels.length = 0;
    guarded.tunnels.length = 0;
  });

  test('a remote host goes through the proxy; loopback goes direct', async () => {
    const dispatcher = createHttpDispatcher({ HTTP_PROXY: proxy.url });
    try {
      const remote = await request(`http://model.internal:${model.port}/v1/models`, { dispatcher });
      assert.equal(remote.statusCode, 200);
      await remote.body.dump();
      assert.deepEqual(proxy.tunnels, [`model.internal:${model.port}`]);

      const local = await request(`http://127.0.0.1:${model.port}/v1/models`, { dispatcher });
      assert.equal(local.statusCode, 200);
      await local.body.dump();
      assert.equal(proxy.tunnels.length, 1, 'the loopback request did not use the proxy');
      assert.equal(model.requests.length, 2);
    } finally {
      await dispatcher.close();
    }
  });

  test('credentials in the proxy URL are sent as Proxy-Authorization', async () => {
    const dispatcher = createHttpDispatcher({
      HTTP_PROXY: `http://agent:pa%20ss@127.0.0.1:${guarded.port}`,
    });
    try {
      const response = await request(`http://model.internal:${model.port}/v1/models`, { dispatcher });
      assert.equal(response.statusCode, 200);
      await response.body.dump();
      assert.equal(guarded.tunnels.length, 1);
    } finally {
      await dispatcher.close();
    }
  });

  test("Node's global fetch uses the proxy once it is the global dispatcher", async () => {
    const before = getGlobalDispatcher();
    const dispatcher = createHttpDispatcher({ HTTP_PROXY: proxy.url });
    setGlobalDispatcher(dispatcher);
    try {
      const response = await fetch(`http://model.internal:${model.port}/v1/models`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as { object: string };
      assert.equal(body.object, 'list');
      assert.deepEqual(proxy.tunnels, [`model.internal:${model.port}`]);
    } finally {
      setGlobalDispatcher(before);
      await dispatcher.close();
    }
  });

  /** The environment of a CLI run whose only proxy setting is HTTP_PROXY=`url`. */
  const onlyHttpProxy = (url: string): Record<string, string | undefined> => ({
    HTTP_PROXY: url,
    http_proxy: undefined,
    NO_PROXY: undefined,
    no_proxy: undefined,
  });

  /** `toolalpaca chat hello` against the fake model under a host name only the proxy can reach. */
  const chatThroughProxy = (proxyUrl: string) =>
    runCli(
      [
        'chat',
        'hello',
        '--no-cache',
        '--max-retries',
        '0',
        '--model',
        'openai:fake-model',
        '--base-url',
        `http://model.internal:${model.port}/v1`,
      ],
      { env: onlyHttpProxy(proxyUrl) },
    );

  test('the CLI: chat reaches a model server only the proxy can reach', async () => {
    model.script({ text: 'through the proxy' });
    const result = await chatThroughProxy(proxy.url);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /through the proxy/);
    assert.deepEqual(proxy.tunnels, [`model.internal:${model.port}`]);
  });

  test('the CLI: global fetch (dataset download) goes through the proxy too', async () => {
    const dir = makeTempDir();
    const mirror = `http://mirror.internal:${model.port}/files`;
    const result = await runCli(['datasets', 'fetch', 'public-apis', '--dir', dir, '--mirror', mirror], {
      env: onlyHttpProxy(proxy.url),
    });
    // The fake model server answers the file request with a 404: what matters is the route it took.
    assert.notEqual(result.code, 0);
    assert.deepEqual(proxy.tunnels, [`mirror.internal:${model.port}`]);
    assert.match(result.stderr, /^toolalpaca: .*404/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });

  test('the CLI: a proxy refusing the credentials is one line without the password', async () => {
    const result = await chatThroughProxy(`http://agent:wrong-hunter2@127.0.0.1:${guarded.port}`);
    assert.notEqual(result.code, 0);
    // The ledger line ("no model calls"), then the error in one line that names the proxy's answer.
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('toolalpaca:'));
    assert.equal(errors.length, 1, result.stderr);
    assert.match(errors[0] ?? '', /model\.internal.*Proxy response \(407\)/);
    assert.ok(!result.stderr.includes('hunter2'), result.stderr);
    assert.ok(!result.stdout.includes('hunter2'));
    assert.equal(model.requests.length, 0);
  });

  test('the CLI: a malformed proxy variable stops a command with exit 2; --help still works', async () => {
    const env = { HTTPS_PROXY: 'proxy at hunter2', https_proxy: undefined };
    const failed = await runCli(['tools', 'list', '--help'], { env });
    assert.equal(failed.code, 0, failed.stderr);
    const result = await runCli(['chat', 'hello', '--no-cache', '--model', 'openai:fake-model'], { env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^toolalpaca: HTTPS_PROXY is not a URL/);
    assert.ok(!result.stderr.includes('hunter2'));
  });
});
