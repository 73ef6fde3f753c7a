import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  parsePythonJson,
  pythonFloatRepr,
  pythonJsonDumps,
  pythonKeys,
  pythonRepr,
  pythonStr,
  pythonStrAt,
  pythonStringRepr,
} from '../../src/formats/python-json.js';
import { InputError } from '../../src/core/errors.js';
import { sharedData } from '../helpers/paths.js';

describe('pythonJsonDumps on ToolAlpaca files', () => {
  // ToolAlpaca writes its files with json.dump(data, f, indent=4, ensure_ascii=False).
  for (const file of ['toolalpaca/eval_simulated.json', 'toolalpaca/eval_real.json']) {
    test(`${file} round-trips byte for byte`, () => {
      const text = readFileSync(sharedData(file), 'utf8');
      assert.equal(pythonJsonDumps(parsePythonJson(text), { indent: 4, ensureAscii: false }), text);
    });
  }

  test('Documentation strings written by json.dumps(spec) round-trip (non-ASCII escaped)', () => {
    const records = JSON.parse(readFileSync(sharedData('toolalpaca/eval_simulated.json'), 'utf8')) as {
      Name: string;
      Documentation: string;
    }[];
    let escaped = 0;
    for (const record of records) {
      assert.equal(pythonJsonDumps(parsePythonJson(record.Documentation)), record.Documentation, record.Name);
      if (/\\u00[0-9a-f]{2}/.test(record.Documentation)) escaped++;
    }
    assert.ok(escaped > 0, 'some Documentation has escaped non-ASCII');
  });
});

describe('pythonJsonDumps', () => {
  test('separators, escapes and ensure_ascii', () => {
    const value = { a: [1, 2.5, true, null], é: 'x\u2028😀"\\\n\u007f', e: {}, l: [] };
    assert.equal(
      pythonJsonDumps(value),
      '{"a": [1, 2.5, true, null], "\\u00e9": "x\\u2028\\ud83d\\ude00\\"\\\\\\n\\u007f", "e": {}, "l": []}',
    );
    assert.equal(
      pythonJsonDumps(value, { ensureAscii: false }),
      '{"a": [1, 2.5, true, null], "é": "x\u2028😀\\"\\\\\\n\u007f", "e": {}, "l": []}',
    );
    assert.equal(
      pythonJsonDumps({ a: [1, { b: 2 }] }, { indent: 2 }),
      '{\n  "a": [\n    1,\n    {\n      "b": 2\n    }\n  ]\n}',
    );
  });

  test('numbers as Python spells them', () => {
    // A JS number cannot tell 1e16 (a Python float) from 10000000000000000 (an int): integral values
    // print as ints unless parsePythonJson saw the literal.
    assert.equal(
      pythonJsonDumps([1e16, 1e-5, 0.1, -0, 1e21, NaN, -Infinity]),
      '[10000000000000000, 1e-05, 0.1, 0, 1000000000000000000000, NaN, -Infinity]',
    );
    assert.equal(
      pythonJsonDumps(parsePythonJson('[1.0, -0.0, 12345678901234567890, 1E2, 1e16, 1e21]')),
      '[1.0, -0.0, 12345678901234567890, 100.0, 1e+16, 1e+21]',
    );
  });

  test('source key order survives even for integer-like keys', () => {
    const text = '{"b": 1, "200": 2, "a": 3, "1": 4}';
    const value = parsePythonJson(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), ['1', '200', 'b', 'a']);
    assert.deepEqual(pythonKeys(value), ['b', '200', 'a', '1']);
    assert.equal(pythonJsonDumps(value), text);
  });

  test('duplicate keys keep the first position and the last value, as json.loads does', () => {
    assert.equal(pythonJsonDumps(parsePythonJson('{"a": 1, "b": 2, "a": 3}')), '{"a": 3, "b": 2}');
  });

  test('"__proto__" is an ordinary key', () => {
    const value = parsePythonJson('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(pythonJsonDumps(value), '{"__proto__": {"x": 1}}');
  });

  test('cycles throw', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.throws(() => pythonJsonDumps(a), TypeError);
  });
});

describe('parsePythonJson errors', () => {
  test('malformed text is an InputError naming the label and position', () => {
    assert.throws(
      () => parsePythonJson('{"a": }', 'spec.json'),
      (error: unknown) =>
        error instanceof InputError && /^spec\.json: .* at character 6$/.test(error.message),
    );
    assert.throws(() => parsePythonJson('{"a": 1} x'), InputError);
    assert.throws(() => parsePythonJson('"tab\there"'), InputError);
    assert.throws(() => parsePythonJson('[1,]'), InputError);
  });

  test('accepts what json.loads accepts beyond strict JSON (NaN, Infinity, lone surrogates)', () => {
    assert.deepEqual(parsePythonJson('[NaN, Infinity, -Infinity, "\\ud800"]'), [
      NaN,
      Infinity,
      -Infinity,
      '\ud800',
    ]);
  });
});

describe('str() and repr()', () => {
  test('floats', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'],
      [1e16, '1e+16'],
      [1234567890123456.0 + 0.5, '1234567890123456.5'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [100, '100.0'],
      [-0, '-0.0'],
      [NaN, 'nan'],
      [-Infinity, '-inf'],
    ];
    for (const [value, expected] of cases) assert.equal(pythonFloatRepr(value), expected, String(value));
  });

  test('strings pick their quote and escape like Python', () => {
    assert.equal(pythonStringRepr("it's"), '"it\'s"');
    assert.equal(pythonStringRepr(`both ' and "`), `'both \\' and "'`);
    assert.equal(
      pythonStringRepr('\t\n\x00\x7f\xa0\xe9\u200b\u2028😀\udc00'),
      "'\\t\\n\\x00\\x7f\\xa0é\\u200b\\u2028😀\\udc00'",
    );
  });

  test('containers and scalars', () => {
    assert.equal(pythonStr([1, 'a', true, null, { k: [2.5] }]), "[1, 'a', True, None, {'k': [2.5]}]");
    assert.equal(pythonStr('plain'), 'plain');
    assert.equal(pythonRepr('plain'), "'plain'");
    const parsed = parsePythonJson('{"n": 2.0, "m": 2}') as Record<string, unknown>;
    assert.equal(pythonStrAt(parsed, 'n'), '2.0');
    assert.equal(pythonStrAt(parsed, 'm'), '2');
  });
});
