/**
 * Each instance kind generated against the fake server through the built CLI (`instructions --kinds`,
 * `generate`), then verified: an assistant that meets each kind's expectation passes, one that does not
 * (calls a tool for an irrelevant request, makes one call for a parallel request, invents the missing
 * argument instead of asking, ...) fails with the kind's reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import type { Verification } from '../../src/verify/reasons.js';
import type { VerificationSummary } from '../../src/verify/verify-run.js';
import { runCliIn } from '../helpers/cli-process.js';
import {
  promptText,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeReply,
} from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const KINDS = ['single', 'multi-step', 'parallel', 'irrelevance', 'missing-info', 'multi-turn'];

interface KindWorld {
  item: unknown;
  /** The calls of an assistant that meets the kind's expectation, and of one that does not. */
  good: [string, string][];
  bad: [string, string][];
  followUp?: [string, string][];
  /** The reason verification gives the bad assistant's instance. */
  reason?: string;
}

const WORLD: Record<string, KindWorld> = {
  single: {
    item: 'Show me one random axolotl picture.',
    good: [['getRandomAxolotlImage', '{}']],
    bad: [],
    reason: 'single-no-call',
  },
  'multi-step': {
    item: 'Find a large wild axolotl picture, then tell me about the habitat of that axolotl.',
    good: [
      ['searchAxolotlImages', '{"color": "wild", "size": "large"}'],
      ['getAxolotlFacts', '{"category": "habitat", "limit": 2}'],
    ],
    bad: [['searchAxolotlImages', '{"color": "wild", "size": "large"}']],
    reason: 'multi-step-single-call',
  },
  parallel: {
    item: 'Get me pictures of both albino and leucistic axolotls.',
    good: [
      ['searchAxolotlImages', '{"color": "albino"}'],
      ['searchAxolotlImages', '{"color": "leucistic"}'],
    ],
    bad: [['searchAxolotlImages', '{"color": "albino"}']],
    reason: 'parallel-single-call',
  },
  irrelevance: {
    item: 'Book me a flight to Mexico City next Friday.',
    good: [],
    bad: [['getRandomAxolotlImage', '{}']],
    reason: 'irrelevance-called-tool',
  },
  'missing-info': {
    item: {
      request: 'Find axolotl pictures in my favourite colour.',
      function: 'searchAxolotlImages',
      argument: 'color',
      value: 'leucistic',
    },
    good: [
      ['getDetails', '{"Question": "Which colour would you like?"}'],
      ['searchAxolotlImages', '{"color": "leucistic"}'],
    ],
    bad: [['searchAxolotlImages', '{"color": "albino"}']],
    reason: 'missing-info-invented',
  },
  'multi-turn': {
    item: { request: 'Tell me two facts about axolotl habits.', followUp: 'And what about their habitat?' },
    good: [['getAxolotlFacts', '{"category": "habits", "limit": 2}']],
    bad: [['getAxolotlFacts', '{"category": "habits", "limit": 2}']],
    followUp: [['getAxolotlFacts', '{"category": "habitat", "limit": 2}']],
  },
};

function requestOf(item: unknown): string {
  return typeof item === 'string' ? item : (item as { request: string }).request;
}

/** The scripted world: instruction generation, the user agent, and a good or a bad assistant. */
function responder(behaviour: 'good' | 'bad') {
  return (body: Parameters<Parameters<FakeOpenAI['setDefault']>[0]>[0]): FakeReply => {
    const text = promptText(body);
    const kind = /of the kind "([a-z-]+)"/.exec(text)?.[1];
    if (kind !== undefined) return { text: JSON.stringify({ instructions: [WORLD[kind]?.item] }) };
    if (text.includes('The assistant now asks')) return { text: 'leucistic, please.' };
    const question = text.split('Question:').pop() ?? '';
    const world = Object.values(WORLD).find((w) => question.includes(requestOf(w.item)));
    if (world === undefined) return { text: ' Nothing to do.\nFinal Answer: OK.' };
    const followUp = question.includes('(The user now asks)');
    const calls = followUp ? (world.followUp ?? []) : world[behaviour];
    const done = question.split('\nObservation:').length - 1;
    const call = calls[done];
    if (call === undefined) {
      const declined = calls.length === 0 && world.good.length === 0;
      return {
        text: ` I have what I need.\nFinal Answer: ${declined ? 'I cannot do that with my tools.' : `Here is answer ${followUp ? 'two' : 'one'}.`}`,
      };
    }
    return { text: ` Next step.\nAction: ${call[0]}\nAction Input: ${call[1]}` };
  };
}

type Verified = Instance & { verification?: Verification };

describe('instance kinds generated and verified through the CLI', () => {
  let server: FakeOpenAI;
  let model: string[];

  before(async () => {
    server = await startFakeOpenAI();
    model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
  });
  after(async () => {
    await server.close();
  });

  test("each kind's expectation: met, the instance passes; missed, it fails with the kind's reason", async () => {
    const dir = makeTempDir('toolalpaca-cli-verify-kinds-');
    const tools = join(dir, 'tools.json');
    const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
    const axolotl = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('no Axolotl');
    const { Golden_Answers: _golden, ...head } = axolotl;
    writeFileSync(tools, JSON.stringify([{ ...head, Instructions: [] }]));
    server.setDefault(responder('good'));
    const instructions = join(dir, 'instructions.json');
    const made = await runCliIn(
      [
        'instructions',
        '--tools',
        tools,
        ...model,
        '--kinds',
        KINDS.join(','),
        '--per-tool',
        '6',
        '--out',
        instructions,
      ],
      dir,
      90_000,
    );
    assert.equal(made.code, 0, made.stderr);

    for (const behaviour of ['good', 'bad'] as const) {
      server.setDefault(responder(behaviour));
      const corpus = join(dir, `${behaviour}.json`);
      const generated = await runCliIn(
        [
          'generate',
          '--tools',
          instructions,
          ...model,
          '--executor',
          'schema',
          '--out',
          corpus,
          '--verify',
          '--json',
        ],
        dir,
        90_000,
      );
      assert.equal(generated.code, 0, generated.stderr);
      const summary = JSON.parse(generated.stdout) as { verification: VerificationSummary };
      const byKind = summary.verification.byKind;
      const instances =
        (JSON.parse(readFileSync(corpus, 'utf8')) as { Instances: Verified[] }[])[0]?.Instances ?? [];
      assert.deepEqual(
        instances.map((i) => i.kind),
        KINDS,
      );
      for (const instance of instances) {
        const kind = instance.kind as string;
        const verification = instance.verification;
        const expected = behaviour === 'good' || WORLD[kind]?.reason === undefined;
        assert.equal(verification?.passed, expected, `${behaviour} ${kind}: ${JSON.stringify(verification)}`);
        assert.equal(byKind[kind]?.passed, expected ? 1 : 0, kind);
        if (!expected) {
          assert.equal(verification?.stage, 'format', kind);
          assert.ok(
            verification?.reasons.some((r) => r.code === WORLD[kind]?.reason),
            `${kind}: ${JSON.stringify(verification?.reasons)}`,
          );
        }
      }
    }
  });
});
