/**
 * What an export keeps and what it writes around the data: ToolAlpaca's dataset filters, --only-verified,
 * journals as input, Hugging Face card metadata, paths relative to the export folder, and nothing left
 * behind when an export fails.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { Instance, ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { runExport } from '../../src/export/export.js';
import { toolNoteKey } from '../../src/formats/corpus-stream.js';
import { JOURNAL_VERSION } from '../../src/run/index.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');

let tmp: string;
let frankfurter: ToolAlpacaRecord;
before(async () => {
  tmp = makeTempDir('toolalpaca-export-stream-');
  const records = await readToolAlpacaFile(FIXTURE);
  frankfurter = records.find((r) => r.Name === 'Frankfurter') as ToolAlpacaRecord;
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function step(action: string, n: number): [string[], string] {
  return [
    [action, '{"from": "USD"}', `Thought: step ${n}\nAction: ${action}\nAction Input: {"from": "USD"}`],
    `Status Code: 200. Response: {"n": ${n}}`,
  ];
}

function instance(input: string, actions: string[], extra: Record<string, unknown> = {}): Instance {
  return {
    input,
    output: `answer to ${input}`,
    'Final Thought': 'done',
    intermediate_steps: actions.map((a, i) => step(a, i)),
    ...extra,
  };
}

/** A corpus of one tool (Frankfurter's documentation) with the given instances. */
async function corpusWith(name: string, instances: Instance[]): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, JSON.stringify([{ ...frankfurter, Instances: instances }], null, 4));
  return path;
}

async function lines(path: string): Promise<unknown[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
}

describe("ToolAlpaca's dataset filters", () => {
  const instances = [
    instance('kept one step', ['getLatestRates']),
    instance('kept five steps', [
      'getLatestRates',
      'getHistoricalRates',
      'getLatestRates',
      'getLatestRates',
      'getLatestRates',
    ]),
    instance('no step', []),
    instance(
      'six steps',
      Array.from({ length: 6 }, () => 'getLatestRates'),
    ),
    instance('only getDetails', ['getDetails', 'getDetails']),
    instance('getDetails then a call', ['getDetails', 'getLatestRates']),
    instance('irrelevant request', [], { kind: 'irrelevance' }),
  ];

  test('applied by default: 0 steps, more than 5 steps and only getDetails are dropped and counted', async () => {
    const data = await corpusWith('filters.json', instances);
    const result = await runExport({
      data,
      format: 'sharegpt',
      out: join(tmp, 'filtered'),
      validationRatio: 0,
    });
    const c = result.manifest.counts;
    assert.deepEqual([c.zeroSteps, c.overFiveSteps, c.onlyGetDetails], [1, 1, 1]);
    assert.equal(c.train, 4);
    assert.equal(result.manifest.toolalpacaFilters, true);
    const kept = (await lines(join(result.dir, 'train.jsonl'))) as { conversations: { value: string }[] }[];
    const questions = kept.map((r) => r.conversations[1]?.value);
    assert.deepEqual(questions, [
      'kept one step',
      'kept five steps',
      'getDetails then a call',
      'irrelevant request',
    ]);
    const card = await readFile(join(result.dir, 'README.md'), 'utf8');
    assert.match(
      card,
      /dropped 1 instances with no step, 1 with more than five steps and 1 whose only action was getDetails/,
    );
    assert.match(card, /## Instance kinds[\s\S]*\| irrelevance \| 1 \|/);
  });

  test('toolalpacaFilters: false keeps them', async () => {
    const data = await corpusWith('filters-off.json', instances);
    const result = await runExport({
      data,
      format: 'sharegpt',
      out: join(tmp, 'unfiltered'),
      validationRatio: 0,
      toolalpacaFilters: false,
    });
    assert.equal(result.manifest.counts.train, 7);
    assert.equal(result.manifest.toolalpacaFilters, false);
    assert.match(await readFile(join(result.dir, 'README.md'), 'utf8'), /filters were off/);
  });
});

describe('--only-verified', () => {
  test('keeps exactly the instances whose verification passed', async () => {
    const data = await corpusWith('verified.json', [
      instance('passed', ['getLatestRates'], {
        verification: { passed: true, stage: 'semantic', reasons: [] },
      }),
      instance('failed format', ['getLatestRates'], {
        verification: { passed: false, stage: 'format', reasons: ['unknown function'] },
      }),
      instance('never checked', ['getLatestRates']),
      instance('old flag only', ['getLatestRates'], { verified: true }),
      instance('passed too', ['getHistoricalRates'], {
        verification: { passed: true, stage: 'semantic', reasons: [] },
      }),
    ]);
    const result = await runExport({
      data,
      format: 'openai',
      out: join(tmp, 'only-verified'),
      validationRatio: 0,
      onlyVerified: true,
    });
    const c = result.manifest.counts;
    assert.equal(c.train, 2);
    assert.equal(c.unverified, 3);
    assert.equal(c.neverVerified, 2);
    const kept = (await lines(join(result.dir, 'train.jsonl'))) as { messages: { content: string }[] }[];
    assert.deepEqual(
      kept.map((r) => r.messages[1]?.content),
      ['passed', 'passed too'],
    );
    // Without the flag every completed instance is kept.
    const all = await runExport({ data, format: 'openai', out: join(tmp, 'all'), validationRatio: 0 });
    assert.equal(all.manifest.counts.train, 5);
  });

  test('a corpus nobody verified: one line saying so, and nothing written', async () => {
    const data = await corpusWith('unverified.json', [instance('q', ['getLatestRates'])]);
    const out = join(tmp, 'none-verified');
    await assert.rejects(
      runExport({ data, format: 'sharegpt', out, validationRatio: 0, onlyVerified: true }),
      (error: Error) =>
        /no training examples left .*1 unverified \(no instance carries verification\.passed\)/.test(
          error.message,
        ) && !error.message.includes('\n'),
    );
    assert.deepEqual(await readdir(out), []);
  });
});

describe('generation journals as corpora', () => {
  /** A generation journal (as the run engine writes it) of these records; tool notes optional. */
  async function journalOf(records: ToolAlpacaRecord[], withToolNotes: boolean): Promise<string> {
    const header = {
      type: 'header',
      kind: 'generate',
      version: JOURNAL_VERSION,
      parameters: {
        model: 'm',
        executor: 'schema',
        prompt: 'train_v2',
        mode: 'react',
        toolsHash: 'sha256:x',
      },
      startedAt: '2025-01-01T00:00:00.000Z',
    };
    const out: unknown[] = [header];
    for (const record of records) {
      const { Instances: instances, ...rest } = record;
      if (withToolNotes) out.push({ type: 'note', key: toolNoteKey(record.Name), value: rest });
      (instances ?? []).forEach((inst, index) => {
        const { status, failure, ...plain } = inst as Record<string, unknown>;
        const failed = status === 'failed';
        out.push({
          type: 'task',
          id: `${record.Name}#${index}`,
          status: failed ? 'failed' : 'completed',
          ...(failed ? { failure } : {}),
          output: {
            tool: record.Name,
            index,
            steps: 1,
            usage: { promptTokens: 0, completionTokens: 0, calls: 0 },
            instance: plain,
          },
          finishedAt: '2025-01-01T00:00:01.000Z',
        });
      });
    }
    return out.map((v) => JSON.stringify(v)).join('\n') + '\n';
  }

  test('a journal exports the same examples as the JSON the run wrote', async () => {
    const records = await readToolAlpacaFile(FIXTURE);
    const journal = join(tmp, 'run.json.log.jsonl');
    await writeFile(journal, await journalOf(records, true));
    const fromJson = await runExport({
      data: FIXTURE,
      format: 'sharegpt',
      out: join(tmp, 'from-json'),
      validationRatio: 0,
    });
    const fromJournal = await runExport({
      data: journal,
      format: 'sharegpt',
      out: join(tmp, 'from-journal'),
      validationRatio: 0,
    });
    assert.deepEqual(fromJournal.manifest.counts, fromJson.manifest.counts);
    assert.equal(fromJournal.manifest.source, 'toolalpaca');
    assert.deepEqual(
      await lines(join(fromJournal.dir, 'train.jsonl')),
      await lines(join(fromJson.dir, 'train.jsonl')),
    );
  });

  test('a journal without tool notes takes its tools from the run output beside it', async () => {
    const records = await readToolAlpacaFile(FIXTURE);
    const output = join(tmp, 'old-run.json');
    await writeFile(output, JSON.stringify(records, null, 4));
    await writeFile(`${output}.log.jsonl`, await journalOf(records, false));
    const result = await runExport({
      data: `${output}.log.jsonl`,
      format: 'sharegpt',
      out: join(tmp, 'old-journal'),
      validationRatio: 0,
    });
    assert.equal(result.manifest.counts.train, 8);
  });
});

describe('what users load', () => {
  test('the card has Hugging Face metadata whose configs name each split file; paths are relative', async () => {
    const out = join(tmp, 'card');
    const result = await runExport({
      data: FIXTURE,
      format: 'sharegpt',
      out,
      validationTools: ['Frankfurter'],
    });
    const card = await readFile(join(out, 'README.md'), 'utf8');
    const match = /^---\n([\s\S]*?)\n---\n/.exec(card);
    assert.ok(match, 'YAML front matter');
    const meta = parse(match[1] ?? '') as {
      license: string;
      task_categories: string[];
      size_categories: string[];
      configs: { config_name: string; data_files: { split: string; path: string }[] }[];
    };
    assert.equal(meta.license, 'other');
    assert.deepEqual(meta.task_categories, ['text-generation']);
    assert.deepEqual(meta.size_categories, ['n<1K']);
    assert.deepEqual(meta.configs, [
      {
        config_name: 'default',
        data_files: [
          { split: 'train', path: 'train.jsonl' },
          { split: 'validation', path: 'validation.jsonl' },
        ],
      },
    ]);
    for (const { path } of meta.configs[0]?.data_files ?? []) {
      for (const record of await lines(join(out, path))) assert.equal(typeof record, 'object');
    }
    // No absolute local path in the manifest or the card.
    for (const text of [card, await readFile(join(out, 'export.json'), 'utf8')]) {
      assert.ok(!text.includes(tmp), 'an absolute path of this machine');
    }
    assert.ok(!isAbsolute(result.manifest.corpus));
    assert.equal(resolve(out, result.manifest.corpus), FIXTURE);
  });

  test('--license sets the licence; ToolBench corpora default to apache-2.0', async () => {
    const out = join(tmp, 'licence');
    await runExport({ data: FIXTURE, format: 'openai', out, validationRatio: 0, license: 'cc-by-4.0' });
    assert.match(await readFile(join(out, 'README.md'), 'utf8'), /^license: cc-by-4\.0$/m);
  });

  test('a failed export leaves no file behind', async () => {
    const out = join(tmp, 'failed');
    const data = await corpusWith('all-failed.json', [instance('q', [], { status: 'failed' })]);
    await assert.rejects(
      runExport({ data, format: 'toolbench', out, validationRatio: 0 }),
      /no training examples left/,
    );
    assert.deepEqual(await readdir(out), []);
  });
});
