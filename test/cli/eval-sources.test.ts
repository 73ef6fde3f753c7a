/**
 * Per-step observation sources in `eval run` result files, through the compiled CLI: a chain executor
 * (real, then simulated) against a local stand-in of the Axolotl API (searches answer, facts are down
 * with 503) and the fake OpenAI server (assistant, simulator and judge). RUN.json's steps carry the
 * member that answered each (`real`, `simulated`, `null` for an unknown action); `eval judge` keeps them;
 * a run file without sources reads and judges the same, and the judge is sent byte-identical prompts for
 * both; the viewer's run source shows each step's source.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JudgedFileSchema, RunFileSchema, type RunFile } from '../../src/core/run.js';
import { judgePrompt } from '../../src/eval/judge/prompt.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { RunSource } from '../../src/view/sources/run.js';
import type { SourceHost } from '../../src/view/sources/source.js';
import { startAxolotlApi, type AxolotlApi } from '../helpers/axolotl-api.js';
import { runCliIn } from '../helpers/cli-process.js';
import { promptText, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const INSTRUCTION = 'Find albino axolotl pictures and tell me where axolotls live.';
const GOLDEN = [
  { Action: 'searchAxolotlImages', Action_Input: '{"color": "albino"}' },
  { Action: 'getAxolotlFacts', Action_Input: '{"category": "habitat"}' },
];
const JUDGE_REPLY =
  'The solution calls both functions.\n## Results\nProcess Correctness: Yes\nFinal Response Correctness: Yes';

/** The run file with every step's `source` taken out (as an older run, or an imported one, has it). */
function withoutSources(run: RunFile): RunFile {
  return {
    ...run,
    items: run.items.map((item) => ({
      ...item,
      steps: item.steps.map(({ source: _source, ...step }) => step),
    })),
  };
}

const host: SourceHost = {
  toolDoc: async () => undefined,
  findItem: () => undefined,
  toolevalOf: () => undefined,
  changed: () => undefined,
};

describe('eval run records each step’s observation source', () => {
  let server: FakeOpenAI;
  let api: AxolotlApi;

  before(async () => {
    server = await startFakeOpenAI();
    server.setDefault((body) => {
      const text = promptText(body);
      if (text.includes("## AI Assistant's Solution")) return { text: JUDGE_REPLY };
      if (text.includes('You stand in for a web API'))
        return { text: 'Status Code: 200\nResponse: [{"fact": "They live in Lake Xochimilco."}]' };
      // ToolAlpaca's test prompt (test_v1, eval run's default): `ASSISTANT Action:` … `ASSISTANT Response:`.
      const tail = text.slice(text.lastIndexOf('USER: '));
      const done = tail.split('ASSISTANT Observation:').length - 1;
      const act = (thought: string, action: string, input: string): { text: string } => ({
        text: ` ${thought}\nASSISTANT Action: ${action}\nASSISTANT Action Input: ${input}`,
      });
      if (done === 0) return act('Search.', 'searchAxolotlImages', '{"color": "albino"}');
      if (done === 1) return act('Facts.', 'getAxolotlFacts', '{"category": "habitat"}');
      if (done === 2) return act('Maybe more.', 'getAxolotlMood', '{}');
      return {
        text: ' Done.\nASSISTANT Response: Albino axolotls: https://example.org/a.png; they live in Lake Xochimilco.',
      };
    });
    api = await startAxolotlApi();
  });
  after(async () => {
    await server.close();
    await api.close();
  });

  test('RUN.json steps carry real / simulated / null; judged alike with or without them; the viewer shows them', async () => {
    const dir = makeTempDir();
    const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
    const axolotl = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('no Axolotl');
    const tools = join(dir, 'tools.json');
    writeFileSync(
      tools,
      JSON.stringify([{ ...axolotl, Instructions: [INSTRUCTION], Golden_Answers: [GOLDEN] }]),
    );
    const model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
    const runPath = join(dir, 'run.json');
    const ran = await runCliIn(
      [
        'eval',
        'run',
        '--tools',
        tools,
        ...model,
        '--executor',
        'chain',
        '--api-base-url',
        api.url,
        '--allow-private',
        '--out',
        runPath,
        '--json',
      ],
      dir,
      90_000,
    );
    assert.equal(ran.code, 0, ran.stderr);
    const run = RunFileSchema.parse(JSON.parse(readFileSync(runPath, 'utf8')));
    const [item] = run.items;
    assert.equal(item?.status, 'completed', JSON.stringify(item?.failure));
    assert.deepEqual(
      item?.steps.map((step) => [step.action, step.source]),
      [
        ['searchAxolotlImages', 'real'],
        ['getAxolotlFacts', 'simulated'],
        ['getAxolotlMood', null],
      ],
    );

    // The same run without sources (an older run file) reads and judges.
    const bare = withoutSources(run);
    assert.ok(bare.items[0]?.steps.every((step) => !('source' in step)));
    const barePath = join(dir, 'run-bare.json');
    writeFileSync(barePath, `${JSON.stringify(bare, null, 2)}\n`);
    const judge = async (input: string, out: string): Promise<string[]> => {
      server.reset();
      server.setDefault(() => ({ text: JUDGE_REPLY }));
      const judged = await runCliIn(
        ['eval', 'judge', input, '--judge-model', 'openai:fake-model', '--base-url', server.baseUrl].concat([
          '--no-cache',
          '--out',
          out,
          '--json',
        ]),
        dir,
        90_000,
      );
      assert.equal(judged.code, 0, judged.stderr);
      return server.chatRequests().map(promptText);
    };
    const sourcedPrompts = await judge(runPath, join(dir, 'judged.json'));
    const barePrompts = await judge(barePath, join(dir, 'judged-bare.json'));
    // The judge sees the same text: sources are never part of its prompt.
    assert.equal(sourcedPrompts.length, 1);
    assert.deepEqual(barePrompts, sourcedPrompts);
    const solution = (sourcedPrompts[0] ?? '').split("## AI Assistant's Solution")[1] ?? '';
    assert.match(solution, /Lake Xochimilco/);
    assert.doesNotMatch(solution, /\b(real|simulated|source)\b/);
    assert.equal(judgePrompt(item ?? assert.fail()), judgePrompt(bare.items[0] ?? assert.fail()));

    const judged = JudgedFileSchema.parse(JSON.parse(readFileSync(join(dir, 'judged.json'), 'utf8')));
    const judgedBare = JudgedFileSchema.parse(
      JSON.parse(readFileSync(join(dir, 'judged-bare.json'), 'utf8')),
    );
    assert.deepEqual(
      judged.items[0]?.steps.map((step) => step.source),
      ['real', 'simulated', null],
    );
    assert.ok(judgedBare.items[0]?.steps.every((step) => step.source === undefined));
    assert.deepEqual(judgedBare.statistics, judged.statistics);
    assert.equal(judged.statistics.percentages.overall, 100);

    // The viewer: each step's recorded source (none for the unknown action), and the source facet.
    for (const [path, kind] of [
      [runPath, 'run'],
      [join(dir, 'judged.json'), 'judged'],
    ] as const) {
      const source = new RunSource(1, path, path, host, kind);
      await source.open(new AbortController().signal);
      assert.equal(source.error, undefined);
      const detail = await source.detail(0);
      assert.deepEqual(
        detail.trajectory?.steps.map((step) => step.source),
        ['real', 'simulated', undefined],
        kind,
      );
      assert.deepEqual([...(source.index.items[0]?.facets.source ?? [])].sort(), ['real', 'simulated']);
    }
  });
});
