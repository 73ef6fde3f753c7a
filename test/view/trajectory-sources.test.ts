import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { instanceSteps, runSteps } from '../../src/view/trajectory.js';

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

  test("a run item's step source: recorded wins, null means none, absent falls back to the run executor", () => {
    const runStep = (action: string, source?: string | null): Record<string, unknown> => ({
      action,
      actionInput: '{}',
      observation: 'ok',
      ...(source !== undefined ? { source } : {}),
    });
    const item = {
      steps: [runStep('search', 'cache'), runStep('nosuchaction', null), runStep('facts')],
    };
    assert.deepEqual(
      runSteps(item, 'simulated').map((s) => s.source),
      ['cache', undefined, 'simulated'],
    );
  });

  test('a corpus without recorded sources falls back to the run executor', () => {
    const instance = { intermediate_steps: [step('search'), step('facts')] };
    assert.deepEqual(
      instanceSteps(instance, 'schema').map((s) => s.source),
      ['schema', 'schema'],
    );
  });
});
