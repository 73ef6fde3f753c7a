import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import {
  cacheKey,
  openResponseCache,
  requestHash,
  withCache,
  type ResponseCache,
} from '../../src/models/cache.js';
import type { ChatRequest, ChatResponse } from '../../src/models/chat-model.js';
import { createChatModel } from '../../src/models/create-model.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/index.js';
import { createReplayChatModel } from '../../src/models/replay/replay-model.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { runChatModelContract } from './contract.js';

function recorded(text: string, model: string, extra: Partial<ChatResponse> = {}): ChatResponse {
  return {
    text,
    toolCalls: [],
    finishReason: 'stop',
    usage: { promptTokens: 7, completionTokens: 3 },
    latencyMs: 250,
    cached: false,
    model,
    ...extra,
  };
}

function record(cache: ResponseCache, model: string, request: ChatRequest, response: ChatResponse): void {
  cache.put(
    cacheKey(model.slice(0, model.indexOf(':')), model, request, 'http://server.example/v1'),
    requestHash(request),
    response,
    { stage: 'recorded', identity: 'http://server.example/v1' },
  );
}

const question: ChatRequest = {
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Which planets have rings, and which of them has the most visible ones?' },
  ],
  temperature: 0,
};

describe('replay model', () => {
  test('replay:openai:MODEL answers what that model recorded; bare replay: matches the request alone', async () => {
    const cache = openResponseCache(makeTempDir());
    record(cache, 'openai:gpt-x', question, recorded('Saturn, mostly.', 'openai:gpt-x', { json: undefined }));

    const full = createReplayChatModel(cache, 'openai:gpt-x');
    assert.equal(full.id, 'replay:openai:gpt-x');
    assert.equal(full.backend, 'replay');
    const answer = await full.chat(question);
    assert.equal(answer.text, 'Saturn, mostly.');
    assert.equal(answer.cached, true);
    assert.equal(answer.model, 'openai:gpt-x');
    assert.equal(answer.originalLatencyMs, 250);
    assert.deepEqual(answer.usage, { promptTokens: 7, completionTokens: 3 });

    const bare = createReplayChatModel(cache);
    assert.equal(bare.id, 'replay:');
    assert.equal((await bare.chat(question)).text, 'Saturn, mostly.');

    // Another model's recording does not match the full key...
    const other = createReplayChatModel(cache, 'openai:gpt-y');
    await assert.rejects(
      other.chat(question),
      (error: unknown) => error instanceof ModelCallError && error.kind === 'cache_miss',
    );
    // ...and with two recordings, bare replay: takes the most recent one.
    record(cache, 'llama:/m/tiny.gguf', question, recorded('Saturn.', 'llama:/m/tiny.gguf'));
    assert.equal((await bare.chat(question)).text, 'Saturn.');
    assert.equal((await full.chat(question)).text, 'Saturn, mostly.');
    cache.close();
  });

  test('a miss is a cache_miss error whose one line names model, stage, message and key', async () => {
    const cache = openResponseCache(makeTempDir());
    const full = createReplayChatModel(cache, 'openai:gpt-x');
    const miss = { ...question, seed: 99 };
    await assert.rejects(full.chat(miss, { stage: 'instructions' }), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'cache_miss');
      assert.equal(error.retryable, false);
      assert.ok(!error.message.includes('\n'));
      assert.match(error.message, /^replay:openai:gpt-x: no recorded response in .*responses\.sqlite for /);
      assert.match(error.message, /model openai:gpt-x/);
      assert.match(error.message, /stage instructions/);
      assert.match(error.message, /last user message "Which planets have rings/);
      assert.ok(error.message.includes(`request hash ${requestHash(miss).slice(0, 12)}`));
      return true;
    });
    await assert.rejects(createReplayChatModel(cache).chat(miss), (error: unknown) => {
      assert.ok(error instanceof ModelCallError && error.kind === 'cache_miss');
      assert.match(error.message, /model any, stage default, .* request hash [0-9a-f]{12}$/);
      return true;
    });
    cache.close();
  });

  test('rejects a malformed target spec with an InputError', () => {
    const cache = openResponseCache(makeTempDir());
    assert.throws(() => createReplayChatModel(cache, 'gpt-4o'), InputError);
    assert.throws(() => createReplayChatModel(cache, 'replay:x'), InputError);
    assert.throws(() => createReplayChatModel(cache, 'openai:'), InputError);
    cache.close();
  });

  test('through createChatModel: a recorded run replays offline, with the server gone', async () => {
    const fake = await startFakeOpenAI();
    const cacheDir = makeTempDir();
    const live = await createChatModel('openai:fake-model', {
      openai: { baseUrl: fake.baseUrl },
      cacheDir,
      maxRetries: 0,
    });
    const first = await live.chat(question, { stage: 'plan' });
    await live.close?.();
    await fake.close();

    for (const spec of ['replay:', 'replay:openai:fake-model']) {
      const replay = await createChatModel(spec, { cacheDir });
      const again = await replay.chat(question);
      assert.equal(again.text, first.text);
      assert.deepEqual(again.usage, first.usage);
      assert.equal(again.cached, true);
      await replay.close?.();
    }
  });
});

// The shared contract, run first against the fake server through the cache (recording every answer),
// then against the replay backend alone, with the server closed: each replayed answer is what was recorded.
let fake: FakeOpenAI | undefined;
let cache: ResponseCache | undefined;
let recordedRequests = 0;

before(async () => {
  fake = await startFakeOpenAI();
  cache = openResponseCache(makeTempDir());
});
after(async () => {
  await fake?.close();
  cache?.close();
});

runChatModelContract('recording through the cache (fake OpenAI server)', async () => {
  assert.ok(fake && cache);
  const model = withCache(createOpenAIChatModel({ model: 'fake-model', baseUrl: fake.baseUrl }), cache);
  return {
    model,
    deterministicTools: true,
    teardown: async () => {
      recordedRequests = fake?.requests.length ?? 0;
      await fake?.close();
    },
  };
});

for (const of of [undefined, 'openai:fake-model']) {
  runChatModelContract(`replay:${of ?? ''} (server closed)`, async () => {
    assert.ok(cache);
    assert.ok(recordedRequests > 0, 'the recording pass reached the server');
    assert.ok(cache.stats().rows >= 10, `the recording pass filled the cache (${cache.stats().rows} rows)`);
    return {
      model: createReplayChatModel(cache, of),
      deterministicTools: true,
      teardown: async () => undefined,
    };
  });
}
