/**
 * `toolalpaca generate` through the compiled CLI on the embedded llama.cpp engine with the tiny random GGUF:
 * the output is gibberish, so instances end as recorded failures or short trajectories, and the run
 * must complete and write a valid corpus. (A file of its own: it is the slowest generation test.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cliPath } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { writeTinyGguf } from '../helpers/tiny-gguf.js';
import { InstanceSchema } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const CLI = process.env.TOOLALPACA_TEST_CLI ?? cliPath;

function cli(
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

describe('generate CLI through the embedded engine (tiny GGUF)', () => {
  test('the run completes: instances end as recorded failures or short trajectories', async () => {
    const dir = makeTempDir();
    const gguf = join(dir, 'tiny.gguf');
    await writeTinyGguf(gguf);
    const out = join(dir, 'corpus.json');
    const result = await cli(
      [
        'generate',
        '--tools',
        EVAL,
        '--model',
        `llama:${gguf}`,
        '--threads',
        '1',
        '--executor',
        'schema',
        '--no-cache',
        '--out',
        out,
        '--limit',
        '2',
        '--max-steps',
        '2',
        '--concurrency',
        '1',
        '--json',
      ],
      dir,
      180_000,
    );
    // Exit 4 when an instance failed for what the llama adapter calls a server error (today a context
    // overflow of the tiny model is one); the run still completes and writes every instance.
    assert.ok(result.code === 0 || result.code === 4, result.stderr);
    const summary = JSON.parse(result.stdout) as {
      done: number;
      total: number;
      infrastructureFailed: number;
    };
    assert.equal(result.code === 4, summary.infrastructureFailed > 0);
    assert.equal(summary.total, 2);
    assert.equal(summary.done, 2);
    const records = await readToolAlpacaFile(out);
    const instances = records.flatMap((r) => r.Instances ?? []);
    assert.equal(instances.length, 2);
    for (const instance of instances) {
      InstanceSchema.parse(instance);
      const status = (instance as { status?: string }).status;
      if (status === 'failed')
        assert.ok(typeof (instance as { failure?: { reason?: string } }).failure?.reason === 'string');
      assert.ok((instance.intermediate_steps ?? []).length <= 2);
    }
  });
});
