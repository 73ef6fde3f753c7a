import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GET_DETAILS_USAGE,
  RetrievalStore,
  extractRelevant,
  retrievalNotice,
  runGetDetails,
  runRetrieval,
} from '../../src/agents/builtin-tools.js';
import {
  NO_FURTHER_DETAILS,
  UserAgent,
  cleanUserAnswer,
  userAgentMessages,
} from '../../src/agents/user-agent.js';
import type { ChatModel, ChatRequest, ChatResponse } from '../../src/models/chat-model.js';

/** A ChatModel answering from a list, recording requests (the episode tests use the fake HTTP server). */
function listModel(replies: string[]): ChatModel & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    id: 'replay:list',
    backend: 'replay',
    requests,
    chat(request: ChatRequest): Promise<ChatResponse> {
      requests.push(request);
      const text = replies.shift() ?? '';
      return Promise.resolve({
        text,
        toolCalls: [],
        finishReason: 'stop',
        usage: { promptTokens: 10, completionTokens: 5 },
        latencyMs: 0,
        cached: false,
        model: 'replay:list',
      });
    },
  };
}

const HOLIDAYS = `Status Code: 200. Response: ${JSON.stringify({
  country: 'FR',
  holidays: [
    { name: 'New Year', date: '2024-01-01', type: 'public' },
    { name: 'Bastille Day', date: '2024-07-14', type: 'national' },
    { name: 'Christmas Day', date: '2024-12-25', type: 'public' },
    ...Array.from({ length: 60 }, (_, i) => ({
      name: `Local fête ${i}`,
      date: `2024-03-${(i % 28) + 1}`,
      type: 'local',
    })),
  ],
})}`;

describe('retrieval', () => {
  test('the notice names the file; the store finds it by id or bare file name', () => {
    const store = new RetrievalStore();
    const id = store.put('hello');
    assert.equal(id, './tmp/retrieval_1.txt');
    assert.equal(
      retrievalNotice(id),
      "The output is too long. You need to use the 'retrievalDataFromFile' function to retrieve the output from the file: ./tmp/retrieval_1.txt",
    );
    assert.equal(store.get('retrieval_1.txt'), 'hello');
    assert.equal(store.get('./tmp/retrieval_2.txt'), undefined);
  });

  test('keyword extraction returns the matching records of a JSON output, whole and in order', () => {
    const slice = extractRelevant(HOLIDAYS, 'When is Bastille Day?');
    assert.match(slice, /holidays\[1\]\.name: "Bastille Day"/);
    assert.match(slice, /holidays\[1\]\.date: "2024-07-14"/);
    assert.doesNotMatch(slice, /Christmas|Local fête/);
    const publicOnes = extractRelevant(HOLIDAYS, 'public holidays');
    assert.match(publicOnes, /New Year[\s\S]*Christmas Day/);
    assert.ok(publicOnes.length <= 1500);
  });

  test('output stays bounded and says so when nothing matches', () => {
    const none = extractRelevant(HOLIDAYS, 'zzzz', 300);
    assert.match(none, /^No part of the output matches "zzzz"/);
    assert.ok(none.length < 400);
    assert.ok(extractRelevant(HOLIDAYS, 'local fête', 500).length <= 500);
    const text = extractRelevant('Line about cats.\nLine about dogs.\nMore on cats here.', 'cats');
    assert.equal(text, 'Line about cats.\nMore on cats here.');
  });

  test('runRetrieval: JSON answer, missing file, bad arguments, and the LLM option', async () => {
    const store = new RetrievalStore();
    const id = store.put(HOLIDAYS);
    const result = await runRetrieval({ file_path: id, query: 'Bastille Day date' }, store);
    assert.equal(result.calls, 0);
    const info = (JSON.parse(result.observation) as { retrieved_info: string }).retrieved_info;
    assert.match(info, /2024-07-14/);
    assert.equal(
      (await runRetrieval({ file_path: 'nope.txt', query: 'x' }, store)).observation,
      'File does not exist.',
    );
    assert.match((await runRetrieval({ query: 'x' }, store)).observation, /must be like \{"file_path"/);
    const model = listModel(['Bastille Day is on 2024-07-14.']);
    const viaModel = await runRetrieval({ file_path: id, query: 'Bastille Day date' }, store, { model });
    assert.deepEqual(JSON.parse(viaModel.observation), { retrieved_info: 'Bastille Day is on 2024-07-14.' });
    assert.equal(viaModel.calls, 1);
    const prompt = model.requests[0]?.messages[0]?.content ?? '';
    assert.ok(prompt.includes('Bastille Day date') && prompt.includes('"country":"FR"'));
  });
});

describe('getDetails and the user agent', () => {
  test('without a user model: "no further details", or the auth values when asked for a key', async () => {
    const plain = new UserAgent('Find holidays in France.');
    assert.equal((await runGetDetails({ Question: 'Which year?' }, plain)).observation, NO_FURTHER_DETAILS);
    const withAuth = new UserAgent('Check this IP.', { authValues: { api_key: 'abc123' } });
    assert.equal(
      (await runGetDetails({ Question: 'What is your API key?' }, withAuth)).observation,
      'api_key=abc123',
    );
    assert.equal((await runGetDetails({ Question: 'Which IP?' }, withAuth)).observation, NO_FURTHER_DETAILS);
    assert.equal((await runGetDetails({ question_text: 'x' }, plain)).observation, GET_DETAILS_USAGE);
  });

  test('with a model: it sees the instruction, earlier Q&A and auth values; answers are cleaned', async () => {
    const model = listModel(['[User]: The year 2024.', 'My key is k-9.\n[AI]: thanks']);
    const user = new UserAgent('Find holidays in France.', { model, authValues: { api_key: 'k-9' } });
    const first = await runGetDetails({ Question: 'Which year?' }, user);
    assert.equal(first.observation, 'The year 2024.');
    assert.deepEqual(first.usage, { promptTokens: 10, completionTokens: 5 });
    const second = await user.answer('Your API key?');
    assert.equal(second.text, 'My key is k-9.');
    const messages = model.requests[1]?.messages ?? [];
    assert.match(messages[0]?.content ?? '', /api_key=k-9/);
    const prompt = messages[1]?.content ?? '';
    assert.ok(prompt.includes('Find holidays in France.'));
    assert.ok(prompt.includes('[AI]: Which year?\n[User]: The year 2024.'));
    assert.ok(prompt.includes('The assistant now asks: Your API key?'));
    assert.equal(user.history.length, 2);
  });

  test('helpers', () => {
    assert.equal(cleanUserAnswer('"Paris, please."'), 'Paris, please.');
    assert.equal(cleanUserAnswer('  Answer: 3 \nAssistant: ok'), '3');
    const messages = userAgentMessages('Do X.', [], 'Which?');
    assert.match(messages[0]?.content ?? '', /do not have any/);
  });
});
