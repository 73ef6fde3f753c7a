import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { InputError } from '../../src/core/errors.js';
import { JudgedFileSchema, RunFileSchema } from '../../src/core/run.js';
import { registerEvalCommands, runEvalJudgeCommand, runEvalRunCommand } from '../../src/cli/eval.js';
import { registerReportCommand, runReportCommand } from '../../src/cli/report.js';
import { evalWorld, goldenByInstruction } from '../eval/eval-world.js';

const SIMULATED = sharedData('toolalpaca/eval_simulated.json');
const REAL = sharedData('toolalpaca/eval_real.json');

function sink(): { write(text: string): boolean; text: () => string } {
  const parts: string[] = [];
  return {
    write(text: string) {
      parts.push(text);
      return true;
    },
    text: () => parts.join(''),
  };
}

describe('eval CLI', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
    const golden = goldenByInstruction([
      ...(await readToolAlpacaFile(SIMULATED)),
      ...(await readToolAlpacaFile(REAL)),
    ]);
    server.setDefault(evalWorld({ golden }));
  });
  after(async () => {
    await server.close();
  });

  test('registerEvalCommands adds eval run, judge and agreement; registerReportCommand adds report', () => {
    const program = new Command();
    const evalCommand = registerEvalCommands(program);
    registerReportCommand(program);
    assert.deepEqual(evalCommand.commands.map((c) => c.name()).sort(), ['agreement', 'judge', 'run']);
    assert.ok(program.commands.some((c) => c.name() === 'report'));
  });

  test('eval run → eval judge (LLM and deterministic) → report, through the command actions', async () => {
    const dir = makeTempDir();
    const run = join(dir, 'run.json');
    const stdout = sink();
    const stderr = sink();
    const io = { stdout, stderr, cwd: dir, env: { CI: 'true' } };
    const common = { model: 'openai:fake-model', baseUrl: server.baseUrl, cache: false };
    await runEvalRunCommand(
      {
        ...common,
        tools: SIMULATED,
        out: run,
        executor: 'simulated',
        limit: '10',
        seed: '3',
        concurrency: '4',
      },
      io,
    );
    const runFile = RunFileSchema.parse(JSON.parse(readFileSync(run, 'utf8')));
    assert.equal(runFile.items.length, 10);
    assert.equal(runFile.meta.executor, 'simulated');
    assert.equal(runFile.meta.executorModel, 'openai:fake-model');
    assert.equal(runFile.meta.prompt, 'test_v1');
    assert.match(stdout.text(), /10\/10 instructions over 10 tools/);

    const judged = join(dir, 'judged.json');
    await runEvalJudgeCommand(
      run,
      { ...common, judgeModel: 'openai:fake-model', out: judged, runs: '2' },
      io,
    );
    const judgedFile = JudgedFileSchema.parse(JSON.parse(readFileSync(judged, 'utf8')));
    assert.equal(judgedFile.judge.runs, 2);
    assert.equal(judgedFile.statistics.num, 10);
    assert.ok(judgedFile.spread !== undefined);
    assert.match(stdout.text(), /procedure \d+\.\d\d% · response/);

    const det = join(dir, 'det.json');
    const detStdout = sink();
    await runEvalJudgeCommand(
      run,
      { judge: 'deterministic', out: det, json: true },
      { ...io, stdout: detStdout },
    );
    const printed = JSON.parse(detStdout.text()) as { statistics: { num: number }; judge: { model: string } };
    assert.equal(printed.statistics.num, 10);
    assert.equal(printed.judge.model, 'deterministic');

    const report = join(dir, 'report.md');
    await runReportCommand([judged, det, run], { out: report }, { stdout });
    assert.match(readFileSync(report, 'utf8'), /# toolalpaca evaluation report/);
  });

  test('bad flags are one-line input errors', async () => {
    const io = { stdout: sink(), stderr: sink(), cwd: makeTempDir() };
    await assert.rejects(
      runEvalRunCommand({ model: 'openai:x', tools: SIMULATED, out: 'x.json', executor: 'nope' }, io),
      (e: unknown) => e instanceof InputError && /--executor/.test(e.message),
    );
    await assert.rejects(
      runEvalJudgeCommand('missing-run.json', { out: 'j.json', judge: 'deterministic' }, io),
      (e: unknown) => e instanceof InputError && /missing-run\.json/.test(e.message),
    );
    await assert.rejects(
      runEvalJudgeCommand('r.json', { out: 'j.json', judge: 'gpt' }, io),
      (e: unknown) => e instanceof InputError && /--judge/.test(e.message),
    );
  });

  test('compiled CLI: eval run on the real set (schema), eval judge, report html', async () => {
    const dir = makeTempDir();
    const run = join(dir, 'run.json');
    const base = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
    const r1 = await runCli(
      ['eval', 'run', '--tools', REAL, '--out', run, '--executor', 'schema', '--limit', '11', ...base],
      {
        cwd: dir,
        timeoutMs: 60_000,
      },
    );
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /11\/11 instructions over 11 tools/);
    // The cost ledger ends the run, on stderr: one row for the assistant's model.
    assert.match(r1.stderr, /stage\s+model\s+calls/);
    assert.match(r1.stderr, /openai:fake-model/);
    const judged = join(dir, 'judged.json');
    const r2 = await runCli(
      [
        'eval',
        'judge',
        run,
        '--judge-model',
        'openai:fake-model',
        '--base-url',
        server.baseUrl,
        '--no-cache',
        '--out',
        judged,
        '--json',
      ],
      {
        cwd: dir,
        timeoutMs: 60_000,
      },
    );
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal((JSON.parse(r2.stdout) as { statistics: { num: number } }).statistics.num, 11);
    assert.match(r2.stderr, /stage\s+model\s+calls/);
    const html = join(dir, 'report.html');
    const r3 = await runCli(['report', judged, run, '--out', html], { cwd: dir });
    assert.equal(r3.code, 0, r3.stderr);
    assert.match(readFileSync(html, 'utf8'), /<svg /);
    const bad = await runCli(
      ['eval', 'judge', join(dir, 'nope.json'), '--judge', 'deterministic', '--out', join(dir, 'x.json')],
      { cwd: dir },
    );
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });
});
