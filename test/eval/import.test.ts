import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { JudgedFileSchema, RunFileSchema } from '../../src/core/run.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { parseJudgePrompt } from '../../src/eval/import/judge-prompt.js';
import { solutionText, standardAnswerText } from '../../src/eval/judge/prompt.js';
import {
  importResults,
  importToolAlpacaEvaluation,
  importToolAlpacaJudged,
  judgedToRun,
  readResultsFile,
} from '../../src/eval/import/toolalpaca.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const JUDGED_PATH = sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json');
type RawEntry = {
  id: number;
  input: { role: string; content: string }[] | string;
  process_correctness?: string;
};
const raw = JSON.parse(readFileSync(JUDGED_PATH, 'utf8')) as Record<string, unknown> & {
  statistics: Record<string, unknown>;
};
/** The judged lists per tool (everything but `statistics`). */
const lists = Object.entries(raw).filter(([tool]) => tool !== 'statistics') as [string, RawEntry[]][];
const evalSet = JSON.parse(
  readFileSync(sharedData('toolalpaca/eval_simulated.json'), 'utf8'),
) as ToolAlpacaRecord[];

function prompt(standard: string, solution: string, instruction = 'Show me 3 facts.'): string {
  return `Given the documentation ...\n\n## Documentation\nfnA: does A\nParameters: {}\n\n## Task Instruction\n${instruction}\n\n## Standard Answer\n${standard}\n\n## AI Assistant's Solution\n${solution}\n\n## Analysis`;
}

describe('judge prompt', () => {
  test('parses a hand-made prompt with multi-line returns and response', () => {
    const parts = parseJudgePrompt(
      prompt(
        '1. Function: getFacts\nParameters: {"limit": 3}\n2. Function: getMore\nParameters: {"id": ${id from getFacts}}\n',
        '1. Function: getFacts\nParameters: {"limit": 3}\nRetruns: Status Code: 200. Response: {\n "a": 1\n}\n2. Final Response: Line one.\nLine two.',
      ),
    );
    assert.equal(parts.instruction, 'Show me 3 facts.');
    assert.equal(parts.documentation, 'fnA: does A\nParameters: {}');
    assert.deepEqual(parts.goldenAnswers, [
      { Action: 'getFacts', Action_Input: '{"limit": 3}' },
      { Action: 'getMore', Action_Input: '{"id": ${id from getFacts}}' },
    ]);
    assert.deepEqual(parts.steps, [
      {
        action: 'getFacts',
        actionInput: '{"limit": 3}',
        observation: 'Status Code: 200. Response: {\n "a": 1\n}',
      },
    ]);
    assert.equal(parts.finalAnswer, 'Line one.\nLine two.');
  });

  test('a text that is not a judge prompt is an error naming the missing section', () => {
    assert.throws(() => parseJudgePrompt('## Documentation\nx\n\n## Task Instruction\ny'), /Standard Answer/);
  });

  test('round trip: every prompt of the shared file re-formats to its own sections', () => {
    let count = 0;
    for (const [tool, entries] of lists) {
      for (const entry of entries) {
        if (typeof entry.input === 'string') continue;
        const content = (entry.input[0] as { content: string }).content;
        const parts = parseJudgePrompt(content);
        const standard = content.slice(
          content.indexOf('## Standard Answer\n') + 19,
          content.indexOf("\n\n## AI Assistant's Solution\n"),
        );
        const solution = content.slice(
          content.indexOf("## AI Assistant's Solution\n") + 27,
          content.lastIndexOf('\n\n## Analysis'),
        );
        assert.equal(standardAnswerText(parts.goldenAnswers), standard, `${tool}#${entry.id} standard`);
        assert.equal(solutionText(parts.steps, parts.finalAnswer), solution, `${tool}#${entry.id} solution`);
        count++;
      }
    }
    assert.equal(count, 99);
  });

  test("the standard answers read back are the evaluation set's Golden_Answers", () => {
    let same = 0;
    for (const [tool, entries] of lists) {
      const record = evalSet.find((r) => r.Name === tool);
      assert.ok(record, tool);
      for (const entry of entries) {
        if (typeof entry.input === 'string') continue;
        const parts = parseJudgePrompt((entry.input[0] as { content: string }).content);
        const golden = record.Golden_Answers?.[entry.id];
        if (JSON.stringify(golden) === JSON.stringify(parts.goldenAnswers)) same++;
      }
    }
    assert.ok(same >= 95, `${same} of 99 standard answers equal to Golden_Answers`);
  });
});

describe('importing ToolAlpaca judged files', () => {
  test("the shared 7-B file becomes a valid judged file with ToolAlpaca's statistics", () => {
    const judged = importToolAlpacaJudged(raw, {
      label: JUDGED_PATH,
      tools: evalSet,
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    assert.equal(JudgedFileSchema.safeParse(judged).success, true);
    assert.equal(judged.items.length, 100);
    assert.equal(judged.run.model, 'judged_ToolAlpaca-7B_simulated');
    assert.equal(judged.run.importedFrom, JUDGED_PATH);
    assert.equal(judged.judge.model, 'gpt-4-0613');
    const { num, error_num, process, response, both } = judged.statistics;
    assert.deepEqual({ num, error_num, process, response, both }, raw.statistics);
    assert.equal(judged.statistics.percentages.procedure, 63);
    // The item ToolAlpaca could not judge (no steps) is filled from the evaluation set.
    const unjudged = judged.items.filter((item) => item.majority === undefined);
    assert.equal(unjudged.length, 1);
    assert.equal(unjudged[0]?.status, 'failed');
    assert.equal(
      unjudged[0]?.instruction,
      evalSet.find((r) => r.Name === unjudged[0]?.tool)?.Instructions?.[unjudged[0]?.index ?? -1],
    );
    const first = judged.items[0];
    assert.equal(first?.tool, 'Axolotl');
    assert.equal(first?.steps[0]?.action, 'getRandomAxolotlImage');
    assert.match(first?.finalAnswer ?? '', /^Here is a random picture of an axolotl/);
    assert.deepEqual(first?.majority, { process: 'Yes', response: 'Yes' });
  });

  test('write, read back and import again: the same judged file; judgedToRun gives the run', async () => {
    const dir = makeTempDir();
    const judged = importToolAlpacaJudged(raw, { label: 'x.json', createdAt: '2024-01-01T00:00:00.000Z' });
    const path = join(dir, 'judged.json');
    writeFileSync(path, JSON.stringify(judged));
    const again = await readResultsFile(path);
    assert.equal(again.kind, 'judged');
    if (again.kind === 'judged') assert.deepEqual(again.judged, judged);
    const run = judgedToRun(judged);
    assert.equal(RunFileSchema.safeParse(run).success, true);
    assert.equal(run.items.length, 100);
    assert.equal('verdicts' in (run.items[0] ?? {}), false);
    const viaPath = await readResultsFile(JUDGED_PATH);
    assert.equal(viaPath.kind, 'judged');
  });

  test('entries without `id` (as in ToolAlpaca13b.json) take their position as the instruction index', () => {
    const dropId = ({ id, ...rest }: RawEntry): Omit<RawEntry, 'id'> => {
      void id;
      return rest;
    };
    const withoutIds = Object.fromEntries(
      Object.entries(raw).map(([tool, value]) => [
        tool,
        tool === 'statistics' ? value : (value as RawEntry[]).map(dropId),
      ]),
    );
    assert.equal(JSON.stringify(withoutIds).includes('"id":'), false);
    const options = { label: 'x.json', tools: evalSet, createdAt: '2024-01-01T00:00:00.000Z' };
    const imported = importResults(withoutIds, options);
    assert.equal(imported.kind, 'judged');
    assert.deepEqual(
      imported.kind === 'judged' ? imported.judged : undefined,
      importToolAlpacaJudged(raw, options),
    );
  });

  test('broken input is an InputError naming the file and item', () => {
    assert.throws(
      () => importToolAlpacaJudged({ statistics: {} }, { label: 'bad.json' }),
      (e: unknown) => e instanceof InputError && /bad\.json/.test(e.message),
    );
    const broken = {
      Axolotl: [{ id: 4, input: [{ role: 'user', content: 'no sections here' }], output: '' }],
    };
    assert.throws(
      () => importToolAlpacaJudged(broken, { label: 'bad.json' }),
      (e: unknown) =>
        e instanceof InputError && /bad\.json: tool "Axolotl" item 4: .*Documentation/.test(e.message),
    );
    assert.throws(() => importResults([1, 2], { label: 'what.json' }), /what\.json: not a run/);
  });
});

describe('importing ToolAlpaca evaluation outputs', () => {
  const record = {
    Name: 'Axolotl',
    NLDocumentation: 'getAxolotlFacts: facts',
    Instructions: ['Three facts about the habitat', 'A random picture', 'Anything'],
    Instances: [
      {
        input: 'Three facts about the habitat',
        output: 'Axolotls live in lakes.',
        'Final Thought': 'I have the facts.',
        intermediate_steps: [
          [
            [
              'getAxolotlFacts',
              '{"category": "habitat", "limit": 3}',
              'Thought: ...\nAction: getAxolotlFacts',
            ],
            'Status Code: 200. Response: []',
          ],
        ],
      },
      {
        input: 'A random picture',
        output: 'Agent stopped due to iteration limit or time limit.',
        intermediate_steps: [],
      },
      { input: 'Anything' },
    ],
  };

  test('records with Instances become a run; golden answers come from the evaluation set when missing', () => {
    const run = importToolAlpacaEvaluation([record], { label: 'out/ToolAlpaca7b.json', tools: evalSet });
    assert.equal(RunFileSchema.safeParse(run).success, true);
    assert.equal(run.meta.model, 'ToolAlpaca7b');
    assert.equal(run.meta.executor, 'imported');
    assert.equal(run.items.length, 3);
    const [done, stopped, empty] = run.items;
    assert.deepEqual(done?.steps, [
      {
        action: 'getAxolotlFacts',
        actionInput: '{"category": "habitat", "limit": 3}',
        observation: 'Status Code: 200. Response: []',
        thought: 'Thought: ...\nAction: getAxolotlFacts',
      },
    ]);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.finalAnswer, 'Axolotls live in lakes.');
    assert.equal(done?.finalThought, 'I have the facts.');
    assert.deepEqual(done?.goldenAnswers, evalSet[0]?.Golden_Answers?.[0]);
    assert.equal(stopped?.status, 'failed');
    assert.equal(stopped?.failure?.reason, 'step_limit');
    assert.equal(empty?.status, 'failed');
    assert.equal(empty?.failure?.reason, 'empty_reply');
    assert.equal(importResults([record]).kind, 'run');
  });

  test("an instance's observation_sources become its steps' source; without them no step has one", () => {
    const step = [['getAxolotlFacts', '{}', 'Action: getAxolotlFacts'], 'Status Code: 200. Response: []'];
    const withSources = {
      ...record,
      Instances: [
        {
          input: 'x',
          output: 'Done.',
          intermediate_steps: [step, [['nope', '{}', ''], 'not a valid action'], step],
          observation_sources: ['real', null, 42],
        },
      ],
    };
    const run = importToolAlpacaEvaluation([withSources], { label: 'corpus.json' });
    const steps = run.items[0]?.steps ?? [];
    assert.equal(steps[0]?.source, 'real');
    assert.equal(steps[1]?.source, null);
    // Not a source: left out rather than invented.
    assert.equal('source' in (steps[2] ?? {}), false);
    const plain = importToolAlpacaEvaluation([record], { label: 'corpus.json' });
    assert.ok(plain.items.every((item) => item.steps.every((s) => !('source' in s))));
    // A judged file's run keeps them.
    const judged = JSON.parse(JSON.stringify(run)) as typeof run;
    const again = judgedToRun({
      kind: 'toolalpaca-judged',
      version: 1,
      run: judged.meta,
      judge: { model: 'deterministic', runs: 1 },
      items: judged.items.map((item) => ({ ...item, verdicts: [] })),
      statistics: {
        num: 0,
        error_num: 0,
        process: { Yes: 0, No: 0, Uncertain: 0 },
        response: { Yes: 0, No: 0, Uncertain: 0 },
        both: 0,
        percentages: { procedure: 0, response: 0, overall: 0 },
      },
    });
    assert.deepEqual(
      again.items[0]?.steps.map((s) => s.source),
      ['real', null, undefined],
    );
  });

  test('a malformed intermediate step is an InputError naming the tool and instance', () => {
    const bad = {
      ...record,
      Instances: [{ input: 'x', output: 'y', intermediate_steps: [['oops', 'obs']] }],
    };
    assert.throws(
      () => importToolAlpacaEvaluation([bad], { label: 'e.json' }),
      (e: unknown) =>
        e instanceof InputError && /e\.json: tool "Axolotl" instance 0: intermediate step 1/.test(e.message),
    );
  });
});
