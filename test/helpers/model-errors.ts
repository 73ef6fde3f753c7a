/** Assertions on model-call failures. */
import assert from 'node:assert/strict';
import { ModelCallError } from '../../src/models/model-errors.js';

/** Awaits `promise`, asserts that it rejects with a ModelCallError, and returns that error. */
export async function failure(promise: Promise<unknown>): Promise<ModelCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelCallError, `expected a ModelCallError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}
