import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { instanceSteps } from '../../src/view/trajectory.js';

const step = (action: string): unknown[] => [
  [action, '{}', `Thought: call ${action}\nAction: ${action}`],
  'ok',
];

describe('observation sources of a trajectory', () => {
  test('recorded sources win; a null entry means no executor answered, not the run executor', () => {
    const instance = {
      intermediate_steps: [step('search'), step('facts'), step('nosuchaction')],
      observation_sources: ['real', 'simulated', null],
    };
    const sources = instanceSteps(instance, 'simulated').map((s) => s.source);
    assert.deepEqual(sources, ['real', 'simulated', undefined]);
  });

  test('a corpus without recorded sources falls back to the run executor', () => {
    const instance = { intermediate_steps: [step('search'), step('facts')] };
    assert.deepEqual(
      instanceSteps(instance, 'schema').map((s) => s.source),
      ['schema', 'schema'],
    );
  });
});
