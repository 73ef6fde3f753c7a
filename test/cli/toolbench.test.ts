/**
 * `toolbench import` as a user runs it: the action function, and the compiled CLI.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runToolbenchImport } from '../../src/cli/toolbench.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const G1 = sharedData('stabletoolbench/G1_category.json');
const G3 = sharedData('stabletoolbench/G3_instruction.json');

describe('toolbench import', () => {
  test('action: --json prints {queries, tools, apis} and writes tasks and tools', async () => {
    const out = makeTempDir();
    const stdout: string[] = [];
    await runToolbenchImport(
      [G1, G3],
      { out, json: true },
      { stdout: { write: (t: string) => stdout.push(t) }, stderr: { write: () => true } },
    );
    const printed = JSON.parse(stdout.join('')) as {
      queries: number;
      tools: number;
      apis: number;
      files: { queries: number }[];
    };
    assert.equal(printed.queries, 153 + 61);
    assert.deepEqual(
      printed.files.map((f) => f.queries),
      [153, 61],
    );
    assert.equal((await readdir(join(out, 'tools'))).length, printed.tools);
    assert.deepEqual((await readdir(join(out, 'tasks'))).sort(), ['G1_category.json', 'G3_instruction.json']);
    await assert.rejects(
      runToolbenchImport([G1], {}, { stdout: { write: () => true }, stderr: { write: () => true } }),
      /--out DIR is required/,
    );
  });

  test('compiled CLI', async () => {
    const out = makeTempDir();
    const result = await runCli(['toolbench', 'import', G3, '--out', out, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { queries: number; tools: number; apis: number };
    assert.equal(printed.queries, 61);
    assert.ok(printed.tools > 0 && printed.apis >= printed.tools);
    const missing = await runCli(['toolbench', 'import', join(out, 'nope.json'), '--out', out]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    assert.match(missing.stderr, /nope\.json/);
  });
});
