/**
 * Instance kinds in the data model: an instance may carry `kind` (and, for missing-info and multi-turn,
 * what the kind needs); without one it is ToolAlpaca's instance, unchanged.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTANCE_KINDS, InstanceSchema, ToolAlpacaRecordSchema } from '../../src/core/toolalpaca-record.js';

describe('instance kinds', () => {
  test('the six kinds, in a stable order', () => {
    assert.deepEqual(
      [...INSTANCE_KINDS],
      ['single', 'multi-step', 'parallel', 'irrelevance', 'missing-info', 'multi-turn'],
    );
  });

  test('an instance without a kind parses to the same keys (ToolAlpaca format unchanged)', () => {
    const original = { input: 'q', output: 'a', 'Final Thought': 't', intermediate_steps: [] };
    const parsed = InstanceSchema.parse(original);
    assert.deepEqual(Object.keys(parsed), Object.keys(original));
    assert.equal('kind' in parsed, false);
  });

  test('each kind is accepted, an unknown one is refused', () => {
    for (const kind of INSTANCE_KINDS) assert.equal(InstanceSchema.parse({ input: 'q', kind }).kind, kind);
    assert.equal(InstanceSchema.safeParse({ input: 'q', kind: 'parallel-multiple' }).success, false);
  });

  test('missing-info and multi-turn details round-trip', () => {
    const instance = {
      input: 'Book me a table for two tonight.',
      output: 'Done.',
      intermediate_steps: [],
      kind: 'missing-info',
      missing: { function: 'book', argument: 'restaurant', value: 'Chez Lou' },
    };
    assert.deepEqual(InstanceSchema.parse(instance), instance);
    const turns = {
      input: 'Weather in Oslo?',
      kind: 'multi-turn',
      follow_ups: [{ input: 'And tomorrow?', output: 'Rain.', intermediate_steps: [] }],
    };
    assert.deepEqual(InstanceSchema.parse(turns), turns);
  });

  test('a record keeps Instruction_Kinds aligned with Instructions (null for no kind)', () => {
    const record = {
      Name: 'Weather',
      Instructions: ['a', 'b'],
      Instruction_Kinds: [null, { kind: 'multi-turn', followUp: 'And tomorrow?' }],
    };
    assert.deepEqual(ToolAlpacaRecordSchema.parse(record), record);
    assert.equal(
      ToolAlpacaRecordSchema.safeParse({ ...record, Instruction_Kinds: [{ kind: 'other' }] }).success,
      false,
    );
  });
});
