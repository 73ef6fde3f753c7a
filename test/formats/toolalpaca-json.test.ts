import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '../../src/core/atomic-write.js';
import { InputError } from '../../src/core/errors.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import {
  readToolAlpacaFile,
  readToolSource,
  recomputeDerivedFields,
  recordToTool,
  serializeToolAlpaca,
  toolToRecord,
  writeToolAlpacaFile,
} from '../../src/formats/toolalpaca-json.js';
import { pythonJsonDumps } from '../../src/formats/python-json.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const SIMULATED = sharedData('toolalpaca/eval_simulated.json');
const REAL = sharedData('toolalpaca/eval_real.json');

function rawJson(path: string): Record<string, unknown>[] {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>[];
}

async function inputError(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.ok(!error.message.includes('\n'), 'error message must be one line');
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('readToolAlpacaFile / serializeToolAlpaca round trip', () => {
  for (const [label, path, count] of [
    ['eval_simulated', SIMULATED, 10],
    ['eval_real', REAL, 11],
  ] as const) {
    test(`${label}: every key and value survives, byte for byte`, async () => {
      const records = await readToolAlpacaFile(path);
      assert.equal(records.length, count);
      const original = rawJson(path);
      assert.deepEqual(records, original);
      // Key order survives too (zod would move unknown keys to the end).
      records.forEach((record, index) =>
        assert.deepEqual(Object.keys(record), Object.keys(original[index] ?? {})),
      );
      // ToolAlpaca's files are json.dump(indent=4, ensure_ascii=False): we write the very same bytes.
      assert.equal(serializeToolAlpaca(records), readFileSync(path, 'utf8'));

      const dir = makeTempDir();
      const out = join(dir, 'nested', 'copy.json');
      await writeToolAlpacaFile(out, records);
      assert.deepEqual(await readToolAlpacaFile(out), original);
      assert.deepEqual(readdirSync(join(dir, 'nested')), ['copy.json']);
    });
  }

  test('unknown keys (external_tools, nested extras) are kept', async () => {
    const records = await readToolAlpacaFile(REAL);
    for (const record of records) assert.deepEqual(record.external_tools, ['retrieval']);
    const dir = makeTempDir();
    const path = join(dir, 'extra.json');
    const record = {
      Name: 'Extra',
      my_key: { deep: [1, 'two', null] },
      Instances: [{ input: 'hi', custom: true }],
      Golden_Answers: [[{ Action: 'a', Action_Input: '{}', note: 'kept' }]],
    };
    writeFileSync(path, JSON.stringify([record]));
    const read = await readToolAlpacaFile(path);
    assert.deepEqual(read, [record]);
    await writeToolAlpacaFile(path, read);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), [record]);
  });

  test('a single record object is accepted', async () => {
    const dir = makeTempDir();
    const path = join(dir, 'one.json');
    const record = rawJson(SIMULATED)[0];
    writeFileSync(path, JSON.stringify(record));
    const read = await readToolAlpacaFile(path);
    assert.equal(read.length, 1);
    assert.deepEqual(read[0], record);
  });

  test('non-ASCII text is written as UTF-8, not escaped', () => {
    const text = serializeToolAlpaca([{ Name: 'Améthyste', Description: '日本語 ✓' }]);
    assert.ok(text.includes('"Name": "Améthyste"'));
    assert.ok(text.includes('日本語 ✓'));
    assert.ok(text.startsWith('[\n    {\n        "Name"'));
  });
});

describe('reading errors name the file, record and field', () => {
  test('missing file', async () => {
    const path = join(makeTempDir(), 'nope.json');
    const error = await inputError(readToolAlpacaFile(path));
    assert.match(error.message, /nope\.json: file not found/);
    assert.equal(error.exitCode, 2);
  });

  test('broken JSON gives line and column', async () => {
    const path = join(makeTempDir(), 'broken.json');
    writeFileSync(path, '[\n  {"Name": "A",\n   "Description": }\n]');
    const error = await inputError(readToolAlpacaFile(path));
    assert.ok(error.message.startsWith(`${path}: invalid JSON at line 3 column`), error.message);
    assert.match(error.message, /position \d+/);
  });

  test('truncated JSON', async () => {
    const path = join(makeTempDir(), 'cut.json');
    writeFileSync(path, readFileSync(SIMULATED, 'utf8').slice(0, 5000));
    const error = await inputError(readToolAlpacaFile(path));
    assert.match(error.message, /cut\.json: invalid JSON at /);
  });

  test('a field of the wrong type', async () => {
    const path = join(makeTempDir(), 'shape.json');
    writeFileSync(path, JSON.stringify([{ Name: 'A' }, { Name: 'Beta', Instructions: 'not a list' }]));
    const error = await inputError(readToolAlpacaFile(path));
    assert.ok(error.message.startsWith(`${path}: record 1 ("Beta"): field "Instructions": `), error.message);
  });

  test('a nested field of the wrong type', async () => {
    const path = join(makeTempDir(), 'nested.json');
    writeFileSync(path, JSON.stringify([{ Name: 'A', Function_Projection: { f: ['/x', 3] } }]));
    const error = await inputError(readToolAlpacaFile(path));
    assert.match(error.message, /record 0 \("A"\): field "Function_Projection\.f\[1\]": /);
  });

  test('a missing Name, a non-object record, and a top-level scalar', async () => {
    const dir = makeTempDir();
    const noName = join(dir, 'noname.json');
    writeFileSync(noName, JSON.stringify([{ Description: 'x' }]));
    assert.match(
      (await inputError(readToolAlpacaFile(noName))).message,
      /noname\.json: record 0: field "Name"/,
    );
    const scalarRecord = join(dir, 'scalar-record.json');
    writeFileSync(scalarRecord, JSON.stringify([{ Name: 'ok' }, 42]));
    assert.match(
      (await inputError(readToolAlpacaFile(scalarRecord))).message,
      /record 1: expected an object/,
    );
    const scalar = join(dir, 'scalar.json');
    writeFileSync(scalar, '"hello"');
    assert.match(
      (await inputError(readToolAlpacaFile(scalar))).message,
      /scalar\.json: expected a JSON array/,
    );
  });

  test('readJsonFile uses the label when given', async () => {
    const path = join(makeTempDir(), 'x.json');
    writeFileSync(path, '{');
    assert.match((await inputError(readJsonFile(path, 'my config'))).message, /^my config: invalid JSON/);
    writeFileSync(path, '\uFEFF{"a": [1]}');
    assert.deepEqual(await readJsonFile(path), { a: [1] });
  });
});

describe('atomic writes', () => {
  test('no temp file is left and parent folders are created', async () => {
    const dir = makeTempDir();
    const path = join(dir, 'a', 'b', 'out.txt');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, 'second');
    assert.equal(readFileSync(path, 'utf8'), 'second');
    assert.deepEqual(readdirSync(join(dir, 'a', 'b')), ['out.txt']);
  });

  test('a failed serialisation does not clobber the old file', async () => {
    const dir = makeTempDir();
    const path = join(dir, 'tools.json');
    await writeToolAlpacaFile(path, [{ Name: 'Old' }]);
    const before = readFileSync(path, 'utf8');
    const bad = [{ Name: 'New', size: 10n }] as unknown as ToolAlpacaRecord[];
    await assert.rejects(writeToolAlpacaFile(path, bad), TypeError);
    assert.equal(readFileSync(path, 'utf8'), before);
    assert.deepEqual(readdirSync(dir), ['tools.json']);
  });

  test('a failed write removes its temp file', async () => {
    const dir = makeTempDir();
    // The target is a non-empty folder, so the final rename fails after the temp file was written.
    const target = join(dir, 'target');
    await writeFileAtomic(join(target, 'inside.txt'), 'x');
    await assert.rejects(writeFileAtomic(target, 'data'));
    assert.deepEqual(readdirSync(dir), ['target']);
  });
});

describe('Documentation and derived fields', () => {
  for (const [label, path] of [
    ['eval_simulated', SIMULATED],
    ['eval_real', REAL],
  ] as const) {
    test(`recomputeDerivedFields reproduces ToolAlpaca's fields on ${label} and keeps other keys`, async () => {
      for (const record of await readToolAlpacaFile(path)) {
        const before = structuredClone(record);
        const recomputed = recomputeDerivedFields(record);
        assert.deepEqual(record, before, 'input record is not modified');
        assert.deepEqual(Object.keys(recomputed), Object.keys(record));
        assert.deepEqual(recomputed, record, record.Name);
      }
    });
  }

  test('recomputeDerivedFields adds missing derived fields after Documentation', async () => {
    const [record] = await readToolAlpacaFile(SIMULATED);
    assert.ok(record !== undefined);
    const stripped: ToolAlpacaRecord = { ...record };
    delete stripped.NLDocumentation;
    delete stripped.Function_Description;
    delete stripped.Function_Projection;
    const recomputed = recomputeDerivedFields(stripped);
    assert.deepEqual(Object.keys(recomputed), Object.keys(record));
    assert.deepEqual(recomputed, record);
  });

  test('recordToTool takes name, category and link from the record and functions from Documentation', async () => {
    for (const path of [SIMULATED, REAL]) {
      for (const record of await readToolAlpacaFile(path)) {
        const tool = await recordToTool(record);
        assert.equal(tool.name, record.Name);
        assert.equal(tool.category, record.Category);
        assert.equal(tool.link, typeof record.Link === 'string' ? record.Link : undefined);
        assert.deepEqual(
          tool.functions.map((fn) => fn.name).sort(),
          Object.keys(record.Function_Projection ?? {}).sort(),
          record.Name,
        );
      }
    }
  });

  test('recordToTool fails with a one-line InputError naming the tool when Documentation is missing or broken', async () => {
    const missing = await inputError(recordToTool({ Name: 'NoDocs' }));
    assert.match(missing.message, /NoDocs/);
    const broken = await inputError(recordToTool({ Name: 'BadDocs', Documentation: '{"openapi": ' }));
    assert.match(broken.message, /BadDocs/);
  });

  test('toolToRecord builds Documentation and NL fields and keeps the other keys of base', async () => {
    const [record] = await readToolAlpacaFile(REAL);
    assert.ok(record !== undefined);
    const tool = await recordToTool(record);
    const rebuilt = toolToRecord(tool, record);
    assert.deepEqual(Object.keys(rebuilt), Object.keys(record));
    assert.deepEqual(rebuilt.Instructions, record.Instructions);
    assert.deepEqual(rebuilt.Golden_Answers, record.Golden_Answers);
    assert.deepEqual(rebuilt.external_tools, record.external_tools);
    assert.equal(rebuilt.Name, record.Name);
    const documentation = rebuilt.Documentation ?? '';
    assert.equal(pythonJsonDumps(JSON.parse(documentation)), documentation);
    assert.deepEqual(
      Object.keys(rebuilt.Function_Projection ?? {}).sort(),
      Object.keys(record.Function_Projection ?? {}).sort(),
    );
    // The derived fields are consistent with the Documentation that was written.
    assert.deepEqual(recomputeDerivedFields(rebuilt), rebuilt);

    const fresh = toolToRecord(tool);
    assert.deepEqual(Object.keys(fresh), [
      'Name',
      'Description',
      'Category',
      'Documentation',
      'NLDocumentation',
      'Function_Description',
      'Function_Projection',
    ]);
  });
});

describe('readToolSource detects the format', () => {
  test('ToolAlpaca arrays and records, OpenAPI specs and folders', async () => {
    assert.equal((await readToolSource(SIMULATED)).kind, 'toolalpaca');
    const dir = makeTempDir();
    const [record] = rawJson(SIMULATED);
    const single = join(dir, 'single.json');
    writeFileSync(single, JSON.stringify(record));
    assert.equal((await readToolSource(single)).kind, 'toolalpaca');
    const specs = join(dir, 'specs');
    mkdirSync(specs);
    const spec = join(specs, 'spec.json');
    writeFileSync(spec, String(record?.Documentation));
    const source = await readToolSource(spec);
    assert.equal(source.kind, 'openapi');
    writeFileSync(join(specs, 'spec.yaml'), 'openapi: 3.0.0\ninfo: {title: Y, version: "1"}\npaths: {}\n');
    const folder = await readToolSource(specs);
    assert.equal(folder.kind, 'openapi');
    assert.equal(folder.kind === 'openapi' ? folder.specs.length : 0, 2);
    await inputError(readToolSource(join(dir, 'missing.json')));
  });
});
