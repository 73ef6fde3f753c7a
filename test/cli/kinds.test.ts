/**
 * Instance kinds through the compiled CLI against the fake server: `instructions --kinds` asks each
 * kind with its own request and records the kinds; `generate` then produces one instance of each kind
 * with the kind's shape (ReAct, schema executor, the user agent played by the model); `toolset stats`
 * and the summaries count instances per kind. The scripted world tells the roles apart by their prompts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstanceSchema, type Instance } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { runCliIn } from '../helpers/cli-process.js';
import {
  promptText,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeReply,
} from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const ALL = 'single,multi-step,parallel,irrelevance,missing-info,multi-turn';

/** Each kind's instruction (as the generator returns it) and the calls the assistant makes for it. */
const WORLD: Record<
  string,
  { item: unknown; calls: [string, string][]; followUpCalls?: [string, string][] }
> = {
  single: { item: 'Show me one random axolotl picture.', calls: [['getRandomAxolotlImage', '{}']] },
  'multi-step': {
    item: 'Find a large wild axolotl picture, then tell me about the habitat of that axolotl.',
    calls: [
      ['searchAxolotlImages', '{"color": "wild", "size": "large"}'],
      ['getAxolotlFacts', '{"category": "habitat", "limit": 2}'],
    ],
  },
  parallel: {
    item: 'Get me pictures of both albino and leucistic axolotls.',
    calls: [
      ['searchAxolotlImages', '{"color": "albino"}'],
      ['searchAxolotlImages', '{"color": "leucistic"}'],
    ],
  },
  irrelevance: { item: 'Book me a flight to Mexico City next Friday.', calls: [] },
  'missing-info': {
    item: {
      request: 'Find axolotl pictures in my favourite colour.',
      function: 'searchAxolotlImages',
      argument: 'color',
      value: 'leucistic',
    },
    calls: [
      ['getDetails', '{"Question": "Which colour would you like?"}'],
      ['searchAxolotlImages', '{"color": "leucistic"}'],
    ],
  },
  'multi-turn': {
    item: { request: 'Tell me two facts about axolotl habits.', followUp: 'And what about their habitat?' },
    calls: [['getAxolotlFacts', '{"category": "habits", "limit": 2}']],
    followUpCalls: [['getAxolotlFacts', '{"category": "habitat", "limit": 2}']],
  },
};

function requestOf(item: unknown): string {
  return typeof item === 'string' ? item : (item as { request: string }).request;
}

function responder(body: Parameters<Parameters<FakeOpenAI['setDefault']>[0]>[0]): FakeReply {
  const text = promptText(body);
  const kind = /of the kind "([a-z-]+)"/.exec(text)?.[1];
  if (kind !== undefined) return { text: JSON.stringify({ instructions: [WORLD[kind]?.item] }) };
  if (text.includes('The assistant now asks')) return { text: 'leucistic, please.' };
  const question = text.split('Question:').pop() ?? '';
  const world = Object.values(WORLD).find((w) => question.includes(requestOf(w.item)));
  if (world === undefined) return { text: ' Nothing to do.\nFinal Answer: OK.' };
  const followUp = question.includes('(The user now asks)');
  const calls = followUp ? (world.followUpCalls ?? []) : world.calls;
  const done = question.split('\nObservation:').length - 1;
  const call = calls[done];
  if (call === undefined) {
    return {
      text: ` I have what I need.\nFinal Answer: ${world.calls.length === 0 ? 'I cannot do that with my tools.' : `Answer ${followUp ? 2 : 1}.`}`,
    };
  }
  return { text: ` Next step.\nAction: ${call[0]}\nAction Input: ${call[1]}` };
}

describe('instance kinds through the CLI', () => {
  let server: FakeOpenAI;
  let model: string[];

  before(async () => {
    server = await startFakeOpenAI();
    server.setDefault(responder);
    model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
  });
  after(async () => {
    await server.close();
  });

  test('instructions --kinds then generate: one instance of each kind, with its shape', async () => {
    const dir = makeTempDir();
    const tools = join(dir, 'tools.json');
    const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
    const axolotl = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('no Axolotl');
    writeFileSync(tools, JSON.stringify([{ ...axolotl, Instructions: [] }]));

    const instructions = join(dir, 'instructions.json');
    const made = await runCliIn(
      [
        'instructions',
        '--tools',
        tools,
        ...model,
        '--kinds',
        ALL,
        '--per-tool',
        '6',
        '--out',
        instructions,
        '--json',
      ],
      dir,
      90_000,
    );
    assert.equal(made.code, 0, made.stderr);
    const report = JSON.parse(made.stdout) as { tools: { kinds: Record<string, number> }[] };
    assert.deepEqual(report.tools[0]?.kinds, Object.fromEntries(ALL.split(',').map((k) => [k, 1])));
    const [record] = await readToolAlpacaFile(instructions);
    assert.deepEqual(
      record?.Instruction_Kinds?.map((spec) => spec?.kind),
      ALL.split(','),
    );
    assert.deepEqual(record?.Instruction_Kinds?.[4]?.missing, {
      function: 'searchAxolotlImages',
      argument: 'color',
      value: 'leucistic',
    });
    assert.equal(record?.Instruction_Kinds?.[5]?.followUp, 'And what about their habitat?');

    const corpus = join(dir, 'corpus.json');
    const generated = await runCliIn(
      ['generate', '--tools', instructions, ...model, '--executor', 'schema', '--out', corpus, '--json'],
      dir,
      90_000,
    );
    assert.equal(generated.code, 0, generated.stderr);
    const summary = JSON.parse(generated.stdout) as {
      completed: number;
      kinds: Record<string, { completed: number; failed: number }>;
    };
    assert.equal(summary.completed, 6);
    assert.deepEqual(
      summary.kinds,
      Object.fromEntries(ALL.split(',').map((k) => [k, { completed: 1, failed: 0 }])),
    );

    const [out] = await readToolAlpacaFile(corpus);
    const byKind = new Map<string, Instance>();
    for (const raw of out?.Instances ?? []) {
      const instance = InstanceSchema.parse(raw);
      byKind.set(instance.kind ?? 'none', instance);
    }
    assert.deepEqual([...byKind.keys()], ALL.split(','));
    const actions = (kind: string): string[] =>
      (byKind.get(kind)?.intermediate_steps ?? []).map(([[action]]) => action ?? '');
    assert.deepEqual(actions('single'), ['getRandomAxolotlImage']);
    assert.deepEqual(actions('multi-step'), ['searchAxolotlImages', 'getAxolotlFacts']);
    assert.deepEqual(actions('parallel'), ['searchAxolotlImages', 'searchAxolotlImages']);
    assert.deepEqual(actions('irrelevance'), []);
    assert.equal(byKind.get('irrelevance')?.output, 'I cannot do that with my tools.');
    // missing-info: asked, the user agent (the model) gave the value, the call used it.
    assert.deepEqual(actions('missing-info'), ['getDetails', 'searchAxolotlImages']);
    assert.equal(byKind.get('missing-info')?.intermediate_steps?.[0]?.[1], 'leucistic, please.');
    assert.equal(byKind.get('missing-info')?.missing?.argument, 'color');
    const userPrompt = server
      .chatRequests()
      .map((body) => promptText(body))
      .find((text) => text.includes('The assistant now asks'));
    assert.match(userPrompt ?? '', /left out the color .*exactly this value: leucistic/);
    // multi-turn: a first answer, then the follow-up turn with its own call and answer.
    const turns = byKind.get('multi-turn');
    assert.equal(turns?.output, 'Answer 1.');
    assert.deepEqual(actions('multi-turn'), ['getAxolotlFacts']);
    assert.equal(turns?.follow_ups?.[0]?.input, 'And what about their habitat?');
    assert.equal(turns?.follow_ups?.[0]?.output, 'Answer 2.');
    assert.equal(
      turns?.follow_ups?.[0]?.intermediate_steps?.[0]?.[0][1],
      '{"category": "habitat", "limit": 2}',
    );

    // The text summary and toolset stats count instances per kind.
    const text = await runCliIn(
      ['generate', '--tools', instructions, ...model, '--executor', 'schema', '--out', join(dir, 'b.json')],
      dir,
      90_000,
    );
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^kinds: single 1, multi-step 1, parallel 1, irrelevance 1, missing-info 1, multi-turn 1$/m,
    );
    const stats = await runCliIn(['toolset', 'stats', corpus, '--json'], dir, 60_000);
    assert.equal(stats.code, 0, stats.stderr);
    const figures = JSON.parse(stats.stdout) as {
      instructionsPerKind: Record<string, number>;
      instancesPerKind: Record<string, number>;
    };
    assert.deepEqual(figures.instancesPerKind, Object.fromEntries(ALL.split(',').map((k) => [k, 1])));
    assert.deepEqual(figures.instructionsPerKind, figures.instancesPerKind);
    const statsText = await runCliIn(['toolset', 'stats', corpus], dir, 60_000);
    assert.match(statsText.stdout, /instances per kind:\n {2}single +1/);
    // The journal holds the kinds too (the engine's corpus reader sees them).
    assert.match(readFileSync(`${corpus}.log.jsonl`, 'utf8'), /"kind":"irrelevance"/);

    // verify finds every kind's expectation met (other stages may judge the scripted answers).
    const verified = join(dir, 'verified.json');
    const check = await runCliIn(['verify', corpus, '--out', verified, '--json'], dir, 90_000);
    assert.ok(check.code === 0 || check.code === 1, check.stderr);
    const [checked] = await readToolAlpacaFile(verified);
    assert.equal(checked?.Instances?.length, 6);
    assert.ok(checked?.Instances?.every((instance) => instance.verification !== undefined));
    const kindCodes = /^(single|multi-step|parallel|irrelevance|missing-info|multi-turn)-|^unknown-kind$/;
    for (const instance of checked?.Instances ?? []) {
      const reasons = (instance.verification as { reasons?: { code: string }[] } | undefined)?.reasons ?? [];
      assert.deepEqual(
        reasons.filter((r) => kindCodes.test(r.code)),
        [],
        `${String(instance.kind)}: ${JSON.stringify(reasons)}`,
      );
    }
  });

  test('a bad --kinds is one line and exit 2, nothing written', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out.json');
    const result = await runCliIn(
      [
        'instructions',
        '--tools',
        sharedData('toolalpaca/eval_simulated.json'),
        ...model,
        '--kinds',
        'single,sarcasm',
        '--out',
        out,
      ],
      dir,
      60_000,
    );
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /--kinds: unknown kind "sarcasm"/);
    assert.equal(server.chatRequests().filter((b) => promptText(b).includes('sarcasm')).length, 0);
  });
});
