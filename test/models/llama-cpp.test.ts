/**
 * The llama.cpp backend on a tiny random-weight GGUF written by the test: the real engine runs
 * (load, chat wrapper, sampling, grammar, function calling), so assertions are on plumbing, never
 * on the meaning of the (gibberish) replies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { resolveModelFile } from 'node-llama-cpp';
import type { ChatMessage, ChatResponse, ToolDefinition } from '../../src/models/chat-model.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { withReplyChecks } from '../../src/models/reply-checks.js';
import { chatJson } from '../../src/models/structured.js';
import { InputError, ServiceError } from '../../src/core/errors.js';
import { createLlamaChatModel, type LlamaChatModel } from '../../src/models/llama-cpp/llama-model.js';
import { hubFileName } from '../../src/models/llama-cpp/model-file.js';
import { toGbnfJsonSchema } from '../../src/models/llama-cpp/gbnf-schema.js';
import { toLlamaHistory } from '../../src/models/llama-cpp/history.js';
import { defaultLlamaThreads } from '../../src/models/llama-cpp/runtime.js';
import { writeTinyGguf, writeTinyLora, tinyGgufBytes } from '../helpers/tiny-gguf.js';
import { makeTempDir } from '../helpers/paths.js';
import { runChatModelContract } from './contract.js';

// ajv-formats is CommonJS; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const dir = makeTempDir('toolalpaca-llama-');
const modelPath = join(dir, 'tiny.gguf');
const ready = writeTinyGguf(modelPath, { seed: 11 });

const messages: ChatMessage[] = [
  { role: 'system', content: 'You answer briefly.' },
  { role: 'user', content: 'Say hello to the world.' },
];

const tools: ToolDefinition[] = [
  {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 20 } },
      required: ['city'],
    },
  },
  {
    name: 'add',
    parameters: {
      type: 'object',
      properties: { a: { type: 'integer' }, b: { type: 'integer' } },
      required: ['a', 'b'],
    },
  },
];

runChatModelContract('llama.cpp (tiny GGUF)', async () => {
  await ready;
  const model = await createLlamaChatModel(
    { path: modelPath },
    { threads: 1, sequences: 2, asciiOnly: true },
  );
  // Random weights loop inside strings under greedy decoding, so a forced call may not finish within
  // maxTokens: tool calls are checked for shape only (forced calls are tested below with sampling).
  return { model, teardown: () => model.close(), deterministicTools: false };
});

describe('default threads', () => {
  test('every core the process may use, less those other work keeps busy, at least 1', () => {
    assert.equal(defaultLlamaThreads(16, 0.4), 16);
    assert.equal(defaultLlamaThreads(16, 3.7), 13);
    assert.equal(defaultLlamaThreads(2, 17), 1);
    assert.equal(defaultLlamaThreads(8, 0), 8);
    assert.equal(defaultLlamaThreads(1, 0), 1);
  });
});

describe('tiny GGUF writer', () => {
  test('writes GGUF v3, deterministic per seed', async () => {
    await ready;
    const bytes = await readFile(modelPath);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
    assert.equal(bytes.readUInt32LE(4), 3);
    assert.ok(bytes.equals(tinyGgufBytes({ seed: 11 })), 'same seed, same bytes');
    assert.ok(!bytes.equals(tinyGgufBytes({ seed: 12 })), 'another seed, other weights');
    assert.ok(bytes.length < 1_000_000, `tiny: ${bytes.length} bytes`);
  });
});

describe('llama.cpp backend', () => {
  let model: LlamaChatModel;

  before(async () => {
    await ready;
    model = await createLlamaChatModel({ path: modelPath }, { threads: 1, sequences: 2, asciiOnly: true });
  });
  after(async () => {
    await model?.close();
  });

  test('runs with the ChatML wrapper, the requested threads and sequences; by default every core', async () => {
    assert.equal(model.backend, 'llama');
    assert.equal(model.id, `llama:${modelPath}`);
    assert.equal(model.info.chatWrapper, 'ChatML');
    assert.equal(model.info.threads, 1);
    assert.equal(model.info.sequences, 2);
    const defaults = await createLlamaChatModel({ path: modelPath });
    try {
      // The cores available to the process (less busy ones): node-llama-cpp's own default (4) is never used.
      assert.ok(defaults.info.threads >= 1 && defaults.info.threads <= availableParallelism());
      assert.equal(defaults.info.sequences, 1);
    } finally {
      await defaults.close();
    }
  });

  test('threads setting is honoured by the context', async () => {
    const two = await createLlamaChatModel({ path: modelPath }, { threads: 2, contextSize: 512 });
    try {
      assert.equal(two.info.threads, 2);
      assert.ok(
        two.info.contextSize >= 512 && two.info.contextSize < 1024,
        `context ${two.info.contextSize}`,
      );
      const reply = await two.chat({ messages, maxTokens: 8 });
      assert.equal(reply.usage.completionTokens, 8);
    } finally {
      await two.close();
    }
  });

  test('counts real tokens; greedy decoding repeats itself; speed with 1 thread reported', async (t) => {
    const first = await model.chat({ messages, maxTokens: 40, temperature: 0 });
    const second = await model.chat({ messages, maxTokens: 40, temperature: 0 });
    assert.equal(first.text, second.text);
    assert.deepEqual(first.usage, second.usage, 'a reused prompt prefix still counts as prompt');
    assert.ok(first.usage.promptTokens > 10, `prompt tokens ${first.usage.promptTokens}`);
    assert.equal(first.finishReason === 'length', first.usage.completionTokens === 40);

    const started = performance.now();
    const long = await model.chat({ messages, maxTokens: 300, temperature: 0.8, seed: 5 });
    const seconds = (performance.now() - started) / 1000;
    const perSecond = long.usage.completionTokens / seconds;
    // Speed is a benchmark's business (bench/models/llama-threads.bench.ts), not a test's: reported only.
    t.diagnostic(`speed threads=1: ${perSecond.toFixed(0)} tokens/s (${long.usage.completionTokens} tokens)`);
  });

  test('seeded sampling is reproducible and the seed matters', async () => {
    const a = await model.chat({ messages, maxTokens: 30, temperature: 1, seed: 42 });
    const b = await model.chat({ messages, maxTokens: 30, temperature: 1, seed: 42 });
    const c = await model.chat({ messages, maxTokens: 30, temperature: 1, seed: 43 });
    assert.equal(a.text, b.text);
    assert.notEqual(a.text, c.text);
  });

  test('stop strings end the reply', async () => {
    const free = await model.chat({ messages, maxTokens: 60, temperature: 0 });
    const cut = free.text.slice(5, 7);
    if (cut.length < 2) return; // the reply ended too early to test a stop string
    const stopped = await model.chat({ messages, maxTokens: 60, temperature: 0, stop: [cut] });
    assert.equal(stopped.finishReason, 'stop');
    assert.ok(!stopped.text.includes(cut), 'the stop string is not in the text');
    assert.ok(free.text.startsWith(stopped.text));
  });

  test('two concurrent calls with sequences=2 both complete, a third waits for a free sequence', async () => {
    const calls = [1, 2, 3].map((seed) => model.chat({ messages, maxTokens: 50, temperature: 1, seed }));
    const replies = await Promise.all(calls);
    for (const reply of replies) {
      assert.ok(reply.usage.completionTokens > 0);
      assert.ok(['stop', 'length'].includes(reply.finishReason));
    }
  });

  test('JSON-schema output parses and validates against the original schema', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 16, pattern: '^[^\\u0000]*$' },
        kind: { anyOf: [{ enum: ['tool', 'api'] }, { type: 'null' }] },
        when: { type: 'string', format: 'date' },
        address: { $ref: '#/$defs/address' },
        tags: { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 3 },
        score: { type: 'number', nullable: true },
      },
      required: ['name', 'kind', 'address'],
      additionalProperties: false,
      $defs: {
        address: {
          type: 'object',
          properties: { city: { type: 'string', maxLength: 10 } },
          required: ['city'],
        },
      },
    };
    const validate = addFormats(new Ajv({ strict: false })).compile(schema);
    let valid = 0;
    const failures: string[] = [];
    // Through the reply checks every backend shares: `json` is set exactly when the reply validates.
    const checked = withReplyChecks(model);
    for (let seed = 0; seed < 5; seed++) {
      const reply = await checked.chat({
        messages,
        maxTokens: 300,
        temperature: 0.8,
        seed,
        jsonSchema: { name: 'thing', schema },
      });
      if (reply.json === undefined) {
        // A reply cut by maxTokens is the only acceptable failure.
        assert.equal(reply.finishReason, 'length', reply.text);
        failures.push(reply.text);
        continue;
      }
      assert.ok(validate(JSON.parse(reply.text)), `seed ${seed}: ${reply.text}`);
      assert.deepEqual(reply.json, JSON.parse(reply.text));
      valid++;
    }
    assert.ok(valid >= 4, `valid ${valid}/5: ${failures.join(' | ')}`);
  });

  test('a reply the grammar cannot constrain is re-validated: no json, and chatJson rejects it', async () => {
    const schema = {
      type: 'object',
      properties: { n: { type: 'integer', minimum: 1e15, maximum: 1e15 + 1 } },
      required: ['n'],
    };
    const checked = withReplyChecks(model);
    const reply = await checked.chat({
      messages,
      maxTokens: 60,
      temperature: 0,
      jsonSchema: { name: 'huge', schema },
    });
    assert.equal(reply.json, undefined, reply.text);
    await assert.rejects(
      chatJson(checked, { messages, maxTokens: 60, temperature: 0 }, schema, { name: 'huge', maxReasks: 0 }),
      (error: unknown) =>
        error instanceof ModelCallError &&
        error.kind === 'bad_response' &&
        /did not return valid JSON/.test(error.message) &&
        !error.message.includes('\n'),
    );
  });

  test('tools: auto gives text or well-formed calls; required and named choices force a call', async () => {
    const names = new Set(tools.map((tool) => tool.name));
    const wellFormed = (reply: ChatResponse): void => {
      assert.equal(reply.finishReason === 'tool_calls', reply.toolCalls.length > 0, reply.finishReason);
      for (const call of reply.toolCalls) {
        assert.ok(names.has(call.name), call.name);
        assert.match(call.id, /^call_\w+$/);
        const args = JSON.parse(call.arguments) as unknown;
        assert.ok(typeof args === 'object' && args !== null && !Array.isArray(args), call.arguments);
      }
    };
    wellFormed(await model.chat({ messages, maxTokens: 40, temperature: 0.8, seed: 1, tools }));

    // With random weights a string argument may run past maxTokens (then no call, finish 'length');
    // over a few seeds forced choices must produce calls, and only to the allowed tools.
    const called: string[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      const required = await model.chat({
        messages,
        maxTokens: 60,
        temperature: 0.8,
        seed,
        tools,
        toolChoice: 'required',
      });
      wellFormed(required);
      assert.ok(required.toolCalls.length <= 1, 'one forced call');
      if (required.toolCalls.length === 0) assert.equal(required.finishReason, 'length');
      called.push(...required.toolCalls.map((call) => call.name));

      const named = await model.chat({
        messages,
        maxTokens: 60,
        temperature: 0.8,
        seed,
        tools,
        toolChoice: { name: 'add' },
      });
      wellFormed(named);
      for (const call of named.toolCalls) assert.equal(call.name, 'add');
      called.push(...named.toolCalls.map((call) => call.name));
    }
    assert.ok(called.length >= 4, `forced calls made: ${called.join(', ')}`);
    assert.ok(called.includes('add'));

    const none = await model.chat({ messages, maxTokens: 20, tools, toolChoice: 'none' });
    assert.deepEqual(none.toolCalls, []);
  });

  test('a conversation with a tool call and its result continues the same model turn', async () => {
    const history: ChatMessage[] = [
      ...messages,
      {
        role: 'assistant',
        content: 'Checking.',
        toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      },
      { role: 'tool', toolCallId: 'c1', name: 'get_weather', content: '{"temp":21}' },
    ];
    const reply = await model.chat({ messages: history, tools, maxTokens: 10 });
    assert.ok(reply.usage.promptTokens > 0 && reply.usage.completionTokens > 0);

    const translated = toLlamaHistory(history);
    assert.deepEqual(translated.at(-1), {
      type: 'model',
      response: [
        'Checking.',
        { type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: { temp: 21 } },
      ],
    });
    assert.equal(translated[0]?.type, 'system');
  });

  test('an abort mid-generation rejects with kind aborted and frees the sequence', async () => {
    const controller = new AbortController();
    const pending = model.chat(
      { messages, maxTokens: 100_000, temperature: 1, seed: 9 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      pending,
      (error: unknown) => error instanceof ModelCallError && error.kind === 'aborted',
    );
    const after = await Promise.all([
      model.chat({ messages, maxTokens: 5 }),
      model.chat({ messages, maxTokens: 5 }),
    ]);
    assert.equal(after.length, 2);
  });
});

describe('JSON schema simplification for the grammar', () => {
  test('drops pattern and numeric bounds, turns anyOf into oneOf, inlines refs', () => {
    const simplified = toGbnfJsonSchema({
      type: 'object',
      properties: {
        id: { type: 'string', pattern: '^[a-z]+$', minLength: 2 },
        n: { type: 'integer', minimum: 3 },
        either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        pet: { $ref: '#/components/schemas/Pet' },
        maybe: { type: 'boolean', nullable: true },
      },
      components: { schemas: { Pet: { type: 'object', properties: { name: { type: 'string' } } } } },
    });
    assert.deepEqual(simplified, {
      type: 'object',
      properties: {
        id: { type: 'string', minLength: 2 },
        n: { type: 'integer' },
        either: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
        pet: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false },
        maybe: { type: ['boolean', 'null'] },
      },
      additionalProperties: false,
    });
  });

  test('cuts recursive refs', () => {
    const simplified = JSON.stringify(
      toGbnfJsonSchema({
        $ref: '#/$defs/node',
        $defs: { node: { type: 'object', properties: { child: { $ref: '#/$defs/node' } } } },
      }),
    );
    assert.ok(simplified.includes('"null"'));
    assert.ok(simplified.length < 2000);
  });
});

describe('llama model errors', () => {
  test('a missing local file is one InputError line', async () => {
    const missing = join(dir, 'missing.gguf');
    await assert.rejects(
      createLlamaChatModel({ path: missing }),
      (error: unknown) =>
        error instanceof InputError && error.message === `llama:${missing}: no such model file`,
    );
  });

  test('a LoRA adapter is applied; a file that is not an adapter is one InputError line', async () => {
    const loraPath = join(dir, 'tiny-lora.gguf');
    await writeTinyLora(loraPath, { seed: 5 });
    const plain = await createLlamaChatModel({ path: modelPath }, { contextSize: 256 });
    const adapted = await createLlamaChatModel({ path: modelPath }, { contextSize: 256, lora: loraPath });
    try {
      const request = { messages, maxTokens: 24, temperature: 0 };
      const [a, b] = [await plain.chat(request), await adapted.chat(request)];
      assert.notEqual(a.text, b.text, 'the adapter changes the greedy reply');
    } finally {
      await plain.close();
      await adapted.close();
    }
    await assert.rejects(
      createLlamaChatModel({ path: modelPath }, { lora: modelPath }),
      (error: unknown) =>
        error instanceof InputError &&
        error.message.startsWith(`llama:${modelPath}: cannot create a context with the LoRA adapter`) &&
        /adapter/.test(error.message.slice(60)) &&
        !error.message.includes('\n'),
    );
  });

  test('a missing LoRA adapter is one InputError line', async () => {
    await assert.rejects(
      createLlamaChatModel({ path: modelPath }, { lora: join(dir, 'nope-lora.gguf') }),
      (error: unknown) =>
        error instanceof InputError && /^LoRA adapter .*: no such file$/.test(error.message),
    );
  });

  test('a file that is not GGUF, or a truncated one, is one InputError line', async () => {
    const broken = join(dir, 'broken.gguf');
    await writeFile(broken, 'GGUF but not really');
    await assert.rejects(
      createLlamaChatModel({ path: broken }),
      (error: unknown) =>
        error instanceof InputError &&
        error.message === `llama:${broken}: not a GGUF model file (v2 or v3 expected): ${broken}`,
    );
    const truncated = join(dir, 'truncated.gguf');
    await writeFile(truncated, tinyGgufBytes({ seed: 11 }).subarray(0, 20_000));
    await assert.rejects(
      createLlamaChatModel({ path: truncated }),
      (error: unknown) =>
        error instanceof InputError &&
        error.message.startsWith(`llama:${truncated}: cannot load the model`) &&
        !error.message.includes('\n'),
    );
  });

  test('an unreachable hub fails with one line naming the file and where to put it', async () => {
    const modelsDir = join(dir, 'models');
    const hf = { org: 'Qwen', repo: 'Qwen2.5-0.5B-Instruct-GGUF', quant: 'Q4_K_M' };
    await assert.rejects(
      createLlamaChatModel({ hf }, { modelsDir, resolveTimeoutMs: 5000 }),
      (error: unknown) =>
        error instanceof ServiceError &&
        error.message ===
          `cannot download hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M (offline?): download the GGUF file yourself and put it at ${join(modelsDir, 'hf_Qwen_Qwen2.5-0.5B-Instruct.Q4_K_M.gguf')}, or pass llama:/path/to/file.gguf`,
    );
  });

  test('the file the message names is where node-llama-cpp looks, and it then loads offline', async () => {
    const modelsDir = join(dir, 'hub-cache');
    await mkdir(modelsDir, { recursive: true });
    for (const hf of [
      { org: 'Qwen', repo: 'Qwen2.5-0.5B-Instruct-GGUF', quant: 'q4_k_m' },
      { org: 'someone', repo: 'tiny-model', quant: 'F32' },
    ]) {
      const expected = join(modelsDir, hubFileName(hf));
      await writeTinyGguf(expected, { seed: 3 });
      const found = await resolveModelFile(`hf:${hf.org}/${hf.repo}:${hf.quant}`, {
        directory: modelsDir,
        download: false,
        cli: false,
      });
      assert.equal(found, expected);
    }
    const model = await createLlamaChatModel(
      { hf: { org: 'someone', repo: 'tiny-model', quant: 'F32' } },
      { modelsDir },
    );
    try {
      assert.equal(model.id, 'llama:hf:someone/tiny-model:F32');
      const reply = await model.chat({ messages, maxTokens: 4 });
      assert.equal(reply.usage.completionTokens, 4);
    } finally {
      await model.close();
    }
  });

  test('a closed model rejects calls; close is idempotent', async () => {
    const model = await createLlamaChatModel({ path: modelPath }, { contextSize: 256 });
    await model.close();
    await model.close();
    await assert.rejects(
      model.chat({ messages }),
      (error: unknown) => error instanceof ModelCallError && error.kind === 'client_error',
    );
  });
});
