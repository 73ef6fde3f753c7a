/**
 * Hostile tool files given to the run commands (not only to `tools list`): a `$ref` bomb, a schema
 * nested 10,000 levels and a 300 MB file end in one line naming the file and the tool, exit 2, before
 * any model call, and leave nothing behind (no output, journal or lock); serve refuses to start.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { deepSpecText, refBomb, sparseFile } from '../helpers/hostile-files.js';
import { cli, startWorld } from './chaos.js';

describe('hostile tool files given to the run commands', { concurrency: true }, () => {
  let server: FakeOpenAI;
  let dir: string;
  const files: Record<string, { path: string; message: RegExp }> = {};
  before(async () => {
    server = await startWorld();
    dir = makeTempDir();
    const bomb = join(dir, 'bomb.json');
    writeFileSync(bomb, JSON.stringify(refBomb('Bomb')));
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, deepSpecText('Deep', 10_000));
    const huge = join(dir, 'huge.yaml');
    sparseFile(huge, 'openapi: 3.0.0\n', 300 * 1024 * 1024);
    files.bomb = { path: bomb, message: /bomb\.json \(tool "Bomb"\): its \$refs expand to more than/ };
    files.deep = { path: deep, message: /deep\.json \(tool "Deep"\): nested deeper than 1000 levels/ };
    files.huge = { path: huge, message: /huge\.yaml: 300\.0 MB exceeds the 10 MB spec size limit/ };
  });
  after(async () => {
    await server.close();
  });

  const model = () => ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
  const runs: [string, string, (tools: string, out: string) => string[]][] = [
    [
      'generate',
      'bomb',
      (tools, out) => ['generate', '--tools', tools, '--executor', 'schema', ...model(), '--out', out],
    ],
    [
      'eval run',
      'deep',
      (tools, out) => ['eval', 'run', '--tools', tools, '--executor', 'schema', ...model(), '--out', out],
    ],
    [
      'generate',
      'huge',
      (tools, out) => ['generate', '--tools', tools, '--executor', 'schema', ...model(), '--out', out],
    ],
    ['serve', 'bomb', (tools) => ['serve', '--tools', tools, '--port', '0']],
    ['serve', 'deep', (tools) => ['serve', '--tools', tools, '--port', '0']],
  ];
  for (const [command, file, args] of runs) {
    test(`${command} on the ${file} file: exit 2, one line naming it, nothing written`, async () => {
      const out = join(dir, `${command.replace(' ', '-')}-${file}`, 'out.json');
      const before = server.chatRequests().length;
      const result = await cli(args(files[file]!.path, out), dir);
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', files[file]!.message);
      assert.equal(server.chatRequests().length, before, 'no model call');
      assert.deepEqual(readdirSync(dir).sort(), ['bomb.json', 'deep.json', 'huge.yaml']);
    });
  }
});
