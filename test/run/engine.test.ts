/**
 * The durable-run engine in-process: retry policies on resume (the journal stays append-only, the last
 * line of an id wins), the circuit breaker, parameter checks, journals of the previous version, and the
 * run lock (live owner, dead owner, reused pid, unreadable lock).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/paths.js';
import { CostLedger } from '../../src/models/ledger.js';
import {
  acquireRunLock,
  processStartTime,
  readJournal,
  RunError,
  withDurableRun,
  type DurableRun,
  type ExecutionOutcome,
  type TaskResult,
  type TaskRunner,
} from '../../src/run/index.js';

type Behaviour = 'ok' | 'infra' | 'behaviour';

/** A runner whose result per id is looked up in `plan` (default ok); records the ids it ran. */
function scripted(plan: Map<string, Behaviour>): {
  run: TaskRunner<{ n: number }, { n: number }>;
  ran: string[];
} {
  const ran: string[] = [];
  const run: TaskRunner<{ n: number }, { n: number }> = (input) => {
    const id = `t${input.n}`;
    ran.push(id);
    const behaviour = plan.get(id) ?? 'ok';
    const result: TaskResult<{ n: number }> =
      behaviour === 'ok'
        ? { status: 'completed', output: { n: input.n } }
        : {
            status: 'failed',
            output: { n: input.n },
            failure: {
              reason: behaviour === 'infra' ? 'model_error' : 'step_limit',
              message: behaviour,
              ...(behaviour === 'infra' ? { infrastructure: true } : {}),
            },
          };
    return Promise.resolve(result);
  };
  return { run, ran };
}

const tasks = (count: number) => Array.from({ length: count }, (_, n) => ({ id: `t${n}`, input: { n } }));

async function execute(
  out: string,
  runner: TaskRunner<{ n: number }, { n: number }>,
  options: {
    resume?: boolean;
    retryFailed?: 'infrastructure' | 'all' | 'none';
    breakerThreshold?: number;
  } = {},
  parameters: Record<string, unknown> = { model: 'm', temperature: 0 },
) {
  return withDurableRun<
    { n: number },
    Record<string, unknown>,
    ExecutionOutcome<{ n: number }, { n: number }>
  >(
    { kind: 'test', out, parameters, ...(options.resume !== undefined ? { resume: options.resume } : {}) },
    (run) => runOnce(run, runner, options),
  );
}

async function runOnce(
  run: DurableRun<{ n: number }, Record<string, unknown>>,
  runner: TaskRunner<{ n: number }, { n: number }>,
  options: { retryFailed?: 'infrastructure' | 'all' | 'none'; breakerThreshold?: number },
): Promise<ExecutionOutcome<{ n: number }, { n: number }>> {
  const outcome = await run.execute({
    tasks: tasks(6),
    runTask: runner,
    concurrency: 1,
    ...(options.retryFailed !== undefined ? { retryFailed: options.retryFailed } : {}),
    ...(options.breakerThreshold !== undefined ? { breakerThreshold: options.breakerThreshold } : {}),
  });
  await run.end(outcome);
  return outcome;
}

describe('durable-run engine', () => {
  test('resume runs infrastructure failures again, behavioural ones only with retryFailed all; last line wins', async () => {
    const out = join(makeTempDir(), 'out.json');
    const failing = scripted(
      new Map<string, Behaviour>([
        ['t1', 'infra'],
        ['t3', 'behaviour'],
      ]),
    );
    const first = await execute(out, failing.run, { breakerThreshold: 0 });
    assert.equal(first.failed, 2);
    assert.equal(first.infrastructureFailed, 1);

    const healthy = scripted(new Map());
    const second = await execute(out, healthy.run, { resume: true });
    assert.deepEqual(healthy.ran, ['t1'], 'only the infrastructure failure runs again');
    assert.equal(second.retried, 1);
    assert.equal(second.failed, 1);
    assert.equal(second.infrastructureFailed, 0);

    const none = scripted(new Map());
    await execute(out, none.run, { resume: true, retryFailed: 'none' });
    assert.deepEqual(none.ran, []);

    const all = scripted(new Map());
    const third = await execute(out, all.run, { resume: true, retryFailed: 'all' });
    assert.deepEqual(all.ran, ['t3']);
    assert.equal(third.failed, 0);

    // Append-only: 6 + 1 + 1 task lines; readers see every id once, with its last result.
    const journal = await readJournal<{ n: number }>(`${out}.log.jsonl`);
    assert.equal(journal.tasks.size, 6);
    assert.equal(journal.superseded, 2);
    assert.ok([...journal.tasks.values()].every((t) => t.status === 'completed'));
    assert.equal(journal.ended?.complete, true);
    const lines = readFileSync(`${out}.log.jsonl`, 'utf8').trim().split('\n');
    assert.equal(lines.filter((l) => l.includes('"type":"task"')).length, 8);
  });

  test("calls a result carries (a queue worker's) are journaled, added to the ledger, and again on resume", async () => {
    const out = join(makeTempDir(), 'out.json');
    const calls = (n: number) => [
      {
        stage: 'assistant',
        model: 'm',
        calls: n,
        cachedCalls: 0,
        promptTokens: 10 * n,
        completionTokens: n,
        cachedPromptTokens: 0,
        cachedCompletionTokens: 0,
      },
    ];
    // t2 fails for an infrastructure reason, then runs again on resume: both attempts' calls count.
    const runner =
      (failing: boolean): TaskRunner<{ n: number }, { n: number }> =>
      (input) =>
        Promise.resolve({
          ...(failing && input.n === 2
            ? { status: 'failed', failure: { reason: 'model_error', message: 'x', infrastructure: true } }
            : { status: 'completed' }),
          output: input,
          calls: calls(input.n + 1),
        } as TaskResult<{ n: number }>);
    const run = (ledger: CostLedger, failing: boolean, resume: boolean) =>
      withDurableRun<{ n: number }, Record<string, unknown>, unknown>(
        { kind: 'test', out, parameters: {}, resume },
        (durable) =>
          durable.execute({ tasks: tasks(4), runTask: runner(failing), ledger, breakerThreshold: 0 }),
      );
    const first = new CostLedger();
    await run(first, true, false);
    assert.equal(first.totals().calls, 1 + 2 + 3 + 4);
    // A new process (the producer killed and resumed): the journaled calls, then t2's second attempt.
    const second = new CostLedger();
    await run(second, false, true);
    assert.equal(second.totals().calls, 1 + 2 + 3 + 4 + 3);
    assert.equal(second.totals().promptTokens, 10 * (1 + 2 + 3 + 4 + 3));
    const journal = await readJournal(`${out}.log.jsonl`);
    assert.equal(journal.calls[0]?.calls, 13);
  });

  test('circuit breaker: K consecutive infrastructure failures stop the run, finished tasks are kept', async () => {
    const out = join(makeTempDir(), 'out.json');
    const runner = scripted(
      new Map<string, Behaviour>([
        ['t2', 'infra'],
        ['t3', 'infra'],
        ['t4', 'infra'],
      ]),
    );
    const outcome = await execute(out, runner.run, { breakerThreshold: 2 });
    assert.equal(outcome.circuitOpen?.failures, 2);
    assert.equal(outcome.circuitOpen?.last.infrastructure, true);
    assert.deepEqual(runner.ran, ['t0', 't1', 't2', 't3']);
    assert.equal(outcome.finished.length, 4);
    assert.equal(outcome.notStarted, 2);
    // A behavioural failure in between resets the count.
    const mixed = scripted(
      new Map<string, Behaviour>([
        ['t0', 'infra'],
        ['t1', 'behaviour'],
        ['t2', 'infra'],
      ]),
    );
    const again = await execute(join(makeTempDir(), 'o.json'), mixed.run, { breakerThreshold: 2 });
    assert.equal(again.circuitOpen, undefined);
    assert.equal(again.finished.length, 6);
  });

  test('a resume with other parameters is refused naming each of them; another kind too', async () => {
    const out = join(makeTempDir(), 'out.json');
    await execute(out, scripted(new Map()).run);
    await assert.rejects(
      execute(out, scripted(new Map()).run, { resume: true }, { model: 'm', temperature: 0.7, maxSteps: 5 }),
      (error: unknown) =>
        error instanceof RunError &&
        error.details.reason === 'parameters-differ' &&
        error.details.changes.map((c) => c.name).join() === 'temperature,maxSteps' &&
        /temperature 0 → 0\.7, maxSteps null → 5/.test(error.message),
    );
    await assert.rejects(
      withDurableRun({ kind: 'other', out, parameters: {}, resume: true }, () => Promise.resolve()),
      (error: unknown) => error instanceof RunError && error.reason === 'journal-kind',
    );
    await assert.rejects(
      execute(out, scripted(new Map()).run),
      (error: unknown) => error instanceof RunError && error.reason === 'log-exists' && error.exitCode === 2,
    );
  });

  test('a generation log of toolalpaca 0.1 reads as tasks but is not resumed (it lacks parameters)', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    const log = `${out}.log.jsonl`;
    writeFileSync(
      log,
      [
        { type: 'header', version: 1, parameters: { model: 'openai:m', prompt: 'train_v1' }, startedAt: 'x' },
        { type: 'instructions', tool: 'A', instructions: ['do it'] },
        {
          type: 'instance',
          instanceId: 'A#0',
          tool: 'A',
          index: 0,
          status: 'failed',
          failure: { reason: 'step_limit', message: 'm' },
          steps: 1,
          usage: { promptTokens: 1, completionTokens: 1, calls: 1 },
          instance: { input: 'do it' },
          finishedAt: 'y',
        },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n') + '\n',
    );
    const journal = await readJournal(log);
    assert.equal(journal.header?.version, 1);
    assert.equal(journal.header?.kind, 'generate');
    assert.equal(journal.tasks.get('A#0')?.status, 'failed');
    assert.deepEqual(journal.notes.get('instructions:A'), ['do it']);
    await assert.rejects(
      withDurableRun({ kind: 'generate', out, parameters: {}, resume: true }, () => Promise.resolve()),
      (error: unknown) =>
        error instanceof RunError &&
        error.reason === 'journal-version' &&
        /journal version 1/.test(error.message) &&
        !error.message.includes('\n'),
    );
    // Nothing was appended to it.
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 3);
  });
});

describe('run lock', () => {
  test('a live owner refuses a second run; release frees the output', async () => {
    const lockPath = join(makeTempDir(), 'out.json.lock');
    const lock = await acquireRunLock(lockPath);
    await assert.rejects(
      acquireRunLock(lockPath),
      (error: unknown) =>
        error instanceof RunError &&
        error.details.reason === 'locked' &&
        error.details.pid === process.pid &&
        error.exitCode === 3,
    );
    await lock.release();
    assert.equal(existsSync(lockPath), false);
    const again = await acquireRunLock(lockPath);
    await again.release();
  });

  test('a dead owner, a reused pid (other start time) and an unreadable lock are stale', async () => {
    const dir = makeTempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadPid = Number(dead.stdout);
    const owners = [
      { pid: deadPid, processStart: '1', host: hostname(), startedAt: 'then' },
      // This very pid, but the lock was written by a process that started at another time.
      {
        pid: process.pid,
        processStart: `${processStartTime(process.pid) ?? '0'}9`,
        host: hostname(),
        startedAt: 'then',
      },
    ];
    for (const [i, owner] of owners.entries()) {
      const lockPath = join(dir, `out${i}.lock`);
      writeFileSync(lockPath, JSON.stringify(owner));
      const lock = await acquireRunLock(lockPath);
      assert.equal((JSON.parse(readFileSync(lockPath, 'utf8')) as { pid: number }).pid, process.pid);
      await lock.release();
    }
    const torn = join(dir, 'torn.lock');
    writeFileSync(torn, '{"pid": 12');
    const lock = await acquireRunLock(torn);
    await lock.release();
    assert.equal(existsSync(torn), false);
  });
});
