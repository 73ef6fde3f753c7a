/**
 * The streaming JSON scanner the viewer indexes files with: byte ranges that read back to the same
 * values, whatever the window size (values and escapes split across reads), and JSONL lines with a torn
 * tail left for later.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { readSlice, scanJsonFile, scanJsonlFile, ScanError } from '../../src/view/scan-json.js';
import { makeTempDir } from '../helpers/paths.js';

const dir = makeTempDir('toolalpaca-scan-');

/** Every element of the top array's objects' `items` arrays, as ranges read back and parsed. */
async function itemsOf(path: string, windowBytes: number): Promise<unknown[]> {
  const out: unknown[] = [];
  await scanJsonFile(
    path,
    {
      decide: (p, kind) => {
        if (p.length === 0) return 'descend';
        if (p.length === 1) return kind === 'object' ? 'descend' : 'skip';
        if (p.length === 2) return p[1] === 'items' ? 'descend' : 'skip';
        return 'range';
      },
      range: (_p, start, end) => out.push(JSON.parse(readSlice(path, start, end))),
    },
    { windowBytes },
  );
  return out;
}

describe('scanJsonFile', () => {
  test('ranges read back to the values, for any window size and any content', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            name: fc.string(),
            items: fc.array(fc.jsonValue(), { maxLength: 5 }),
            other: fc.jsonValue(),
          }),
          { maxLength: 6 },
        ),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        async (records, windowBytes, pretty) => {
          const path = join(dir, `p${n++}.json`);
          writeFileSync(path, JSON.stringify(records, null, pretty ? 2 : undefined));
          const expected = records
            .flatMap((r) => r.items)
            .map((v) => JSON.parse(JSON.stringify(v)) as unknown);
          assert.deepEqual(await itemsOf(path, windowBytes), expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('captures give the value text and keys are decoded (escapes, non-ASCII)', async () => {
    const path = join(dir, 'keys.json');
    const data = { 'k\\"é': 'v\\\n"x', n: -1.5e3, list: [true, null, { a: '}]' }] };
    writeFileSync(path, `\uFEFF${JSON.stringify(data)}`);
    const seen: [string, unknown][] = [];
    await scanJsonFile(
      path,
      {
        decide: (p) => (p.length === 0 ? 'descend' : 'capture'),
        capture: (p, text) => seen.push([String(p[0]), JSON.parse(text)]),
      },
      { windowBytes: 3 },
    );
    assert.deepEqual(Object.fromEntries(seen), data);
  });

  test('malformed JSON is a ScanError with the byte offset; values before it were reported', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '[{"a": 1}, {"a": 2} {"a": 3}]');
    const seen: unknown[] = [];
    await assert.rejects(
      scanJsonFile(path, {
        decide: (p) => (p.length === 0 ? 'descend' : 'capture'),
        capture: (_p, text) => seen.push(JSON.parse(text)),
      }),
      (error: unknown) => error instanceof ScanError && /at byte 20/.test(error.message),
    );
    assert.deepEqual(seen, [{ a: 1 }, { a: 2 }]);
  });
});

describe('scanJsonlFile', () => {
  test('whole lines only; a torn tail is read once it is whole, from the offset returned', async () => {
    const path = join(dir, 'log.jsonl');
    writeFileSync(path, '{"i":1}\n\n{"i":2}\n{"i":');
    const lines: unknown[] = [];
    const on = (text: string, start: number, end: number): void => {
      assert.equal(readSlice(path, start, end), text);
      lines.push(JSON.parse(text));
    };
    const offset = await scanJsonlFile(path, on, { windowBytes: 4 });
    assert.deepEqual(lines, [{ i: 1 }, { i: 2 }]);
    appendFileSync(path, '3}\n{"i":4}\n');
    await scanJsonlFile(path, on, { start: offset });
    assert.deepEqual(lines, [{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
  });
});
