import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpBindingOf } from '../../../src/core/http-binding.js';
import { readToolSource, toolsOfSource } from '../../../src/formats/toolalpaca-json.js';
import {
  nearDuplicatePairs,
  statsToolOf,
  toolsetStats,
  type StatsTool,
} from '../../../src/pipeline/toolset/stats.js';
import { sharedData } from '../../helpers/paths.js';

async function statsTools(file: string): Promise<StatsTool[]> {
  const sourced = await toolsOfSource(await readToolSource(sharedData(file)));
  return sourced.map((s) => statsToolOf(s.record, s.name, s.tool, s.error));
}

describe('toolset stats', () => {
  test('the simulated evaluation toolset: categories, functions, types, methods', async () => {
    const tools = await statsTools('toolalpaca/eval_simulated.json');
    const stats = toolsetStats(tools);
    assert.equal(stats.tools, 10);
    assert.equal(stats.categories, 10);
    assert.equal(stats.unreadable.length, 0);
    // Figures recomputed from the tools themselves.
    const counts = tools.map((t) => t.tool?.functions.length ?? 0);
    assert.equal(
      stats.functions,
      counts.reduce((a, b) => a + b, 0),
    );
    assert.equal(stats.functionsPerTool.max, Math.max(...counts));
    assert.equal(stats.functionsPerTool.min, Math.min(...counts));
    assert.equal(
      Object.values(stats.functionsPerTool.histogram).reduce((a, b) => a + b, 0),
      10,
    );
    const methods = tools.flatMap(
      (t) => t.tool?.functions.map((f) => httpBindingOf(f)!.method.toUpperCase()) ?? [],
    );
    assert.equal(stats.methods.GET, methods.filter((m) => m === 'GET').length);
    assert.ok((stats.parameterTypes.string ?? 0) > (stats.parameterTypes.integer ?? 0));
    assert.deepEqual(stats.nearDuplicates, []);
  });

  test('the real evaluation toolset is readable and has no near-duplicates', async () => {
    const stats = toolsetStats(await statsTools('toolalpaca/eval_real.json'));
    assert.equal(stats.tools, 11);
    assert.ok(stats.functions > 11);
    assert.deepEqual(stats.nearDuplicates, []);
  });

  test('near-duplicates: a renamed copy is flagged, an unrelated tool is not', async () => {
    const tools = await statsTools('toolalpaca/eval_simulated.json');
    const original = tools[0] as StatsTool;
    const copy: StatsTool = {
      ...original,
      name: `${original.name} Mirror`,
      description: `${original.description} (mirror)`,
    };
    const pairs = nearDuplicatePairs([...tools, copy]);
    assert.equal(pairs.length, 1);
    assert.deepEqual([pairs[0]?.a, pairs[0]?.b], [original.name, copy.name]);
    assert.equal(pairs[0]?.functionSimilarity, 1);
    assert.ok((pairs[0]?.score ?? 0) >= 0.6);
    // Same name, nothing else shared: still flagged.
    const twin: StatsTool = { name: original.name, description: 'Something else entirely', category: 'X' };
    assert.equal(nearDuplicatePairs([original, twin]).length, 1);
  });
});
