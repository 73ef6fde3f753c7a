/**
 * `toolalpaca serve` as a user runs it: the compiled CLI in a child process, real HTTP calls, SIGTERM.
 */
import { request } from 'node:http';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { serve } from '../helpers/serve-process.js';

/** A GET with a chosen Host header (fetch does not let one set it). */
function getWithHost(
  url: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...headers, host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const TOKEN = 'serve-test-token-0123456789';

describe('toolalpaca serve', () => {
  test('serves the tools over HTTP, logs each request and exits 0 on SIGTERM', async () => {
    const served = await serve(['--tools', sharedData('toolalpaca/eval_simulated.json'), '--port', '0']);
    try {
      assert.match(served.readyLine, /^serving 10 tools at http:\/\/127\.0\.0\.1:\d+$/);

      const health = await fetch(`${served.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', tools: 10, executor: 'schema' });

      const call = await fetch(`${served.url}/AniAPI/anime/42`);
      assert.equal(call.status, 200);
      assert.equal(call.headers.get('x-toolalpaca-source'), 'schema');
      const anime = (await call.json()) as Record<string, unknown>;
      assert.equal(typeof anime, 'object');

      const posted = await fetch(`${served.url}/AniAPI/anime/42/tracking`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ trackingService: 'anilist', progress: 3 }),
      });
      assert.ok(posted.status >= 200 && posted.status < 300, await posted.text());

      const invalid = await fetch(`${served.url}/AniAPI/anime/forty-two`);
      assert.equal(invalid.status, 400);
      const reasons = (await invalid.json()) as { error: string; details: string[] };
      assert.equal(reasons.error, 'invalid request');
      assert.deepEqual(reasons.details, [`Parameter 'animeId' must be integer, got "forty-two"`]);

      const spec = (await (await fetch(`${served.url}/AniAPI/openapi.json`)).json()) as {
        servers: { url: string }[];
      };
      assert.equal(spec.servers[0]?.url, `${served.url}/AniAPI`);
    } finally {
      served.child.kill('SIGTERM');
    }
    const { code, signal } = await served.exit;
    assert.equal(signal, null);
    assert.equal(code, 0, served.stderr());
    const lines = served.stderr().split('\n');
    assert.ok(lines.includes('toolalpaca: SIGTERM: closing the server'), served.stderr());
    assert.ok(
      lines.some((line) => /^GET \/AniAPI\/anime\/42 200 \d+\.\d+ms schema$/.test(line)),
      served.stderr(),
    );
    assert.ok(lines.some((line) => /^GET \/AniAPI\/anime\/forty-two 400 \d+\.\d+ms validation$/.test(line)));
    assert.ok(lines.some((line) => /^GET \/healthz 200 \d+\.\d+ms -$/.test(line)));
  });

  test('--quiet prints no request lines; a port in use is a one-line error', async () => {
    const served = await serve([
      '--tools',
      sharedData('toolalpaca/eval_real.json'),
      '--port',
      '0',
      '--quiet',
    ]);
    try {
      assert.match(served.readyLine, /^serving 11 tools at /);
      assert.equal((await fetch(`${served.url}/healthz`)).status, 200);
      const port = new URL(served.url).port;
      const clash = await runCli([
        'serve',
        '--tools',
        sharedData('toolalpaca/eval_real.json'),
        '--port',
        port,
      ]);
      assert.equal(clash.code, 2);
      assert.match(clash.stderr, /^toolalpaca: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE\n$/);
    } finally {
      served.child.kill('SIGTERM');
    }
    const { code } = await served.exit;
    assert.equal(code, 0);
    assert.doesNotMatch(served.stderr(), /GET \/healthz/);
  });

  test('bad input is a one-line error with exit code 2', async () => {
    const tools = sharedData('toolalpaca/eval_real.json');
    const [missing, replay, simulated, badPort, badKind] = await Promise.all([
      runCli(['serve', '--tools', 'no/such/tools.json']),
      runCli(['serve', '--tools', tools, '--executor', 'replay']),
      // An empty folder: no toolalpaca.config.json with a default model.
      runCli(['serve', '--tools', tools, '--executor', 'simulated'], {
        env: { TOOLALPACA_CONFIG: undefined },
        cwd: makeTempDir(),
      }),
      runCli(['serve', '--tools', tools, '--port', 'eighty']),
      runCli(['serve', '--tools', tools, '--executor', 'oracle']),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^toolalpaca: .*no\/such\/tools\.json.*\n$/);
    assert.equal(replay.code, 2);
    assert.match(replay.stderr, /--replay-file FILE/);
    assert.equal(simulated.code, 2);
    assert.match(simulated.stderr, /--executor simulated needs --model SPEC/);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port: expected an integer/);
    assert.notEqual(badKind.code, 0);
    assert.match(badKind.stderr, /schema, simulated, replay, real/);
  });

  test('only loopback Host names unless --allow-host; cross-site browser requests are refused', async () => {
    const served = await serve([
      '--tools',
      sharedData('toolalpaca/eval_real.json'),
      '--tools',
      sharedData('toolalpaca/eval_simulated.json'),
      '--port',
      '0',
      '--allow-host',
      'tools.internal',
    ]);
    try {
      const path = `${served.url}/Nager.Date/api/v3/Version`;
      const port = new URL(served.url).port;
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `tools.internal:${port}`]) {
        assert.equal((await getWithHost(path, host)).status, 200, host);
      }
      // DNS rebinding: a name the attacker controls, resolving to 127.0.0.1.
      for (const host of [`attacker.example:${port}`, 'tools.internal.attacker.example']) {
        const refused = await getWithHost(path, host);
        assert.equal(refused.status, 421, host);
        assert.match(refused.body, /misdirected request/);
      }
      const fromPage = await fetch(path, { headers: { origin: 'https://attacker.example' } });
      assert.equal(fromPage.status, 403);
      const noCors = await fetch(path, { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(noCors.status, 403);
      const sameMachine = await fetch(path, { headers: { origin: 'http://localhost:3000' } });
      assert.equal(sameMachine.status, 200);

      // Text and form bodies (what a page may send cross-origin without a preflight) are refused for JSON APIs.
      const url = `${served.url}/Lob.com/verifyUSAddress`;
      const json = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          addressLine1: '1 Main St',
          city: 'Springfield',
          state: 'IL',
          zipCode: '62701',
        }),
      });
      assert.ok(json.status < 300, await json.text());
      for (const [type, body] of [
        ['text/plain', JSON.stringify({ addressLine1: '1 Main St' })],
        ['application/x-www-form-urlencoded', 'addressLine1=1+Main+St'],
        [
          'multipart/form-data; boundary=x',
          '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
        ],
      ]) {
        const refused = await fetch(url, { method: 'POST', headers: { 'content-type': type! }, body: body! });
        assert.equal(refused.status, 415, type);
        assert.match(await refused.text(), /request bodies must be application\/json here/);
      }

      const head = await fetch(path, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('x-toolalpaca-source'), 'schema');
      assert.equal(await head.text(), '');
      assert.equal((await fetch(`${served.url}/healthz`, { method: 'HEAD' })).status, 200);
    } finally {
      assert.equal(await served.stop(), 0);
    }
    assert.match(served.stderr(), /^GET \/Nager\.Date\/api\/v3\/Version 421 [\d.]+ms refused$/m);
    assert.match(served.stderr(), /^HEAD \/Nager\.Date\/api\/v3\/Version 200 [\d.]+ms schema$/m);
  });

  test('off loopback a token is required: refused without one, 401 without the header', async () => {
    const tools = sharedData('toolalpaca/eval_real.json');
    const noToken = await runCli(['serve', '--tools', tools, '--host', '0.0.0.0', '--port', '0'], {
      env: { TOOLALPACA_SERVE_TOKEN: undefined },
    });
    assert.equal(noToken.code, 2);
    assert.match(
      noToken.stderr,
      /^toolalpaca: --host 0\.0\.0\.0 is not a loopback address: .*TOOLALPACA_SERVE_TOKEN.*\n$/,
    );
    const served = await serve(['--tools', tools, '--host', '0.0.0.0', '--port', '0', '--quiet'], {
      TOOLALPACA_SERVE_TOKEN: TOKEN,
    });
    try {
      assert.match(served.stderr(), /^toolalpaca: warning: listening on every interface \(0\.0\.0\.0\)/m);
      const url = `http://127.0.0.1:${new URL(served.url).port}/healthz`;
      const missing = await fetch(url);
      assert.equal(missing.status, 401);
      assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
      assert.equal(
        (await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
        401,
      );
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });

  test('one flag vocabulary: --replay-file, --api-base-url, --base-url is the model server', async () => {
    const tools = sharedData('toolalpaca/eval_real.json');
    const cases: [string[], RegExp][] = [
      [['--executor', 'replay', '--replay', 'x.jsonl'], /^toolalpaca: --replay is now --replay-file FILE\n$/],
      [
        ['--executor', 'simulated', '--executor-base-url', 'http://x/v1'],
        /--executor-base-url is now --base-url URL/,
      ],
      [
        ['--executor', 'real', '--base-url', 'http://127.0.0.1:9/v1'],
        /^toolalpaca: --base-url is the model server's URL, used by --executor simulated only; the real API's base URL is --api-base-url\n$/,
      ],
      [
        ['--model', 'openai:m'],
        /^toolalpaca: --model: only --executor simulated uses a model \(got --executor schema\)\n$/,
      ],
      [['--secrets', 'x.json'], /^toolalpaca: --secrets is for --executor real \(got --executor schema\)\n$/],
      [
        ['--allow-host', 'http://x/'],
        /^toolalpaca: --allow-host: expected NAME or NAME:PORT, got "http:\/\/x\/"\n$/,
      ],
      [['--token', 'short'], /--token \/ TOOLALPACA_SERVE_TOKEN: use at least 16 characters/],
      [
        ['--executor', 'real', '--secrets', 'no/such/secrets.json'],
        /^toolalpaca: no\/such\/secrets\.json: no such secrets file\n$/,
      ],
    ];
    const results = await Promise.all(
      cases.map(([args]) => runCli(['serve', '--tools', tools, '--port', '0', ...args])),
    );
    results.forEach((result, i) => {
      assert.equal(result.code, 2, `${cases[i]![0].join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, cases[i]![1]);
      assert.equal(result.stdout, '');
    });
  });
});
