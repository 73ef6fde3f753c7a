import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { makeTempDir } from '../helpers/paths.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { formatModelSpec, parseModelSpec } from '../../src/models/model-spec.js';
import { loadConfig } from '../../src/models/config.js';
import { createChatModel } from '../../src/models/create-model.js';
import { CostLedger } from '../../src/models/ledger.js';
import { addModelOptions, modelOptionsFrom } from '../../src/cli/model-options.js';
import { InputError } from '../../src/core/errors.js';
import { ModelCallError } from '../../src/models/model-errors.js';

describe('parseModelSpec', () => {
  const good: [string, ReturnType<typeof parseModelSpec>][] = [
    ['openai:gpt-4o-mini', { backend: 'openai', model: 'gpt-4o-mini' }],
    ['openai:llama3.1:8b', { backend: 'openai', model: 'llama3.1:8b' }],
    ['openai:meta-llama/Llama-3-8B', { backend: 'openai', model: 'meta-llama/Llama-3-8B' }],
    ['llama:./models/tiny.gguf', { backend: 'llama', path: './models/tiny.gguf' }],
    ['llama:/abs/Model.Q4_K_M.GGUF', { backend: 'llama', path: '/abs/Model.Q4_K_M.GGUF' }],
    ['llama:C:/models/x.gguf', { backend: 'llama', path: 'C:/models/x.gguf' }],
    [
      'llama:hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M',
      { backend: 'llama', hf: { org: 'Qwen', repo: 'Qwen2.5-0.5B-Instruct-GGUF', quant: 'Q4_K_M' } },
    ],
    ['text:ToolBench/ToolLLaMA-2-7b-v2', { backend: 'text', model: 'ToolBench/ToolLLaMA-2-7b-v2' }],
    ['replay:text:toolllama', { backend: 'replay', of: 'text:toolllama' }],
    ['replay:', { backend: 'replay' }],
    ['replay:openai:gpt-4o-mini', { backend: 'replay', of: 'openai:gpt-4o-mini' }],
    ['replay:llama:hf:a/b:Q8_0', { backend: 'replay', of: 'llama:hf:a/b:Q8_0' }],
    ['  OpenAI:gpt-4o ', { backend: 'openai', model: 'gpt-4o' }],
  ];
  for (const [spec, expected] of good) {
    test(`parses ${JSON.stringify(spec)}`, () => {
      const parsed = parseModelSpec(spec);
      assert.deepEqual(parsed, expected);
      assert.deepEqual(parseModelSpec(formatModelSpec(parsed)), parsed, 'formatModelSpec round-trips');
    });
  }

  const bad: [string, RegExp][] = [
    ['gpt-4o-mini', /no backend prefix/],
    ['', /no backend prefix/],
    [':gpt', /no backend prefix/],
    ['openai:', /model name is empty/],
    ['openai:gpt 4', /contains spaces/],
    ['text:', /model name is empty/],
    ['llama:', /model path is empty/],
    ['llama:./models/tiny.bin', /must be a \.gguf file/],
    ['llama:hf:Qwen/Qwen2.5-GGUF', /hf:ORG\/REPO:QUANT/],
    ['llama:hf:Qwen:Q4', /hf:ORG\/REPO:QUANT/],
    ['llama:hf:Qwen/a/b:Q4', /hf:ORG\/REPO:QUANT/],
    ['anthropic:claude', /unknown backend "anthropic"/],
    ['replay:replay:', /replay of replay/],
    ['replay:nonsense', /is not a model spec/],
  ];
  for (const [spec, pattern] of bad) {
    test(`rejects ${JSON.stringify(spec)} with one InputError line`, () => {
      assert.throws(
        () => parseModelSpec(spec),
        (error: unknown) => {
          assert.ok(error instanceof InputError);
          assert.equal(error.exitCode, 2);
          assert.match(error.message, pattern);
          assert.ok(error.message.startsWith(`bad model spec "${spec}"`));
          assert.match(
            error.message,
            /expected openai:MODEL, text:MODEL, llama:PATH\.gguf, llama:hf:ORG\/REPO:QUANT or replay:\[SPEC\]/,
          );
          assert.ok(!error.message.includes('\n'));
          return true;
        },
      );
    });
  }
});

describe('loadConfig', () => {
  test('no file means no defaults', async () => {
    assert.deepEqual(await loadConfig(makeTempDir()), {});
  });

  test('reads the file and resolves its relative paths against its folder', async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'toolalpaca.config.json'),
      JSON.stringify({
        model: 'openai:gpt-4o-mini',
        concurrency: 4,
        cacheDir: 'cache',
        prices: '/etc/p.json',
      }),
    );
    const config = await loadConfig(dir);
    assert.equal(config.model, 'openai:gpt-4o-mini');
    assert.equal(config.concurrency, 4);
    assert.equal(config.cacheDir, join(dir, 'cache'));
    assert.equal(config.prices, '/etc/p.json');
  });

  test('broken JSON, wrong types and API keys are one-line InputErrors naming the file', async () => {
    const cases: [string, RegExp][] = [
      ['{ "model": ', /toolalpaca\.config\.json is not valid JSON/],
      ['{ "concurrency": "four" }', /toolalpaca\.config\.json: concurrency: /],
      ['{ "timeoutMs": -5 }', /timeoutMs: /],
      ['{ "apiKey": "sk-123" }', /apiKey does not belong in a config file; set OPENAI_API_KEY/],
      // A misspelt key must not be ignored: the run would go to the default endpoint.
      ['{ "baseURL": "http://localhost:8000/v1" }', /unknown key "baseURL"; did you mean "baseUrl"\?/],
      ['{ "conurrency": 8 }', /unknown key "conurrency"; did you mean "concurrency"\?/],
      ['{ "zzzzzzzzzz": 1 }', /unknown key "zzzzzzzzzz"$/],
      ['[1, 2]', /toolalpaca\.config\.json: /],
      ['null', /toolalpaca\.config\.json: /],
    ];
    for (const [text, pattern] of cases) {
      const dir = makeTempDir();
      writeFileSync(join(dir, 'toolalpaca.config.json'), text);
      await assert.rejects(loadConfig(dir), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes('\n'));
        assert.ok(!error.message.includes('sk-123'));
        return true;
      });
    }
  });
});

describe('model options (CLI flags over the config file)', () => {
  function parse(argv: string[]): Record<string, unknown> {
    const command = addModelOptions(new Command('x').exitOverride());
    command.parse(argv, { from: 'user' });
    return command.opts();
  }

  test('flags win over the config; unset values fall back to it', () => {
    const flags = parse([
      '--model',
      'openai:a',
      '--timeout',
      '2.5',
      '--concurrency',
      '3',
      '--no-cache',
      '--rpm',
      '60',
    ]);
    const resolved = modelOptionsFrom(flags, {
      model: 'openai:b',
      concurrency: 9,
      tokensPerMinute: 1000,
      cacheDir: '/c',
      prices: '/p.json',
    });
    assert.equal(resolved.spec, 'openai:a');
    assert.deepEqual(resolved.options, {
      timeoutMs: 2500,
      concurrency: 3,
      requestsPerMinute: 60,
      tokensPerMinute: 1000,
      cacheDir: '/c',
      noCache: true,
    });
    const grouped = modelOptionsFrom(
      parse(['--model', 'llama:x.gguf', '--threads', '2', '--base-url', 'http://h/v1']),
      {
        lora: '/l.gguf',
      },
    );
    assert.deepEqual(grouped.options, {
      openai: { baseUrl: 'http://h/v1' },
      llama: { threads: 2, lora: '/l.gguf' },
    });
    // --threads auto (the default) drops a configured count; --template fills the text: group.
    const auto = modelOptionsFrom(parse(['--model', 'text:m', '--threads', 'auto', '--template', 'vicuna']), {
      threads: 4,
    });
    assert.deepEqual(auto.options, { text: { template: 'vicuna' } });
    assert.equal(resolved.pricesFile, '/p.json');
  });

  test('the model comes from the config when no flag is given; none at all is an InputError', () => {
    assert.equal(modelOptionsFrom(parse([]), { model: 'openai:b' }).spec, 'openai:b');
    assert.throws(() => modelOptionsFrom(parse([]), {}), /no model given: pass --model SPEC/);
  });

  test('bad numbers are one-line InputErrors naming the flag', () => {
    assert.throws(
      () => modelOptionsFrom(parse(['--model', 'openai:a', '--concurrency', '0'])),
      /--concurrency: expected a positive integer, got "0"/,
    );
    assert.throws(
      () => modelOptionsFrom(parse(['--model', 'openai:a', '--timeout', 'soon'])),
      /--timeout: expected a positive number/,
    );
    assert.throws(
      () => modelOptionsFrom(parse(['--model', 'openai:a', '--max-retries', '-1'])),
      /--max-retries: expected a non-negative integer/,
    );
  });
});

describe('createChatModel', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  test('openai: cache, ledger and retries composed; a second identical call never reaches the server', async () => {
    server.reset();
    const ledger = new CostLedger();
    const cacheDir = makeTempDir();
    const model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl },
      cacheDir,
      ledger,
      retryBaseDelayMs: 1,
      concurrency: 2,
    });
    try {
      assert.equal(model.id, 'openai:fake-model');
      assert.equal(model.backend, 'openai');
      server.script({ fault: 'server_error' }, { text: 'four' });
      const request = { messages: [{ role: 'user' as const, content: '2+2?' }], temperature: 0 };
      const first = await model.chat(request, { stage: 'check' });
      assert.equal(first.text, 'four');
      assert.equal(first.cached, false);
      assert.equal(server.requests.length, 2, 'the 500 was retried');
      const second = await model.chat(request, { stage: 'check' });
      assert.equal(second.text, 'four');
      assert.equal(second.cached, true);
      assert.equal(server.requests.length, 2, 'the cache answered');
      assert.deepEqual(model.cacheStats(), { hits: 1, misses: 1 });
      const [row] = ledger.rows();
      assert.equal(row?.stage, 'check');
      assert.equal(row?.calls, 2);
      assert.equal(row?.cachedCalls, 1);
    } finally {
      await model.close();
      await model.close();
    }
  });

  test('noCache: every call reaches the server', async () => {
    server.reset();
    const model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl },
      noCache: true,
      cacheDir: makeTempDir(),
    });
    const request = { messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0 };
    await model.chat(request);
    await model.chat(request);
    assert.equal(server.requests.length, 2);
    assert.equal(model.cacheStats(), undefined);
    await model.close();
  });

  test('replay: answers what was recorded and names a miss', async () => {
    server.reset();
    const cacheDir = makeTempDir();
    const live = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl },
      cacheDir,
    });
    const request = { messages: [{ role: 'user' as const, content: 'recorded question' }], temperature: 0 };
    const recorded = await live.chat(request);
    await live.close();
    const replay = await createChatModel('replay:openai:fake-model', { cacheDir });
    try {
      const again = await replay.chat(request);
      assert.equal(again.text, recorded.text);
      assert.equal(again.cached, true);
      await assert.rejects(
        replay.chat({ messages: [{ role: 'user', content: 'never asked' }] }),
        (error: unknown) =>
          error instanceof ModelCallError && error.kind === 'cache_miss' && /never asked/.test(error.message),
      );
    } finally {
      await replay.close();
    }
    assert.equal(server.requests.length, 1);
  });

  test('replay without a cache folder is one InputError line', async () => {
    const dir = join(makeTempDir(), 'missing');
    await assert.rejects(createChatModel('replay:', { cacheDir: dir }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /no response cache in .*missing/);
      return true;
    });
  });

  test('a bad spec is rejected before anything starts', async () => {
    await assert.rejects(createChatModel('gpt-4o'), /bad model spec "gpt-4o"/);
  });
});
