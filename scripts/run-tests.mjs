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
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
let files = findTests('test').sort();
if (filter.length > 0) files = files.filter((file) => filter.some((f) => file.includes(f)));
const reporter = process.stdout.isTTY ? 'spec' : 'spec';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: { ...process.env, TOOLALPACA_TEST: '1' } },
);
process.exit(result.status ?? 1);
