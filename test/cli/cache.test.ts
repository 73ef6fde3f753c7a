/**
 * `toolalpaca cache stats|export|prune` run as a user would (compiled CLI), over a cache filled through
 * the library.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cacheKey, openResponseCache, requestHash, type CacheEntry } from '../../src/models/cache.js';
import type { ChatRequest } from '../../src/models/chat-model.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/paths.js';

/** A cache folder holding `counts[model]` responses per model. */
function fillCache(dir: string, counts: Record<string, number>): void {
  const cache = openResponseCache(dir);
  for (const [model, count] of Object.entries(counts)) {
    for (let i = 0; i < count; i++) {
      const request: ChatRequest = {
        messages: [{ role: 'user', content: `question ${i} for ${model}` }],
        seed: i,
      };
      cache.put(
        cacheKey(model.slice(0, model.indexOf(':')), model, request, 'http://s.example/v1'),
        requestHash(request),
        {
          text: `answer ${i}`,
          toolCalls: [],
          finishReason: 'stop',
          usage: { promptTokens: 10, completionTokens: 5 },
          latencyMs: 100,
          cached: false,
          model,
        },
        { stage: 'instructions' },
      );
    }
  }
  cache.close();
}

describe('toolalpaca cache', () => {
  test('stats: table and --json, from --cache-dir, TOOLALPACA_CACHE_DIR and the default folder', async () => {
    const work = makeTempDir();
    const dir = join(work, '.toolalpaca-cache');
    fillCache(dir, { 'openai:gpt-4o-mini': 3, 'llama:/models/tiny.gguf': 2 });

    const text = await runCli(['cache', 'stats', '--cache-dir', dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^rows\s+5$/m);
    assert.match(text.stdout, /^openai:gpt-4o-mini\s+3\s/m);
    assert.match(text.stdout, /^llama:\/models\/tiny\.gguf\s+2\s/m);

    const json = await runCli(['cache', 'stats', '--json'], { env: { TOOLALPACA_CACHE_DIR: dir } });
    assert.equal(json.code, 0, json.stderr);
    const stats = JSON.parse(json.stdout) as {
      exists: boolean;
      rows: number;
      bytes: number;
      path: string;
      byModel: { model: string; rows: number }[];
    };
    assert.equal(stats.exists, true);
    assert.equal(stats.rows, 5);
    assert.ok(stats.bytes > 0);
    assert.equal(stats.path, join(dir, 'responses.sqlite'));
    assert.deepEqual(
      stats.byModel.map((m) => [m.model, m.rows]),
      [
        ['openai:gpt-4o-mini', 3],
        ['llama:/models/tiny.gguf', 2],
      ],
    );

    // The default folder is .toolalpaca-cache in the working directory.
    const fromCwd = await runCli(['cache', 'stats', '--json'], {
      cwd: work,
      env: { TOOLALPACA_CACHE_DIR: undefined },
    });
    assert.equal((JSON.parse(fromCwd.stdout) as { rows: number }).rows, 5);

    // A folder without a cache is reported, not created.
    const empty = join(makeTempDir(), 'none');
    const missing = await runCli(['cache', 'stats', '--cache-dir', empty]);
    assert.equal(missing.code, 0);
    assert.match(missing.stdout, /no response cache at .*none/);
    assert.equal(existsSync(empty), false);
  });

  test('export: JSON lines to stdout or --out, optionally for one model', async () => {
    const dir = makeTempDir();
    fillCache(dir, { 'openai:gpt-4o-mini': 3, 'llama:/models/tiny.gguf': 2 });
    const all = await runCli(['cache', 'export', '--cache-dir', dir]);
    assert.equal(all.code, 0, all.stderr);
    const entries = all.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as CacheEntry);
    assert.equal(entries.length, 5);
    assert.deepEqual(
      entries.map((entry) => [entry.model, entry.response.text, entry.stage]),
      [
        ['openai:gpt-4o-mini', 'answer 0', 'instructions'],
        ['openai:gpt-4o-mini', 'answer 1', 'instructions'],
        ['openai:gpt-4o-mini', 'answer 2', 'instructions'],
        ['llama:/models/tiny.gguf', 'answer 0', 'instructions'],
        ['llama:/models/tiny.gguf', 'answer 1', 'instructions'],
      ],
    );

    const out = join(makeTempDir(), 'sub', 'llama.jsonl');
    const some = await runCli(['cache', 'export', '--cache-dir', dir, '--out', out, '--model', 'llama']);
    assert.equal(some.code, 0, some.stderr);
    assert.match(some.stderr, /exported 2 responses to .*llama\.jsonl/);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((line) => (JSON.parse(line) as CacheEntry).backend === 'llama'));
  });

  test('prune: by model, by age, --all; refuses to run without a filter', async () => {
    const dir = makeTempDir();
    fillCache(dir, { 'openai:gpt-4o-mini': 3, 'openai:gpt-4o': 2, 'llama:/models/tiny.gguf': 2 });

    const noFilter = await runCli(['cache', 'prune', '--cache-dir', dir]);
    assert.equal(noFilter.code, 2);
    assert.equal(noFilter.stderr.trim().split('\n').length, 1);
    assert.match(noFilter.stderr, /give --older-than DAYS, --model SPEC, or --all/);
    const badDays = await runCli(['cache', 'prune', '--cache-dir', dir, '--older-than', 'soon']);
    assert.equal(badDays.code, 2);
    assert.match(badDays.stderr, /--older-than: expected a number of days >= 0, got "soon"/);

    const byModel = await runCli([
      'cache',
      'prune',
      '--cache-dir',
      dir,
      '--model',
      'openai:gpt-4o',
      '--json',
    ]);
    assert.equal(byModel.code, 0, byModel.stderr);
    assert.deepEqual(
      (({ deleted, rows }) => ({ deleted, rows }))(
        JSON.parse(byModel.stdout) as { deleted: number; rows: number },
      ),
      { deleted: 2, rows: 5 },
    );
    // Nothing is older than a day yet.
    const byAge = await runCli(['cache', 'prune', '--cache-dir', dir, '--older-than', '1']);
    assert.equal(byAge.code, 0, byAge.stderr);
    assert.match(byAge.stdout, /^deleted 0 responses, 5 left/);
    const byBackend = await runCli(['cache', 'prune', '--cache-dir', dir, '--model', 'llama']);
    assert.match(byBackend.stdout, /^deleted 2 responses, 3 left/);
    const all = await runCli(['cache', 'prune', '--cache-dir', dir, '--all', '--json']);
    assert.equal((JSON.parse(all.stdout) as { rows: number }).rows, 0);

    const cache = openResponseCache(dir);
    assert.equal(cache.stats().rows, 0);
    cache.close();
  });
});
