// Issue 1's bad-input cases, through the built CLI as a user meets them: one line naming the file and
// the problem, exit 2, no stack trace, no hang.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'openapi');

function assertOneLineError(result: { code: number; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got: ${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('bad input to `tools validate` and `tools list`', () => {
  const cases: [string, string, RegExp][] = [
    ['invalid JSON', join(fixtures, 'invalid.json'), /invalid\.json: invalid JSON .*line \d+/],
    ['invalid YAML', join(fixtures, 'invalid.yaml'), /invalid\.yaml: invalid YAML/],
    [
      'not an OpenAPI document',
      join(fixtures, 'not-openapi.json'),
      /not-openapi\.json: not an OpenAPI document/,
    ],
    [
      'an unknown OpenAPI version',
      join(fixtures, 'openapi-4.yaml'),
      /openapi-4\.yaml: unsupported OpenAPI version 4/,
    ],
    [
      'a missing file',
      join(fixtures, 'does-not-exist.json'),
      /does-not-exist\.json: (file not found|no such file)/,
    ],
  ];
  for (const [label, file, pattern] of cases) {
    test(`${label}: one line, exit 2`, async () => {
      assertOneLineError(await runCli(['tools', 'validate', file]), pattern);
      assertOneLineError(await runCli(['tools', 'list', file]), pattern);
    });
  }

  test('recursive $refs load in bounded time and are reported, not fatal', async () => {
    const result = await runCli(['tools', 'list', '--json', join(fixtures, 'recursive.yaml')], {
      timeoutMs: 15_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const tools = JSON.parse(result.stdout) as { functions: number }[];
    assert.equal(tools.length, 1);
    assert.ok(tools[0]!.functions > 0);
  });

  test('a 20 MB spec is refused with its size, without hanging', async () => {
    const dir = makeTempDir();
    const big = join(dir, 'huge.json');
    const paths: Record<string, unknown> = {};
    const description = 'x'.repeat(1000);
    for (let i = 0; i < 20_500; i++) {
      paths[`/p${i}`] = {
        get: { operationId: `op${i}`, description, responses: { 200: { description: 'ok' } } },
      };
    }
    writeFileSync(big, JSON.stringify({ openapi: '3.0.0', info: { title: 'Huge', version: '1' }, paths }));
    assertOneLineError(
      await runCli(['tools', 'validate', big]),
      /huge\.json: \d+\.\d MB exceeds the 10 MB spec size limit/,
    );
  });
});
