/**
 * Open ports: backends register {prefix, parse, format, create}; createChatModel gives every backend,
 * built-in or registered, the same wrappers; options are grouped per backend; replies are checked (size,
 * JSON) in one place so that all backends behave alike. The example under examples/ registers a backend
 * from outside the package and is compiled and run here against the built package.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InputError } from '../../src/core/errors.js';
import type { ChatModel, ChatRequest, ChatResponse } from '../../src/models/chat-model.js';
import { createChatModel } from '../../src/models/create-model.js';
import { CostLedger } from '../../src/models/ledger.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { MODEL_SPEC_HELP, parseModelSpec } from '../../src/models/model-spec.js';
import { modelSpecHelp, registerModelBackend, resolveModelSpec } from '../../src/models/registry.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const run = promisify(execFile);

/** A backend whose replies are scripted per model; it records the options it was created with. */
function scriptedBackend(prefix: string, seen: unknown[]) {
  return {
    prefix,
    syntax: [`${prefix}:NAME`],
    kind: 'local' as const,
    parse(rest: string): { name: string } {
      if (rest === '') throw new Error('NAME is empty');
      return { name: rest };
    },
    format: (spec: { name: string }) => `${prefix}:${spec.name}`,
    create(
      _spec: { name: string },
      context: { id: string; options: { replies?: string[] } },
    ): Promise<ChatModel> {
      seen.push(context.options);
      const replies = [...(context.options.replies ?? [])];
      return Promise.resolve({
        id: context.id,
        backend: prefix,
        chat: (request: ChatRequest): Promise<ChatResponse> =>
          Promise.resolve({
            text: replies.shift() ?? 'none left',
            toolCalls: [],
            finishReason: 'stop',
            usage: { promptTokens: request.messages.length, completionTokens: 1 },
            latencyMs: 0,
            cached: false,
            model: context.id,
            // A backend that sets `json` itself is overruled by the shared check.
            json: { set: 'by the backend' },
          }),
      });
    },
  };
}

const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content }],
  temperature: 0,
  ...extra,
});

describe('backend registry', () => {
  test('a registered backend parses specs, is listed in help, and gets cache, ledger and its own options', async () => {
    const seen: unknown[] = [];
    const unregister = registerModelBackend(scriptedBackend('scripted', seen));
    try {
      assert.match(modelSpecHelp(), /scripted:NAME/);
      assert.deepEqual(parseModelSpec('Scripted:abc'), {
        backend: 'registered',
        prefix: 'scripted',
        id: 'scripted:abc',
        spec: { name: 'abc' },
      });
      assert.throws(
        () => resolveModelSpec('scripted:'),
        (error: unknown) =>
          error instanceof InputError &&
          /^bad model spec "scripted:": NAME is empty \(expected /.test(error.message),
      );
      const ledger = new CostLedger();
      const model = await createChatModel('scripted:abc', {
        cacheDir: makeTempDir(),
        ledger,
        backends: { scripted: { replies: ['one', 'two'] }, other: { ignored: true } },
        llama: { threads: 3 },
      });
      try {
        assert.deepEqual(seen, [{ replies: ['one', 'two'] }], 'the backend got its own option group only');
        const first = await model.chat(ask('hi'), { stage: 's' });
        const second = await model.chat(ask('hi'), { stage: 's' });
        assert.deepEqual([first.text, first.cached, second.text, second.cached], ['one', false, 'one', true]);
        assert.deepEqual(model.cacheStats(), { hits: 1, misses: 1 });
        assert.equal(ledger.rows()[0]?.model, 'scripted:abc');
        assert.equal(first.json, undefined, 'no jsonSchema asked: no json, whatever the backend said');
      } finally {
        await model.close();
      }
    } finally {
      unregister();
    }
    assert.throws(() => resolveModelSpec('scripted:abc'), /unknown backend "scripted"/);
  });

  test('taken and malformed prefixes are refused', () => {
    assert.throws(() => registerModelBackend(scriptedBackend('openai', [])), /already registered/);
    assert.throws(() => registerModelBackend(scriptedBackend('Bad_Prefix', [])), /must be lower-case/);
    const undo = registerModelBackend(scriptedBackend('openai', []), { replace: true });
    undo();
    assert.equal(parseModelSpec('openai:gpt-4o-mini').backend, 'openai', 'the built-in one is back');
    assert.equal(MODEL_SPEC_HELP, modelSpecHelp());
  });
});

describe('reply checks, the same for every backend', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };

  test('json is set exactly when the reply validates: openai, a registered backend and replay alike', async () => {
    server.reset();
    const cacheDir = makeTempDir();
    const unregister = registerModelBackend(scriptedBackend('scripted-json', []));
    try {
      server.script({ text: '{"n": 4}' }, { text: '{"n": "four"}' });
      const openai = await createChatModel('openai:fake-model', {
        cacheDir,
        openai: { baseUrl: server.baseUrl },
      });
      const scripted = await createChatModel('scripted-json:x', {
        noCache: true,
        backends: { 'scripted-json': { replies: ['{"n": 4}', '{"n": "four"}'] } },
      });
      const results: [string, unknown][] = [];
      for (const model of [openai, scripted]) {
        const good = await model.chat(ask('valid', { jsonSchema: { schema } }));
        const bad = await model.chat(ask('invalid', { jsonSchema: { schema } }));
        results.push([model.backend, [good.json, bad.json]]);
      }
      await openai.close();
      await scripted.close();
      const replay = await createChatModel('replay:', { cacheDir });
      const replayed = [
        (await replay.chat(ask('valid', { jsonSchema: { schema } }))).json,
        (await replay.chat(ask('invalid', { jsonSchema: { schema } }))).json,
      ];
      await replay.close();
      results.push(['replay', replayed]);
      assert.deepEqual(results, [
        ['openai', [{ n: 4 }, undefined]],
        ['scripted-json', [{ n: 4 }, undefined]],
        ['replay', [{ n: 4 }, undefined]],
      ]);
    } finally {
      unregister();
    }
  });

  test('a reply over the size cap is a model error, not retried, never cached', async () => {
    server.reset();
    const cacheDir = makeTempDir();
    const big = 'x'.repeat(5000);
    server.setDefault(() => ({ text: big }));
    const model = await createChatModel('openai:fake-model', {
      cacheDir,
      openai: { baseUrl: server.baseUrl },
      maxReplyBytes: 4096,
      retryBaseDelayMs: 1,
    });
    try {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(model.chat(ask('say a lot')), (error: unknown) => {
          assert.ok(error instanceof ModelCallError);
          assert.equal(error.kind, 'bad_response');
          assert.equal(error.retryable, false);
          assert.match(error.message, /larger than the 4096-byte limit/);
          return true;
        });
      }
      assert.equal(server.chatRequests().length, 2, 'one request per call: no retry, no cache hit');
    } finally {
      await model.close();
    }
    // A backend's text is capped too, whatever its transport.
    const unregister = registerModelBackend(scriptedBackend('scripted-big', []));
    try {
      const scripted = await createChatModel('scripted-big:x', {
        noCache: true,
        maxReplyBytes: 100,
        backends: { 'scripted-big': { replies: ['y'.repeat(101)] } },
      });
      await assert.rejects(scripted.chat(ask('x')), /larger than the 100-byte limit/);
      await scripted.close();
    } finally {
      unregister();
    }
  });
});

describe('examples/custom-backend.ts', () => {
  test('compiles with tsc --strict (NodeNext) against the built package and runs', async () => {
    const example = join(repoRoot, 'examples', 'custom-backend.ts');
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [
      tsc,
      '--ignoreConfig',
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--skipLibCheck',
      example,
    ]);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', example, makeTempDir()], {
      cwd: repoRoot,
    });
    assert.match(stdout, /^first: \{"greeting": "hello"\} \(json \{"greeting":"hello"\}, cached false\)$/m);
    assert.match(stdout, /^again: \{"greeting": "hello"\} \(cached true\)$/m);
    assert.match(stdout, /^cache: \{"hits":1,"misses":1\}$/m);
    assert.match(stdout, /^example\s+canned:greeter\s+2\s+1\s+/m);
  });
});
