/**
 * Hostile input ends fast and clean: a `$ref` bomb, a schema nested 10,000 levels deep, files far over
 * the size limit (and endless devices), a reader that closes the pipe, a disk that fills up. Every case
 * is one line naming what and where, the right exit code, and nothing half-written. The hostile files
 * are made in the test's temp folder.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  ftruncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { cliPath, runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

/** 40 schemas, each referencing the previous one twice: 2^40 nodes once expanded, 5 KB as written. */
function refBomb(title: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = { S0: { type: 'object', properties: { v: { type: 'string' } } } };
  for (let i = 1; i < 40; i++) {
    const previous = { $ref: `#/components/schemas/S${i - 1}` };
    schemas[`S${i}`] = { type: 'object', properties: { a: previous, b: { ...previous } } };
  }
  return {
    openapi: '3.0.0',
    info: { title, version: '1' },
    servers: [{ url: 'https://bomb.example.com' }],
    paths: {
      '/b': {
        get: {
          operationId: 'explode',
          responses: {
            '200': {
              description: 'ok',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/S39' } } },
            },
          },
        },
      },
    },
    components: { schemas },
  };
}

/** A spec whose response schema nests `levels` objects (written as text: JSON.stringify would overflow). */
function deepSpecText(title: string, levels: number): string {
  const schema = `${'{"type":"object","properties":{"x":'.repeat(levels)}{"type":"string"}${'}}'.repeat(levels)}`;
  return `{"openapi":"3.0.0","info":{"title":"${title}","version":"1"},"servers":[{"url":"https://deep.example.com"}],"paths":{"/d":{"get":{"operationId":"dive","responses":{"200":{"description":"ok","content":{"application/json":{"schema":${schema}}}}}}}}}`;
}

function fineSpec(title: string): Record<string, unknown> {
  return {
    openapi: '3.0.0',
    info: { title, version: '1' },
    servers: [{ url: 'https://fine.example.com' }],
    paths: {
      '/f': {
        get: {
          operationId: 'fine',
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
    },
  };
}

function record(name: string, documentation: string): string {
  return `{"Name":${JSON.stringify(name)},"Description":"d","Documentation":${JSON.stringify(documentation)}}`;
}

/** A file of `size` bytes that starts with `head` and takes no disk space (sparse). */
function sparseFile(path: string, head: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

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
