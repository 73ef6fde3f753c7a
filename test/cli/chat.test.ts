import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedPort } from '../helpers/net.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { runChatCommand, type ChatCommandFlags } from '../../src/cli/chat.js';
import { cliMessageOf } from '../../src/cli/flag-wording.js';
import { downloadProgressPrinter } from '../../src/cli/model-options.js';
import { InputError } from '../../src/core/errors.js';
import { ModelCallError } from '../../src/models/model-errors.js';

function capture(): { out: string[]; err: string[]; io: Parameters<typeof runChatCommand>[2] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      cwd: makeTempDir(),
    },
  };
}

describe('chat command (action)', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  test('prints the reply and the ledger; with --cache the second identical call is a cache hit', async () => {
    server.reset();
    server.script({ text: 'Hello there!', usage: { prompt_tokens: 12, completion_tokens: 4 } });
    const cacheDir = makeTempDir();
    const flags: ChatCommandFlags = {
      model: 'openai:fake-model',
      baseUrl: server.baseUrl,
      cacheDir,
      cache: true,
      system: 'Be brief.',
      temperature: '0',
    };
    const first = capture();
    await runChatCommand('Say hello', flags, first.io);
    assert.equal(first.out.join(''), 'Hello there!\n');
    const ledger = first.err.join('');
    assert.match(ledger, /stage\s+model\s+calls\s+cached\s+tokens in\s+tokens out\s+cost USD/);
    assert.match(ledger, /chat\s+openai:fake-model\s+1\s+0\s+12\s+4/);
    assert.deepEqual(server.requests[0]?.body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello' },
    ]);
    assert.equal(server.requests[0]?.body.temperature, 0);

    const second = capture();
    await runChatCommand('Say hello', { ...flags, json: true }, second.io);
    const printed = JSON.parse(second.out.join('')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(printed).sort(), ['cached', 'latencyMs', 'text', 'toolCalls', 'usage']);
    assert.equal(printed.text, 'Hello there!');
    assert.equal(printed.cached, true);
    assert.deepEqual(printed.usage, { promptTokens: 12, completionTokens: 4 });
    assert.deepEqual(printed.toolCalls, []);
    assert.equal(typeof printed.latencyMs, 'number');
    assert.equal(server.requests.length, 1);
    assert.match(second.err.join(''), /chat\s+openai:fake-model\s+1\s+1\s+0\s+0/);
  });

  test('--json-schema sends response_format and reports the parsed JSON', async () => {
    server.reset();
    const dir = makeTempDir();
    const schemaFile = join(dir, 'answer.schema.json');
    const schema = { type: 'object', properties: { colour: { type: 'string' } }, required: ['colour'] };
    writeFileSync(schemaFile, JSON.stringify(schema));
    const { out, io } = capture();
    await runChatCommand(
      'Name a colour',
      {
        model: 'openai:fake-model',
        baseUrl: server.baseUrl,
        cache: false,
        jsonSchema: schemaFile,
        json: true,
      },
      io,
    );
    const printed = JSON.parse(out.join('')) as { text: string; json: { colour: string } };
    assert.deepEqual(JSON.parse(printed.text), printed.json);
    assert.equal(typeof printed.json.colour, 'string');
    assert.deepEqual(server.requests[0]?.body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'response', schema, strict: false },
    });
  });

  test('bad input is an InputError before any request', async () => {
    server.reset();
    const base = { model: 'openai:fake-model', baseUrl: server.baseUrl, cache: false };
    await assert.rejects(
      runChatCommand('hi', { ...base, temperature: 'hot' }, capture().io),
      (e: unknown) => e instanceof InputError && /--temperature/.test(e.message),
    );
    await assert.rejects(
      runChatCommand('hi', { ...base, jsonSchema: '/nonexistent/s.json' }, capture().io),
      /cannot read JSON Schema \/nonexistent\/s\.json/,
    );
    await assert.rejects(
      runChatCommand('hi', { ...base, model: 'gpt-4o' }, capture().io),
      /bad model spec "gpt-4o"/,
    );
    await assert.rejects(runChatCommand('  ', base, capture().io), /MESSAGE is empty/);
    assert.equal(server.requests.length, 0);
  });

  test('an unreachable server fails with one line and still prints the ledger', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
    const { err, io } = capture();
    await assert.rejects(
      runChatCommand('hi', { model: 'openai:x', baseUrl, cache: false, maxRetries: '0' }, io),
      (error: unknown) =>
        error instanceof ModelCallError &&
        cliMessageOf(error) ===
          `cannot reach ${baseUrl} (ECONNREFUSED): is the server running? set --base-url or OPENAI_BASE_URL`,
    );
    assert.equal(err.join(''), 'no model calls\n');
  });
});

describe('downloadProgressPrinter', () => {
  test('piped: one plain line per 10%', () => {
    const lines: string[] = [];
    const report = downloadProgressPrinter({ write: (text: string) => lines.push(text) });
    for (let bytes = 0; bytes <= 10_485_760; bytes += 524_288)
      report({ downloadedBytes: bytes, totalBytes: 10_485_760 });
    assert.equal(lines.length, 11);
    assert.equal(lines[0], 'downloading model: 0.0/10.0 MB (0%)\n');
    assert.equal(lines[10], 'downloading model: 10.0/10.0 MB (100%)\n');
  });

  test('terminal: one updating line, ended at 100%', () => {
    const parts: string[] = [];
    const report = downloadProgressPrinter({ write: (text: string) => parts.push(text), isTTY: true });
    report({ downloadedBytes: 5, totalBytes: 10 });
    report({ downloadedBytes: 10, totalBytes: 10 });
    report({ downloadedBytes: 10, totalBytes: 10 });
    assert.equal(parts.length, 2);
    assert.ok(parts.every((part) => part.startsWith('\r[')));
    assert.match(parts[0] ?? '', /\[#{15}-{15}\] downloading model: .*\(50%\)$/);
    assert.ok(parts[1]?.endsWith('(100%)\n'));
  });
});

describe('toolalpaca chat (compiled CLI)', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  test('prints the reply on stdout and the ledger on stderr; the key never appears', async () => {
    server.reset();
    server.script({ text: 'Hi from the fake.' });
    const key = 'sk-cli-secret-1234567890';
    const result = await runCli(['chat', '--model', 'openai:fake-model', '--no-cache', 'Say hi'], {
      cwd: makeTempDir(),
      env: { OPENAI_BASE_URL: server.baseUrl, OPENAI_API_KEY: key },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Hi from the fake.\n');
    assert.match(result.stderr, /chat\s+openai:fake-model\s+1\s+0/);
    assert.equal(server.requests[0]?.headers.authorization, `Bearer ${key}`);
    assert.ok(!result.stderr.includes(key) && !result.stdout.includes(key));
  });

  test('--json prints {text, toolCalls, usage, latencyMs, cached}; a config file supplies the model', async () => {
    server.reset();
    const cwd = makeTempDir();
    writeFileSync(
      join(cwd, 'toolalpaca.config.json'),
      JSON.stringify({ model: 'openai:fake-model', baseUrl: server.baseUrl }),
    );
    const first = await runCli(['chat', '--json', '--cache', '--temperature', '0', 'What is 2+2?'], { cwd });
    assert.equal(first.code, 0, first.stderr);
    const printed = JSON.parse(first.stdout) as {
      text: string;
      cached: boolean;
      usage: { promptTokens: number };
    };
    assert.equal(printed.cached, false);
    assert.ok(printed.usage.promptTokens > 0);
    const second = await runCli(['chat', '--json', '--cache', '--temperature', '0', 'What is 2+2?'], { cwd });
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as { cached: boolean }).cached, true);
    assert.equal(server.requests.length, 1);
    // Without --cache, chat asks the server itself.
    const third = await runCli(['chat', '--json', '--temperature', '0', 'What is 2+2?'], { cwd });
    assert.equal(third.code, 0, third.stderr);
    assert.equal((JSON.parse(third.stdout) as { cached: boolean }).cached, false);
    assert.equal(server.requests.length, 2);
  });

  test('a cached answer never hides a dead server: chat fails against a closed port, with or without --cache', async () => {
    server.reset();
    const cwd = makeTempDir();
    const ask = (baseUrl: string, ...flags: string[]) =>
      runCli(
        ['chat', '--model', 'openai:fake-model', '--base-url', baseUrl, '--max-retries', '0', ...flags, 'hi'],
        { cwd },
      );
    const recorded = await ask(server.baseUrl, '--cache', '--temperature', '0');
    assert.equal(recorded.code, 0, recorded.stderr);
    const dead = `http://127.0.0.1:${await closedPort()}/v1`;
    for (const flags of [
      ['--temperature', '0'],
      ['--cache', '--temperature', '0'],
    ]) {
      const result = await ask(dead, ...flags);
      assert.equal(result.code, 3, `${flags.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /cannot reach .* \(ECONNREFUSED\)/);
    }
    assert.equal(server.requests.length, 1);
  });

  test('an unreachable endpoint: one line and a non-zero exit', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
    const result = await runCli(
      ['chat', '--model', 'openai:x', '--base-url', baseUrl, '--no-cache', '--max-retries', '0', 'hi'],
      {
        cwd: makeTempDir(),
      },
    );
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trim().split('\n');
    assert.equal(
      lines.at(-1),
      `toolalpaca: cannot reach ${baseUrl} (ECONNREFUSED): is the server running? set --base-url or OPENAI_BASE_URL`,
    );
  });

  test('a bad model spec exits 2 with one line', async () => {
    const result = await runCli(['chat', '--model', 'gpt-4o', 'hi'], { cwd: makeTempDir() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^toolalpaca: bad model spec "gpt-4o": no backend prefix/);
  });
});
