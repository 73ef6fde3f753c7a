/**
 * `toolalpaca serve` as a user runs it: the compiled CLI in a child process, real HTTP calls, SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliPath, runCli } from '../helpers/cli.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  readyLine: string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `toolalpaca serve ARGS` and resolves on its ready line. */
function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [cliPath, 'serve', ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line within 15 s: ${stderr}`));
    }, 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^serving (\d+) tools at (http:\/\/\S+)$/m.exec(stdout);
      if (match?.[2]) {
        clearTimeout(timer);
        resolve({ child, url: match[2], readyLine: match[0], stderr: () => stderr, exit });
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code} before it was ready: ${stderr}`));
    });
  });
}

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
    assert.match(replay.stderr, /--replay FILE/);
    assert.equal(simulated.code, 2);
    assert.match(simulated.stderr, /--executor-model SPEC/);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port: expected an integer/);
    assert.notEqual(badKind.code, 0);
    assert.match(badKind.stderr, /schema, simulated, replay, real/);
  });
});
