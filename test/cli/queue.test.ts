/**
 * Runs spread over workers through BullMQ on a real redis-server (a free loopback port, AOF on),
 * through the compiled CLI against the fake OpenAI server: the run command is the producer and
 * collector (`--queue`), `toolalpaca worker` processes run the tasks. Cases: 3 workers on a
 * 100-instance generation with one killed -9 mid-run and replaced (100 instances, none duplicated);
 * the producer killed -9 and resumed; Redis killed and restarted mid-run; two runs on one queue at
 * once; a poison task ends as a recorded failure; Redis unavailable is one line and exit 3; the
 * password in the URL is never printed; `queue status|drain|clean`.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promptText, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { fakeGenerateArgs, type RunCliResult } from '../helpers/cli.js';
import { loggedValues, runCliIn, waitUntil, startWatched, type WatchedCli } from '../helpers/cli-process.js';
import { closedPort } from '../helpers/net.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { redisTestOptions, startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const PASSWORD = 'queue-test-secret-4711';

type Started = WatchedCli;

function instancesOf(corpus: string): { tool: string; input: string; status?: string }[] {
  const records = JSON.parse(readFileSync(corpus, 'utf8')) as {
    Name: string;
    Instances?: { input: string; status?: string }[];
  }[];
  return records.flatMap((r) => (r.Instances ?? []).map((i) => ({ tool: r.Name, ...i })));
}

/** Waits until `condition` holds; fails at once (with its output) if `run` ended before. */
async function waitWhile(run: Started, condition: () => boolean): Promise<void> {
  let ended: RunCliResult | undefined;
  void run.done.then((r) => (ended = r));
  await waitUntil(() => condition() || ended !== undefined, 240_000, 20);
  if (!condition()) assert.fail(`the run ended (or hung) first: ${JSON.stringify(ended ?? 'still running')}`);
}

function taskIds(journal: string): string[] {
  return loggedValues(journal, 'task', 'id');
}

describe('runs through a BullMQ queue on redis-server', redisTestOptions(), () => {
  let redis: RedisProcess;
  let server: FakeOpenAI;
  let dir: string;
  const running = new Set<Started>();

  const start = (args: string[]): Started => startWatched(args, dir, running);
  const worker = (...extra: string[]): Started =>
    start(['worker', '--queue', redis.url, '--concurrency', '4', '--lock-duration', '3', ...extra]);
  const generate = (out: string, ...extra: string[]): string[] =>
    fakeGenerateArgs(
      EVAL,
      server.baseUrl,
      '--no-cache',
      '--max-retries',
      '0',
      '--out',
      out,
      '--queue',
      redis.url,
      ...extra,
    );
  /** SIGTERM to every worker still running; each must stop cleanly (exit 0). */
  const stopWorkers = async (workers: Started[]): Promise<RunCliResult[]> => {
    // A signal before the worker set up its handlers would kill it outright.
    await Promise.all(workers.map((w) => w.printed(/taking jobs/)));
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    return Promise.all(workers.map((w) => w.done));
  };
  const noSecret = (...results: RunCliResult[]): void => {
    for (const r of results) {
      assert.ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD), 'the Redis password is never printed');
    }
  };

  let poison: string;

  before(async () => {
    dir = makeTempDir('toolalpaca-queue-');
    redis = await startRedis(join(dir), { password: PASSWORD });
    server = await startFakeOpenAI({ latencyMs: 20 });
    const { tools } = await loadGenerationTools(EVAL);
    const world = worldResponder(planCalls(tools.map((t) => t.tool)));
    // One task fails every time it runs: its model calls get a 500.
    poison = tools[3]!.record.Instructions![1]!;
    server.setDefault((body) =>
      promptText(body).includes(poison) ? { fault: 'server_error', status: 500 } : world(body),
    );
  });
  afterEach(async () => {
    for (const started of running) started.child.kill('SIGKILL');
    await Promise.all([...running].map((s) => s.done));
  });
  after(async () => {
    await server?.close();
    await redis?.stop();
  });

  test('100 instances over 3 workers, one killed -9 mid-run and replaced: 100 instances, none duplicated', async () => {
    const out = join(dir, 'corpus.json');
    const requestsBefore = server.chatRequests().length;
    const workers = [worker(), worker(), worker()];
    const producer = start(generate(out));
    await waitWhile(producer, () => taskIds(`${out}.log.jsonl`).length >= 20);
    assert.ok(taskIds(`${out}.log.jsonl`).length < 100, 'the run is still going when a worker is killed');
    workers[0]!.child.kill('SIGKILL');
    workers.push(worker());
    const result = await producer.done;
    assert.equal(result.code, 4, `only the poison task failed (infrastructure): ${result.stderr}`);
    const instances = instancesOf(out);
    assert.equal(instances.length, 100);
    assert.equal(new Set(instances.map((i) => `${i.tool}\n${i.input}`)).size, 100, 'no instance twice');
    assert.deepEqual(
      instances.filter((i) => i.status !== undefined).map((i) => i.input),
      [poison],
      'every other instance completed',
    );
    const ids = taskIds(`${out}.log.jsonl`);
    assert.equal(ids.length, 100, 'each task journaled once');
    assert.equal(new Set(ids).size, 100);
    // The workers' calls reach the producer's ledger: as many as the journaled tasks made.
    const journalCalls = readFileSync(`${out}.log.jsonl`, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{"type":"task"'))
      .reduce(
        (sum, line) =>
          sum + (JSON.parse(line) as { output: { usage: { calls: number } } }).output.usage.calls,
        0,
      );
    const meta = JSON.parse(readFileSync(`${out}.meta.json`, 'utf8')) as {
      ledger: { totals: { calls: number } };
    };
    assert.ok(journalCalls >= 100);
    // The ledger holds the calls of the collected results and those the killed worker made in jobs
    // it never finished; only a request in flight at the kill (one per job, concurrency 4) is unknown.
    const answered = server
      .chatRequests()
      .slice(requestsBefore)
      .filter((body) => !promptText(body).includes(poison)).length;
    const ledgerCalls = meta.ledger.totals.calls;
    assert.ok(ledgerCalls >= journalCalls, `ledger ${ledgerCalls} < journal ${journalCalls}`);
    assert.ok(
      ledgerCalls <= answered && ledgerCalls >= answered - 4,
      `the ledger holds every call the workers made: ${ledgerCalls} of ${answered} answered`,
    );
    const stopped = await stopWorkers(workers.slice(1));
    for (const w of stopped) assert.equal(w.code, 0, w.stderr);
    noSecret(result, ...stopped);
  });

  test('producer killed -9 and resumed, Redis killed and restarted, a second run on the queue, a poison task', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const workers = [worker(), worker()];
    const runA = (...extra: string[]): Started =>
      start(generate(a, '--limit', '30', '--circuit-breaker', '0', ...extra));
    let producer = runA();
    const evalRun = start([
      'eval',
      'run',
      '--tools',
      EVAL,
      '--executor',
      'schema',
      '--model',
      'openai:fake-model',
      '--base-url',
      server.baseUrl,
      '--no-cache',
      '--limit',
      '10',
      '--out',
      b,
      '--queue',
      redis.url,
    ]);
    await waitWhile(producer, () => taskIds(`${a}.log.jsonl`).length >= 8);
    producer.child.kill('SIGKILL');
    await producer.done;
    // Redis dies mid-run and comes back with its AOF: the jobs and results it held are kept.
    await redis.restart();
    producer = runA('--resume');
    const [resultA, resultB] = await Promise.all([producer.done, evalRun.done]);
    assert.equal(resultA.code, 4, `the poison task is an infrastructure failure: ${resultA.stderr}`);
    assert.match(resultA.stderr, /1 instance failed for an infrastructure reason/);
    const instances = instancesOf(a);
    assert.equal(instances.length, 30);
    assert.equal(new Set(instances.map((i) => `${i.tool}\n${i.input}`)).size, 30, 'no instance twice');
    const failed = instances.filter((i) => i.status === 'failed');
    assert.deepEqual(
      failed.map((i) => i.input),
      [poison],
      'only the poison task failed, recorded as a failure',
    );
    assert.equal(resultB.code, 0, resultB.stderr);
    const run = JSON.parse(readFileSync(b, 'utf8')) as { items: unknown[] };
    assert.equal(run.items.length, 10);

    const status = await runCliIn(['queue', 'status', redis.url, '--json'], dir, 120_000);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { jobs: Record<string, number>; runs: unknown[] };
    assert.equal(parsed.jobs.waiting, 0);
    assert.equal(parsed.jobs.active, 0);
    assert.deepEqual(parsed.runs, [], 'finished runs leave no record and no job behind');
    const stopped = await stopWorkers(workers);
    for (const w of stopped) assert.equal(w.code, 0, w.stderr);
    noSecret(resultA, resultB, status, ...stopped);
  });

  test('Redis unavailable: one line naming the queue (never its password), exit 3, nothing written', async () => {
    const dead = `redis://:${PASSWORD}@127.0.0.1:${await closedPort()}/0`;
    const out = join(dir, 'never.json');
    const results = await Promise.all([
      runCliIn([...generate(out).slice(0, -2), '--queue', dead], dir, 120_000),
      runCliIn(['worker', '--queue', dead], dir, 120_000),
      runCliIn(['queue', 'status', dead], dir, 120_000),
    ]);
    for (const result of results) {
      assert.equal(result.code, 3, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /queue redis:\/\/127\.0\.0\.1:\d+\/0 is unavailable: .*ECONNREFUSED/);
    }
    noSecret(...results);
    assert.ok(!existsSync(`${out}.log.jsonl`), 'no journal written');
  });
});
