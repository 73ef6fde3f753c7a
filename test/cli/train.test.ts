import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { registerTrainCommand } from '../../src/cli/train.js';
import { runExport } from '../../src/export/export.js';
import { runCli } from '../helpers/cli.js';
import { runCommandAction } from '../helpers/command-action.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');

let tmp: string;
let data: string;
before(async () => {
  tmp = makeTempDir('toolalpaca-cli-train-');
  data = (await runExport({ data: FIXTURE, format: 'llamafactory', out: join(tmp, 'export') })).dir;
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs `train` on a program holding only this command, capturing stdout. */
function runAction(args: string[]): Promise<string> {
  return runCommandAction(registerTrainCommand, ['train', ...args]);
}

describe('train command (action)', () => {
  test('writes the LLaMA-Factory config and prints both commands', async () => {
    const out = join(tmp, 'lf');
    const text = await runAction([
      '--engine',
      'llamafactory',
      '--base',
      'meta-llama/Llama-3.2-1B-Instruct',
      '--data',
      data,
      '--out',
      out,
      '--lora',
      '--gpus',
      '8',
    ]);
    assert.match(
      text,
      /one GPU: +cd \S+ && CUDA_VISIBLE_DEVICES=0 llamafactory-cli train llamafactory\.yaml/,
    );
    assert.match(
      text,
      /multi-GPU: +cd \S+ && FORCE_TORCHRUN=1 NPROC_PER_NODE=8 llamafactory-cli train llamafactory-deepspeed\.yaml/,
    );
    const config = parse(await readFile(join(out, 'llamafactory.yaml'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.template, 'llama3');
    assert.equal(config.finetuning_type, 'lora');
  });
});

describe('train command (compiled CLI)', async () => {
  const help = await runCli(['--help']);
  const registered = /^\s+train\b/m.test(help.stdout);
  const skip = !registered && 'train is not registered in src/cli/commands.ts yet';
  test('--run without the engine installed says so in one line', { skip }, async () => {
    const result = await runCli(
      [
        'train',
        '--engine',
        'llamafactory',
        '--base',
        'Qwen/Qwen3-0.6B',
        '--data',
        data,
        '--out',
        join(tmp, 'cli'),
        '--run',
      ],
      { env: { PATH: join(tmp, 'no-bin') } },
    );
    assert.notEqual(result.code, 0);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /llamafactory is not installed/);
  });
  test('--json lists files and commands', { skip }, async () => {
    const result = await runCli([
      'train',
      '--engine',
      'axolotl',
      '--base',
      'm',
      '--data',
      data,
      '--out',
      join(tmp, 'cli2'),
      '--json',
    ]);
    // axolotl cannot read the llamafactory layout: an input error, one line, exit 2
    assert.equal(result.code, 2);
    assert.match(result.stderr, /axolotl reads chat messages/);
  });
});
