/** `toolalpaca demo` through the compiled CLI: against the fake server, and offline without a model. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { cliPath } from '../helpers/cli.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';
import { InstanceSchema } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';

const CLI = process.env.TOOLALPACA_TEST_CLI ?? cliPath;

function cli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', CI: 'true', OPENAI_API_KEY: 'test-key', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
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

describe('demo command', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
    const { tools } = await loadGenerationTools(join(repoRoot, 'examples', 'specs'));
    server.setDefault(worldResponder(planCalls(tools.map((t) => t.tool))));
  });
  after(async () => {
    await server.close();
  });

  test('runs the main job end to end with --model openai:fake --base-url', async () => {
    const cwd = makeTempDir();
    const result = await cli(
      ['demo', '--model', 'openai:fake', '--base-url', server.baseUrl, '--no-cache'],
      cwd,
    );
    assert.equal(result.code, 0, result.stderr);
    const outDir = join(cwd, 'demo-output');
    for (const file of ['tools.json', 'instructions.json', 'corpus.json', 'report.md']) {
      assert.ok(existsSync(join(outDir, file)), file);
    }
    const tools = await readToolAlpacaFile(join(outDir, 'tools.json'));
    assert.deepEqual(tools.map((t) => t.Name).sort(), ['Library Catalog', 'Recipe Box', 'Tide Tables']);
    assert.ok(
      tools.every((t) => (t.NLDocumentation ?? '').includes('Function description')) ||
        tools.every((t) => (t.NLDocumentation ?? '') !== ''),
    );
    const corpus = await readToolAlpacaFile(join(outDir, 'corpus.json'));
    for (const record of corpus) {
      assert.equal(record.Instructions?.length, 2, record.Name);
      assert.equal(record.Instances?.length, 2, record.Name);
      for (const instance of record.Instances ?? []) InstanceSchema.parse(instance);
    }
    const report = readFileSync(join(outDir, 'report.md'), 'utf8');
    assert.match(report, /instances: 6\/6 done, 6 completed, 0 failed/);
    assert.match(report, /## Sample trajectory/);
    assert.match(report, /Action: \w+/);
    assert.equal(result.stdout.startsWith('# toolalpaca demo'), true);
    // The demo keeps the offline schema executor and says so (generate defaults to the simulated one).
    assert.match(report, /- executor: schema .*`generate` uses the LLM-simulated executor by default/);
    assert.match(result.stderr, /demo: tool calls are answered by the offline schema executor/);
  });

  test('--out and the model from toolalpaca.config.json', async () => {
    const cwd = makeTempDir();
    writeFileSync(
      join(cwd, 'toolalpaca.config.json'),
      JSON.stringify({ model: 'openai:fake', baseUrl: server.baseUrl, cache: false }),
    );
    const result = await cli(['demo', '--out', 'elsewhere', '--json'], cwd);
    assert.equal(result.code, 0, result.stderr);
    const value = JSON.parse(result.stdout) as { model: string; summary: { done: number }; outDir: string };
    assert.equal(value.model, 'openai:fake');
    assert.equal(value.summary.done, 6);
    assert.equal(value.outDir, join(cwd, 'elsewhere'));
  });

  test('offline with no model file: one line saying what to pass instead', async () => {
    const cwd = makeTempDir();
    const models = makeTempDir();
    writeFileSync(join(cwd, 'toolalpaca.config.json'), JSON.stringify({ modelsDir: models }));
    const result = await cli(['demo'], cwd, { HF_ENDPOINT: 'http://127.0.0.1:9' });
    assert.notEqual(result.code, 0);
    const lines = result.stderr.trim().split('\n');
    const last = lines[lines.length - 1] ?? '';
    assert.match(last, /^toolalpaca: .*--model openai:MODEL --base-url URL/);
  });
});
