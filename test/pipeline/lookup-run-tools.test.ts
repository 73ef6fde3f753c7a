import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { loadGenerationTools, lookupRunTools } from '../../src/pipeline/generate.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const SPECS = join(repoRoot, 'examples', 'specs');

function evalRecords(): ToolAlpacaRecord[] {
  return JSON.parse(readFileSync(EVAL, 'utf8')) as ToolAlpacaRecord[];
}

describe('lookupRunTools (a queue worker converts only the tools its tasks name)', () => {
  test('finds each tool of a ToolAlpaca file as the whole load does, and no other', async () => {
    const lookup = await lookupRunTools(EVAL);
    const { tools } = await loadGenerationTools(EVAL);
    assert.ok(tools.length >= 10);
    for (const whole of tools) {
      const found = await lookup(whole.record.Name);
      assert.ok(found !== undefined, whole.record.Name);
      assert.deepEqual(found.record, whole.record);
      assert.deepEqual(
        found.tool.functions.map((f) => f.name),
        whole.tool.functions.map((f) => f.name),
      );
    }
    assert.equal(await lookup('No Such Tool'), undefined);
  });

  test('converts a record once, and only when a task names it', async () => {
    const dir = makeTempDir('toolalpaca-lookup-');
    const [good, second] = evalRecords();
    // A record whose Documentation is not OpenAPI: the whole load skips it; the lookup fails only for it.
    const broken = { ...second!, Name: 'Broken Tool', Documentation: '{"not": "openapi"}' };
    const file = join(dir, 'tools.json');
    writeFileSync(file, JSON.stringify([good, broken]));
    const lookup = await lookupRunTools(file);
    const first = await lookup(good!.Name);
    assert.ok(first !== undefined);
    assert.equal(await lookup(good!.Name), first, 'the converted tool is kept');
    await assert.rejects(lookup('Broken Tool'), /Broken Tool/);
    const { skipped } = await loadGenerationTools(file);
    assert.deepEqual(
      skipped.map((s) => s.tool),
      ['Broken Tool'],
    );
  });

  test('derives the NL documentation of a record that lacks it', async () => {
    const dir = makeTempDir('toolalpaca-lookup-');
    const record = evalRecords()[0]!;
    const bare = { ...record, NLDocumentation: '' } as ToolAlpacaRecord;
    const file = join(dir, 'tools.json');
    writeFileSync(file, JSON.stringify([bare]));
    const found = await (await lookupRunTools(file))(record.Name);
    assert.ok(found?.record.NLDocumentation !== undefined && found.record.NLDocumentation.trim() !== '');
    const { tools } = await loadGenerationTools(file);
    assert.equal(found.record.NLDocumentation, tools[0]!.record.NLDocumentation);
  });

  test('an OpenAPI folder is loaded whole and found by name', async () => {
    const lookup = await lookupRunTools(SPECS);
    const { tools } = await loadGenerationTools(SPECS);
    assert.ok(tools.length > 0);
    for (const whole of tools)
      assert.equal((await lookup(whole.record.Name))?.record.Name, whole.record.Name);
  });
});
