// Integration tests: the compiled CLI (`node bin/toolalpaca.js tools ...`) run as a user would.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const SIMULATED = sharedData('toolalpaca/eval_simulated.json');
const REAL = sharedData('toolalpaca/eval_real.json');

type RawRecord = Record<string, unknown> & {
  Name: string;
  Category?: string;
  Function_Projection?: Record<string, [string, string]>;
};

function rawRecords(path: string): RawRecord[] {
  return JSON.parse(readFileSync(path, 'utf8')) as RawRecord[];
}

interface ListEntry {
  name: string;
  category: string | null;
  functions: number | null;
  problems: number;
  valid: boolean;
  source: string;
}

/** Errors are exactly one line `toolalpaca: ...` and carry no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(lines[0] ?? '', /^toolalpaca: /);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(stderr, /^\s+at /m);
}

/** A small OpenAPI spec; `problems` adds a parameter without description and drops the servers. */
function specText(title: string, problems = false): string {
  return JSON.stringify({
    openapi: '3.0.3',
    info: { title, version: '1.0.0', description: `${title} API` },
    ...(problems ? {} : { servers: [{ url: 'https://example.com/api' }] }),
    paths: {
      '/items/{id}': {
        get: {
          operationId: 'getItem',
          description: 'Get one item',
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              ...(problems ? {} : { description: 'Item id' }),
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': {
              description: 'The item',
              content: {
                'application/json': { schema: { type: 'object', properties: { id: { type: 'string' } } } },
              },
            },
          },
        },
      },
    },
  });
}

describe('tools list', { concurrency: true }, () => {
  for (const [label, path, count] of [
    ['eval_simulated', SIMULATED, 10],
    ['eval_real', REAL, 11],
  ] as const) {
    test(`--json on ${label}: ${count} tools with their function counts`, async () => {
      const { code, stdout, stderr } = await runCli(['tools', 'list', path, '--json']);
      assert.equal(code, 0, stderr);
      const entries = JSON.parse(stdout) as ListEntry[];
      const records = rawRecords(path);
      assert.equal(entries.length, count);
      entries.forEach((entry, index) => {
        const record = records[index];
        assert.ok(record !== undefined);
        assert.equal(entry.name, record.Name);
        assert.equal(entry.category, record.Category);
        assert.equal(entry.functions, Object.keys(record.Function_Projection ?? {}).length, record.Name);
        assert.equal(entry.valid, entry.problems === 0);
        assert.equal(entry.source, path);
      });
    });
  }

  test('table output: a header and one row per tool, over several files', async () => {
    const { code, stdout } = await runCli(['tools', 'list', SIMULATED, REAL]);
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+CATEGORY\s+FUNCTIONS\s+STATUS\s+SOURCE$/);
    assert.equal(lines.length, 1 + 21);
    assert.match(lines[1] ?? '', /^Axolotl\s+Animals\s+3\s+\S/);
    assert.ok(lines.some((line) => /^Nager\.Date\s+Calendar\s+8\s/.test(line)));
  });

  test('an OpenAPI spec file and a folder of specs are detected', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'alpha.json'), specText('Alpha'));
    writeFileSync(join(dir, 'beta.json'), specText('Beta', true));
    const { code, stdout } = await runCli(['tools', 'list', '--json', dir]);
    assert.equal(code, 0);
    const entries = JSON.parse(stdout) as ListEntry[];
    assert.deepEqual(
      entries.map((e) => [e.name, e.functions, e.valid]),
      [
        ['Alpha', 1, true],
        ['Beta', 1, false],
      ],
    );
  });
});

describe('tools docs', { concurrency: true }, () => {
  for (const path of [SIMULATED, REAL]) {
    test(`reproduces ToolAlpaca's derived fields for ${path.split('/').pop() ?? path}`, async () => {
      const dir = makeTempDir();
      const out = join(dir, 'docs.json');
      // Start from records without the derived fields, so that the output must recompute them.
      const original = rawRecords(path);
      const stripped = original.map((record) => {
        const copy: Record<string, unknown> = { ...record };
        delete copy.NLDocumentation;
        delete copy.Function_Description;
        delete copy.Function_Projection;
        return copy;
      });
      const input = join(dir, 'input.json');
      writeFileSync(input, JSON.stringify(stripped, null, 2));
      const { code, stderr } = await runCli(['tools', 'docs', input, '--out', out]);
      assert.equal(code, 0, stderr);
      const written = JSON.parse(readFileSync(out, 'utf8')) as RawRecord[];
      assert.equal(written.length, original.length);
      written.forEach((record, index) => {
        const expected = original[index];
        assert.ok(expected !== undefined);
        assert.deepEqual(Object.keys(record), Object.keys(expected), 'same keys in ToolAlpaca order');
        assert.deepEqual(record, expected, record.Name);
      });
    });
  }

  test('from an OpenAPI spec: Documentation plus derived fields', async () => {
    const dir = makeTempDir();
    const spec = join(dir, 'alpha.json');
    writeFileSync(spec, specText('Alpha'));
    const out = join(dir, 'alpha.toolalpaca.json');
    const { code, stderr } = await runCli(['tools', 'docs', spec, '--out', out]);
    assert.equal(code, 0, stderr);
    const [record] = JSON.parse(readFileSync(out, 'utf8')) as RawRecord[];
    assert.ok(record !== undefined);
    assert.equal(record.Name, 'Alpha');
    assert.deepEqual(record.Function_Projection, { getItem: ['/items/{id}', 'get'] });
    assert.match(String(record.NLDocumentation), /getItem/);
    assert.equal(typeof record.Documentation, 'string');
  });

  test('a record without Documentation is an input error naming file and tool', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'nodocs.json');
    writeFileSync(file, JSON.stringify([{ Name: 'NoDocs' }]));
    const out = join(dir, 'out.json');
    const { code, stderr } = await runCli(['tools', 'docs', file, '--out', out]);
    assert.equal(code, 2);
    assertOneLineError(stderr, /nodocs\.json: tool "NoDocs": no Documentation/);
    assert.deepEqual(readdirSync(dir), ['nodocs.json']);
  });

  test('requires --out', async () => {
    const { code, stderr } = await runCli(['tools', 'docs', SIMULATED]);
    assert.notEqual(code, 0);
    assert.match(stderr, /--out/);
  });
});

describe('tools validate', { concurrency: true }, () => {
  test('exit 0 and no problem lines for valid tools', async () => {
    const dir = makeTempDir();
    const spec = join(dir, 'alpha.json');
    writeFileSync(spec, specText('Alpha'));
    const { code, stdout, stderr } = await runCli(['tools', 'validate', spec]);
    assert.equal(code, 0, stdout + stderr);
    assert.equal(stdout, '');
    assert.match(stderr, /1 tool checked, no problems/);
    const simulated = await runCli(['tools', 'validate', SIMULATED]);
    assert.equal(simulated.code, 0, simulated.stdout);
  });

  test('exit 1 with one "tool › function: problem" line per problem', async () => {
    const dir = makeTempDir();
    const spec = join(dir, 'beta.json');
    writeFileSync(spec, specText('Beta', true));
    const { code, stdout } = await runCli(['tools', 'validate', spec]);
    assert.equal(code, 1);
    const lines = stdout.trimEnd().split('\n');
    assert.ok(lines.includes('Beta: no servers'), stdout);
    assert.ok(
      lines.some((line) => /^Beta › getItem: .*'id'/.test(line)),
      stdout,
    );

    const json = await runCli(['tools', 'validate', '--json', spec]);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as {
      tools: number;
      valid: boolean;
      problems: { tool: string; function?: string; message: string }[];
    };
    assert.equal(report.tools, 1);
    assert.equal(report.valid, false);
    assert.equal(report.problems.length, lines.length);
    assert.ok(report.problems.some((p) => p.tool === 'Beta' && p.function === 'getItem'));
  });

  test('a record whose Documentation cannot be read is a problem of that tool', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'tools.json');
    const [good] = rawRecords(SIMULATED);
    writeFileSync(file, JSON.stringify([good, { Name: 'Broken', Documentation: '{"openapi": "3.0.0", ' }]));
    const { code, stdout } = await runCli(['tools', 'validate', file]);
    assert.equal(code, 1);
    assert.match(stdout, /^Broken: .*invalid JSON/m);
    assert.doesNotMatch(stdout, /Axolotl/);
  });

  test('exit 2 with one error line for a missing file, broken JSON or a wrong shape', async () => {
    const dir = makeTempDir();
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '[{"Name": "A",}]');
    const shape = join(dir, 'shape.json');
    writeFileSync(shape, JSON.stringify([{ Name: 'A', Instructions: 3 }]));
    const [missing, brokenRun, shapeRun] = await Promise.all([
      runCli(['tools', 'validate', join(dir, 'missing.json')]),
      runCli(['tools', 'validate', broken]),
      runCli(['tools', 'validate', shape, '--json']),
    ]);
    assert.equal(missing.code, 2);
    assertOneLineError(missing.stderr, /missing\.json/);
    assert.equal(brokenRun.code, 2);
    assertOneLineError(brokenRun.stderr, /broken\.json: invalid JSON at line 1 column 15 \(position 14\)/);
    assert.equal(shapeRun.code, 2);
    assert.equal(shapeRun.stdout, '');
    assertOneLineError(shapeRun.stderr, /shape\.json: record 0 \("A"\): field "Instructions"/);
  });

  test('--debug adds the stack trace', async () => {
    const { code, stderr } = await runCli(['--debug', 'tools', 'validate', 'no-such-file.json']);
    assert.equal(code, 2);
    assert.match(stderr, /^\s+at /m);
    assert.match(stderr, /^toolalpaca: no-such-file\.json/m);
  });
});

describe('tools convert', { concurrency: true }, () => {
  test('ToolAlpaca → OpenAPI folder → ToolAlpaca keeps tools and functions', async () => {
    const dir = makeTempDir();
    const specs = join(dir, 'specs');
    const toOpenApi = await runCli(['tools', 'convert', SIMULATED, '--to', 'openapi', '--out', specs]);
    assert.equal(toOpenApi.code, 0, toOpenApi.stderr);
    const files = readdirSync(specs).sort();
    assert.equal(files.length, 10);
    assert.ok(files.includes('axolotl.json'));
    assert.ok(files.includes('amethyste.json'), files.join(' '));
    assert.ok(files.includes('a-biblia-digital.json'), files.join(' '));
    for (const file of files) assert.match(file, /^[a-z0-9-]+\.json$/);
    const axolotl = JSON.parse(readFileSync(join(specs, 'axolotl.json'), 'utf8')) as {
      openapi: string;
      info: { title: string };
    };
    assert.match(axolotl.openapi, /^3\./);
    assert.equal(axolotl.info.title, 'Axolotl');

    const back = join(dir, 'back.json');
    const toToolAlpaca = await runCli(['tools', 'convert', specs, '--to', 'toolalpaca', '--out', back]);
    assert.equal(toToolAlpaca.code, 0, toToolAlpaca.stderr);
    const records = JSON.parse(readFileSync(back, 'utf8')) as RawRecord[];
    const original = rawRecords(SIMULATED);
    assert.equal(records.length, original.length);
    const byName = new Map(records.map((record) => [record.Name, record]));
    for (const record of original) {
      const converted = byName.get(record.Name);
      assert.ok(converted !== undefined, record.Name);
      assert.equal(converted.Category, record.Category);
      assert.deepEqual(converted.Function_Projection, record.Function_Projection, record.Name);
    }
    // And the converted file lists the same tools and function counts.
    const listed = await runCli(['tools', 'list', back, '--json']);
    const entries = JSON.parse(listed.stdout) as ListEntry[];
    assert.deepEqual(
      entries.map((e) => [e.name, e.functions]).sort(),
      original.map((r) => [r.Name, Object.keys(r.Function_Projection ?? {}).length]).sort(),
    );
  });

  test('ToolAlpaca → ToolAlpaca keeps instructions and unknown keys', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'real.json');
    const { code, stderr } = await runCli(['tools', 'convert', REAL, '--to', 'toolalpaca', '--out', out]);
    assert.equal(code, 0, stderr);
    const records = JSON.parse(readFileSync(out, 'utf8')) as RawRecord[];
    const original = rawRecords(REAL);
    records.forEach((record, index) => {
      const expected = original[index];
      assert.ok(expected !== undefined);
      assert.deepEqual(Object.keys(record), Object.keys(expected));
      assert.deepEqual(record.external_tools, expected.external_tools);
      assert.deepEqual(record.Instructions, expected.Instructions);
      assert.deepEqual(record.Golden_Answers, expected.Golden_Answers);
      assert.deepEqual(
        Object.keys(record.Function_Projection ?? {}).sort(),
        Object.keys(expected.Function_Projection ?? {}).sort(),
      );
    });
  });

  test('rejects an unknown --to', async () => {
    const { code, stderr } = await runCli([
      'tools',
      'convert',
      SIMULATED,
      '--to',
      'yaml',
      '--out',
      makeTempDir(),
    ]);
    assert.notEqual(code, 0);
    assert.match(stderr, /openapi, toolalpaca/);
  });
});

describe('tools --help', { concurrency: true }, () => {
  const patterns = {
    list: /Usage: toolalpaca tools list \[options\] <file\.\.\.>[\s\S]*--json/,
    docs: /Usage: toolalpaca tools docs \[options\] <file>[\s\S]*NLDocumentation[\s\S]*--out <path>/,
    validate: /Usage: toolalpaca tools validate \[options\] <file\.\.\.>[\s\S]*Exit code 0/,
    convert:
      /Usage: toolalpaca tools convert \[options\] <file>[\s\S]*--to <format>[\s\S]*"openapi", "toolalpaca"/,
  };
  test('each command explains itself, its input and its options', async () => {
    const runs = await Promise.all(
      Object.keys(patterns).map(
        async (command) => [command, await runCli(['tools', command, '--help'])] as const,
      ),
    );
    for (const [command, { code, stdout }] of runs) {
      assert.equal(code, 0, command);
      assert.match(stdout, patterns[command as keyof typeof patterns]);
      assert.match(stdout, /ToolAlpaca JSON file/);
      assert.match(stdout, /Examples?:\n {2}\$ toolalpaca tools /);
    }
  });

  test('tools --help lists every command with a summary', async () => {
    const { code, stdout } = await runCli(['tools', '--help']);
    assert.equal(code, 0);
    for (const command of Object.keys(patterns)) {
      assert.match(stdout, new RegExp(`^\\s+${command} \\[options\\] <file(\\.\\.\\.)?>\\s+\\S`, 'm'));
    }
  });
});
