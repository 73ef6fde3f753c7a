import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { openResponseCache, withCache } from '../../src/models/cache.js';
import { CostLedger, formatTotalUsd, withLedger } from '../../src/models/ledger.js';
import { createOpenAIChatModel } from '../../src/models/openai-compatible/index.js';
import { DEFAULT_PRICES, costOf, loadPriceTable, priceOf } from '../../src/models/prices.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';

describe('prices', () => {
  test('known OpenAI models have prices; local backends are free; dated snapshots use the base price', () => {
    assert.deepEqual(priceOf(DEFAULT_PRICES, 'openai:gpt-4o-mini'), DEFAULT_PRICES['openai:gpt-4o-mini']);
    assert.deepEqual(
      priceOf(DEFAULT_PRICES, 'openai:gpt-4o-mini-2024-07-18'),
      DEFAULT_PRICES['openai:gpt-4o-mini'],
    );
    assert.deepEqual(priceOf(DEFAULT_PRICES, 'llama:/models/x.gguf'), { input: 0, output: 0 });
    assert.deepEqual(priceOf(DEFAULT_PRICES, 'replay:'), { input: 0, output: 0 });
    assert.equal(priceOf(DEFAULT_PRICES, 'openai:my-finetune'), undefined);
    assert.equal(costOf({ input: 2, output: 8 }, 1_000_000, 500_000), 6);
  });

  test('an override file replaces and adds models; bad files give one line naming the file', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'prices.json');
    writeFileSync(
      file,
      JSON.stringify({
        'openai:gpt-4o-mini': { input: 1, output: 2 },
        'openai:mine': { input: 0.5, output: 0 },
      }),
    );
    const table = await loadPriceTable(file);
    assert.deepEqual(table['openai:gpt-4o-mini'], { input: 1, output: 2 });
    assert.deepEqual(table['openai:mine'], { input: 0.5, output: 0 });
    assert.deepEqual(table['openai:gpt-4o'], DEFAULT_PRICES['openai:gpt-4o']);
    assert.equal(await loadPriceTable(), DEFAULT_PRICES);

    const bad = async (content: string, pattern: RegExp): Promise<void> => {
      writeFileSync(file, content);
      await assert.rejects(
        loadPriceTable(file),
        (error: unknown) =>
          error instanceof InputError && pattern.test(error.message) && !error.message.includes('\n'),
      );
    };
    await bad('{ not json', /prices\.json is not valid JSON/);
    await bad('[1, 2]', /prices\.json: expected an object/);
    await bad('{"gpt-4o": {"input": 1, "output": 2}}', /"gpt-4o" is not a model spec/);
    await bad('{"openai:x": {"input": "cheap", "output": 2}}', /"openai:x"\.input must be a number/);
    await bad('{"openai:x": {"input": 1, "output": -2}}', /"openai:x"\.output must be a number >= 0/);
    await assert.rejects(loadPriceTable(join(dir, 'missing.json')), /cannot read price file .*missing\.json/);
  });
});

describe('CostLedger', () => {
  test('sums calls, tokens and cost per stage and model; cached calls cost nothing', () => {
    const ledger = new CostLedger({ prices: { ...DEFAULT_PRICES, 'openai:m': { input: 1, output: 4 } } });
    ledger.record('instructions', 'openai:m', { promptTokens: 1000, completionTokens: 200 }, false);
    ledger.record('instructions', 'openai:m', { promptTokens: 500, completionTokens: 100 }, false);
    ledger.record('instructions', 'openai:m', { promptTokens: 1000, completionTokens: 200 }, true);
    ledger.record('assistant', 'llama:/m.gguf', { promptTokens: 300, completionTokens: 30 }, false);
    ledger.record('assistant', 'openai:m', { promptTokens: 10, completionTokens: 10 }, false);

    const rows = ledger.rows();
    assert.deepEqual(
      rows.map((row) => [
        row.stage,
        row.model,
        row.calls,
        row.cachedCalls,
        row.promptTokens,
        row.completionTokens,
      ]),
      [
        ['instructions', 'openai:m', 3, 1, 1500, 300],
        ['assistant', 'llama:/m.gguf', 1, 0, 300, 30],
        ['assistant', 'openai:m', 1, 0, 10, 10],
      ],
    );
    assert.equal(rows[0]?.cachedPromptTokens, 1000);
    assert.equal(rows[0]?.cachedCompletionTokens, 200);
    // (1500 * 1 + 300 * 4) / 1e6
    assert.ok(Math.abs((rows[0]?.costUsd ?? -1) - 0.0027) < 1e-12);
    assert.equal(rows[1]?.costUsd, 0);

    const totals = ledger.totals();
    assert.equal(totals.calls, 5);
    assert.equal(totals.cachedCalls, 1);
    assert.equal(totals.promptTokens, 1810);
    assert.equal(totals.completionTokens, 340);
    assert.ok(Math.abs(totals.costUsd - (0.0027 + 50 / 1e6)) < 1e-12);
    assert.deepEqual(totals.unpricedModels, []);

    const json = JSON.parse(JSON.stringify(ledger)) as ReturnType<CostLedger['toJSON']>;
    assert.deepEqual(json.rows, rows);
    assert.deepEqual(json.totals, totals);
  });

  test('an unknown price is shown as "?" and listed, never counted as free', () => {
    const ledger = new CostLedger();
    ledger.record('judge', 'openai:no-such-model', { promptTokens: 100, completionTokens: 10 }, false);
    ledger.record('judge', 'openai:gpt-4o-mini', { promptTokens: 1_000_000, completionTokens: 0 }, false);
    ledger.record('judge', 'openai:unknown-but-cached', { promptTokens: 100, completionTokens: 10 }, true);
    const rows = ledger.rows();
    assert.equal(rows[0]?.costUsd, null);
    assert.equal(rows[2]?.costUsd, 0);
    assert.deepEqual(ledger.totals().unpricedModels, ['openai:no-such-model']);
    const table = ledger.format();
    assert.match(table, /^stage\s+model\s+calls\s+cached\s+tokens in\s+tokens out\s+cost USD$/m);
    assert.match(table, /^judge\s+openai:no-such-model\s+1\s+0\s+100\s+10\s+\?$/m);
    assert.match(table, /^judge\s+openai:gpt-4o-mini\s+1\s+0\s+1000000\s+0\s+0\.1500$/m);
    assert.match(table, /^total\s+3\s+1\s+1000100\s+10\s+0\.1500\+\?$/m);
    assert.match(table, /no price for openai:no-such-model \(add it to the price table \(`prices`\)\)/);
    assert.match(
      ledger.format({ addPrice: 'add it with --prices FILE' }),
      /\(add it with --prices FILE\)\n$/,
    );
    assert.equal(new CostLedger().format(), 'no model calls\n');
    assert.equal(ledger.formatCost(), '0.1500+?');
  });

  test('a run with only unpriced models shows "?" as its cost, in the table and in summaries', () => {
    const ledger = new CostLedger();
    ledger.record('assistant', 'openai:my-local-model', { promptTokens: 500, completionTokens: 50 }, false);
    assert.equal(ledger.formatCost(), '?');
    assert.equal(formatTotalUsd(ledger.totals()), '?');
    assert.match(ledger.format(), /^total\s+1\s+0\s+500\s+50\s+\?$/m);
    const free = new CostLedger();
    free.record('assistant', 'llama:/m.gguf', { promptTokens: 500, completionTokens: 50 }, false);
    assert.equal(free.formatCost(), '0', 'a local model is known to be free');
  });
});

describe('withLedger over the fake OpenAI server', () => {
  let fake: FakeOpenAI;
  before(async () => {
    fake = await startFakeOpenAI();
  });
  after(async () => {
    await fake.close();
  });

  test('records real usage per stage; a cache hit is counted as cached and free', async () => {
    const ledger = new CostLedger({ prices: { 'openai:fake-model': { input: 10, output: 20 } } });
    const cache = openResponseCache(makeTempDir());
    const model = withLedger(
      withCache(createOpenAIChatModel({ model: 'fake-model', baseUrl: fake.baseUrl }), cache),
      ledger,
    );
    fake.script({ text: 'first answer', usage: { prompt_tokens: 120, completion_tokens: 30 } });
    const request = { messages: [{ role: 'user' as const, content: 'hello' }], temperature: 0 };
    const first = await model.chat(request, { stage: 'instructions' });
    const second = await model.chat(request, { stage: 'instructions' });
    await model.chat({ messages: [{ role: 'user', content: 'judge this' }] });
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);

    const [instructions, fallback] = ledger.rows();
    assert.deepEqual(
      [instructions?.stage, instructions?.calls, instructions?.cachedCalls],
      ['instructions', 2, 1],
    );
    assert.deepEqual([instructions?.promptTokens, instructions?.completionTokens], [120, 30]);
    assert.deepEqual([instructions?.cachedPromptTokens, instructions?.cachedCompletionTokens], [120, 30]);
    assert.ok(Math.abs((instructions?.costUsd ?? -1) - (120 * 10 + 30 * 20) / 1e6) < 1e-12);
    assert.equal(fallback?.stage, 'default');
    assert.ok((fallback?.promptTokens ?? 0) > 0 && (fallback?.completionTokens ?? 0) > 0);

    // A failed call is not recorded.
    fake.script({ fault: 'client_error', status: 400 });
    await assert.rejects(model.chat({ messages: [{ role: 'user', content: 'fails' }] }, { stage: 'x' }));
    assert.equal(ledger.totals().calls, 3);
    await model.close?.();
    cache.close();
  });
});
