#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner (Node 20's `node --test` does not expand globs).
// Builds first, because integration tests run the compiled CLI exactly as a user would.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) found.push(...findTests(full));
    else if (entry.endsWith('.test.ts')) found.push(full);
  }
  return found;
}

const filter = process.argv.slice(2);
let files = findTests('test').sort();
if (filter.length > 0) files = files.filter((file) => filter.some((f) => file.includes(f)));
if (files.length === 0) {
  // Without files, `node --test` would discover tests on its own, compiled files under dist/ included
  // (dist/agents/prompts/test-v1.js matches its patterns): a filter that matches nothing is a failure.
  process.stderr.write(
    `run-tests: no test file under test/ matches ${filter.map((f) => `"${f}"`).join(', ')}\n`,
  );
  process.exit(1);
}
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
// The viewer's front end (browser tests load it from dist/view/assets).
execFileSync(process.execPath, ['scripts/build-view.mjs'], { stdio: 'inherit' });
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: { ...process.env, TOOLALPACA_TEST: '1' } },
);
process.exit(result.status ?? 1);
