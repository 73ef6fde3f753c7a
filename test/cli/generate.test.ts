/**
 * `toolalpaca generate` and `instructions` through the compiled CLI, as a user runs them: the fake model
 * server plays assistant, executor and user; the tiny GGUF runs the embedded engine; kill -9 + --resume
 * proves the durability claim.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import type { RunCliResult } from '../helpers/cli.js';
import { loggedValues, runCliIn, startCli, waitUntil } from '../helpers/cli-process.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';
import { InstanceSchema } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';
import { createProgressReporter } from '../../src/cli/progress.js';
import { createRunProgress } from '../../src/cli/run-helpers.js';
import { CostLedger } from '../../src/models/ledger.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');

/** The compiled CLI in `cwd`, killed after `timeoutMs`. */
function cli(args: string[], cwd: string, timeoutMs = 90_000): Promise<RunCliResult> {
  return runCliIn(args, cwd, timeoutMs);
}

function logInstanceIds(path: string): string[] {
  return loggedValues(path, 'task', 'id');
}

describe('generate CLI against the fake server', () => {
  let server: FakeOpenAI;
  let model: string[];

  before(async () => {
    server = await startFakeOpenAI();
    const { tools } = await loadGenerationTools(EVAL);
    server.setDefault(worldResponder(planCalls(tools.map((t) => t.tool))));
    model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
  });
  after(async () => {
    await server.close();
  });

  for (const executor of ['schema', 'simulated']) {
    test(`${executor} executor: 10 tools, one instance each, ToolAlpaca shape`, async () => {
      const dir = makeTempDir();
      const out = join(dir, 'corpus.json');
      const result = await cli(
        [
          'generate',
          '--tools',
          EVAL,
          '--executor',
          executor,
          ...model,
          '--out',
          out,
          '--limit',
          '10',
          '--concurrency',
          '4',
          '--max-steps',
          '4',
          '--json',
        ],
        dir,
      );
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout) as {
        done: number;
        completed: number;
        total: number;
        ledger: { totals: { calls: number } };
      };
      assert.equal(summary.total, 10);
      assert.equal(summary.completed, 10, result.stdout);
      assert.ok(summary.ledger.totals.calls >= 20);
      const records = await readToolAlpacaFile(out);
      assert.equal(records.length, 10);
      for (const record of records) {
        assert.equal(record.Instances?.length, 1, record.Name);
        const instance = InstanceSchema.parse(record.Instances?.[0]);
        assert.equal(instance.input, record.Instructions?.[0]);
        assert.ok((instance.intermediate_steps ?? []).length >= 1);
        // Each step's observation source, parallel to the steps: the executor that answered.
        assert.deepEqual(
          instance.observation_sources,
          (instance.intermediate_steps ?? []).map(() => executor),
        );
        assert.ok(typeof instance.output === 'string' && instance.output !== '');
      }
      // Piped progress is plain lines.
      assert.match(result.stderr, /generate \[10\/10\] [\d.]+\/min eta 0s/);
      assert.ok(existsSync(`${out}.meta.json`));
    });
  }

  test('kill -9 in the middle, then --resume: every instance exactly once', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    const log = `${out}.log.jsonl`;
    server.setLatency(120);
    try {
      const args = [
        'generate',
        '--tools',
        EVAL,
        ...model,
        '--out',
        out,
        '--limit',
        '12',
        '--concurrency',
        '2',
        '--max-steps',
        '3',
      ];
      const { child, done } = startCli(args, dir);
      await waitUntil(() => logInstanceIds(log).length >= 3, 60_000, 25);
      child.kill('SIGKILL');
      const killed = await done;
      assert.equal(killed.code, 137);
      const before = logInstanceIds(log);
      assert.ok(before.length >= 3 && before.length < 12, `killed after ${before.length} instances`);
      assert.equal(existsSync(out), false, 'no final output after a kill');

      server.setLatency(0);
      const resumed = await cli([...args, '--resume', '--json'], dir);
      assert.equal(resumed.code, 0, resumed.stderr);
      const summary = JSON.parse(resumed.stdout) as { resumed: number; done: number };
      assert.equal(summary.resumed, before.length);
      assert.equal(summary.done, 12);
      const ids = logInstanceIds(log);
      assert.equal(ids.length, 12);
      assert.equal(new Set(ids).size, 12, 'no duplicate instanceIds in the log');
      assert.deepEqual(ids.slice(0, before.length), before);
      const records = await readToolAlpacaFile(out);
      const inputs = records.flatMap((r) => (r.Instances ?? []).map((i) => `${r.Name}|${i.input}`));
      assert.equal(inputs.length, 12);
      assert.equal(new Set(inputs).size, 12);

      // Resuming with other parameters is refused with one line.
      const refused = await cli([...args, '--resume', '--prompt', 'lean'], dir);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /^toolalpaca: cannot resume .*prompt "train_v2" → "lean"/);
      assert.equal(refused.stderr.trim().split('\n').length, 1);
      // Starting again without --resume is refused too.
      const again = await cli(args, dir);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /--resume .*--force/);
    } finally {
      server.setLatency(0);
    }
  });

  test('Ctrl-C: in-flight instances finish, the output is written, exit 130, --resume completes', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    const log = `${out}.log.jsonl`;
    server.setLatency(150);
    try {
      const args = [
        'generate',
        '--tools',
        EVAL,
        ...model,
        '--out',
        out,
        '--limit',
        '10',
        '--concurrency',
        '2',
      ];
      const { child, done } = startCli(args, dir);
      await waitUntil(() => logInstanceIds(log).length >= 1, 60_000, 20);
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 130, result.stderr);
      assert.match(result.stdout, /^interrupted: /m);
      const records = await readToolAlpacaFile(out);
      const finished = records.flatMap((r) => r.Instances ?? []);
      assert.ok(finished.length >= 1 && finished.length < 10, String(finished.length));
      assert.equal(
        logInstanceIds(log).length,
        finished.length,
        'in-flight instances finished and were logged',
      );
      server.setLatency(0);
      const resumed = await cli([...args, '--resume'], dir);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(new Set(logInstanceIds(log)).size, 10);
    } finally {
      server.setLatency(0);
    }
  });

  test('a failed instance is kept with its reason', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    const tools = await loadGenerationTools(EVAL);
    const plans = planCalls(tools.tools.map((t) => t.tool));
    const world = worldResponder(plans);
    // The assistant never gives a Final Answer for one tool: it keeps calling until the step limit.
    server.setDefault((body) => {
      const reply = world(body);
      const text = JSON.stringify(body.messages ?? []);
      if ('text' in reply && /Final Answer/.test(reply.text ?? '') && text.includes('getAxolotlFacts')) {
        const plan = plans.get('Axolotl');
        return {
          text: ` Again.\nAction: ${plan?.fn.name ?? 'x'}\nAction Input: ${JSON.stringify(plan?.args ?? {})}`,
        };
      }
      return reply;
    });
    try {
      const result = await cli(
        ['generate', '--tools', EVAL, ...model, '--out', out, '--limit', '2', '--max-steps', '2', '--json'],
        dir,
      );
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout) as { failed: number; failedByReason: Record<string, number> };
      assert.equal(summary.failed, 1);
      assert.equal(summary.failedByReason.step_limit, 1);
      const records = await readToolAlpacaFile(out);
      const failed = records[0]?.Instances?.[0] as {
        status?: string;
        failure?: { reason: string; message: string };
      };
      assert.equal(failed.status, 'failed');
      assert.equal(failed.failure?.reason, 'step_limit');
      assert.ok((failed.failure?.message ?? '').length > 0);
      assert.equal(records[1]?.Instances?.[0]?.status, undefined);
    } finally {
      server.setDefault(worldResponder(plans));
    }
  });

  test('instructions command: per-tool counts, --json report', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'tools.json');
    const result = await cli(
      [
        'instructions',
        '--tools',
        join(repoRoot, 'examples', 'specs'),
        ...model,
        '--per-tool',
        '3',
        '--out',
        out,
        '--json',
      ],
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { tools: { tool: string; kept: number }[]; kept: number };
    assert.equal(report.tools.length, 3);
    assert.ok(report.tools.every((t) => t.kept === 3));
    const records = await readToolAlpacaFile(out);
    assert.ok(records.every((r) => r.Instructions?.length === 3 && (r.NLDocumentation ?? '') !== ''));
  });

  test('instructions command: a tool left short of --per-tool is reported (text and --json)', async () => {
    const dir = makeTempDir();
    const args = [
      'instructions',
      '--tools',
      join(repoRoot, 'examples', 'specs'),
      ...model,
      '--per-tool',
      '5',
    ];
    const short = await cli([...args, '--rounds', '1', '--out', join(dir, 'a.json'), '--json'], dir);
    assert.equal(short.code, 0, short.stderr);
    const report = JSON.parse(short.stdout) as {
      shortfall: { tool: string; have: number; target: number }[];
    };
    assert.equal(report.shortfall.length, 3);
    assert.ok(report.shortfall.every((s) => s.have === 3 && s.target === 5));
    const text = await cli([...args, '--rounds', '1', '--out', join(dir, 'b.json')], dir);
    assert.match(
      text.stdout,
      /^shortfall: 3 tools below the instruction target \(.* 3\/5, .* 3\/5, .* 3\/5\)$/m,
    );
  });

  test("defaults are ToolAlpaca's: the simulated executor played by --model, train_v2, 15 steps", async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    const result = await cli(['generate', '--tools', EVAL, ...model, '--out', out, '--limit', '1'], dir);
    assert.equal(result.code, 0, result.stderr);
    const header = JSON.parse(readFileSync(`${out}.log.jsonl`, 'utf8').split('\n')[0] ?? '{}') as {
      parameters: Record<string, unknown>;
    };
    assert.equal(header.parameters.executor, 'simulated');
    assert.equal(header.parameters.executorModel, 'openai:fake-model');
    assert.equal(header.parameters.prompt, 'train_v2');
    assert.equal(header.parameters.maxSteps, 15);
    const help = await cli(['generate', '--help'], dir);
    assert.match(help.stdout, /\(default simulated\)/);
    assert.match(help.stdout, /\(default train_v2\)/);
    assert.match(help.stdout, /\(default 15\)/);
  });

  test('bad flags are one-line errors', async () => {
    const dir = makeTempDir();
    const bad = await cli(
      ['generate', '--tools', EVAL, ...model, '--out', join(dir, 'o.json'), '--prompt', 'fancy'],
      dir,
    );
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--prompt: unknown layout "fancy"; expected one of: train_v1, train_v2, test_v1, test_v2, lean/,
    );
    const missing = await cli(
      ['generate', '--tools', join(dir, 'nope.json'), ...model, '--out', join(dir, 'o.json')],
      dir,
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.json: (file not found|cannot read)/);
  });
});

describe('progress reporter', () => {
  test('piped: plain lines at most every interval, and a final line', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = createProgressReporter({
      label: 'generate',
      stream: { write: (t: string) => lines.push(t), isTTY: false },
      env: {},
      intervalMs: 5000,
      now: () => now,
    });
    progress.update({ done: 0, total: 100 });
    now = 1000;
    progress.update({ done: 5, total: 100, tokensIn: 10_000, tokensOut: 2_300, costUsd: 0.04 });
    now = 60_000;
    progress.update({ done: 12, total: 100, tokensIn: 10_000, tokensOut: 2_300, costUsd: 0.04 });
    progress.finish();
    assert.deepEqual(lines, [
      'generate [0/100] 0.0/min eta ? tokens 0\n',
      'generate [12/100] 12.0/min eta 7m20s tokens 12.3k cost $0.0400\n',
    ]);
  });

  test('a model without a price shows the cost as ?, as the ledger does', () => {
    const lines: string[] = [];
    const progress = createProgressReporter({
      stream: { write: (t: string) => lines.push(t), isTTY: false },
      env: {},
      intervalMs: 0,
    });
    progress.update({ done: 1, total: 2, costUsd: 0, costUnknown: true });
    progress.update({ done: 2, total: 2, costUsd: 0.01, costUnknown: true });
    assert.match(lines[0] ?? '', / cost \?\n$/);
    assert.match(lines[1] ?? '', / cost \$0\.0100\+\?\n$/);
    // Through a run's reporter: the ledger knows the model has no price.
    const ledger = new CostLedger({ prices: {} });
    ledger.record('assistant', 'openai:unpriced-model', { promptTokens: 10, completionTokens: 5 }, false);
    const written: string[] = [];
    const run = createRunProgress(
      'generate',
      { stderr: { write: (t: string) => written.push(t), isTTY: false }, env: {} },
      { ledger, intervalMs: 0 },
    );
    run.report({ done: 1, total: 1, failed: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    assert.match(written[0] ?? '', /tokens 15 cost \?\n$/);
  });

  test('terminal: one redrawn bar line, CI=true forces plain lines', () => {
    const writes: string[] = [];
    const bar = createProgressReporter({
      stream: { write: (t: string) => writes.push(t), isTTY: true },
      env: {},
    });
    bar.update({ done: 1, total: 4 });
    bar.finish({ done: 4, total: 4 });
    assert.ok(writes.every((w) => w.startsWith('\r')));
    assert.match(writes.at(-1) ?? '', /\[#{24}\] \[4\/4\] .*\n$/);
    const plain: string[] = [];
    const ci = createProgressReporter({
      stream: { write: (t: string) => plain.push(t), isTTY: true },
      env: { CI: 'true' },
    });
    ci.finish({ done: 1, total: 1 });
    assert.match(plain[0] ?? '', /^\[1\/1\] /);
  });
});
