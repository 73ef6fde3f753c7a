import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Command } from 'commander';
import { InputError } from '../../src/core/errors.js';
import { evalAgreement, registerEvalAgreementCommand } from '../../src/cli/eval-agreement.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const JUDGED = sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json');

describe('eval agreement (action)', () => {
  test('prints accuracy, kappa, the confusion matrix and the disagreements with reasons', async () => {
    const text = await evalAgreement(JUDGED, { showDisagreements: 2 });
    assert.match(text, /items compared: 99 \(1 without a judge label left out\)/);
    assert.match(text, /accuracy \d+\.\d\d% · Cohen's kappa 0\.\d{3}/);
    assert.match(text, /judge Yes\s+\d+\s+\d+/);
    assert.match(text, /full 3x3/);
    const shown = text.split('\n').filter((line) => /^- .+#\d+: judge \w+, checker \w+$/.test(line));
    assert.equal(shown.length, 2);
    assert.match(text, /disagreements: \d+ \(first 2 shown\)/);
  });

  test('--json gives {n, accuracy, kappa, confusion} consistent with each other', async () => {
    const data = JSON.parse(await evalAgreement(JUDGED, { json: true })) as {
      n: number;
      accuracy: number;
      kappa: number;
      confusion: { Yes: { Yes: number; No: number }; No: { Yes: number; No: number } };
      disagreements: { tool: string; reasons: string[] }[];
    };
    assert.equal(data.n, 99);
    const c = data.confusion;
    assert.equal(c.Yes.Yes + c.Yes.No + c.No.Yes + c.No.No, 99);
    assert.equal(data.accuracy, (c.Yes.Yes + c.No.No) / 99);
    assert.ok(data.kappa > 0 && data.kappa <= 1);
    assert.equal(data.disagreements.length, c.Yes.No + c.No.Yes);
  });

  test('a file without judge labels is an InputError', async () => {
    const dir = makeTempDir();
    const path = join(dir, 'run.json');
    writeFileSync(
      path,
      JSON.stringify([{ Name: 'T', Instances: [{ input: 'x', output: 'y', intermediate_steps: [] }] }]),
    );
    await assert.rejects(
      evalAgreement(path),
      (e: unknown) => e instanceof InputError && /judge it first/.test(e.message),
    );
    await assert.rejects(evalAgreement(join(dir, 'missing.json')), (e: unknown) => e instanceof InputError);
  });

  test('registers `agreement` under the eval command', () => {
    const program = new Command();
    const evalCommand = program.command('eval');
    registerEvalAgreementCommand(evalCommand);
    const agreement = evalCommand.commands.find((c) => c.name() === 'agreement');
    assert.ok(agreement);
    assert.deepEqual(
      agreement.options.map((o) => o.long),
      ['--json', '--show-disagreements'],
    );
  });
});

// The compiled CLI, as a user runs it.
describe('toolalpaca eval agreement (compiled CLI)', () => {
  test('prints the figures on the shared 7-B file', async () => {
    const result = await runCli(['eval', 'agreement', JUDGED, '--json', '--show-disagreements', '0']);
    assert.equal(result.code, 0, result.stderr);
    const data = JSON.parse(result.stdout) as { n: number; accuracy: number; disagreements: unknown[] };
    assert.equal(data.n, 99);
    assert.ok(data.accuracy >= 0.9);
    assert.deepEqual(data.disagreements, []);
  });

  test('a bad count is a one-line usage error with exit code 2', async () => {
    const result = await runCli(['eval', 'agreement', JUDGED, '--show-disagreements', 'many']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^toolalpaca: --show-disagreements: expected a whole number, got "many"\n$/);
  });
});
