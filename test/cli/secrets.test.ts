/**
 * Secrets through the compiled CLI, against a careless API on loopback that echoes everything it gets
 * (the test starts it): the keys reach the hosts they are tied to and never appear in outputs, logs,
 * caches or errors; a look-alike tool (a configured tool's name, another host) gets no key; a missing or
 * malformed secrets file stops the run at start-up.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { runCliIn } from '../helpers/cli-process.js';
import { makeTempDir } from '../helpers/paths.js';
import { serve } from '../helpers/serve-process.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';

const QUERY_KEY = 'q-key/+=Secret&42';
const PASSWORD = 'pw:with/odd+chars=9';
const LOOKALIKE_KEY = 'weather-key-0123456789';

/** Every form a secret could leak in. */
function forms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ v: secret }).toString().slice(2),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
  ];
}

const SECRET_FORMS = [
  ...forms(QUERY_KEY),
  ...forms(PASSWORD),
  ...forms(`api:${PASSWORD}`),
  ...forms(LOOKALIKE_KEY),
];

function assertClean(text: string | Buffer, what: string): void {
  const buffer = typeof text === 'string' ? Buffer.from(text) : text;
  for (const form of SECRET_FORMS) assert.ok(!buffer.includes(form), `${what} holds a secret form: ${form}`);
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

function spec(
  title: string,
  port: number,
  security: Record<string, unknown>,
  path: string,
  operationId: string,
) {
  return {
    openapi: '3.0.3',
    info: { title, version: '1.0', description: `The ${title}: answers questions about trips.` },
    servers: [{ url: `http://127.0.0.1:${port}` }],
    components: { securitySchemes: { auth: security } },
    security: [{ auth: [] }],
    paths: {
      [path]: {
        get: {
          operationId,
          summary: `Look something up with the ${title}`,
          parameters: [{ name: 'q', in: 'query', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'what the API saw',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
    },
  };
}

describe('secrets through the CLI, against a secret-echoing API on loopback', () => {
  let api: Server;
  const received: string[] = [];
  let fake: FakeOpenAI;
  let dir: string;
  let toolsDir: string;
  let secretsFile: string;

  before(async () => {
    api = createServer((req: IncomingMessage, res) => {
      // Everything the API saw, echoed back: URL, headers, and the Basic password in several forms.
      received.push(JSON.stringify({ url: req.url, headers: req.headers }));
      const basic = String(req.headers.authorization ?? '').replace(/^Basic /, '');
      const password = Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-seen-auth': String(req.headers.authorization ?? ''),
      });
      res.end(
        JSON.stringify({
          url: req.url,
          headers: req.headers,
          password,
          encoded: encodeURIComponent(password),
          base64: Buffer.from(password).toString('base64'),
        }),
      );
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const port = (api.address() as AddressInfo).port;
    dir = makeTempDir('toolalpaca-secrets-');
    toolsDir = join(dir, 'tools');
    mkdirSync(toolsDir);
    const write = (file: string, value: unknown) =>
      writeFileSync(join(toolsDir, file), JSON.stringify(value));
    write(
      'trip-keys.json',
      spec('Trip Keys', port, { type: 'apiKey', in: 'query', name: 'api_key' }, '/keys', 'keysLookup'),
    );
    write(
      'trip-basic.json',
      spec('Trip Basic', port, { type: 'http', scheme: 'basic' }, '/basic', 'basicLookup'),
    );
    // Takes the name of a configured tool, but points at this machine instead of the tool's real host.
    write(
      'weather.json',
      spec('Weather', port, { type: 'apiKey', in: 'header', name: 'X-API-Key' }, '/weather', 'weatherLookup'),
    );
    secretsFile = join(dir, 'secrets.json');
    writeFileSync(
      secretsFile,
      JSON.stringify({
        'Trip Keys': { apiKey: QUERY_KEY, hosts: ['127.0.0.1'] },
        'Trip Basic': { apiKey: `api:${PASSWORD}`, hosts: [`127.0.0.1:${port}`] },
        Weather: { apiKey: LOOKALIKE_KEY, hosts: ['api.weather.example'] },
      }),
    );
    fake = await startFakeOpenAI();
    const { tools } = await loadGenerationTools(toolsDir);
    fake.setDefault(worldResponder(planCalls(tools.map((t) => t.tool))));
  });
  after(async () => {
    api.closeAllConnections();
    api.close();
    await fake.close();
  });

  test('generate --executor real: keys reach their hosts only, and no file, log or cache holds one', async () => {
    const runDir = join(dir, 'generate');
    mkdirSync(runDir);
    const out = join(runDir, 'corpus.json');
    const before = received.length;
    const result = await runCliIn(
      [
        'generate',
        '--tools',
        toolsDir,
        '--executor',
        'real',
        '--allow-private',
        '--secrets',
        secretsFile,
        '--model',
        'openai:fake-model',
        '--base-url',
        fake.baseUrl,
        '--cache-dir',
        join(runDir, 'cache'),
        '--out',
        out,
        '--per-tool',
        '1',
        '--max-steps',
        '3',
        '--json',
      ],
      runDir,
      120_000,
    );
    assert.equal(result.code, 0, result.stderr);
    const seen = received.slice(before);
    assert.ok(
      seen.some((r) => r.includes('/keys') && r.includes(encodeURIComponent(QUERY_KEY))),
      seen.join('\n'),
    );
    assert.ok(seen.some((r) => r.includes(`Basic ${Buffer.from(`api:${PASSWORD}`).toString('base64')}`)));
    const weather = seen.filter((r) => r.includes('/weather'));
    assert.ok(weather.length > 0, 'the look-alike tool was called');
    for (const r of weather) assert.ok(!r.includes(LOOKALIKE_KEY), 'the look-alike tool got the key');
    assertClean(result.stdout, 'stdout');
    assertClean(result.stderr, 'stderr');
    const files = filesUnder(runDir);
    assert.ok(
      files.some((f) => f.endsWith('corpus.json')) && files.some((f) => f.includes('cache')),
      files.join(),
    );
    for (const file of files) assertClean(readFileSync(file), file);
    // The model saw the API's echo, redacted.
    assert.match(JSON.stringify(fake.chatRequests()), /\*\*\*/);
    assertClean(JSON.stringify(fake.chatRequests()), 'prompts sent to the model');
  });

  test('serve --executor real: answers and request log redacted, the look-alike gets no key', async () => {
    const served = await serve([
      '--tools',
      toolsDir,
      '--executor',
      'real',
      '--allow-private',
      '--secrets',
      secretsFile,
      '--port',
      '0',
    ]);
    const before = received.length;
    try {
      for (const path of ['/Trip%20Keys/keys?q=a', '/Trip%20Basic/basic?q=b', '/Weather/weather?q=c']) {
        const response = await fetch(`${served.url}${path}`);
        assert.equal(response.status, 200, path);
        assertClean(JSON.stringify([...response.headers]), `${path} headers`);
        assertClean(await response.text(), `${path} body`);
      }
    } finally {
      assert.equal(await served.stop(), 0);
    }
    const seen = received.slice(before);
    assert.equal(seen.length, 3);
    assert.ok(seen[0]?.includes(encodeURIComponent(QUERY_KEY)));
    assert.ok(!seen[2]?.includes(LOOKALIKE_KEY));
    assertClean(served.stderr(), 'serve stderr');
    assert.match(served.stderr(), /^GET \/Trip%20Keys\/keys 200 [\d.]+ms real$/m);
  });

  test('a missing or malformed secrets file stops generate at start-up: one line, exit 2, nothing written', async () => {
    const runDir = join(dir, 'bad');
    mkdirSync(runDir);
    const broken = join(runDir, 'secrets.json');
    writeFileSync(broken, `{"Trip Keys": {"apiKey": "${QUERY_KEY}", "hosts": "127.0.0.1"}}`);
    const calls = fake.chatRequests().length;
    for (const [file, expected] of [
      [join(runDir, 'missing.json'), /^toolalpaca: .*missing\.json: no such secrets file\n$/],
      [
        broken,
        /^toolalpaca: .*secrets\.json: "Trip Keys": "hosts" must be a non-empty list of host names\n$/,
      ],
    ] as const) {
      const out = join(runDir, 'corpus.json');
      const result = await runCliIn(
        [
          'generate',
          '--tools',
          toolsDir,
          '--executor',
          'real',
          '--secrets',
          file,
          '--model',
          'openai:fake-model',
          '--base-url',
          fake.baseUrl,
          '--out',
          out,
          '--no-cache',
        ],
        runDir,
        60_000,
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
      assertClean(result.stderr, 'error line');
      assert.equal(existsSync(out), false);
    }
    assert.equal(fake.chatRequests().length, calls, 'the model was called before the secrets were read');
  });
});
