/**
 * The cost a run shows as it goes: a model without a price is `?` from the very first progress line
 * (before any call, when nothing has been counted yet) and in the summary, never `$0.0000`; a priced
 * model shows `$0.0000` at the start as before. Checked on the terminal bar, on plain (piped) lines and
 * through the built CLI.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRunProgress, summaryCost } from '../../src/cli/run-helpers.js';
import { CostLedger, withLedger } from '../../src/models/ledger.js';
import type { ChatModel } from '../../src/models/chat-model.js';
import { fakeGenerateArgs, runCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

/** USD per 1M tokens: one call of 10 + 5 tokens costs $0.0200. */
const PRICES = { 'openai:priced': { input: 1000, output: 2000 } };

const stub = (id: string): ChatModel => ({
  id,
  backend: 'openai',
  chat: () =>
    Promise.resolve({
      text: 'ok',
      toolCalls: [],
      finishReason: 'stop',
      usage: { promptTokens: 10, completionTokens: 5 },
      cached: false,
      latencyMs: 1,
      model: id,
    }),
});

/** Lines a run's reporter writes before any call and after one, on a pipe (plain) or a terminal (bar). */
async function costs(modelId: string, tty: boolean): Promise<string[]> {
  const ledger = new CostLedger({ prices: PRICES });
  const model = withLedger(stub(modelId), ledger);
  const written: string[] = [];
  const progress = createRunProgress(
    'generate',
    { stderr: { write: (t: string) => written.push(t), isTTY: tty }, env: {} },
    { ledger, intervalMs: 0, now: () => 0 },
  );
  const figures = { failed: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  progress.report({ done: 0, total: 1, ...figures });
  await model.chat({ messages: [{ role: 'user', content: 'hi' }] });
  progress.report({ done: 1, total: 1, ...figures });
  progress.finish();
  return written.map((line) => / cost (\S+)/.exec(line)?.[1] ?? `(no cost in ${line})`);
}

describe('cost of a run', () => {
  test('an unpriced model: ? from the first line, on plain lines and on the bar', async () => {
    // Plain lines: one before any call, one after it (the finish does not repeat it).
    assert.deepEqual(await costs('openai:unpriced', false), ['?', '?']);
    // The bar: drawn before any call, then redrawn once more by the finish.
    assert.deepEqual(await costs('openai:unpriced', true), ['?', '?']);
  });

  test('a priced model: $0.0000 at the start, the amount later', async () => {
    assert.deepEqual(await costs('openai:priced', false), ['$0.0000', '$0.0200']);
    assert.deepEqual(await costs('openai:priced', true), ['$0.0000', '$0.0200']);
  });

  test('summaries: ? for an unpriced model declared before any call, AMOUNT+? beside a priced one', async () => {
    const ledger = new CostLedger({ prices: PRICES });
    withLedger(stub('openai:unpriced'), ledger);
    assert.equal(summaryCost(0, ledger), '?');
    assert.equal(ledger.formatCost(), '?');
    const priced = withLedger(stub('openai:priced'), ledger);
    await priced.chat({ messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(summaryCost(ledger.totals().costUsd, ledger), '$0.0200+?');
    assert.equal(ledger.formatCost(), '0.0200+?');
    assert.equal(summaryCost(0.5, new CostLedger()), '$0.5000');
    assert.equal(summaryCost(0.5, undefined), '$0.5000');
  });
});

describe('cost through the built CLI (generate, piped)', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  async function generate(extra: string[]): Promise<{ progress: string[]; summary: string }> {
    const dir = makeTempDir();
    const args = fakeGenerateArgs(
      sharedData('toolalpaca/eval_simulated.json'),
      server.baseUrl,
      '--no-cache',
      '--out',
      join(dir, 'corpus.json'),
      '--limit',
      '1',
      ...extra.map((arg) => arg.replace('DIR', dir)),
    );
    const result = await runCli(args, { cwd: dir, env: { CI: 'true', OPENAI_API_KEY: 'test-key' } });
    assert.equal(result.code, 0, result.stderr);
    const progress = result.stderr.split('\n').filter((line) => line.startsWith('generate ['));
    const summary = /; cost (\S+);/.exec(result.stdout)?.[1] ?? result.stdout;
    return { progress, summary };
  }

  test('an unpriced model shows ? on every progress line, the first included, and in the summary', async () => {
    const { progress, summary } = await generate([]);
    assert.ok(progress.length >= 2, progress.join('\n'));
    assert.match(progress[0] ?? '', /^generate \[0\/1\] .* cost \?$/);
    for (const line of progress) assert.match(line, / cost \?$/);
    assert.equal(summary, '?');
  });

  test('a priced model (--prices) shows $0.0000 before any call', async () => {
    const prices = join(makeTempDir(), 'prices.json');
    writeFileSync(prices, JSON.stringify({ 'openai:fake-model': { input: 1, output: 2 } }));
    const { progress, summary } = await generate(['--prices', prices]);
    assert.match(progress[0] ?? '', /^generate \[0\/1\] .* cost \$0\.0000$/);
    assert.match(progress.at(-1) ?? '', / cost \$0\.00\d\d$/);
    assert.match(summary, /^\$0\.\d{4}$/);
  });
});
