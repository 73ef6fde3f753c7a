import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { runExport } from '../../src/export/export.js';
import { ENGINE_NAMES, commandLine, type EngineName } from '../../src/train/engines.js';
import { findOnPath, runTrain } from '../../src/train/train.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');

interface EngineKeys {
  configKeys: string[];
  datasetEntryKeys?: string[];
  launch: string[];
}

async function documentedKeys(engine: EngineName): Promise<EngineKeys> {
  return JSON.parse(
    await readFile(join(repoRoot, 'test/fixtures/sft/engine-keys', `${engine}.json`), 'utf8'),
  ) as EngineKeys;
}

let tmp: string;
const exports: Record<string, string> = {};
before(async () => {
  tmp = makeTempDir('toolalpaca-train-');
  for (const format of ['llamafactory', 'openai', 'sharegpt', 'toolbench'] as const) {
    exports[format] = (
      await runExport({
        data: FIXTURE,
        format,
        out: join(tmp, `export-${format}`),
        validationTools: ['Frankfurter'],
      })
    ).dir;
  }
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const DATA_FOR: Record<EngineName, string> = {
  llamafactory: 'llamafactory',
  trl: 'openai',
  axolotl: 'sharegpt',
};

for (const engine of ENGINE_NAMES) {
  describe(`${engine} configuration`, () => {
    for (const lora of [false, true]) {
      test(`${lora ? 'LoRA' : 'full'}: only documented keys, data paths exist, commands for one and several GPUs`, async () => {
        const keys = await documentedKeys(engine);
        const out = join(tmp, `${engine}-${lora}`);
        const result = await runTrain({
          engine,
          base: 'Qwen/Qwen3-0.6B',
          data: exports[DATA_FOR[engine]] ?? '',
          out,
          lora,
          gpus: 4,
        });
        const single = parse(await readFile(join(out, `${engine}.yaml`), 'utf8')) as Record<string, unknown>;
        const multi = parse(await readFile(join(out, `${engine}-deepspeed.yaml`), 'utf8')) as Record<
          string,
          unknown
        >;
        for (const key of Object.keys(multi))
          assert.ok(keys.configKeys.includes(key), `${engine}: undocumented key ${key}`);
        // Paths are relative to the configs' folder (launch.sh runs there): no absolute local path.
        const text = await readFile(join(out, `${engine}-deepspeed.yaml`), 'utf8');
        assert.ok(!text.includes(tmp), `${engine}: an absolute path of this machine in the config`);
        assert.equal(multi.deepspeed, 'ds_z2.json');
        assert.equal(single.deepspeed, undefined);
        const ds = JSON.parse(await readFile(join(out, 'ds_z2.json'), 'utf8')) as {
          zero_optimization: { stage: number };
        };
        assert.equal(ds.zero_optimization.stage, 2);
        const datasets = (single.datasets ?? []) as Record<string, unknown>[];
        for (const entry of datasets) {
          for (const key of Object.keys(entry))
            assert.ok(keys.datasetEntryKeys?.includes(key), `${engine}: undocumented dataset key ${key}`);
          const file = (entry.path === 'json' ? entry.data_files : entry.path) as string;
          await readFile(resolve(out, file)); // the data file the engine will read exists
        }
        if (engine === 'llamafactory') {
          assert.equal(resolve(out, single.dataset_dir as string), exports.llamafactory);
          assert.equal(single.finetuning_type, lora ? 'lora' : 'full');
          assert.equal(single.template, 'qwen3');
          assert.equal(single.eval_dataset, 'toolalpaca_validation');
        }
        if (lora) assert.ok(['lora_target', 'use_peft', 'adapter'].some((k) => k in single));
        for (const word of [
          ...result.plan.single.argv,
          ...result.plan.multi.argv,
          ...Object.keys(result.plan.multi.env),
        ]) {
          if (!/\.yaml$/.test(word) && !/^\d+$/.test(word))
            assert.ok(keys.launch.includes(word), `${engine}: undocumented launch word ${word}`);
        }
        assert.ok(commandLine(result.plan.multi).includes('4'));
        const launch = await readFile(join(out, 'launch.sh'), 'utf8');
        assert.ok(launch.includes(commandLine(result.plan.single)));
        assert.ok(launch.includes('cd "$(dirname "$0")"'));
        assert.equal((await stat(join(out, 'launch.sh'))).mode & 0o777, 0o755);
        if (engine === 'trl') assert.equal(single.assistant_only_loss, true);
      });
    }
  });
}

describe('what each engine can read', () => {
  test('LLaMA-Factory needs the llamafactory layout; TRL and axolotl refuse the toolbench layout without tokens', async () => {
    await assert.rejects(
      runTrain({ engine: 'llamafactory', base: 'm', data: exports.openai ?? '', out: join(tmp, 'x1') }),
      /export in the llamafactory format/,
    );
    await assert.rejects(
      runTrain({ engine: 'trl', base: 'm', data: exports.toolbench ?? '', out: join(tmp, 'x2') }),
      /TRL reads chat messages/,
    );
    await assert.rejects(
      runTrain({ engine: 'axolotl', base: 'm', data: exports.toolbench ?? '', out: join(tmp, 'x3') }),
      /axolotl reads chat messages/,
    );
    await assert.rejects(
      runTrain({ engine: 'trl', base: 'm', data: tmp, out: join(tmp, 'x4') }),
      /not an export folder/,
    );
  });
});

describe('--run', () => {
  test('an engine missing from PATH is one line saying so', async () => {
    const saved = process.env.PATH;
    process.env.PATH = join(tmp, 'empty-bin');
    try {
      await assert.rejects(
        runTrain(
          { engine: 'axolotl', base: 'm', data: exports.sharegpt ?? '', out: join(tmp, 'run-missing') },
          { run: true },
        ),
        (error: Error) =>
          /^axolotl is not installed \(axolotl not found on PATH\)/.test(error.message) &&
          !error.message.includes('\n'),
      );
    } finally {
      process.env.PATH = saved;
    }
  });

  test('an installed engine is started with the config and its log streamed', async () => {
    const bin = join(tmp, 'bin');
    await mkdir(bin, { recursive: true });
    const fake = join(bin, 'trl');
    await writeFile(
      fake,
      '#!/bin/sh\necho "fake trl $1 $2 $3 in $PWD"\necho "step 1 loss 2.5" >&2\nexit 3\n',
    );
    await chmod(fake, 0o755);
    assert.equal(await findOnPath('trl', bin), fake);
    const saved = process.env.PATH;
    process.env.PATH = `${bin}${delimiter}${saved ?? ''}`;
    const chunks: string[] = [];
    try {
      const out = join(tmp, 'run-fake');
      const result = await runTrain(
        { engine: 'trl', base: 'm', data: exports.openai ?? '', out },
        { run: true, onOutput: (chunk, stream) => chunks.push(`${stream}:${chunk}`) },
      );
      assert.equal(result.exitCode, 3);
      // Started in the configs' folder, whose paths are relative to it.
      assert.ok(
        chunks.some((c) => c === `stdout:fake trl sft --config trl.yaml in ${out}\n`),
        chunks.join(''),
      );
      assert.ok(chunks.some((c) => c.startsWith('stderr:step 1 loss 2.5')));
    } finally {
      process.env.PATH = saved;
    }
  });
});
