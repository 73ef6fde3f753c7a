/**
 * Hostile input ends fast and clean: a `$ref` bomb, a schema nested 10,000 levels deep, files far over
 * the size limit (and endless devices), a reader that closes the pipe, a disk that fills up. Every case
 * is one line naming what and where, the right exit code, and nothing half-written. The hostile files
 * are made in the test's temp folder.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { deepSpecText, fineSpec, record, refBomb, sparseFile } from '../helpers/hostile-files.js';

describe('hostile tool files', () => {
  test('a $ref bomb is refused in one line naming the tool, in a spec and in a ToolAlpaca record', async () => {
    const dir = makeTempDir();
    const spec = join(dir, 'bomb.json');
    writeFileSync(spec, JSON.stringify(refBomb('Bomb')));
    const alone = await runCli(['tools', 'list', spec]);
    assert.equal(alone.code, 2, alone.stderr);
    assert.equal(alone.stderr.trim().split('\n').length, 1);
    assert.match(alone.stderr, /bomb\.json \(tool "Bomb"\): its \$refs expand to more than 1,000,000 nodes/);

    const records = join(dir, 'records.json');
    writeFileSync(
      records,
      `[${record('Fine', JSON.stringify(fineSpec('Fine')))},${record('Bomb', JSON.stringify(refBomb('Bomb')))}]`,
    );
    const listed = await runCli(['tools', 'list', records, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = JSON.parse(listed.stdout) as {
      name: string;
      valid: boolean;
      functions: number | null;
      error?: string;
    }[];
    assert.deepEqual(
      entries.map((e) => [e.name, e.valid, e.functions]),
      [
        ['Fine', true, 1],
        ['Bomb', false, null],
      ],
    );
    assert.match(entries[1]?.error ?? '', /^tool "Bomb" Documentation: its \$refs expand to more than/);
    const validated = await runCli(['tools', 'validate', records]);
    assert.equal(validated.code, 1);
    assert.match(validated.stdout, /^Bomb: tool "Bomb" Documentation: its \$refs expand to more than/m);
  });

  test('a schema nested 10,000 levels: exit 2 naming the tool; in a ToolAlpaca file the others still read', async () => {
    const dir = makeTempDir();
    const spec = join(dir, 'deep.json');
    writeFileSync(spec, deepSpecText('Deep', 10_000));
    const alone = await runCli(['tools', 'list', spec]);
    assert.equal(alone.code, 2, alone.stderr);
    assert.equal(alone.stderr, `toolalpaca: ${spec} (tool "Deep"): nested deeper than 1000 levels\n`);

    const records = join(dir, 'records.json');
    const fine = JSON.stringify(fineSpec('Fine'));
    writeFileSync(
      records,
      `[${record('Fine', fine)},${record('Deep', deepSpecText('Deep', 10_000))},${record('Fine2', fine)}]`,
    );
    const listed = await runCli(['tools', 'list', records]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^Fine +1 +ok$/m);
    assert.match(listed.stdout, /^Deep +- +unreadable: nested deeper than 1000 levels$/m);
    assert.match(listed.stdout, /^Fine2 +1 +ok$/m);
    const validated = await runCli(['tools', 'validate', records]);
    assert.equal(validated.code, 1);
    assert.match(validated.stdout, /^Deep: tool "Deep" Documentation: nested deeper than 1000 levels$/m);
  });

  test('the size limit is checked before reading: huge files and endless devices are refused', async () => {
    const dir = makeTempDir();
    const spec = join(dir, 'huge.yaml');
    sparseFile(spec, 'openapi: 3.0.0\n', 300 * 1024 * 1024);
    const huge = await runCli(['tools', 'list', spec]);
    assert.equal(huge.code, 2);
    assert.equal(huge.stderr, `toolalpaca: ${spec}: 300.0 MB exceeds the 10 MB spec size limit\n`);

    // Data that starts like ToolAlpaca records may be larger than a spec, up to 256 MiB.
    const records = join(dir, 'huge.json');
    sparseFile(records, '[', 300 * 1024 * 1024);
    const many = await runCli(['tools', 'list', records]);
    assert.equal(many.code, 2);
    assert.equal(many.stderr, `toolalpaca: ${records}: 300.0 MB exceeds the 256 MB tools file size limit\n`);

    // Not a regular file: read as a stream and stopped at the limit.
    if (existsSync('/dev/zero')) {
      const zero = await runCli(['tools', 'list', '/dev/zero']);
      assert.equal(zero.code, 2);
      assert.match(
        zero.stderr,
        /^toolalpaca: \/dev\/zero: not a regular file, and more than the 10 MB spec size limit/,
      );
    }
  });
});

describe('output that cannot be written', () => {
  test('a reader that closes the pipe early ends the program quietly', async () => {
    const dir = makeTempDir();
    const spec = JSON.stringify(fineSpec('Fine'));
    const file = join(dir, 'many.json');
    writeFileSync(file, `[${Array.from({ length: 3000 }, (_, i) => record(`Tool ${i}`, spec)).join(',')}]`);
    // Exactly what a user types: the program's output piped into `head -1`, which exits after a line.
    const script = `"${process.execPath}" "${cliPath}" tools list "${file}" --json | head -1 > /dev/null; exit \${PIPESTATUS[0]}`;
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  test('a write that fails for lack of room names the file and leaves nothing behind', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out', 'tools.json');
    // A file size limit of 1 KiB makes the write fail (EFBIG) as a full disk (ENOSPC) does.
    const script = `ulimit -f 1; exec "${process.execPath}" "${cliPath}" tools convert "${sharedData('toolalpaca/eval_real.json')}" --to toolalpaca --out "${out}"`;
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 1);
    assert.equal(stderr, `toolalpaca: ${out}: cannot write: file too large (file size limit reached)\n`);
    assert.deepEqual(readdirSync(join(dir, 'out')), []);
  });
});
