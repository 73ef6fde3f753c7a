/**
 * The three stages on hand-written instances of one tool (1Forge from ToolAlpaca's evaluation set):
 * every defect is found at its stage with its reason code, sound instances pass, and each instance
 * kind's expectation is checked.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tool } from '../../src/core/tool.js';
import type { Instance, ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import { sharedData } from '../helpers/paths.js';
import { verifyInstance } from '../../src/verify/verify-run.js';
import type { Verification } from '../../src/verify/reasons.js';
import type { ToolExecutor } from '../../src/executors/executor.js';

let record: ToolAlpacaRecord;
let tool: Tool;

before(async () => {
  const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
  const found = records.find((r) => r.Name === '1Forge');
  assert.ok(found);
  record = found;
  tool = await recordToTool(found);
});

const RATES = 'Status Code: 200. Response: {"base":"USD","rates":{"EUR":0.9132,"GBP":0.7841}}';

/** A ReAct step as generate logs it: [[action, input, text], observation]. */
function step(
  action: string,
  input: string,
  observation: string,
  thought = 'I should call it.',
): [string[], string] {
  return [[action, input, ` ${thought}\nAction: ${action}\nAction Input: ${input}`], observation];
}

function instance(
  steps: [string[], string][],
  output: string,
  extra: Record<string, unknown> = {},
): Instance {
  return {
    input: 'What are the USD rates for EUR and GBP?',
    output,
    'Final Thought': '',
    intermediate_steps: steps,
    ...extra,
  };
}

function verify(value: Instance, options: Parameters<typeof verifyInstance>[4] = {}): Promise<Verification> {
  return verifyInstance(record, tool, value, 0, options);
}

function codes(v: Verification): string[] {
  return v.reasons.map((r) => r.code);
}

const GOOD_ANSWER = '1 USD is 0.9132 EUR and 0.7841 GBP.';

describe('verification stages', () => {
  test('a sound instance passes all three stages', async () => {
    const v = await verify(
      instance([step('getExchangeRates', '{"base": "USD", "symbols": "EUR,GBP"}', RATES)], GOOD_ANSWER),
    );
    assert.deepEqual(v, { passed: true, stage: 'semantic', reasons: [] });
  });

  test('format: unknown function, unparseable input, schema-breaking arguments (observations claiming success)', async () => {
    const unknown = await verify(instance([step('getRates', '{"base": "USD"}', RATES)], GOOD_ANSWER));
    assert.equal(unknown.stage, 'format');
    assert.deepEqual(codes(unknown), ['unknown-function']);
    assert.match(unknown.reasons[0]?.message ?? '', /step 1: "getRates" is not a function of 1Forge/);

    const unparseable = await verify(
      instance([step('getExchangeRates', 'base is USD please', RATES)], GOOD_ANSWER),
    );
    assert.equal(unparseable.stage, 'format');
    assert.deepEqual(codes(unparseable), ['unparseable-input']);

    const invalid = await verify(
      instance(
        [step('convertCurrency', '{"from": "USD", "to": "EUR", "amount": "lots"}', RATES)],
        GOOD_ANSWER,
      ),
    );
    assert.equal(invalid.stage, 'format');
    assert.deepEqual(codes(invalid), ['invalid-arguments']);
    assert.match(invalid.reasons[0]?.message ?? '', /amount/);
  });

  test('format: empty thought, action after a final answer, no answer, failed episode, ToolAlpaca filters', async () => {
    const empty = await verify(
      instance([step('getExchangeRates', '{"base": "USD"}', RATES, '')], GOOD_ANSWER),
    );
    assert.deepEqual(codes(empty), ['empty-thought']);
    const after = await verify(
      instance(
        [step('getExchangeRates', '{"base": "USD"}', RATES, 'Final Answer: done.\nThought: one more')],
        GOOD_ANSWER,
      ),
    );
    assert.deepEqual(codes(after), ['action-after-final-answer']);
    const noAnswer = await verify(instance([step('getExchangeRates', '{"base": "USD"}', RATES)], ''));
    assert.deepEqual(codes(noAnswer), ['no-final-answer']);
    const failed = await verify(
      instance([], '', { status: 'failed', failure: { reason: 'step_limit', message: 'x' } }),
    );
    assert.deepEqual(codes(failed), ['not-completed']);
    const zero = await verify(instance([], 'I know this one.'));
    assert.deepEqual(codes(zero), ['zero-steps']);
    const six = Array.from({ length: 6 }, () => step('getExchangeRates', '{"base": "USD"}', RATES));
    assert.deepEqual(codes(await verify(instance(six, GOOD_ANSWER))), ['over-five-steps']);
    assert.equal((await verify(instance(six, GOOD_ANSWER), { toolalpacaFilters: false })).passed, true);
  });

  test('a refused call recorded as refused is an attempt: it passes when corrected, fails format with --strict-calls', async () => {
    const refused =
      'Parameter type error: "amount", expected number, but got "lots". You need to change the input and try again.';
    const steps = [
      step('convertCurrency', '{"from": "USD", "to": "EUR", "amount": "lots"}', refused),
      step(
        'convertCurrency',
        '{"from": "USD", "to": "EUR", "amount": 100}',
        'Status Code: 200. Response: {"result": 91.32}',
      ),
    ];
    const corrected = await verify(instance(steps, '100 USD is 91.32 EUR.'));
    assert.equal(corrected.passed, true, JSON.stringify(corrected));
    const strict = await verify(instance(steps, '100 USD is 91.32 EUR.'), { strictCalls: true });
    assert.deepEqual([strict.stage, codes(strict)], ['format', ['invalid-arguments']]);
  });

  test('execution: an error observation followed by a confident answer fails; an honest answer passes', async () => {
    const error = 'Status Code: 500. Response: {"error": "internal"}';
    const confident = await verify(
      instance(
        [step('getExchangeRates', '{"base": "USD"}', error)],
        'Here are the latest USD rates for you.',
      ),
    );
    assert.equal(confident.stage, 'execution');
    assert.deepEqual(codes(confident), ['confident-answer-after-error']);
    const honest = await verify(
      instance(
        [step('getExchangeRates', '{"base": "USD"}', error)],
        'Sorry, the rates service returned an error.',
      ),
    );
    assert.equal(honest.passed, true);
    const emptyObservation = await verify(
      instance([step('getExchangeRates', '{"base": "USD"}', '')], GOOD_ANSWER),
    );
    assert.deepEqual([emptyObservation.stage, codes(emptyObservation)], ['execution', ['empty-observation']]);
  });

  test('execution: re-executed calls that fail now are caught', async () => {
    const failing: ToolExecutor = {
      kind: 'test',
      execute: async () => ({ status: 404, body: 'gone', headers: {}, source: 'schema', latencyMs: 0 }),
    };
    const v = await verify(instance([step('getExchangeRates', '{"base": "USD"}', RATES)], GOOD_ANSWER), {
      executor: failing,
    });
    assert.deepEqual([v.stage, codes(v)], ['execution', ['reexecution-failed']]);
  });

  test('semantic: a number found in no observation is ungrounded; the checker judges against a standard answer', async () => {
    const invented = await verify(
      instance([step('getExchangeRates', '{"base": "USD"}', RATES)], '1 USD is 0.8843 EUR.'),
    );
    assert.deepEqual([invented.stage, codes(invented)], ['semantic', ['ungrounded-number']]);

    const instruction = record.Instructions?.[0] ?? '';
    const golden = record.Golden_Answers?.[0] ?? [];
    assert.ok(golden.length > 0);
    const wrong = await verifyInstance(
      record,
      tool,
      {
        input: instruction,
        output: 'Done.',
        intermediate_steps: [step('getQuotes', '{"symbols": "ZZZ"}', 'Status Code: 200. Response: {}')],
      },
      0,
    );
    assert.deepEqual([wrong.stage, codes(wrong)], ['semantic', ['process-incorrect']]);
  });
});

describe('instance kinds', () => {
  const call = step('getExchangeRates', '{"base": "USD", "symbols": "EUR"}', RATES);
  const quotes = step('getQuotes', '{"symbols": "EURUSD"}', 'Status Code: 200. Response: {"EURUSD": 1.0951}');

  test('irrelevance: a tool call fails; calling nothing and saying so passes', async () => {
    const called = await verify(instance([call], GOOD_ANSWER, { kind: 'irrelevance' }));
    assert.deepEqual([called.stage, codes(called)], ['format', ['irrelevance-called-tool']]);
    const declined = await verify(
      instance([], 'None of these functions can book a flight, so I cannot do that.', {
        kind: 'irrelevance',
      }),
    );
    assert.equal(declined.passed, true, JSON.stringify(declined));
  });

  test('parallel: one call fails, two independent calls pass', async () => {
    const one = await verify(instance([call], GOOD_ANSWER, { kind: 'parallel' }));
    assert.deepEqual(codes(one), ['parallel-single-call']);
    const fnStep = (action: string, input: string, obs: string): [string[], string] => [
      [action, input, ` Action: ${action}\nAction Input: ${input}`],
      obs,
    ];
    const two = await verify(
      instance(
        [
          fnStep('getExchangeRates', '{"base": "USD"}', RATES),
          fnStep('getQuotes', '{"symbols": "EURUSD"}', quotes[1]),
        ],
        '1 USD is 0.9132 EUR; EURUSD quotes at 1.0951.',
        { kind: 'parallel' },
      ),
    );
    assert.equal(two.passed, true, JSON.stringify(two));
  });

  test('missing-info: inventing the argument fails, not asking fails, asking first passes', async () => {
    const missing = { function: 'convertCurrency', argument: 'amount', value: '250' };
    const convert = step(
      'convertCurrency',
      '{"from": "USD", "to": "EUR", "amount": 100}',
      'Status Code: 200. Response: {"result": 91.32}',
    );
    const invented = await verify(
      instance([convert], '100 USD is 91.32 EUR.', { kind: 'missing-info', missing }),
    );
    assert.deepEqual([invented.stage, codes(invented)], ['format', ['missing-info-invented']]);
    const notAsked = await verify(
      instance([call], GOOD_ANSWER, { kind: 'missing-info', missing: { argument: 'amount' } }),
    );
    assert.deepEqual(codes(notAsked), ['missing-info-not-asked']);
    const asked = await verify(
      instance(
        [
          step('getDetails', '{"Question": "How much do you want to convert?"}', '250'),
          step(
            'convertCurrency',
            '{"from": "USD", "to": "EUR", "amount": 250}',
            'Status Code: 200. Response: {"result": 228.3}',
          ),
        ],
        '250 USD is 228.3 EUR.',
        { kind: 'missing-info', missing },
      ),
    );
    assert.equal(asked.passed, true, JSON.stringify(asked));
  });

  test('multi-turn: no follow-up fails, an unanswered follow-up fails, an answered one passes', async () => {
    const none = await verify(instance([call], GOOD_ANSWER, { kind: 'multi-turn' }));
    assert.deepEqual(codes(none), ['multi-turn-no-follow-up']);
    const unanswered = await verify(
      instance([call], GOOD_ANSWER, {
        kind: 'multi-turn',
        follow_ups: [{ input: 'And GBP?', intermediate_steps: [] }],
      }),
    );
    assert.deepEqual(codes(unanswered), ['multi-turn-unanswered']);
    const answered = await verify(
      instance([call], GOOD_ANSWER, {
        kind: 'multi-turn',
        follow_ups: [{ input: 'And GBP?', output: 'It is 0.7841 GBP.', intermediate_steps: [] }],
      }),
    );
    assert.equal(answered.passed, true, JSON.stringify(answered));
  });

  test("multi-turn: ToolAlpaca's filters check the follow-up's steps too, and name its turn", async () => {
    const asks = await verify(
      instance([call], GOOD_ANSWER, {
        kind: 'multi-turn',
        follow_ups: [
          {
            input: 'And GBP?',
            output: 'It is 0.7841 GBP.',
            intermediate_steps: [step('getDetails', '{"Question": "Which date?"}', 'Today.')],
          },
        ],
      }),
    );
    assert.deepEqual(codes(asks), ['only-get-details']);
    assert.match(asks.reasons[0]?.message ?? '', /its only action is getDetails \(turn 2\)$/);
  });

  test('single and multi-step: the number of calls; an unknown kind is a format finding', async () => {
    assert.deepEqual(codes(await verify(instance([call], GOOD_ANSWER, { kind: 'multi-step' }))), [
      'multi-step-single-call',
    ]);
    assert.equal(
      (await verify(instance([call, quotes], `${GOOD_ANSWER} EURUSD is 1.0951.`, { kind: 'multi-step' })))
        .passed,
      true,
    );
    assert.equal((await verify(instance([call], GOOD_ANSWER, { kind: 'single' }))).passed, true);
    assert.deepEqual(codes(await verify(instance([call], GOOD_ANSWER, { kind: 'sideways' }))), [
      'unknown-kind',
    ]);
  });
});
