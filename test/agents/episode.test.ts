/**
 * Episodes against the fake OpenAI server (scripted assistant and user replies), and with the scripted
 * in-memory model of toolalpaca/testing where HTTP is not what is tested, with the schema executor on a
 * tool of ToolAlpaca's simulated evaluation set.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpBindingOf } from '../../src/core/http-binding.js';
import { INVALID_JSON_OBSERVATION } from '../../src/agents/builtin-tools.js';
import { NO_FURTHER_DETAILS } from '../../src/agents/user-agent.js';
import {
  cutAtStop,
  logText,
  runEpisode,
  wireNames,
  type EpisodeInput,
  type EpisodeOptions,
} from '../../src/agents/episode.js';
import type { Tool } from '../../src/core/tool.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import { observationText, type Observation, type ToolExecutor } from '../../src/executors/executor.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import type { CreatedChatModel } from '../../src/models/create-model.js';
import { startFakeChatSetup, type FakeChatSetup } from '../helpers/fake-chat-model.js';
import type { FakeOpenAI, FakeWireMessage } from '../helpers/fake-openai-server.js';
import { sharedData } from '../helpers/paths.js';
import { createScriptedChatModel } from '../../src/testing/index.js';

let fake: FakeChatSetup;
let server: FakeOpenAI;
let model: CreatedChatModel;
let executor: ToolExecutor;
let record: ToolAlpacaRecord;
let tool: Tool;
let input: EpisodeInput;

const FUNCTION_NAMES = ['getRandomAxolotlImage', 'searchAxolotlImages', 'getAxolotlFacts'];

before(async () => {
  fake = await startFakeChatSetup();
  ({ server, model, schema: executor } = fake);
  const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
  record = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('Axolotl not in eval_simulated.json');
  tool = await recordToTool(record);
  input = { instanceId: 'Axolotl#1', record, tool, instruction: record.Instructions?.[1] ?? assert.fail() };
});

after(() => fake.close());

beforeEach(() => server.reset());

function options(extra: Partial<EpisodeOptions> = {}): EpisodeOptions {
  return { assistant: model, executor, prompt: 'train_v1', mode: 'react', ...extra };
}

function text(message: FakeWireMessage | undefined): string {
  const content = message?.content;
  return typeof content === 'string' ? content : '';
}

async function expectedObservation(fn: string, args: Record<string, unknown>): Promise<string> {
  const fresh = await createExecutor('schema');
  return observationText(await fresh.execute(tool, fn, args), { maxChars: Infinity });
}

describe('runEpisode (react)', () => {
  test('a 2-step trajectory ending in a final answer has the exact ToolAlpaca instance shape', async () => {
    const step1 =
      ' The user wants wild, medium axolotl pictures.\nAction: searchAxolotlImages\nAction Input: {"color": "wild", "size": "medium"}';
    const step2 =
      ' I also want facts.\nAction: getAxolotlFacts\nAction Input: {"category": "habitat", "limit": 2}';
    server.script(
      { text: step1, usage: { prompt_tokens: 900, completion_tokens: 30 } },
      // Written past the stop sequence, as a backend ignoring `stop` would: the episode cuts it.
      { text: `${step2}\nObservation: imagined`, usage: { prompt_tokens: 1000, completion_tokens: 30 } },
      {
        text: ' I have everything.\nFinal Answer: Here are wild medium axolotls.',
        usage: { prompt_tokens: 1100, completion_tokens: 20 },
      },
    );
    const result = await runEpisode(input, options());
    assert.equal(result.status, 'completed');
    assert.equal(result.failure, undefined);
    assert.equal(result.steps, 2);
    assert.deepEqual(result.usage, { promptTokens: 3000, completionTokens: 80, calls: 3 });
    const obs1 = await expectedObservation('searchAxolotlImages', { color: 'wild', size: 'medium' });
    const obs2 = await expectedObservation('getAxolotlFacts', { category: 'habitat', limit: 2 });
    assert.match(obs1, /^Status Code: 200\. Response: \{"results":/);
    assert.deepEqual(result.instance, {
      input: input.instruction,
      output: 'Here are wild medium axolotls.',
      'Final Thought': 'I have everything.',
      intermediate_steps: [
        [['searchAxolotlImages', '{"color": "wild", "size": "medium"}', step1], obs1],
        [['getAxolotlFacts', '{"category": "habitat", "limit": 2}', step2], obs2],
      ],
      // Where each observation came from, parallel to the steps (an extra key, after ToolAlpaca's).
      observation_sources: ['schema', 'schema'],
    });
    assert.deepEqual(Object.keys(result.instance), [
      'input',
      'output',
      'Final Thought',
      'intermediate_steps',
      'observation_sources',
    ]);

    const requests = server.chatRequests();
    assert.equal(requests.length, 3);
    for (const body of requests) {
      assert.deepEqual(body.stop, ['\nObservation:', '\n\tObservation:']);
      assert.equal(body.messages?.length, 1);
      assert.equal(body.temperature, 0);
    }
    const first = text(requests[0]?.messages?.[0]);
    assert.ok(first.startsWith("Anser the user's question"));
    assert.ok(first.includes(`one of [getDetails, ${FUNCTION_NAMES.join(', ')}]`));
    assert.ok(first.endsWith(`Question: ${input.instruction}\nThought:`));
    const third = text(requests[2]?.messages?.[0]);
    assert.ok(
      third.endsWith(
        `Question: ${input.instruction}\nThought:${step1}\nObservation: ${obs1}\nThought:${step2}\nObservation: ${obs2}\nThought:`,
      ),
    );
  });

  test('a long observation is stored behind a notice; retrievalDataFromFile returns the relevant slice', async () => {
    const body = {
      results: Array.from({ length: 40 }, (_, i) => ({
        url: `https://axolotl.example/${i}.jpg`,
        source: i === 17 ? 'Mexico City aquarium' : `Photographer ${i}`,
        description: i === 17 ? 'A leucistic axolotl in Xochimilco' : `Axolotl number ${i}`,
      })),
    };
    const longExecutor: ToolExecutor = {
      kind: 'stub',
      execute: (): Promise<Observation> =>
        Promise.resolve({ status: 200, body, headers: {}, source: 'schema', latencyMs: 0 }),
    };
    server.script(
      { text: ' Search.\nAction: searchAxolotlImages\nAction Input: {"color": "leucistic"}' },
      {
        text: ' Too long.\nAction: retrievalDataFromFile\nAction Input: {"file_path": "./tmp/retrieval_1.txt", "query": "Xochimilco"}',
      },
      { text: ' Found it.\nFinal Answer: One from Xochimilco.' },
    );
    const result = await runEpisode(input, options({ executor: longExecutor, retrievalThreshold: 1000 }));
    assert.equal(result.status, 'completed');
    const steps = result.instance.intermediate_steps ?? assert.fail();
    assert.equal(
      steps[0]?.[1],
      "The output is too long. You need to use the 'retrievalDataFromFile' function to retrieve the output from the file: ./tmp/retrieval_1.txt",
    );
    const info = (JSON.parse(steps[1]?.[1] ?? '{}') as { retrieved_info: string }).retrieved_info;
    assert.equal(
      info,
      'results[17].url: "https://axolotl.example/17.jpg"\nresults[17].source: "Mexico City aquarium"\nresults[17].description: "A leucistic axolotl in Xochimilco"',
    );
    const requests = server.chatRequests();
    assert.ok(!text(requests[0]?.messages?.[0]).includes('retrievalDataFromFile:'));
    // From the step after the notice, the tool is listed and allowed.
    assert.ok(
      text(requests[1]?.messages?.[0]).includes(
        'one of [getDetails, retrievalDataFromFile, getRandomAxolotlImage',
      ),
    );
  });

  test("a 5xx observation is asked again, up to 3 calls in all, as ToolAlpaca's agent does", async () => {
    const statuses = [503, 500, 200];
    let calls = 0;
    const flaky: ToolExecutor = {
      kind: 'stub',
      execute: (): Promise<Observation> => {
        const status = statuses[calls++] ?? 200;
        return Promise.resolve({
          status,
          body: { attempt: calls },
          headers: {},
          source: 'schema',
          latencyMs: 0,
        });
      },
    };
    server.script(
      { text: ' Go.\nAction: getRandomAxolotlImage\nAction Input: {}' },
      { text: ' Again.\nAction: getRandomAxolotlImage\nAction Input: {}' },
      { text: 'Final Answer: ok' },
    );
    const result = await runEpisode(input, options({ executor: flaky }));
    assert.equal(result.status, 'completed');
    const steps = result.instance.intermediate_steps ?? assert.fail();
    // First action: 503, 500, then 200 on the third call.
    assert.match(steps[0]?.[1] ?? '', /^Status Code: 200\. Response: \{"attempt":3\}/);
    // Second action: a 4xx is not retried; an always-5xx function stops after 3 calls.
    assert.equal(calls, 4);
    const always: ToolExecutor = {
      kind: 'stub',
      execute: (): Promise<Observation> => {
        calls++;
        return Promise.resolve({
          status: 502,
          body: { down: true },
          headers: {},
          source: 'schema',
          latencyMs: 0,
        });
      },
    };
    server.reset();
    calls = 0;
    server.script(
      { text: ' Go.\nAction: getRandomAxolotlImage\nAction Input: {}' },
      { text: 'Final Answer: down' },
    );
    const down = await runEpisode(input, options({ executor: always }));
    assert.equal(calls, 3);
    assert.match(down.instance.intermediate_steps?.[0]?.[1] ?? '', /^Status Code: 502\./);
  });

  test('a real tool (external_tools: retrieval) lists retrievalDataFromFile from the first step', async () => {
    const real = await readToolAlpacaFile(sharedData('toolalpaca/eval_real.json'));
    const nager = real.find((r) => r.Name === 'Nager.Date') ?? assert.fail('Nager.Date missing');
    const realInput: EpisodeInput = {
      instanceId: 'Nager.Date#0',
      record: nager,
      tool: await recordToTool(nager),
      instruction: nager.Instructions?.[0] ?? assert.fail(),
    };
    server.script({ text: 'Final Answer: ok' });
    await runEpisode(realInput, options());
    const first = text(server.chatRequests()[0]?.messages?.[0]);
    assert.ok(first.includes('retrievalDataFromFile'), first.slice(0, 400));
    assert.ok(first.includes('one of [getDetails, retrievalDataFromFile, '), 'listed before the functions');
  });

  test('with retrieval disabled, long observations are cut at 3000 characters', async () => {
    const longExecutor: ToolExecutor = {
      kind: 'stub',
      execute: () =>
        Promise.resolve({ status: 200, body: 'x'.repeat(5000), headers: {}, source: 'schema', latencyMs: 0 }),
    };
    server.script(
      { text: ' Go.\nAction: getRandomAxolotlImage\nAction Input: {}' },
      { text: 'Final Answer: ok' },
    );
    const result = await runEpisode(input, options({ executor: longExecutor, retrievalThreshold: 0 }));
    assert.equal(result.instance.intermediate_steps?.[0]?.[1].length, 3000);
  });

  test('test_v1 layout: ASSISTANT turns are parsed and the scratchpad uses ASSISTANT prefixes', async () => {
    server.script(
      { text: ' I look.\nASSISTANT Action: getRandomAxolotlImage\nASSISTANT Action Input: {}' },
      { text: ' Got it.\nASSISTANT Response: Here is one.' },
    );
    const result = await runEpisode(input, options({ prompt: 'test_v1' }));
    assert.equal(result.status, 'completed');
    assert.equal(result.instance.output, 'Here is one.');
    assert.equal(result.instance['Final Thought'], 'Got it.');
    const second = server.chatRequests()[1];
    assert.deepEqual(second?.stop, ['\nASSISTANT Observation:', '\n\tASSISTANT Observation:']);
    assert.match(
      text(second?.messages?.[0]),
      /\nASSISTANT Observation: Status Code: 200\. [^\n]*\nASSISTANT Thought:$/,
    );
  });

  test('lean layout: a system message with the compact tool list, then the question', async () => {
    server.script({ text: 'Thought: easy\nFinal Answer: hi' });
    const result = await runEpisode(input, options({ prompt: 'lean' }));
    assert.equal(result.status, 'completed');
    const messages = server.chatRequests()[0]?.messages ?? [];
    assert.equal(messages[0]?.role, 'system');
    assert.match(
      text(messages[0]),
      /\ngetAxolotlFacts\(category\?: habits\|habitat\|physical characteristics, limit\?: integer\)/,
    );
    assert.equal(text(messages[1]), `Question: ${input.instruction}\nThought:`);
  });

  test('model errors, unparseable and empty replies, and aborts end as recorded failures', async () => {
    server.script(
      { text: ' Go.\nAction: getRandomAxolotlImage\nAction Input: {}' },
      { fault: 'client_error', status: 400, message: 'bad request' },
    );
    const failed = await runEpisode(input, options());
    assert.equal(failed.status, 'failed');
    assert.equal(failed.failure?.reason, 'model_error');
    assert.match(failed.failure?.message ?? '', /^assistant model: /);
    assert.equal(failed.steps, 1);

    server.script({ text: 'qwerty uiop asdf' });
    const gibberish = await runEpisode(input, options());
    assert.equal(gibberish.failure?.reason, 'parse_error');
    assert.match(gibberish.failure?.message ?? '', /qwerty uiop asdf/);

    server.script({ text: '   ' });
    assert.equal((await runEpisode(input, options())).failure?.reason, 'empty_reply');

    const controller = new AbortController();
    controller.abort();
    const aborted = await runEpisode(input, options({ signal: controller.signal }));
    assert.equal(aborted.failure?.reason, 'aborted');
    assert.equal(aborted.usage.calls, 0);

    const throwing: ToolExecutor = {
      kind: 'broken',
      execute: () => Promise.reject(new Error('socket closed')),
    };
    server.script({ text: ' Go.\nAction: getRandomAxolotlImage\nAction Input: {}' });
    const broken = await runEpisode(input, options({ executor: throwing }));
    assert.equal(broken.failure?.reason, 'executor_error');
    assert.match(broken.failure?.message ?? '', /function getRandomAxolotlImage: socket closed/);
  });

  test('an abort during a hung model call ends the episode as aborted', async () => {
    server.script({ fault: 'hang' });
    const controller = new AbortController();
    const arrived = server.requests.length + 1;
    void server.waitForRequests(arrived).then(() => controller.abort());
    const result = await runEpisode(input, options({ signal: controller.signal }));
    assert.equal(result.failure?.reason, 'aborted');
  });
});

// The same agent with a scripted model (toolalpaca/testing): what is tested is the episode, not HTTP.
describe('runEpisode (react) with a scripted model', () => {
  const scripted = createScriptedChatModel();
  beforeEach(() => scripted.reset());
  const scriptedOptions = (extra: Partial<EpisodeOptions> = {}): EpisodeOptions =>
    options({ assistant: scripted, ...extra });

  test('an unknown action gets an observation listing the valid names, and counts as a step', async () => {
    scripted.script(
      { text: 'Thought: let me look\nAction: getAxolotlPhotos\nAction Input: {}' },
      { text: ' Sorry.\nFinal Answer: none' },
    );
    const result = await runEpisode(input, scriptedOptions());
    assert.equal(result.status, 'completed');
    assert.equal(result.steps, 1);
    const [call, observation] = result.instance.intermediate_steps?.[0] ?? assert.fail();
    assert.equal(call[0], 'getAxolotlPhotos');
    assert.equal(call[2], ' let me look\nAction: getAxolotlPhotos\nAction Input: {}');
    assert.equal(
      observation,
      `\`getAxolotlPhotos\` is not a valid action. The action must be one of ['getDetails', ${FUNCTION_NAMES.map((n) => `'${n}'`).join(', ')}].`,
    );
  });

  test('invalid JSON arguments get a corrective observation; repaired JSON is executed', async () => {
    scripted.script(
      { text: ' Try.\nAction: getAxolotlFacts\nAction Input: {"category": habitat}' },
      {
        text: " Again.\nAction: getAxolotlFacts\nAction Input: ```json\n{'category': 'habits'}\n``` (fixed)",
      },
      { text: ' Done.\nFinal Answer: ok' },
    );
    const result = await runEpisode(input, scriptedOptions());
    const steps = result.instance.intermediate_steps ?? assert.fail();
    assert.equal(steps[0]?.[1], INVALID_JSON_OBSERVATION);
    assert.equal(steps[0]?.[0][1], '{"category": habitat}');
    assert.equal(steps[1]?.[0][1], '{"category":"habits"}');
    assert.equal(steps[1]?.[1], await expectedObservation('getAxolotlFacts', { category: 'habits' }));
  });

  test('the step limit ends a runaway loop as failed, keeping the steps', async () => {
    scripted.setDefault(() => ({ text: ' Again.\nAction: getRandomAxolotlImage\nAction Input: {}' }));
    const result = await runEpisode(input, scriptedOptions({ maxSteps: 3 }));
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.failure, { reason: 'step_limit', message: 'no final answer after 3 steps' });
    assert.equal(result.steps, 3);
    assert.equal(result.instance.intermediate_steps?.length, 3);
    assert.equal(result.usage.calls, 4);
    assert.equal(result.instance.output, undefined);
  });

  test('getDetails is answered by the scripted user model, which sees the instruction and earlier answers', async () => {
    scripted.script(
      { text: ' Which color?\nAction: getDetails\nAction Input: {"Question": "Which color do you like?"}' },
      { text: '[User]: Leucistic, please.' }, // the user model
      { text: ' And size?\nAction: getDetails\nAction Input: {"Question": "What size?"}' },
      { text: 'Medium.' }, // the user model
      { text: ' Thanks.\nFinal Answer: Noted.' },
    );
    const result = await runEpisode(input, scriptedOptions({ user: scripted }));
    assert.equal(result.status, 'completed');
    const steps = result.instance.intermediate_steps ?? assert.fail();
    assert.deepEqual(
      steps.map((s) => [s[0][0], s[1]]),
      [
        ['getDetails', 'Leucistic, please.'],
        ['getDetails', 'Medium.'],
      ],
    );
    assert.equal(result.usage.calls, 5);
    const userRequest = scripted.calls[3]?.request;
    assert.equal(userRequest?.messages[0]?.role, 'system');
    const prompt = userRequest?.messages[1]?.content ?? '';
    assert.ok(prompt.includes(input.instruction));
    assert.ok(prompt.includes('[AI]: Which color do you like?\n[User]: Leucistic, please.'));
    assert.ok(prompt.includes('The assistant now asks: What size?'));
  });

  test('without a user model getDetails answers "no further details"', async () => {
    scripted.script(
      { text: ' Hmm.\nAction: getDetails\nAction Input: {"Question": "Which color?"}' },
      { text: ' Fine.\nFinal Answer: any' },
    );
    const result = await runEpisode(input, scriptedOptions());
    assert.equal(result.instance.intermediate_steps?.[0]?.[1], NO_FURTHER_DETAILS);
    assert.equal(result.usage.calls, 2);
  });
});

describe('runEpisode (function-calling)', () => {
  test('tool calls are executed, tool messages appended, and the text reply is the final answer', async () => {
    server.script(
      {
        text: 'Let me get facts.',
        toolCalls: [
          { id: 'call_1', name: 'getAxolotlFacts', arguments: '{"category": "habits", "limit": 1}' },
        ],
      },
      { toolCalls: [{ id: 'call_2', name: 'getDetails', arguments: '{"Question": "Which size?"}' }] },
      { text: 'Axolotls are mostly nocturnal.' },
    );
    const result = await runEpisode(input, options({ mode: 'function-calling' }));
    assert.equal(result.status, 'completed');
    const obs = await expectedObservation('getAxolotlFacts', { category: 'habits', limit: 1 });
    assert.deepEqual(result.instance, {
      input: input.instruction,
      output: 'Axolotls are mostly nocturnal.',
      'Final Thought': '',
      intermediate_steps: [
        [
          [
            'getAxolotlFacts',
            '{"category": "habits", "limit": 1}',
            ' Let me get facts.\nAction: getAxolotlFacts\nAction Input: {"category": "habits", "limit": 1}',
          ],
          obs,
        ],
        [
          [
            'getDetails',
            '{"Question": "Which size?"}',
            ' Action: getDetails\nAction Input: {"Question": "Which size?"}',
          ],
          NO_FURTHER_DETAILS,
        ],
      ],
      // The built-in getDetails is answered by the user agent, not an executor.
      observation_sources: ['schema', null],
    });
    const requests = server.chatRequests();
    assert.equal(requests.length, 3);
    const tools = requests[0]?.tools ?? [];
    assert.deepEqual(
      tools.map((t) => t.function.name),
      ['getDetails', ...FUNCTION_NAMES],
    );
    const facts = tools.find((t) => t.function.name === 'getAxolotlFacts')?.function.parameters;
    assert.deepEqual(facts, {
      type: 'object',
      properties: {
        category: {
          type: 'string',
          enum: ['habits', 'habitat', 'physical characteristics'],
          description:
            "The category of facts to retrieve (e.g., 'habits', 'habitat', 'physical characteristics')",
        },
        limit: { type: 'integer', description: 'The maximum number of facts to return' },
      },
    });
    const third = requests[2]?.messages ?? [];
    assert.deepEqual(
      third.map((m) => m.role),
      ['system', 'user', 'assistant', 'tool', 'assistant', 'tool'],
    );
    assert.equal(third[3]?.tool_call_id, 'call_1');
    assert.equal(text(third[3]), obs);
    assert.equal(text(third[5]), NO_FURTHER_DETAILS);
  });

  test('request bodies become argument properties in function-calling schemas', async () => {
    const auth0 = (await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'))).find(
      (r) => r.Name === 'Auth0',
    );
    assert.ok(auth0);
    const auth0Tool = await recordToTool(auth0);
    server.script({ text: 'Nothing to do.' });
    const result = await runEpisode(
      { instanceId: 'Auth0#0', record: auth0, tool: auth0Tool, instruction: 'Create a role named editor.' },
      options({ mode: 'function-calling' }),
    );
    assert.equal(result.status, 'completed');
    const createRole = server.chatRequests()[0]?.tools?.find((t) => t.function.name === 'createRole')
      ?.function.parameters;
    const fn = auth0Tool.functions.find((f) => f.name === 'createRole') ?? assert.fail();
    const bodyProps = Object.keys(
      (httpBindingOf(fn)?.requestBody?.schema.properties as Record<string, unknown> | undefined) ?? {},
    );
    assert.ok(bodyProps.length > 0);
    for (const name of bodyProps)
      assert.ok(name in ((createRole?.properties as object | undefined) ?? {}), name);
  });

  test('bad arguments and unknown functions get observations; the step limit applies', async () => {
    server.setDefault(() => ({ toolCalls: [{ name: 'getAxolotlFacts', arguments: '{"limit": }' }] }));
    const result = await runEpisode(input, options({ mode: 'function-calling', maxSteps: 2 }));
    assert.equal(result.failure?.reason, 'step_limit');
    assert.equal(result.instance.intermediate_steps?.[0]?.[1], INVALID_JSON_OBSERVATION);
    server.reset();
    server.script({ toolCalls: [{ name: 'fly', arguments: '{}' }] }, { text: 'Cannot.' });
    const unknown = await runEpisode(input, options({ mode: 'function-calling' }));
    assert.match(unknown.instance.intermediate_steps?.[0]?.[1] ?? '', /^`fly` is not a valid action/);
  });

  test('a model error fails the episode with its reason', async () => {
    server.script({ fault: 'client_error', status: 400, message: 'tools not supported' });
    const result = await runEpisode(input, options({ mode: 'function-calling' }));
    assert.equal(result.failure?.reason, 'model_error');
    assert.match(result.failure?.message ?? '', /assistant model/);
  });
});

describe('episode helpers', () => {
  test('cutAtStop, logText, wireNames', () => {
    assert.equal(
      cutAtStop('a\nObservation: b\n\tObservation: c', ['\n\tObservation:', '\nObservation:']),
      'a',
    );
    assert.equal(
      logText('Thought: I look.\nAction: x\nAction Input: {}\n'),
      ' I look.\nAction: x\nAction Input: {}',
    );
    assert.equal(logText(' ok'), ' ok');
    const wire = wireNames(['getUser', 'users.list', 'users list', 'users_list']);
    assert.deepEqual([...wire.values()], ['getUser', 'users_list_2', 'users_list_3', 'users_list']);
  });

  test('a function of the tool named like a built-in shadows it', async () => {
    const shadow: Tool = {
      ...tool,
      functions: [{ ...(tool.functions[0] ?? assert.fail()), name: 'getDetails' }],
    };
    server.script({ text: ' Ask.\nAction: getDetails\nAction Input: {}' }, { text: 'Final Answer: done' });
    const result = await runEpisode({ ...input, tool: shadow }, options());
    assert.match(result.instance.intermediate_steps?.[0]?.[1] ?? '', /^Status Code: 200/);
    assert.ok(text(server.chatRequests()[0]?.messages?.[0]).includes('one of [getDetails]'));
  });
});

describe('every shared eval tool', () => {
  test('an episode calling each function once completes with the schema executor, in both modes', async () => {
    const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
    for (const [index, rec] of records.entries()) {
      const t = await recordToTool(rec);
      const episodeInput = {
        instanceId: `${rec.Name}#0`,
        record: rec,
        tool: t,
        instruction: rec.Instructions?.[0] ?? '',
      };
      server.reset();
      server.script(
        ...t.functions.map((fn) => ({ text: ` Call ${fn.name}.\nAction: ${fn.name}\nAction Input: {}` })),
        { text: ' Done.\nFinal Answer: done' },
      );
      const react = await runEpisode(
        episodeInput,
        options({ prompt: index % 2 === 0 ? 'train_v2' : 'test_v2' }),
      );
      assert.equal(react.status, 'completed', `${rec.Name}: ${react.failure?.message ?? ''}`);
      assert.equal(react.steps, t.functions.length);
      for (const [[action], observation] of react.instance.intermediate_steps ?? []) {
        assert.ok(
          /^Status Code: \d{3}\. |You need to change the input/.test(observation),
          `${rec.Name}.${action}: ${observation}`,
        );
      }
      server.script(
        { toolCalls: t.functions.map((fn, i) => ({ id: `c${i}`, name: fn.name, arguments: '{}' })) },
        { text: 'done' },
      );
      const fc = await runEpisode(episodeInput, options({ mode: 'function-calling', maxSteps: 20 }));
      assert.equal(fc.status, 'completed', `${rec.Name}: ${fc.failure?.message ?? ''}`);
      assert.equal(fc.steps, t.functions.length);
    }
  });
});
