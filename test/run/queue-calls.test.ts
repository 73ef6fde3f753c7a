import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CostLedger } from '../../src/models/ledger.js';
import { callsKey, lostAttemptCalls, type QueueCallEntry } from '../../src/run/queue/queue-scheduler.js';

describe('the call list of a queued job (calls of attempts that never returned)', () => {
  test('a ledger tells each call as it counts it, cached calls apart', () => {
    const told: unknown[] = [];
    const ledger = new CostLedger({ onCall: (call) => told.push(call) });
    ledger.record('episode', 'openai:m', { promptTokens: 10, completionTokens: 4 }, false);
    ledger.record('episode', 'openai:m', { promptTokens: 7, completionTokens: 2 }, true);
    assert.deepEqual(told, [
      {
        stage: 'episode',
        model: 'openai:m',
        calls: 1,
        cachedCalls: 0,
        promptTokens: 10,
        completionTokens: 4,
        cachedPromptTokens: 0,
        cachedCompletionTokens: 0,
      },
      {
        stage: 'episode',
        model: 'openai:m',
        calls: 1,
        cachedCalls: 1,
        promptTokens: 0,
        completionTokens: 0,
        cachedPromptTokens: 7,
        cachedCompletionTokens: 2,
      },
    ]);
  });

  test('the calls of every attempt but the one that returned; unreadable entries left out', () => {
    const entry = (attempt: string, promptTokens: number): string =>
      JSON.stringify({
        attempt,
        stage: 'episode',
        model: 'openai:m',
        calls: 1,
        cachedCalls: 0,
        promptTokens,
        completionTokens: 1,
        cachedPromptTokens: 0,
        cachedCompletionTokens: 0,
      } satisfies QueueCallEntry);
    const listed = [entry('a', 1), entry('b', 2), '{not json', '{"attempt":"a"}', entry('a', 3)];
    assert.deepEqual(
      lostAttemptCalls(listed, 'b').map((call) => call.promptTokens),
      [1, 3],
    );
    assert.ok(lostAttemptCalls(listed, 'b').every((call) => !('attempt' in call)));
    // A job that failed for good returned no attempt: every listed call counts.
    assert.equal(lostAttemptCalls(listed, undefined).length, 3);
  });

  test("a job's call list sits under its run's keys (queue clean removes it with the run)", () => {
    assert.equal(callsKey('cache', 'generate-abc.123'), 'toolalpaca:queue:cache:calls:generate-abc.123');
    assert.ok(callsKey('q', 'generate-abc.123').startsWith(`${callsKey('q', 'generate-abc')}.`));
  });
});
