/**
 * Pre-flight probes and the infrastructure/behaviour split of model failures: a dead endpoint is one
 * line naming it (never the key), exit 3, before a run starts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { ServiceError, InputError } from '../../src/core/errors.js';
import { createChatModel } from '../../src/models/create-model.js';
import { ModelCallError, isInfrastructureFailure } from '../../src/models/model-errors.js';
import { normaliseBaseUrl } from '../../src/models/openai-compatible/endpoint.js';
import { endpointOf, probeModel } from '../../src/models/preflight.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { closedPort } from '../helpers/net.js';
import { makeTempDir } from '../helpers/paths.js';
import { writeTinyGguf } from '../helpers/tiny-gguf.js';

const KEY = 'sk-preflight-secret-0123456789';

/** Awaits `promise` and returns the ServiceError it rejects with. */
async function serviceFailure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ServiceError, `expected a ServiceError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the probe to fail');
}

/** A loopback server answering every request with `handler`'s status (or never, for 0). */
async function statusServer(handler: (method: string, path: string) => number): Promise<{
  baseUrl: string;
  close(): Promise<void>;
}> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = handler(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/');
      if (status === 0) return; // hang
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"x"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('isInfrastructureFailure', () => {
  test('server, network and auth failures are infrastructure; content and aborts are not', () => {
    const error = (kind: ModelCallError['kind'], status?: number): ModelCallError =>
      new ModelCallError('x', { kind, ...(status !== undefined ? { status } : {}) });
    for (const kind of ['connection', 'timeout', 'server_error', 'rate_limited'] as const) {
      assert.equal(isInfrastructureFailure(error(kind)), true, kind);
    }
    for (const status of [401, 403, 404])
      assert.equal(isInfrastructureFailure(error('client_error', status)), true);
    assert.equal(isInfrastructureFailure(error('client_error', 400)), false);
    assert.equal(isInfrastructureFailure(error('client_error')), false);
    assert.equal(isInfrastructureFailure(error('bad_response')), false);
    assert.equal(isInfrastructureFailure(error('aborted')), false);
    assert.equal(isInfrastructureFailure(error('cache_miss')), false);
    assert.equal(isInfrastructureFailure(new ServiceError('down')), false);
    assert.equal(isInfrastructureFailure(new Error('ECONNREFUSED')), false);
    assert.equal(isInfrastructureFailure(undefined), false);
  });
});

describe('endpointOf', () => {
  test('normalises the base URL: case, default port, credentials, query and trailing slash go', () => {
    assert.equal(normaliseBaseUrl('HTTP://User:Pw@LocalHost:80/v1/?key=abc#x'), 'http://localhost/v1');
    assert.equal(normaliseBaseUrl('https://api.example.com:443/v1'), 'https://api.example.com/v1');
    assert.equal(normaliseBaseUrl('http://127.0.0.1:8000/v1'), 'http://127.0.0.1:8000/v1');
    assert.throws(() => normaliseBaseUrl('ftp://x/v1'), InputError);
    assert.throws(
      () => normaliseBaseUrl('http://user:secret@exa mple.com/v1'),
      (error: unknown) => error instanceof InputError && !error.message.includes('secret'),
    );
  });

  test('a created model names its endpoint through every wrapper', async () => {
    const model = await createChatModel('openai:m', {
      openai: { baseUrl: 'http://user:pw@127.0.0.1:8000/v1/' },
      noCache: true,
      concurrency: 2,
    });
    try {
      assert.equal(endpointOf(model), 'http://127.0.0.1:8000/v1');
    } finally {
      await model.close();
    }
  });
});

describe('probeModel: openai-compatible', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI({ apiKey: KEY });
  });
  after(() => server.close());

  test('a live server passes with one GET /models and no generation', async () => {
    server.reset();
    const model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl, apiKey: KEY },
    });
    try {
      await probeModel(model);
      assert.deepEqual(
        server.requests.map((r) => `${r.method} ${r.path}`),
        ['GET /v1/models'],
      );
    } finally {
      await model.close();
    }
  });

  test('a refused key is one line naming the endpoint, exit 3, and never the key', async () => {
    const wrong = 'sk-wrong-key-abcdefghijklmnop';
    const model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl, apiKey: wrong },
    });
    try {
      const error = await serviceFailure(probeModel(model));
      assert.equal(error.exitCode, 3);
      assert.match(error.message, /HTTP 401/);
      assert.ok(error.message.includes(server.baseUrl), error.message);
      assert.ok(!error.message.includes(wrong) && !error.message.includes(KEY));
      assert.ok(!error.message.includes('\n'));
    } finally {
      await model.close();
    }
  });

  test('a closed port is one line naming the endpoint, exit 3', async () => {
    const port = await closedPort();
    const model = await createChatModel('openai:m', {
      openai: { baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: KEY },
    });
    try {
      const error = await serviceFailure(probeModel(model, { timeoutMs: 5_000 }));
      assert.equal(error.exitCode, 3);
      assert.match(
        error.message,
        new RegExp(`model server http://127\\.0\\.0\\.1:${port}/v1 is unreachable`),
      );
      assert.match(error.message, /ECONNREFUSED/);
      assert.ok(!error.message.includes(KEY));
    } finally {
      await model.close();
    }
  });
});

describe('probeModel: servers without /models', () => {
  test('/models missing but the chat route answers 400: alive', async () => {
    const server = await statusServer((method, path) =>
      method === 'POST' && path === '/v1/chat/completions' ? 400 : 404,
    );
    const model = await createChatModel('openai:m', { openai: { baseUrl: server.baseUrl }, noCache: true });
    try {
      await probeModel(model);
    } finally {
      await model.close();
      await server.close();
    }
  });

  test('404 on /models and on the chat route: a wrong base URL', async () => {
    const server = await statusServer(() => 404);
    const model = await createChatModel('openai:m', { openai: { baseUrl: server.baseUrl }, noCache: true });
    try {
      const error = await serviceFailure(probeModel(model));
      assert.match(error.message, /no OpenAI-compatible API at http:\/\/127\.0\.0\.1:\d+\/v1 .*`baseUrl`/);
      assert.equal(error.reason, 'no-openai-api');
    } finally {
      await model.close();
      await server.close();
    }
  });

  test('5xx fails; a hang fails at the probe timeout', async () => {
    const failing = await statusServer(() => 503);
    const hanging = await statusServer(() => 0);
    const a = await createChatModel('openai:m', { openai: { baseUrl: failing.baseUrl }, noCache: true });
    const b = await createChatModel('openai:m', { openai: { baseUrl: hanging.baseUrl }, noCache: true });
    try {
      assert.match((await serviceFailure(probeModel(a))).message, /is failing \(HTTP 503/);
      assert.match(
        (await serviceFailure(probeModel(b, { timeoutMs: 200 }))).message,
        /did not answer within 200 ms/,
      );
    } finally {
      await a.close();
      await b.close();
      await failing.close();
      await hanging.close();
    }
  });
});

describe('probeModel: llama and replay', () => {
  test('llama: the GGUF file must still open; replay: nothing to check', async () => {
    const dir = makeTempDir('toolalpaca-preflight-');
    const file = join(dir, 'tiny.gguf');
    await writeTinyGguf(file, { seed: 3 });
    const model = await createChatModel(`llama:${file}`, { llama: { threads: 1 }, noCache: true });
    try {
      assert.equal(endpointOf(model), `llama:${file}`);
      await probeModel(model);
      await rm(file);
      const error = await serviceFailure(probeModel(model));
      assert.equal(error.exitCode, 3);
      assert.ok(error.message.startsWith(`llama:${file}: the model file cannot be opened`), error.message);
    } finally {
      await model.close();
    }
    const cached = await createChatModel('openai:m', {
      cacheDir: dir,
      openai: { baseUrl: 'http://127.0.0.1:9/v1' },
    });
    await cached.close();
    const replay = await createChatModel('replay:', { cacheDir: dir });
    try {
      await probeModel(replay);
      assert.match(endpointOf(replay), /^replay:.*responses\.sqlite$/);
    } finally {
      await replay.close();
    }
  });
});
