/**
 * Episodes of an instruction with a kind, against the fake OpenAI server (scripted assistant replies)
 * with the schema executor on a tool of ToolAlpaca's simulated evaluation set: parallel calls in one
 * function-calling turn, an irrelevance answer without a call, a missing value asked of the user agent,
 * a multi-turn follow-up; and no change at all without a kind.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runEpisode, type EpisodeInput, type EpisodeOptions } from '../../src/agents/episode.js';
import { followUpQuestion, kindGuidance } from '../../src/agents/kinds.js';
import { UserAgent, userAgentMessages, withheldAnswer } from '../../src/agents/user-agent.js';
import type { Tool } from '../../src/core/tool.js';
import { InstanceSchema, type ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import type { ToolExecutor } from '../../src/executors/executor.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import type { CreatedChatModel } from '../../src/models/create-model.js';
import { startFakeChatSetup, type FakeChatSetup } from '../helpers/fake-chat-model.js';
import { contentText, promptText, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { sharedData } from '../helpers/paths.js';

let fake: FakeChatSetup;
let server: FakeOpenAI;
let model: CreatedChatModel;
let executor: ToolExecutor;
let record: ToolAlpacaRecord;
let tool: Tool;
let base: EpisodeInput;

before(async () => {
  fake = await startFakeChatSetup();
  ({ server, model, schema: executor } = fake);
  const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
  record = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('Axolotl not in eval_simulated.json');
  tool = await recordToTool(record);
  base = { instanceId: 'Axolotl#0', record, tool, instruction: 'Show me wild and albino axolotls.' };
});

after(() => fake.close());
beforeEach(() => server.reset());

function options(extra: Partial<EpisodeOptions> = {}): EpisodeOptions {
  return { assistant: model, executor, prompt: 'train_v2', mode: 'react', ...extra };
}

const FINAL = ' I have what was asked.\nFinal Answer: Here it is.';

describe('episodes without a kind are unchanged', () => {
  test('no kind field, no system message, ToolAlpaca keys only', async () => {
    server.script({ text: FINAL });
    const result = await runEpisode(base, options());
    assert.deepEqual(Object.keys(result.instance), [
      'input',
      'output',
      'Final Thought',
      'intermediate_steps',
    ]);
    assert.equal(server.chatRequests()[0]?.messages?.length, 1);
  });
});

describe('parallel', () => {
  test('function-calling: two independent calls in one assistant turn, two steps', async () => {
    server.script(
      {
        toolCalls: [
          { name: 'searchAxolotlImages', arguments: '{"color": "wild"}' },
          { name: 'searchAxolotlImages', arguments: '{"color": "albino"}' },
        ],
      },
      { text: 'Here are wild and albino axolotls.' },
    );
    const result = await runEpisode(
      { ...base, kind: { kind: 'parallel' } },
      options({ mode: 'function-calling' }),
    );
    assert.equal(result.status, 'completed', result.failure?.message);
    assert.equal(result.instance.kind, 'parallel');
    assert.equal(result.steps, 2);
    const steps = result.instance.intermediate_steps ?? [];
    assert.deepEqual(
      steps.map(([[action, args]]) => [action, args]),
      [
        ['searchAxolotlImages', '{"color": "wild"}'],
        ['searchAxolotlImages', '{"color": "albino"}'],
      ],
    );
    // Both results went back before the second request; the guidance closes the system prompt.
    const second = server.chatRequests()[1];
    assert.equal(second?.messages?.filter((m) => m.role === 'tool').length, 2);
    assert.ok(contentText(second?.messages?.[0]?.content).endsWith(kindGuidance('parallel') ?? '?'));
  });

  test('react: consecutive steps, the guidance as a system message', async () => {
    server.script(
      { text: ' Wild first.\nAction: searchAxolotlImages\nAction Input: {"color": "wild"}' },
      { text: ' Then albino.\nAction: searchAxolotlImages\nAction Input: {"color": "albino"}' },
      { text: FINAL },
    );
    const result = await runEpisode({ ...base, kind: { kind: 'parallel' } }, options());
    assert.equal(result.status, 'completed');
    assert.equal(result.instance.intermediate_steps?.length, 2);
    const first = server.chatRequests()[0];
    assert.equal(first?.messages?.[0]?.role, 'system');
    assert.equal(contentText(first?.messages?.[0]?.content), kindGuidance('parallel'));
  });
});

describe('irrelevance', () => {
  test('no call, an answer that says so, kind recorded', async () => {
    server.script({
      text: " None of my tools books flights.\nFinal Answer: I can't book flights with my tools.",
    });
    const result = await runEpisode(
      { ...base, instruction: 'Book me a flight to Mexico City.', kind: { kind: 'irrelevance' } },
      options(),
    );
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.instance.intermediate_steps, []);
    assert.equal(result.instance.kind, 'irrelevance');
    assert.match(promptText(server.chatRequests()[0] ?? {}), /do not call any tool/);
  });
});

describe('missing-info', () => {
  const missing = { function: 'searchAxolotlImages', argument: 'color', value: 'leucistic' };

  test('the assistant asks, the user agent gives the left-out value, the call uses it', async () => {
    server.script(
      { text: ' The colour is missing.\nAction: getDetails\nAction Input: {"Question": "Which colour?"}' },
      { text: ' Now search.\nAction: searchAxolotlImages\nAction Input: {"color": "leucistic"}' },
      { text: FINAL },
    );
    const result = await runEpisode(
      { ...base, instruction: 'Find me axolotl pictures.', kind: { kind: 'missing-info', missing } },
      options(),
    );
    assert.equal(result.status, 'completed');
    const steps = result.instance.intermediate_steps ?? [];
    assert.equal(steps[0]?.[0][0], 'getDetails');
    assert.equal(steps[0]?.[1], 'The color is leucistic.');
    assert.equal(steps[1]?.[0][0], 'searchAxolotlImages');
    assert.equal(result.instance.kind, 'missing-info');
    assert.deepEqual(result.instance.missing, missing);
    assert.deepEqual(Object.keys(result.instance), [
      'input',
      'output',
      'Final Thought',
      'intermediate_steps',
      'observation_sources',
      'kind',
      'missing',
    ]);
  });

  test('a user model is told the value; without a value it chooses one', async () => {
    const system = contentText(
      userAgentMessages('Find pictures.', [], 'Which colour?', {}, missing)[0]?.content,
    );
    assert.match(
      system,
      /left out the color \(which searchAxolotlImages needs\).*exactly this value: leucistic/,
    );
    assert.doesNotMatch(
      contentText(userAgentMessages('Find pictures.', [], 'Which colour?')[0]?.content),
      /left out/,
    );
    assert.match(withheldAnswer({ argument: 'color' }), /pick a sensible one/);
    // Credentials questions still get the credentials.
    const user = new UserAgent('x', { withheld: missing, authValues: { api_key: 'k1' } });
    assert.equal((await user.answer('What is your API key?')).text, 'api_key=k1');
  });
});

describe('multi-turn', () => {
  const spec = { kind: 'multi-turn' as const, followUp: 'And the albino ones?' };

  test('react: after the first answer the user follows up, the episode goes on', async () => {
    server.script(
      { text: ' Search.\nAction: searchAxolotlImages\nAction Input: {"color": "wild"}' },
      { text: ' Done.\nFinal Answer: Here are wild ones.' },
      { text: ' Search again.\nAction: searchAxolotlImages\nAction Input: {"color": "albino"}' },
      { text: ' Done.\nFinal Answer: Here are albino ones.' },
    );
    const result = await runEpisode(
      { ...base, instruction: 'Show me wild axolotls.', kind: spec },
      options(),
    );
    assert.equal(result.status, 'completed', result.failure?.message);
    assert.equal(result.steps, 2);
    const instance = InstanceSchema.parse(result.instance);
    assert.equal(instance.output, 'Here are wild ones.');
    assert.equal(instance.intermediate_steps?.length, 1);
    assert.equal(instance.follow_ups?.length, 1);
    const turn = instance.follow_ups?.[0];
    assert.equal(turn?.input, 'And the albino ones?');
    assert.equal(turn?.output, 'Here are albino ones.');
    assert.equal(turn?.intermediate_steps?.[0]?.[0][1], '{"color": "albino"}');
    // The second turn's question carries the conversation so far.
    const third = promptText(server.chatRequests()[2] ?? {});
    assert.ok(
      third.includes(
        followUpQuestion(
          [{ input: 'Show me wild axolotls.', output: 'Here are wild ones.' }],
          'And the albino ones?',
        ),
      ),
    );
  });

  test('function-calling: the follow-up is a user message after the answer', async () => {
    server.script(
      { text: 'Here are wild ones.' },
      { toolCalls: [{ name: 'searchAxolotlImages', arguments: '{"color": "albino"}' }] },
      { text: 'Here are albino ones.' },
    );
    const result = await runEpisode({ ...base, kind: spec }, options({ mode: 'function-calling' }));
    assert.equal(result.status, 'completed', result.failure?.message);
    assert.deepEqual(result.instance.intermediate_steps, []);
    assert.equal(result.instance.follow_ups?.[0]?.intermediate_steps?.length, 1);
    const roles = server.chatRequests()[1]?.messages?.map((m) => m.role);
    assert.deepEqual(roles, ['system', 'user', 'assistant', 'user']);
  });

  test('a failure in the follow-up keeps its steps so far', async () => {
    server.script(
      { text: ' Done.\nFinal Answer: Here are wild ones.' },
      { text: ' Search again.\nAction: searchAxolotlImages\nAction Input: {"color": "albino"}' },
      { text: ' And again.\nAction: searchAxolotlImages\nAction Input: {"color": "wild"}' },
    );
    const result = await runEpisode({ ...base, kind: spec }, options({ maxSteps: 1 }));
    assert.equal(result.status, 'failed');
    assert.equal(result.failure?.reason, 'step_limit');
    assert.equal(result.instance.follow_ups?.[0]?.intermediate_steps?.length, 1);
  });
});
