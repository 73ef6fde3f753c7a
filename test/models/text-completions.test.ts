/**
 * The `text:` backend: conversation templates render a conversation into one prompt (structure only,
 * texts read at run time from original files: here stand-ins written by the test in the originals'
 * code shape, with invented texts), continuations are read back into text and tool calls, and the
 * model runs behind the same retries, cache and ledger as every backend, against the fake server's
 * /v1/completions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import type { ChatRequest } from '../../src/models/chat-model.js';
import { createChatModel } from '../../src/models/create-model.js';
import { CostLedger } from '../../src/models/ledger.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { pythonRepr } from '../../src/models/text-completions/python-repr.js';
import { concatenatedAt, pythonStrings } from '../../src/models/text-completions/python-source.js';
import { parseContinuation, renderPrompt } from '../../src/models/text-completions/render.js';
import { fastChatSystemMessage, toolBenchSystemTexts } from '../../src/models/text-completions/sources.js';
import {
  BUILTIN_TEMPLATES,
  loadTemplate,
  parseTemplate,
} from '../../src/models/text-completions/templates.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { toolBenchUtilsStandIn } from '../helpers/template-sources.js';
import { cliMessageOf } from '../../src/cli/flag-wording.js';

const toolllama = BUILTIN_TEMPLATES.toolllama!;
const vicuna = BUILTIN_TEMPLATES.vicuna!;
const toolalpaca = BUILTIN_TEMPLATES.toolalpaca!;

/** A stand-in for FastChat's fastchat/conversation.py with an invented default system message. */
const FASTCHAT_STAND_IN = [
  'register_conv_template(',
  '    Conversation(',
  '        name="one_shot",',
  '        system_message="not this one",',
  '    )',
  ')',
  'register_conv_template(',
  '    Conversation(',
  '        name="vicuna_v1.1",',
  '        system_message="Invented default. "',
  "        'Second part.',",
  '        roles=("USER", "ASSISTANT"),',
  '    )',
  ')',
].join('\n');

const TOOLS = [
  {
    name: 'get_weather_for_weather',
    description: "Today's weather",
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
];

const conversation: ChatRequest = {
  messages: [
    { role: 'system', content: 'SYSTEM TEXT with the ANCHOR sentence.' },
    { role: 'user', content: 'What is the weather?' },
    {
      role: 'assistant',
      content: 'I should look it up.',
      toolCalls: [{ id: 'c1', name: 'get_weather_for_weather', arguments: '{"city": "Paris"}' }],
    },
    { role: 'tool', content: '{"error": "", "response": "sunny"}', toolCallId: 'c1' },
  ],
  tools: TOOLS,
};

describe('python source reading', () => {
  test('literals: quotes, prefixes, escapes, implicit concatenation; comments skipped', () => {
    const source = `a = "x\\ty" 'z'  # "comment"\nb = r'\\n' + """tri\nple""" + u'\\u00e9\\x41'`;
    const strings = pythonStrings(source);
    assert.deepEqual(
      strings.map((s) => s.value),
      ['x\ty', 'z', '\\n', 'tri\nple', 'éA'],
    );
    assert.equal(concatenatedAt(source, strings, 0), 'x\tyz');
  });

  test("ToolBench's process_system_message and FastChat's default system message are read from their sources", () => {
    assert.deepEqual(toolBenchSystemTexts(toolBenchUtilsStandIn('ANCHOR sentence.'), 'utils.py'), {
      anchor: 'ANCHOR sentence.',
      replacement: 'ANCHOR sentence. <NOTE>\n',
      functionsPrefix: '\n<FUNCTIONS>: ',
    });
    assert.equal(
      fastChatSystemMessage(FASTCHAT_STAND_IN, 'vicuna_v1.1', 'c.py'),
      'Invented default. Second part.',
    );
    assert.throws(
      () => fastChatSystemMessage(FASTCHAT_STAND_IN, 'nope', 'c.py'),
      /no FastChat template named "nope"/,
    );
    assert.throws(() => toolBenchSystemTexts('x = 1\n', 'u.py'), /u\.py: no process_system_message function/);
  });

  test("Python's repr of JSON data", () => {
    assert.equal(
      pythonRepr([{ name: "it's", n: 1, f: 0.5, ok: true, no: null, nested: { q: 'say "hi"\n' } }]),
      `[{'name': "it's", 'n': 1, 'f': 0.5, 'ok': True, 'no': None, 'nested': {'q': 'say "hi"\\n'}}]`,
    );
    assert.equal(pythonRepr(['both \' and "']), `['both \\' and "']`);
    assert.equal(pythonRepr([1e-5, 1e16, 'é\u0007']), `[1e-05, 10000000000000000, 'é\\x07']`);
  });
});

describe('templates render conversations', () => {
  const texts = { toolbench: toolBenchSystemTexts(toolBenchUtilsStandIn('ANCHOR sentence.'), 'utils.py') };

  test('toolllama: Role: text lines, the system message processed as ToolBench does, Assistant:\\n to reply', () => {
    const prompt = renderPrompt(toolllama, conversation, texts);
    assert.equal(
      prompt,
      'System: SYSTEM TEXT with the ANCHOR sentence. <NOTE>\n' +
        `\n<FUNCTIONS>: [{'name': 'get_weather_for_weather', 'description': "Today's weather", 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}]\n` +
        'User: What is the weather?\n' +
        'Assistant: Thought: I should look it up.\nAction: get_weather_for_weather\nAction Input: {"city": "Paris"}\n' +
        'Function: {"error": "", "response": "sunny"}\n' +
        'Assistant:\n',
    );
    // Without tools the system message is left as it is.
    const plain = renderPrompt(toolllama, { messages: conversation.messages.slice(0, 2) }, texts);
    assert.equal(
      plain,
      'System: SYSTEM TEXT with the ANCHOR sentence.\nUser: What is the weather?\nAssistant:\n',
    );
  });

  test('toolllama refuses a system message without the sentence ToolBench processes', () => {
    assert.throws(
      () =>
        renderPrompt(toolllama, { ...conversation, messages: [{ role: 'system', content: 'other' }] }, texts),
      (error: unknown) =>
        error instanceof ModelCallError &&
        error.kind === 'client_error' &&
        /the `toolbench` prompt set/.test(error.message) &&
        cliMessageOf(error).endsWith('(solve --prompt-set toolbench)'),
    );
  });

  test("vicuna: FastChat's ADD_COLON_TWO layout; the default system message read from conversation.py", () => {
    const chat: ChatRequest = {
      messages: [
        { role: 'user', content: 'Hello!' },
        { role: 'assistant', content: 'Hi there!' },
        { role: 'user', content: 'How are you?' },
      ],
    };
    const defaultSystem = fastChatSystemMessage(FASTCHAT_STAND_IN, 'vicuna_v1.1', 'c.py');
    assert.equal(
      renderPrompt(vicuna, chat, { defaultSystem }),
      'Invented default. Second part. USER: Hello! ASSISTANT: Hi there!</s>USER: How are you? ASSISTANT:',
    );
    assert.equal(
      renderPrompt(
        vicuna,
        { messages: [{ role: 'system', content: 'Own.' }, ...chat.messages.slice(0, 1)] },
        {},
      ),
      'Own. USER: Hello! ASSISTANT:',
    );
    assert.throws(() => renderPrompt(vicuna, chat, {}), /give it as `templateSource`/);
    assert.throws(() => renderPrompt(vicuna, conversation, {}), /no tool-call format/);
  });

  test('toolalpaca: the texts as they are, nothing added (the agent prompt is already complete)', () => {
    const prompt = 'Prefix...\nQuestion: q\nASSISTANT Thought:';
    assert.equal(renderPrompt(toolalpaca, { messages: [{ role: 'user', content: prompt }] }, {}), prompt);
  });

  test('react continuations: thought, action and its input (to the end, as ToolBench reads them)', () => {
    assert.deepEqual(
      parseContinuation(
        toolllama,
        '\nThought: I will check.\nAction: get_weather_for_weather\nAction Input: {"city": "Oslo"}',
      ),
      {
        text: 'I will check.',
        toolCalls: [
          {
            id: parseContinuation(
              toolllama,
              '\nThought: I will check.\nAction: get_weather_for_weather\nAction Input: {"city": "Oslo"}',
            ).toolCalls[0]!.id,
            name: 'get_weather_for_weather',
            arguments: '{"city": "Oslo"}',
          },
        ],
      },
    );
    assert.deepEqual(parseContinuation(toolllama, 'Thought: just text'), {
      text: 'just text',
      toolCalls: [],
    });
    assert.deepEqual(parseContinuation(vicuna, '  Hello.  '), { text: 'Hello.', toolCalls: [] });
  });

  test('a user template file (JSON) is checked field by field', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'mine.json');
    const template = {
      name: 'mine',
      roles: { system: '### System', user: '### User', assistant: '### Bot', tool: '### Tool' },
      labelSeparator: ':\n',
      messageEnd: { system: '\n\n', user: '\n\n', assistant: '\n\n', tool: '\n\n' },
      replyPrefix: '### Bot:\n',
      stop: ['###'],
      toolCalls: 'react',
      defaultSystem: { text: 'My own system text.' },
    };
    writeFileSync(file, JSON.stringify(template));
    const loaded = await loadTemplate(file);
    assert.equal(
      renderPrompt(
        loaded,
        { messages: [{ role: 'user', content: 'hi' }] },
        { defaultSystem: 'My own system text.' },
      ),
      '### System:\nMy own system text.\n\n### User:\nhi\n\n### Bot:\n',
    );
    assert.throws(
      () => parseTemplate({ ...template, colour: 1 }, 'f.json'),
      /template f\.json: unknown key "colour"/,
    );
    assert.throws(() => parseTemplate({ ...template, toolCalls: 'json' }, 'f.json'), /toolCalls must be/);
    await assert.rejects(
      loadTemplate('chatml'),
      /unknown template "chatml": use toolllama, vicuna, toolalpaca/,
    );
  });
});

describe('text: backend against the fake server', () => {
  let server: FakeOpenAI;
  let source: string;
  before(async () => {
    server = await startFakeOpenAI();
    source = join(makeTempDir(), 'utils.py');
    writeFileSync(source, toolBenchUtilsStandIn('ANCHOR sentence.'));
  });
  after(() => server.close());

  test('posts the rendered prompt to /v1/completions and reads the calls; cache, ledger and retries apply', async () => {
    server.reset();
    server.script(
      { fault: 'server_error' },
      { text: '\nThought: Checking.\nAction: get_weather_for_weather\nAction Input: {"city": "Paris"}' },
    );
    const ledger = new CostLedger();
    const cacheDir = makeTempDir();
    const model = await createChatModel('text:toolllama-2-7b', {
      cacheDir,
      ledger,
      retryBaseDelayMs: 1,
      openai: { baseUrl: server.baseUrl },
      text: { template: 'toolllama', templateSource: source },
    });
    try {
      const request: ChatRequest = {
        ...conversation,
        messages: conversation.messages.slice(0, 2),
        maxTokens: 1024,
        temperature: 0,
      };
      const reply = await model.chat(request, { stage: 'solver' });
      assert.equal(reply.text, 'Checking.');
      assert.deepEqual(
        reply.toolCalls.map((c) => [c.name, c.arguments]),
        [['get_weather_for_weather', '{"city": "Paris"}']],
      );
      assert.equal(reply.finishReason, 'tool_calls');
      const sent = server.completionRequests();
      assert.equal(sent.length, 2, 'the 500 was retried');
      assert.equal(sent[1]?.model, 'toolllama-2-7b');
      assert.deepEqual(sent[1]?.stop, ['</s>']);
      assert.equal(sent[1]?.max_tokens, 1024);
      assert.ok(
        String(sent[1]?.prompt).startsWith(
          'System: SYSTEM TEXT with the ANCHOR sentence. <NOTE>\n\n<FUNCTIONS>: [',
        ),
      );
      assert.ok(String(sent[1]?.prompt).endsWith('User: What is the weather?\nAssistant:\n'));
      assert.equal(server.chatRequests().length, 0);
      const again = await model.chat(request, { stage: 'solver' });
      assert.equal(again.cached, true);
      assert.equal(server.completionRequests().length, 2);
      assert.equal(ledger.rows()[0]?.model, 'text:toolllama-2-7b');
      assert.equal(ledger.formatCost(), '?', 'a self-hosted checkpoint has no price');
    } finally {
      await model.close();
    }
  });

  test('another template is another cache identity; a wrong setup is one line before any request', async () => {
    server.reset();
    const cacheDir = makeTempDir();
    const ask = async (template: string): Promise<boolean> => {
      const model = await createChatModel('text:m', {
        cacheDir,
        openai: { baseUrl: server.baseUrl },
        text: { template },
      });
      try {
        return (await model.chat({ messages: [{ role: 'user', content: 'ASSISTANT Thought:' }] })).cached;
      } finally {
        await model.close();
      }
    };
    assert.equal(await ask('toolalpaca'), false);
    assert.equal(await ask('toolalpaca'), true);
    const file = join(makeTempDir(), 'raw.json');
    writeFileSync(file, JSON.stringify({ ...toolalpaca, name: 'raw', stop: ['\nASSISTANT Observation:'] }));
    assert.equal(await ask(file), false, 'the same request through another template');

    await assert.rejects(
      createChatModel('text:m', { openai: { baseUrl: server.baseUrl } }),
      (error: unknown) =>
        error instanceof InputError &&
        /text:m needs a conversation template \(`template`\)/.test(error.message) &&
        error.reason === 'text-needs-template',
    );
    await assert.rejects(
      createChatModel('text:m', { openai: { baseUrl: server.baseUrl }, text: { template: 'toolllama' } }),
      /toolbench\/utils\.py: give that file as `templateSource`/,
    );
    assert.equal(server.completionRequests().length, 2);
  });
});
