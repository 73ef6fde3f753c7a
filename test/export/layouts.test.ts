import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import {
  DatasetInfoEntrySchema,
  ExportManifestSchema,
  LlamaFactoryRecordSchema,
  OpenAiChatRecordSchema,
  SFT_LAYOUT_NAMES,
  ShareGptRecordSchema,
  ToolAlpacaSftRecordSchema,
  ToolBenchRecordSchema,
  type SftLayoutName,
} from '../../src/core/sft.js';
import { runExport, type ExportResult } from '../../src/export/export.js';
import { readCorpus } from '../../src/export/read-corpus.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';
import { rm } from 'node:fs/promises';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');
const TOOLBENCH = sharedData('toolbench_example/answer');

const SCHEMAS: Record<SftLayoutName, z.ZodType> = {
  toolalpaca: ToolAlpacaSftRecordSchema,
  sharegpt: ShareGptRecordSchema,
  openai: OpenAiChatRecordSchema,
  toolbench: ToolBenchRecordSchema,
  llamafactory: LlamaFactoryRecordSchema,
};

async function records(result: ExportResult, file: string): Promise<unknown[]> {
  const text = await readFile(join(result.dir, file), 'utf8');
  return file.endsWith('.jsonl')
    ? text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown)
    : (JSON.parse(text) as unknown[]);
}

let tmp: string;
before(() => {
  tmp = makeTempDir('toolalpaca-export-');
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('corpus readers', () => {
  test('the hand-written ToolAlpaca corpus: failed instances are read but not completed', async () => {
    const corpus = await readCorpus(FIXTURE);
    assert.equal(corpus.source, 'toolalpaca');
    assert.equal(corpus.examples.length, 11);
    assert.equal(corpus.examples.filter((e) => !e.completed).length, 2);
    const first = corpus.examples[0];
    assert.ok(first);
    assert.equal(first.functions[0]?.name, 'getDetails');
    assert.deepEqual(
      first.functions
        .slice(1)
        .map((f) => f.name)
        .sort(),
      ['getBrewery', 'searchBreweries'],
    );
    assert.equal(first.steps[0]?.action, 'searchBreweries');
    assert.match(first.steps[0]?.thought ?? '', /^The user wants microbreweries/);
    assert.ok(!(first.steps[0]?.thought ?? '').includes('Action:'));
    assert.equal(first.verified, true);
  });

  test('ToolBench answers: thoughts joined to their calls, Finish ends the run, give_up is not completed', async () => {
    const corpus = await readCorpus(TOOLBENCH);
    assert.equal(corpus.source, 'toolbench');
    assert.equal(corpus.examples.length, 15);
    const g1 = corpus.examples.find((e) => e.id === 'toolbench/G1/10_ChatGPT_DFS_woFilter_w2');
    assert.ok(g1);
    assert.equal(g1.completed, true);
    assert.deepEqual(
      g1.steps.map((s) => s.action),
      ['transitaires_for_transitaires', 'transitaire_for_transitaires'],
    );
    assert.match(g1.finalAnswer, /sales@act\.nc/);
    assert.deepEqual(g1.tools, ['transitaires']);
    const gaveUp = corpus.examples.find((e) => e.id === 'toolbench/G2/10_ChatGPT_DFS_woFilter_w2');
    assert.equal(gaveUp?.completed, false);
    // A text-only assistant message is the thought of what follows: here, of the Finish call.
    const withThought = corpus.examples.find((e) => e.id === 'toolbench/G1/57_ChatGPT_DFS_woFilter_w2');
    assert.match(withThought?.finalThought ?? '', /^I apologize, but it seems that I am unable/);
    assert.ok(corpus.examples.some((e) => e.steps.some((s) => s.thought.length > 0)));
  });
});

for (const source of ['toolalpaca', 'toolbench'] as const) {
  describe(`every layout from the ${source} corpus`, () => {
    for (const format of SFT_LAYOUT_NAMES) {
      test(`${format}: every record passes the layout schema; card and manifest written`, async () => {
        const result = await runExport({
          data: source === 'toolalpaca' ? FIXTURE : TOOLBENCH,
          format,
          out: join(tmp, `${source}-${format}`),
          ...(source === 'toolalpaca' ? { validationTools: ['Frankfurter'] } : {}),
        });
        const manifest = ExportManifestSchema.parse(
          JSON.parse(await readFile(join(result.dir, 'export.json'), 'utf8')),
        );
        assert.equal(manifest.layout, format);
        assert.equal(manifest.source, source);
        const train = await records(result, manifest.files.train);
        assert.equal(train.length, manifest.counts.train);
        assert.ok(train.length > 0);
        for (const r of train) SCHEMAS[format].parse(r);
        if (manifest.files.validation)
          for (const r of await records(result, manifest.files.validation)) SCHEMAS[format].parse(r);
        const card = await readFile(join(result.dir, 'README.md'), 'utf8');
        for (const heading of [
          '## Counts',
          '## Tools',
          '## Categories',
          '## Token statistics',
          '## Licence notes',
        ]) {
          assert.ok(card.includes(heading), heading);
        }
        if (source === 'toolalpaca') {
          assert.equal(manifest.counts.failed, 2);
          assert.equal(manifest.counts.duplicates, 1);
          assert.equal(manifest.counts.validation, 2);
          assert.equal(manifest.counts.train, 6);
        } else {
          assert.equal(manifest.counts.failed, 6);
        }
        if (format === 'llamafactory') {
          const info = JSON.parse(await readFile(join(result.dir, 'dataset_info.json'), 'utf8')) as Record<
            string,
            unknown
          >;
          assert.equal(DatasetInfoEntrySchema.parse(info.toolalpaca_train).file_name, manifest.files.train);
        }
      });
    }
  });
}

describe('layout content', () => {
  test('toolalpaca: prompt segment untrainable, steps trainable, observations untrainable, answer last', async () => {
    const result = await runExport({
      data: FIXTURE,
      format: 'toolalpaca',
      out: join(tmp, 'ta-content'),
      validationRatio: 0,
    });
    const all = (await records(result, 'train.json')) as [string[], boolean[]][];
    const twoSteps = all.find(([segments]) => segments[0]?.includes('Did the euro gain or lose'));
    assert.ok(twoSteps);
    const [segments, trainable] = twoSteps;
    assert.deepEqual(trainable, [false, true, false, true, false, true]);
    assert.ok(segments[0]?.endsWith('ASSISTANT Thought: '));
    assert.ok(
      segments[1]?.includes(
        '\nASSISTANT Action: getHistoricalRates\nASSISTANT Action Input: {"date": "2024-01-02"',
      ),
    );
    assert.ok(segments[1]?.endsWith('\nASSISTANT Observation: '));
    assert.ok(segments[2]?.startsWith('Status Code: 200.'));
    assert.ok(segments[5]?.includes('\nASSISTANT Response: The euro lost a little'));
  });

  test('openai: tool calls answered by tool messages with the same id; final reply is the answer', async () => {
    const result = await runExport({
      data: FIXTURE,
      format: 'openai',
      out: join(tmp, 'oa-content'),
      validationRatio: 0,
    });
    for (const raw of await records(result, 'train.jsonl')) {
      const r = OpenAiChatRecordSchema.parse(raw);
      const names = new Set(r.tools.map((t) => t.function.name));
      r.messages.forEach((m, i) => {
        if (m.role === 'assistant' && m.tool_calls) {
          const next = r.messages[i + 1];
          assert.equal(next?.role, 'tool');
          assert.equal(next?.role === 'tool' ? next.tool_call_id : '', m.tool_calls[0]?.id);
          assert.ok(names.has(m.tool_calls[0]?.function.name ?? ''));
        }
      });
      const last = r.messages[r.messages.length - 1];
      assert.equal(last?.role, 'assistant');
      assert.ok(last?.role === 'assistant' && typeof last.content === 'string' && last.content.length > 0);
    }
  });

  test('toolbench: system prompt with APIs and Finish; last assistant turn calls Finish with give_answer', async () => {
    const result = await runExport({
      data: TOOLBENCH,
      format: 'toolbench',
      out: join(tmp, 'tb-content'),
      validationRatio: 0,
    });
    // ToolBench's trainer reads its data with json.load: one JSON array.
    const text = await readFile(join(result.dir, 'train.json'), 'utf8');
    assert.ok(Array.isArray(JSON.parse(text)));
    assert.equal(result.manifest.files.train, 'train.json');
    const all = (await records(result, 'train.json')).map((r) => ToolBenchRecordSchema.parse(r));
    assert.equal(all.length, 9);
    for (const r of all) {
      assert.match(r.conversations[0]?.value ?? '', /^You are AutoGPT/);
      assert.match(
        r.conversations[0]?.value ?? '',
        /Specifically, you have access to the following APIs: \[/,
      );
      const last = r.conversations[r.conversations.length - 1];
      assert.equal(last?.from, 'assistant');
      assert.match(last?.value ?? '', /\nAction: Finish\nAction Input: \{"return_type":"give_answer"/);
    }
  });

  test('split by tool: validation tools never appear in train, and only verified keeps the verified', async () => {
    const result = await runExport({
      data: FIXTURE,
      format: 'sharegpt',
      out: join(tmp, 'split'),
      validationRatio: 0.5,
      seed: 'x',
    });
    const train = (await records(result, 'train.jsonl')).map((r) => ShareGptRecordSchema.parse(r));
    const validation = (await records(result, 'validation.jsonl')).map((r) => ShareGptRecordSchema.parse(r));
    const toolOf = (id: string): string => id.split('/')[1] ?? '';
    const trainTools = new Set(train.map((r) => toolOf(r.id)));
    const valTools = new Set(validation.map((r) => toolOf(r.id)));
    assert.ok(valTools.size > 0);
    for (const t of valTools) assert.ok(!trainTools.has(t), t);
    const verified = await runExport({
      data: FIXTURE,
      format: 'sharegpt',
      out: join(tmp, 'verified'),
      validationRatio: 0,
      onlyVerified: true,
    });
    assert.equal(verified.manifest.counts.train, 3);
  });

  test('--max-example-tokens: drop removes long examples; cut keeps them', async () => {
    const full = await runExport({
      data: FIXTURE,
      format: 'sharegpt',
      out: join(tmp, 'full'),
      validationRatio: 0,
    });
    const limit = full.manifest.stats['sharegpt/train']?.p50 ?? 0;
    const dropped = await runExport({
      data: FIXTURE,
      format: 'sharegpt',
      out: join(tmp, 'drop'),
      validationRatio: 0,
      maxExampleTokens: limit,
    });
    const stats = dropped.manifest.stats['sharegpt/train'];
    assert.ok(stats && stats.overLimit > 0);
    assert.equal(dropped.manifest.counts.overLimitDropped, stats.overLimit);
    assert.equal(dropped.manifest.counts.train, 8 - stats.overLimit);
    const cut = await runExport({
      data: FIXTURE,
      format: 'sharegpt',
      out: join(tmp, 'cut'),
      validationRatio: 0,
      maxExampleTokens: limit,
      truncation: 'cut',
    });
    assert.equal(cut.manifest.counts.train, 8);
  });

  test('token masks are refused for layouts with native tool calls', async () => {
    await assert.rejects(
      runExport({
        data: FIXTURE,
        format: 'openai',
        out: join(tmp, 'x'),
        template: 'default',
        tokenizer: tmp,
      }),
      /token masks are written for the text layouts/,
    );
  });
});
