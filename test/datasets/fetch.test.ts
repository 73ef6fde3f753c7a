import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

describe('datasets fetch', () => {
  let server: Server;
  let mirrorUrl = '';
  let served = 0;

  before(async () => {
    // A local stand-in for the original hosts: serves the shared copies by file name.
    server = createServer((req, res) => {
      const name = (req.url ?? '').split('/').pop() ?? '';
      const candidates = ['toolalpaca', 'stabletoolbench'].map((dir) => sharedData(`${dir}/${name}`));
      for (const path of candidates) {
        try {
          const body = readFileSync(path);
          served++;
          res.writeHead(200, { 'content-type': 'application/json' }).end(body);
          return;
        } catch {
          // try the next folder
        }
      }
      res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    mirrorUrl = `http://127.0.0.1:${address.port}/files`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('downloads from a mirror and verifies checksums', async () => {
    const dir = makeTempDir();
    const result = await runCli([
      'datasets',
      'fetch',
      'toolalpaca-eval',
      '--dir',
      dir,
      '--mirror',
      mirrorUrl,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const files = JSON.parse(result.stdout) as { file: string; bytes: number }[];
    assert.deepEqual(files.map((f) => f.file).sort(), ['eval_real.json', 'eval_simulated.json']);
    assert.deepEqual(
      readFileSync(join(dir, 'eval_real.json')),
      readFileSync(sharedData('toolalpaca/eval_real.json')),
    );
    assert.ok(served >= 2);
  });

  test('copies from a local folder with --from', async () => {
    const dir = makeTempDir();
    const result = await runCli([
      'datasets',
      'fetch',
      'stabletoolbench',
      '--dir',
      dir,
      '--from',
      sharedData('.'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(dir).sort(), [
      'G1_category.json',
      'G1_instruction.json',
      'G1_tool.json',
      'G2_instruction.json',
      'G3_instruction.json',
    ]);
  });

  test("StableToolBench's evaluator folders and ToolBench's prompts, pinned, into the default folder", async () => {
    const home = makeTempDir();
    const env = { TOOLALPACA_DATA_DIR: home };
    const evaluators = await runCli(
      ['datasets', 'fetch', 'stabletoolbench-evaluators', '--from', sharedData('stabletoolbench')],
      { env },
    );
    assert.equal(evaluators.code, 0, evaluators.stderr);
    const root = join(home, 'stabletoolbench-evaluators');
    for (const folder of ['default', 'fn', 'normalized']) {
      for (const file of ['config.yaml', 'template.txt']) {
        const rel = `tooleval_gpt-3.5-turbo_${folder}/${file}`;
        assert.deepEqual(
          readFileSync(join(root, rel)),
          readFileSync(sharedData(`stabletoolbench/evaluators/${rel}`)),
          rel,
        );
      }
    }
    const prompts = await runCli(['datasets', 'fetch', 'toolbench-prompts', '--from', sharedData('.')], {
      env,
    });
    assert.equal(prompts.code, 0, prompts.stderr);
    assert.deepEqual(readdirSync(join(home, 'toolbench-prompts')).sort(), [
      '57_ChatGPT_DFS_woFilter_w2.json',
      'ReAct_prompts.py',
      'Tree_search_prompts.py',
    ]);
  });

  test('a fetch that fails on its last file writes none of them', async () => {
    const mirror = makeTempDir();
    for (const folder of ['default', 'fn', 'normalized']) {
      mkdirSync(join(mirror, `tooleval_gpt-3.5-turbo_${folder}`));
      for (const file of ['config.yaml', 'template.txt']) {
        const rel = `tooleval_gpt-3.5-turbo_${folder}/${file}`;
        writeFileSync(join(mirror, rel), readFileSync(sharedData(`stabletoolbench/evaluators/${rel}`)));
      }
    }
    writeFileSync(join(mirror, 'tooleval_gpt-3.5-turbo_normalized/template.txt'), 'changed');
    const dir = makeTempDir();
    const result = await runCli([
      'datasets',
      'fetch',
      'stabletoolbench-evaluators',
      '--dir',
      dir,
      '--from',
      mirror,
    ]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /normalized\/template\.txt from .*checksum/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a changed file fails the checksum and is not written; --no-verify accepts it', async () => {
    const mirror = makeTempDir();
    mkdirSync(join(mirror, 'x'));
    writeFileSync(join(mirror, 'x', 'public_apis.json'), '{"count": 1, "entries": []}');
    const dir = makeTempDir();
    const bad = await runCli(['datasets', 'fetch', 'public-apis', '--dir', dir, '--from', mirror]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /^toolalpaca: public_apis\.json from .*checksum .* does not match/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.deepEqual(readdirSync(dir), []);
    const accepted = await runCli([
      'datasets',
      'fetch',
      'public-apis',
      '--dir',
      dir,
      '--from',
      mirror,
      '--no-verify',
    ]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.deepEqual(readdirSync(dir), ['public_apis.json']);
  });

  test('an unreachable host gives one line and a non-zero exit', async () => {
    const dir = makeTempDir();
    const result = await runCli([
      'datasets',
      'fetch',
      'public-apis',
      '--dir',
      dir,
      '--mirror',
      'http://127.0.0.1:1/x',
    ]);
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /^toolalpaca: cannot download public_apis\.json: 127\.0\.0\.1:1 is unreachable/,
    );
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('an unknown dataset name lists the known ones', async () => {
    const result = await runCli(['datasets', 'fetch', 'nope', '--dir', makeTempDir()]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /unknown dataset 'nope'; known: toolalpaca-eval, public-apis, stabletoolbench/,
    );
  });
});
