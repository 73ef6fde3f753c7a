/**
 * Each step's observation source recorded on the instance (`observation_sources`, parallel to the
 * steps): a chain (a stand-in real executor, then a simulated one) records the member that answered, a
 * cache hit records `cache`, actions no executor answered record null, and a multi-turn instance's
 * follow-up turn records its own list.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runEpisode, type EpisodeInput } from '../../src/agents/episode.js';
import type { Tool } from '../../src/core/tool.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { createExecutorChain, createMemoryCache } from '../../src/executors/chain.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import { createScriptedChatModel, createScriptedExecutor } from '../../src/testing/index.js';
import { sharedData } from '../helpers/paths.js';

let record: ToolAlpacaRecord;
let tool: Tool;

before(async () => {
  const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
  record = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('no Axolotl');
  tool = await recordToTool(record);
});

const SEARCH = ' Search first.\nAction: searchAxolotlImages\nAction Input: {"color": "albino"}';
const FACTS = ' Then facts.\nAction: getAxolotlFacts\nAction Input: {"category": "habitat"}';

/** A chain whose "real" member answers searches and is down (503) for facts; the simulator answers. */
function chain(cache = createMemoryCache()) {
  const real = createScriptedExecutor({
    kind: 'real',
    source: 'real',
    answers: {
      searchAxolotlImages: { body: { results: [{ url: 'https://example.org/a.png' }] } },
      getAxolotlFacts: { status: 503, body: 'Service Unavailable' },
    },
  });
  const simulated = createScriptedExecutor({
    kind: 'simulated',
    answers: { getAxolotlFacts: { body: [{ fact: 'They live in Lake Xochimilco.' }] } },
  });
  return { executor: createExecutorChain([real, simulated], { cache }), real, simulated };
}

function input(instruction: string, extra: Partial<EpisodeInput> = {}): EpisodeInput {
  return { instanceId: 'Axolotl#0', record, tool, instruction, ...extra };
}

describe('observation sources recorded per step', () => {
  test('a chain records who answered each call: real, then the simulated fallback; a hit is cache', async () => {
    const cache = createMemoryCache();
    const { executor, simulated } = chain(cache);
    const assistant = createScriptedChatModel();
    assistant.script(
      { text: SEARCH },
      { text: FACTS },
      { text: ' Let me ask.\nAction: getDetails\nAction Input: {"Question": "Which size?"}' },
      { text: ' A typo.\nAction: getAxolotlPhotos\nAction Input: {}' },
      { text: ' Done.\nFinal Answer: Albino axolotls live in Lake Xochimilco.' },
    );
    const options = { assistant, executor, prompt: 'train_v2', mode: 'react' } as const;
    const first = await runEpisode(input('Albino axolotl pictures and where they live.'), options);
    assert.equal(first.status, 'completed', first.failure?.message);
    assert.deepEqual(
      first.instance.intermediate_steps?.map(([[action]]) => action),
      ['searchAxolotlImages', 'getAxolotlFacts', 'getDetails', 'getAxolotlPhotos'],
    );
    assert.deepEqual(first.instance.observation_sources, ['real', 'simulated', null, null]);
    assert.match(first.instance.intermediate_steps?.[1]?.[1] ?? '', /Lake Xochimilco/);
    assert.equal(simulated.calls.length, 1);

    // The same calls again: both answered by the cache, whoever answered them first.
    assistant.script({ text: SEARCH }, { text: FACTS }, { text: ' Done.\nFinal Answer: Same as before.' });
    const second = await runEpisode(input('The same again, please.'), options);
    assert.deepEqual(second.instance.observation_sources, ['cache', 'cache']);
    assert.equal(simulated.calls.length, 1);
  });

  test('a multi-turn instance records the sources of each turn', async () => {
    const { executor } = chain();
    const assistant = createScriptedChatModel();
    assistant.script(
      { text: SEARCH },
      { text: ' Found them.\nFinal Answer: Here are albino axolotls.' },
      { text: FACTS },
      { text: ' Done.\nFinal Answer: They live in Lake Xochimilco.' },
    );
    const result = await runEpisode(
      input('Show me albino axolotls.', {
        kind: { kind: 'multi-turn', followUp: 'And where do they live?' },
      }),
      { assistant, executor, prompt: 'train_v2', mode: 'react' },
    );
    assert.equal(result.status, 'completed', result.failure?.message);
    assert.deepEqual(result.instance.observation_sources, ['real']);
    const [turn] = result.instance.follow_ups ?? [];
    assert.equal(turn?.input, 'And where do they live?');
    assert.deepEqual(turn?.observation_sources, ['simulated']);
    assert.deepEqual(Object.keys(turn ?? {}), [
      'input',
      'output',
      'Final Thought',
      'intermediate_steps',
      'observation_sources',
    ]);
  });

  test('an episode without steps records no list', async () => {
    const assistant = createScriptedChatModel({ replies: [' Nothing to call.\nFinal Answer: Hello.'] });
    const result = await runEpisode(input('Hi.'), {
      assistant,
      executor: chain().executor,
      prompt: 'train_v2',
      mode: 'react',
    });
    assert.equal('observation_sources' in result.instance, false);
  });
});
