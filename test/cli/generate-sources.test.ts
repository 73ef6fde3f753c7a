/**
 * Observation sources through the compiled CLI: `generate --executor chain` against a local stand-in of
 * the Axolotl API (searches answer, facts are down with 503) and the fake OpenAI server (assistant and
 * simulator). The corpus and the journal record `observation_sources` parallel to the steps (`real`,
 * then `simulated` for the call that fell back); `verify` keeps the list; `export` leaves it out of the
 * trained text; the viewer's trajectory shows each step's recorded source.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstanceSchema } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { instanceTrajectory } from '../../src/view/trajectory.js';
import { startAxolotlApi, type AxolotlApi } from '../helpers/axolotl-api.js';
import { runCliIn } from '../helpers/cli-process.js';
import { promptText, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const INSTRUCTION = 'Find albino axolotl pictures and tell me where axolotls live.';

describe('generate with a chain executor records each observation source', () => {
  let server: FakeOpenAI;
  let api: AxolotlApi;

  before(async () => {
    server = await startFakeOpenAI();
    server.setDefault((body) => {
      const text = promptText(body);
      if (text.includes('You stand in for a web API'))
        return { text: 'Status Code: 200\nResponse: [{"fact": "They live in Lake Xochimilco."}]' };
      const question = text.split('Question:').pop() ?? '';
      const done = question.split('\nObservation:').length - 1;
      if (done === 0)
        return { text: ' Search.\nAction: searchAxolotlImages\nAction Input: {"color": "albino"}' };
      if (done === 1)
        return { text: ' Facts.\nAction: getAxolotlFacts\nAction Input: {"category": "habitat"}' };
      return {
        text: ' Done.\nFinal Answer: Albino axolotls: https://example.org/a.png; they live in Lake Xochimilco.',
      };
    });
    api = await startAxolotlApi();
  });
  after(async () => {
    await server.close();
    await api.close();
  });

  test('real, then simulated for the call that fell back; kept by verify, left out by export', async () => {
    const dir = makeTempDir();
    const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
    const axolotl = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('no Axolotl');
    const tools = join(dir, 'tools.json');
    // Without the evaluation set's standard answers, which are for its own instructions.
    const { Golden_Answers: _answers, ...tool } = axolotl;
    writeFileSync(tools, JSON.stringify([{ ...tool, Instructions: [INSTRUCTION] }]));
    const corpus = join(dir, 'corpus.json');
    const model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
    const generated = await runCliIn(
      [
        'generate',
        '--tools',
        tools,
        ...model,
        '--executor',
        'chain',
        '--api-base-url',
        api.url,
        '--allow-private',
        '--out',
        corpus,
        '--json',
      ],
      dir,
      90_000,
    );
    assert.equal(generated.code, 0, generated.stderr);
    assert.deepEqual(
      api.hits.map((url) => url.split('?')[0]),
      ['/search', '/facts'],
    );

    const [record] = await readToolAlpacaFile(corpus);
    const instance = InstanceSchema.parse(record?.Instances?.[0]);
    assert.deepEqual(
      instance.intermediate_steps?.map(([[action]]) => action),
      ['searchAxolotlImages', 'getAxolotlFacts'],
    );
    assert.deepEqual(instance.observation_sources, ['real', 'simulated']);
    assert.match(instance.intermediate_steps?.[1]?.[1] ?? '', /Lake Xochimilco/);
    // The journal holds the same list (a resumed run and `export` of the journal read it from there).
    const journal = readFileSync(`${corpus}.log.jsonl`, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"type":"task"'))
      .map((line) => JSON.parse(line) as { output: { instance: { observation_sources?: unknown } } });
    assert.deepEqual(journal[0]?.output.instance.observation_sources, ['real', 'simulated']);

    // The viewer shows the recorded source of each step (a chain names no single source).
    const view = instanceTrajectory(instance as Record<string, unknown>);
    assert.deepEqual(
      view.steps.map((step) => step.source),
      ['real', 'simulated'],
    );

    // verify keeps the list beside its verdict.
    const verified = join(dir, 'verified.json');
    const checked = await runCliIn(['verify', corpus, '--out', verified, '--json'], dir, 90_000);
    assert.equal(checked.code, 0, checked.stderr);
    const [after] = await readToolAlpacaFile(verified);
    const kept = after?.Instances?.[0] as Record<string, unknown> | undefined;
    assert.deepEqual(kept?.observation_sources, ['real', 'simulated']);
    assert.equal(
      (kept?.verification as { passed?: boolean } | undefined)?.passed,
      true,
      JSON.stringify(kept?.verification),
    );

    // Exports to trainers train on the conversation only: the list is not in any layout's text.
    for (const format of ['openai', 'sharegpt', 'toolalpaca']) {
      const out = join(dir, `export-${format}`);
      const exported = await runCliIn(
        ['export', '--data', verified, '--format', format, '--val-ratio', '0', '--out', out],
        dir,
        90_000,
      );
      assert.equal(exported.code, 0, exported.stderr);
      const train =
        readdirSync(out).find((name) => name.startsWith('train.')) ?? assert.fail('no train file');
      const text = readFileSync(join(out, train), 'utf8');
      assert.match(text, /Lake Xochimilco/, format);
      assert.doesNotMatch(text, /observation_sources|"simulated"|"real"/, format);
    }
  });
});
