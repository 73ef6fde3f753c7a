/** The test runner script: a filter that matches no test file fails instead of running whatever node finds. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

test('a filter that matches no test file exits 1 and runs nothing (no compiled file under dist/)', () => {
  const result = spawnSync(
    process.execPath,
    [join(repoRoot, 'scripts', 'run-tests.mjs'), 'no-such-test-filter'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 1);
  assert.match(result.stderr, /no test file under test\/ matches "no-such-test-filter"/);
  assert.doesNotMatch(result.stdout, /# tests|ℹ tests/);
});
