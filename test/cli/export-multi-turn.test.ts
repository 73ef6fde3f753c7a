/**
 * Every turn of a multi-turn instance in `toolalpaca export`, through the compiled CLI: ToolAlpaca's
 * dataset filters (more than five steps, only getDetails) drop an instance whose follow-up fails one as
 * they drop one whose first turn does; the step limit is per turn; a follow-up without a step is kept
 * (answered from earlier calls) while a first turn without one is dropped as before; the dataset card
 * says that every turn was checked and that token lengths count whole conversations, and a one-turn
 * export's card says nothing of turns.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportManifestSchema } from '../../src/core/sft.js';
import { exampleOfInstance } from '../../src/export/read-toolalpaca.js';
import { toolAlpacaFilterFinding } from '../../src/export/filters.js';
import type { Instance, ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');

type Step = [[string, string, string], string];
const step: Step = [
  ['getLatestRates', '{}', 'Thought: rates\nAction: getLatestRates\nAction Input: {}'],
  'Status Code: 200. Response: {"rates": {"EUR": 0.92}}',
];
const ask: Step = [
  ['getDetails', '{"Question": "Which currency?"}', 'Thought: ask\nAction: getDetails'],
  'Euros.',
];

/** A multi-turn instance: `first` steps, then one follow-up with `second` steps and an answer. */
function multiTurn(input: string, first: Step[], second: Step[]): Instance {
  return {
    input,
    output: 'The euro is at 0.92.',
    intermediate_steps: first,
    kind: 'multi-turn',
    follow_ups: [
      {
        input: `${input} And yesterday?`,
        output: 'It was at 0.91 yesterday.',
        'Final Thought': 'I have it.',
        intermediate_steps: second,
      },
    ],
  };
}

const INSTANCES: Instance[] = [
  { input: 'one turn, one step', output: 'a', intermediate_steps: [step] },
  multiTurn('first turn with no step', [], [step]),
  // A follow-up answered from what the first turn's call returned: kept.
  multiTurn('follow-up with no step', [step], []),
  multiTurn('follow-up with seven steps', [step], Array<Step>(7).fill(step)),
  multiTurn('follow-up that only asks', [step], [ask]),
  multiTurn('two good turns', [step], [step, step]),
  // Eight steps in all, at most five in each turn: ToolAlpaca's limit is per request, so kept.
  multiTurn('four steps in each turn', Array<Step>(4).fill(step), Array<Step>(4).fill(step)),
];

let tmp: string;
let record: ToolAlpacaRecord;
before(async () => {
  tmp = makeTempDir('toolalpaca-export-turns-');
  const records = JSON.parse(await readFile(FIXTURE, 'utf8')) as ToolAlpacaRecord[];
  record = records.find((r) => r.Name === 'Frankfurter') ?? assert.fail('no Frankfurter');
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function exportCorpus(
  name: string,
  instances: Instance[],
  extra: string[] = [],
): Promise<{ stdout: string; card: string; dir: string }> {
  const corpus = join(tmp, `${name}.json`);
  await writeFile(corpus, JSON.stringify([{ ...record, Instances: instances }]));
  const dir = join(tmp, name);
  const result = await runCli(
    ['export', '--data', corpus, '--format', 'sharegpt', '--val-ratio', '0', '--out', dir, ...extra],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  return { stdout: result.stdout, card: await readFile(join(dir, 'README.md'), 'utf8'), dir };
}

describe('export: every turn of a multi-turn instance', () => {
  test('the filters drop an instance whose follow-up fails one; the card says every turn counts', async () => {
    const filtered = await exportCorpus('filtered', INSTANCES);
    assert.match(filtered.stdout, /^sharegpt: 4 train, 0 validation/);
    assert.match(
      filtered.stdout,
      /ToolAlpaca's filters: 1 with 0 steps, 1 with more than 5 steps, 1 with only getDetails/,
    );
    const train = await readFile(join(filtered.dir, 'train.jsonl'), 'utf8');
    const keptInputs = [
      'one turn, one step',
      'follow-up with no step',
      'two good turns',
      'four steps in each',
    ];
    for (const kept of keptInputs) assert.ok(train.includes(kept), kept);
    for (const dropped of ['first turn with no step', 'seven steps', 'only asks'])
      assert.ok(!train.includes(dropped), dropped);
    assert.match(
      filtered.card,
      /Every turn of the 6 multi-turn instances was checked on its own steps: a turn with more than five steps or only getDetails drops the instance \(a follow-up may have no step, answered from what earlier calls returned\)\./,
    );
    assert.match(
      filtered.card,
      /An example's length is its whole conversation: every turn of the 3 multi-turn examples is counted\./,
    );

    const kept = await exportCorpus('kept', INSTANCES, ['--no-toolalpaca-filters']);
    assert.match(kept.stdout, /^sharegpt: 7 train, 0 validation/);
    assert.match(kept.card, /ToolAlpaca's dataset filters were off/);
    assert.doesNotMatch(kept.card, /Every turn of the/);
  });

  test("token statistics count the follow-ups' text; a one-turn export's card says nothing of turns", async () => {
    const good = INSTANCES[5] as Instance;
    const { follow_ups: _turns, kind: _kind, ...firstOnly } = good;
    const both = await exportCorpus('both-turns', [good], ['--json']);
    const first = await exportCorpus('first-turn', [firstOnly], ['--json']);
    const length = (stdout: string): number =>
      ExportManifestSchema.parse(JSON.parse(stdout)).stats['sharegpt/train']?.max ?? 0;
    assert.ok(length(both.stdout) > length(first.stdout), `${length(both.stdout)} > ${length(first.stdout)}`);
    assert.doesNotMatch(first.card, /turn of the|multi-turn/);
  });

  test('toolAlpacaFilterFinding names the turn; a one-turn example is judged as before', () => {
    const finding = (instance: Instance): ReturnType<typeof toolAlpacaFilterFinding> =>
      toolAlpacaFilterFinding(exampleOfInstance(record, instance, 0));
    assert.deepEqual(finding(INSTANCES[0] as Instance), undefined);
    assert.deepEqual(finding(INSTANCES[1] as Instance), { reason: 'zeroSteps', turn: 0 });
    assert.equal(finding(INSTANCES[2] as Instance), undefined);
    assert.deepEqual(finding(INSTANCES[3] as Instance), { reason: 'overFiveSteps', turn: 1 });
    assert.deepEqual(finding(INSTANCES[4] as Instance), { reason: 'onlyGetDetails', turn: 1 });
    assert.equal(finding(INSTANCES[6] as Instance), undefined);
    // The filters' order decides between turns: no step in the first beats seven in the second.
    assert.deepEqual(finding(multiTurn('both bad', [], Array<Step>(7).fill(step))), {
      reason: 'zeroSteps',
      turn: 0,
    });
    assert.deepEqual(finding({ input: 'none', output: 'a', intermediate_steps: [] }), {
      reason: 'zeroSteps',
      turn: 0,
    });
    assert.equal(
      finding({ input: 'no tool fits', output: 'I cannot.', intermediate_steps: [], kind: 'irrelevance' }),
      undefined,
    );
  });
});
