/**
 * Streaming corpora: the incremental ToolAlpaca JSON reader gives what a whole-file parse gives, at every
 * block size (so every byte boundary is crossed); the journal reader yields a run log's instances with
 * their tools; the streaming writer writes ToolAlpaca's own bytes, atomically.
 */
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import {
  corpusFileKind,
  hashKey,
  instructionsNoteKey,
  journalSummary,
  openToolAlpacaWriter,
  readJournalStream,
  readToolAlpacaRecordsStream,
  readToolAlpacaStream,
  toolNoteKey,
  type CorpusItem,
} from '../../src/formats/corpus-stream.js';
import { JOURNAL_VERSION } from '../../src/run/index.js';
import { readToolAlpacaFile, serializeToolAlpaca } from '../../src/formats/toolalpaca-json.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');

let tmp: string;
before(() => {
  tmp = makeTempDir('toolalpaca-corpus-stream-');
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The items a whole-file parse gives: each instance with its record minus Instances. */
function expectedItems(
  records: readonly ToolAlpacaRecord[],
): { tool: unknown; instance: Instance; index: number }[] {
  return records.flatMap((record) => {
    const { Instances: instances, ...tool } = record;
    return (instances ?? []).map((instance, index) => ({ tool, instance, index }));
  });
}

function plain(items: readonly CorpusItem[]): unknown[] {
  return items.map((item) => ({ tool: item.tool, instance: item.instance, index: item.index }));
}

/** Records whose strings hold everything a byte scanner can trip on. */
const TRICKY: ToolAlpacaRecord[] = [
  {
    Name: 'Tricky "quotes" \\ and ]brackets[ {}',
    Description: 'escaped \\\\" end, unicode ☃ 𝄞 é, a tab\there, a slash \\/',
    Category: 'x',
    Instances: [
      {
        input: 'ends with a backslash \\',
        output: 'ends with two \\\\',
        'Final Thought': '"',
        intermediate_steps: [[['act', '{"a": "[}"}', 'Thought: \\"q\\"\nAction: act'], 'obs ] , { "']],
      },
      { input: '', output: '\u0000 control \u001f', intermediate_steps: [] },
    ],
    Extra: { nested: [1, [2, [3]], { k: 'v' }], n: -1.5e3, t: true, f: false, z: null },
  },
  { Name: 'No instances key', Description: 'd' },
  { Name: 'Empty instances', Instances: [] },
  {
    Name: 'Instances not last',
    Instances: [{ input: 'q', output: 'a', status: 'failed', failure: { reason: 'r', message: 'm' } }],
    After: [0, 'x', { y: ['[', ']'] }],
    Last: 12,
  },
];

describe('ToolAlpaca JSON, read incrementally', () => {
  test('real ToolAlpaca files: the records equal a whole-file parse, key order included', async () => {
    for (const name of ['eval_simulated.json', 'eval_real.json']) {
      const path = sharedData(`toolalpaca/${name}`);
      const whole = await readToolAlpacaFile(path);
      const streamed = await collect(readToolAlpacaRecordsStream(path, { blockSize: 4093 }));
      assert.equal(streamed.length, whole.length);
      streamed.forEach((record, i) => {
        const { Instances: dropped, ...expected } = whole[i] as ToolAlpacaRecord;
        void dropped;
        assert.deepEqual(record, expected);
        assert.deepEqual(Object.keys(record), Object.keys(expected));
      });
    }
  });

  test('the SFT fixture: every instance with its tool record and index', async () => {
    const items = await collect(readToolAlpacaStream(FIXTURE));
    assert.deepEqual(plain(items), expectedItems(await readToolAlpacaFile(FIXTURE)));
    // Items of one tool share one record object.
    assert.equal(items[0]?.tool, items[1]?.tool);
  });

  test('every block size from 1 byte: escapes, nesting and keys after Instances survive any boundary', async () => {
    const path = join(tmp, 'tricky.json');
    await writeFile(path, `\uFEFF${JSON.stringify(TRICKY, null, 2)}\n`);
    const expected = expectedItems(TRICKY);
    for (const blockSize of [1, 2, 3, 5, 7, 16, 61, 1 << 20]) {
      const items = await collect(readToolAlpacaStream(path, { blockSize }));
      assert.deepEqual(plain(items), expected, `block size ${blockSize}`);
      const heads = await collect(readToolAlpacaRecordsStream(path, { blockSize }));
      assert.deepEqual(
        heads.map((h) => Object.keys(h)),
        TRICKY.map((r) => Object.keys(r).filter((k) => k !== 'Instances')),
      );
    }
    // Compact JSON too (no whitespace anywhere).
    await writeFile(path, JSON.stringify(TRICKY));
    assert.deepEqual(plain(await collect(readToolAlpacaStream(path, { blockSize: 3 }))), expected);
  });

  test('one record object (not an array) is a corpus of one tool', async () => {
    const path = join(tmp, 'one.json');
    await writeFile(path, JSON.stringify(TRICKY[3], null, 4));
    const items = await collect(readToolAlpacaStream(path, { blockSize: 5 }));
    assert.deepEqual(plain(items), expectedItems([TRICKY[3] as ToolAlpacaRecord]));
  });

  test('broken input is one InputError naming the file, record, instance and line', async () => {
    const cases: [string, string, RegExp][] = [
      ['empty.json', '  \n', /empty file/],
      ['object-list.json', '[1, 2]', /line 1: expected a tool record/],
      ['truncated.json', '[{"Name": "a", "Instances": [{"input": "q"}', /unexpected end of file/],
      ['garbage.json', '[{"Name": "a"}] x', /unexpected text after the end/],
      ['comma.json', '[{"Name": "a"} {"Name": "b"}]', /expected ',' or '\]' after a tool record/],
      [
        'bad-instance.json',
        '[{"Name": "a", "Instances": [\n{"input": "ok"},\n{"input": "x",, "output": 1}]}]',
        /bad-instance\.json: record 0 \("a"\) instance 1 \(line 3\): invalid JSON/,
      ],
      [
        'wrong-field.json',
        '[{"Name": "a", "Instances": [{"input": 5}]}]',
        /record 0 \("a"\) instance 0 \(line 1\): field "input"/,
      ],
      ['no-name.json', '[{"Description": "x"}]', /record 0 \(line 1\): field "Name"/],
    ];
    for (const [name, text, pattern] of cases) {
      const path = join(tmp, name);
      await writeFile(path, text);
      await assert.rejects(collect(readToolAlpacaStream(path, { blockSize: 4 })), (error: Error) => {
        assert.equal(error.name, 'InputError', `${name}: ${error.message}`);
        assert.match(error.message, pattern, name);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
    await assert.rejects(
      collect(readToolAlpacaStream(join(tmp, 'missing.json'))),
      /cannot read corpus .*missing/,
    );
  });
});

describe('ToolAlpaca JSON, written by streaming', () => {
  test("the bytes are ToolAlpaca's own layout (JSON.stringify with 4 spaces), keys in place", async () => {
    const records: ToolAlpacaRecord[] = [
      ...TRICKY.filter((r) => r.Instances !== undefined),
      { Name: 'Last', Description: 'no extra keys', Instances: [{ input: 'a', output: 'b' }] },
    ];
    const path = join(tmp, 'written.json');
    const writer = await openToolAlpacaWriter(path);
    for (const record of records) {
      await writer.tool(record);
      for (const instance of record.Instances ?? []) await writer.instance(instance);
    }
    await writer.close();
    assert.equal(await readFile(path, 'utf8'), serializeToolAlpaca(records));
    // An empty corpus is an empty array.
    const empty = join(tmp, 'empty-written.json');
    const none = await openToolAlpacaWriter(empty);
    await none.close();
    assert.equal(await readFile(empty, 'utf8'), serializeToolAlpaca([]));
  });

  test('a corpus read by streaming and written by streaming is the same file', async () => {
    const path = join(tmp, 'copy.json');
    const writer = await openToolAlpacaWriter(path);
    let current: ToolAlpacaRecord | undefined;
    for await (const item of readToolAlpacaStream(FIXTURE)) {
      if (item.tool !== current) await writer.tool(item.tool);
      current = item.tool;
      await writer.instance(item.instance);
    }
    await writer.close();
    assert.equal(await readFile(path, 'utf8'), serializeToolAlpaca(await readToolAlpacaFile(FIXTURE)));
  });

  test('abort leaves the target as it was and no temp file behind', async () => {
    const dir = join(tmp, 'abort');
    const path = join(dir, 'out.json');
    const first = await openToolAlpacaWriter(path);
    await first.close();
    const before = await readFile(path, 'utf8');
    const writer = await openToolAlpacaWriter(path);
    await writer.tool({ Name: 'x' });
    await writer.instance({ input: 'half' });
    await writer.abort();
    assert.equal(await readFile(path, 'utf8'), before);
    assert.deepEqual(await readdir(dir), ['out.json']);
  });
});

describe('generation journal (JSONL)', () => {
  const header = {
    type: 'header',
    kind: 'generate',
    version: JOURNAL_VERSION,
    parameters: { model: 'm', executor: 'schema', prompt: 'train_v2', mode: 'react', toolsHash: 'sha256:x' },
    context: { tools: 'tools.json', out: 'run.json' },
    startedAt: '2025-01-01T00:00:00.000Z',
  };
  const tool = (name: string): ToolAlpacaRecord => ({
    Name: name,
    Description: `${name} tool`,
    Category: 'c',
  });
  const note = (key: string, value: unknown): Record<string, unknown> => ({ type: 'note', key, value });
  const task = (
    name: string,
    index: number,
    status: 'completed' | 'failed' = 'completed',
    answer = 'answer',
  ): Record<string, unknown> => ({
    type: 'task',
    id: `${name}#${index}`,
    status,
    ...(status === 'failed' ? { failure: { reason: 'step_limit', message: 'no final answer' } } : {}),
    output: {
      tool: name,
      index,
      steps: 1,
      usage: { promptTokens: 1, completionTokens: 1, calls: 1 },
      instance: { input: `${name} question ${index}`, output: status === 'failed' ? '' : answer },
    },
    finishedAt: '2025-01-01T00:00:01.000Z',
  });
  const jsonl = (values: unknown[]): string => values.map((v) => JSON.stringify(v)).join('\n') + '\n';

  test('instances with their tool; failed marked; a retried instance read once, its last line winning', async () => {
    const path = join(tmp, 'run.json.log.jsonl');
    await writeFile(
      path,
      jsonl([
        header,
        note(instructionsNoteKey('B'), ['b0', 'b1']),
        note(toolNoteKey('A'), tool('A')),
        note(toolNoteKey('B'), tool('B')),
        task('B', 1),
        task('A', 0, 'failed'),
        'not a line',
        task('A', 1),
        task('A', 0, 'completed', 'retried and answered'),
        { type: 'end', complete: true, tasks: 3, finishedAt: '2025-01-01T00:00:02.000Z' },
      ]),
    );
    await appendFile(path, '{"type":"task","id":"A#2"');
    const bad: number[] = [];
    const items = await collect(readJournalStream(path, { onBadLine: (n) => bad.push(n) }));
    assert.deepEqual(
      items.map((i) => [i.tool.Name, i.index, i.instance.output]),
      [
        ['B', 1, 'answer'],
        ['A', 1, 'answer'],
        ['A', 0, 'retried and answered'],
      ],
    );
    assert.deepEqual(bad, [7]);
    // Instructions generated during the run are part of the tool's record.
    assert.deepEqual(items[0]?.tool.Instructions, ['b0', 'b1']);
    assert.equal(items[1]?.tool, items[2]?.tool);
    assert.equal(await corpusFileKind(path), 'journal');
    assert.equal(await corpusFileKind(FIXTURE), 'toolalpaca-json');
  });

  test('a failed instance is marked as the JSON output marks it', async () => {
    const path = join(tmp, 'failed.json.log.jsonl');
    await writeFile(path, jsonl([header, note(toolNoteKey('A'), tool('A')), task('A', 0, 'failed')]));
    const [item] = await collect(readJournalStream(path));
    const failed = item?.instance as Record<string, unknown>;
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.failure, { reason: 'step_limit', message: 'no final answer' });
  });

  test('a journal without tool notes reads its tools from the given records, else names what is missing', async () => {
    const path = join(tmp, 'old.json.log.jsonl');
    await writeFile(path, jsonl([header, task('A', 0)]));
    assert.equal((await journalSummary(path)).hasToolNotes, false);
    await assert.rejects(
      collect(readJournalStream(path)),
      /line 2: an instance of tool "A", whose record is neither in the journal nor in the run's tools/,
    );
    const items = await collect(readJournalStream(path, { tools: new Map([['A', tool('A')]]) }));
    assert.equal(items[0]?.tool.Description, 'A tool');
  });

  test('journals of toolalpaca 0.1 (version 1, instance lines) are read too', async () => {
    const path = join(tmp, 'v1.json.log.jsonl');
    await writeFile(
      path,
      jsonl([
        { type: 'header', version: 1, parameters: header.parameters, startedAt: header.startedAt },
        { type: 'instructions', tool: 'A', instructions: ['a0'] },
        {
          type: 'instance',
          instanceId: 'A#0',
          tool: 'A',
          index: 0,
          status: 'completed',
          steps: 1,
          usage: { promptTokens: 1, completionTokens: 1, calls: 1 },
          instance: { input: 'a0', output: 'yes' },
          finishedAt: header.startedAt,
        },
      ]),
    );
    const items = await collect(readJournalStream(path, { tools: new Map([['A', tool('A')]]) }));
    assert.deepEqual(
      items.map((i) => [i.tool.Name, i.tool.Instructions, i.instance.output]),
      [['A', ['a0'], 'yes']],
    );
  });

  test('a file that is not a journal of instances is refused in one line', async () => {
    const path = join(tmp, 'plain.jsonl');
    await writeFile(path, jsonl([task('A', 0)]));
    await assert.rejects(collect(readJournalStream(path)), /not a run journal/);
    await writeFile(path, '');
    await assert.rejects(collect(readJournalStream(path)), /not a run journal/);
    await writeFile(path, jsonl([{ ...header, kind: 'toolset-build' }]));
    await assert.rejects(collect(readJournalStream(path)), /a journal of a toolset-build run/);
  });
});

test('hashKey: a 53-bit integer, stable, and distinct over many near-identical keys', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200_000; i++) seen.add(hashKey(`Tool#${i}`));
  assert.equal(seen.size, 200_000);
  const h = hashKey('weather in Paris');
  assert.equal(h, hashKey('weather in Paris'));
  assert.ok(Number.isSafeInteger(h) && h >= 0);
});
