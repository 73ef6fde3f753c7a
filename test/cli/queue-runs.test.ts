/**
 * `eval run`, `eval judge` and `solve` through BullMQ on a real redis-server, through the compiled CLI
 * against the fake OpenAI server: the producer killed -9 mid-run and resumed keeps a whole ledger (every
 * call the server answered, once); `eval judge` and `solve` over 2 workers write the same files as a
 * local run; a solve worker killed -9 with every job of the run in flight is recovered by another.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { isSolveRequest, solverAssistant } from '../helpers/solver-assistant.js';
import { loggedValues, waitUntil, startWatched, type WatchedCli } from '../helpers/cli-process.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { redisTestOptions, startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { evalWorld, goldenByInstruction } from '../eval/eval-world.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const TASKS = sharedData('stabletoolbench/G1_instruction.json');

type Started = WatchedCli;

/** The files of a folder by name, with their content. */
function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) files[name] = readFileSync(join(dir, name), 'utf8');
  return files;
}

describe('eval judge, solve and a whole ledger through a BullMQ queue', redisTestOptions(), () => {
  let redis: RedisProcess;
  let server: FakeOpenAI;
  let dir: string;
  /** While true, a solve request after a tool's answer never gets one (the worker holding it is killed). */
  let holdSolve = false;
  const running = new Set<Started>();

  const start = (args: string[]): Started => startWatched(args, dir, running);
  // The default lock (30 s) keeps a loaded machine's slow renewals from counting as stalls (a job run
  // twice would make calls no result brings back); the killed worker's test sets a short one.
  const worker = (...extra: string[]): Started =>
    start(['worker', '--queue', redis.url, '--concurrency', '4', ...extra]);
  /** Started workers, once they take jobs. */
  const workers = async (count: number, ...extra: string[]): Promise<Started[]> => {
    const started = Array.from({ length: count }, () => worker(...extra));
    for (const w of started) assert.ok(await w.printed(/taking jobs/), 'the worker started');
    return started;
  };
  const stopWorkers = async (list: Started[]): Promise<void> => {
    for (const w of list) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    for (const w of await Promise.all(list.map((x) => x.done))) assert.equal(w.code, 0, w.stderr);
  };
  const model = (): string[] => [
    '--model',
    'openai:fake-model',
    '--base-url',
    server.baseUrl,
    '--no-cache',
    '--max-retries',
    '0',
  ];
  const judge = (run: string, out: string, ...extra: string[]): string[] => [
    'eval',
    'judge',
    run,
    '--judge-model',
    'openai:fake-model',
    '--base-url',
    server.baseUrl,
    '--no-cache',
    '--runs',
    '2',
    '--out',
    out,
    ...extra,
  ];
  const solve = (out: string, limit: number, ...extra: string[]): string[] => [
    'solve',
    '--tasks',
    TASKS,
    '--solver',
    'dfsdt',
    '--limit',
    String(limit),
    ...model(),
    '--out',
    out,
    ...extra,
  ];

  before(async () => {
    dir = makeTempDir('toolalpaca-queue-runs-');
    redis = await startRedis(dir);
    server = await startFakeOpenAI({ latencyMs: 40 });
    const world = evalWorld({ golden: goldenByInstruction(await readToolAlpacaFile(EVAL)) });
    server.setDefault((body) => {
      if (!isSolveRequest(body)) return world(body);
      return holdSolve && body.messages?.at(-1)?.role === 'tool' ? { fault: 'hang' } : solverAssistant(body);
    });
  });
  afterEach(async () => {
    for (const started of running) started.child.kill('SIGKILL');
    await Promise.all([...running].map((s) => s.done));
  });
  after(async () => {
    await server?.close();
    await redis?.stop();
  });

  let runFile = '';

  test('eval run: the producer killed -9 mid-run and resumed; the ledger holds every call once', async () => {
    const out = join(dir, 'run.json');
    const journal = `${out}.log.jsonl`;
    const before = server.chatRequests().length;
    const list = await workers(2, '--concurrency', '2');
    const evalRun = (...extra: string[]): Started =>
      start([
        'eval',
        'run',
        '--tools',
        EVAL,
        '--executor',
        'schema',
        ...model(),
        '--limit',
        '16',
        '--out',
        out,
        '--queue',
        redis.url,
        ...extra,
      ]);
    const first = evalRun();
    let ended = false;
    void first.done.then(() => (ended = true));
    await waitUntil(() => loggedValues(journal, 'task', 'id').length >= 3 || ended, 240_000, 10);
    first.child.kill('SIGKILL');
    await first.done;
    const journaled = loggedValues(journal, 'task', 'id').length;
    assert.ok(journaled >= 3 && journaled < 16, `killed mid-run (${journaled} of 16 journaled)`);
    const resumed = await evalRun('--resume').done;
    assert.equal(resumed.code, 0, resumed.stderr);
    const ids = loggedValues(journal, 'task', 'id');
    assert.equal(ids.length, 16, 'each task journaled once');
    assert.equal(new Set(ids).size, 16);
    const meta = JSON.parse(readFileSync(`${out}.meta.json`, 'utf8')) as {
      ledger: { totals: { calls: number } };
    };
    const answered = server.chatRequests().length - before;
    assert.ok(answered >= 16);
    assert.equal(meta.ledger.totals.calls, answered, 'the ledger holds every call the server answered, once');
    await stopWorkers(list);
    runFile = out;
  });

  test('eval judge over 2 workers writes the same judged file as a local run', async () => {
    assert.ok(runFile !== '', 'the run file of the first test');
    const local = join(dir, 'judged-local.json');
    const queued = join(dir, 'judged-queued.json');
    const localRun = await start(judge(runFile, local)).done;
    assert.equal(localRun.code, 0, localRun.stderr);
    const list = await workers(2);
    const queuedRun = await start(judge(runFile, queued, '--queue', redis.url)).done;
    assert.equal(queuedRun.code, 0, queuedRun.stderr);
    await stopWorkers(list);
    const read = (path: string): { judge: Record<string, unknown>; items: unknown[] } => {
      const judged = JSON.parse(readFileSync(path, 'utf8')) as { judge: Record<string, unknown>; items: [] };
      delete judged.judge.createdAt;
      return judged;
    };
    const [a, b] = [read(local), read(queued)];
    assert.equal(a.items.length, 16);
    assert.deepEqual(b, a);
    // The judge's calls were made by the workers, and reached the producer's ledger.
    const judgeCalls = (stderr: string): number => Number(/^judge\s+\S+\s+(\d+)/m.exec(stderr)?.[1] ?? 0);
    assert.ok(judgeCalls(localRun.stderr) > 0, localRun.stderr);
    assert.equal(judgeCalls(queuedRun.stderr), judgeCalls(localRun.stderr));
  });

  test('solve over 2 workers writes the same answer files as a local run', async () => {
    const local = join(dir, 'answers-local');
    const queued = join(dir, 'answers-queued');
    const localRun = await start(solve(local, 6)).done;
    assert.equal(localRun.code, 0, localRun.stderr);
    const list = await workers(2);
    const queuedRun = await start(solve(queued, 6, '--queue', redis.url, '--json')).done;
    assert.equal(queuedRun.code, 0, queuedRun.stderr);
    await stopWorkers(list);
    const files = filesOf(local);
    assert.equal(Object.keys(files).length, 6);
    assert.deepEqual(filesOf(queued), files);
    const summary = JSON.parse(queuedRun.stdout) as {
      written: number;
      ledger: { totals: { calls: number } };
    };
    assert.equal(summary.written, 6);
    assert.equal(summary.ledger.totals.calls, 12, "the workers' calls reach the ledger");
  });

  test('solve: a worker killed -9 with every job in flight; another worker recovers them; the calls of both are in the ledger', async () => {
    const out = join(dir, 'answers-recovered');
    holdSolve = true;
    const [holder] = await workers(1, '--concurrency', '8', '--lock-duration', '1');
    const before = server.chatRequests().length;
    const producer = start(solve(out, 4, '--queue', redis.url, '--json'));
    // The one worker took the 4 jobs: each made its first call (answered) and waits on its second,
    // which the server never answers.
    await waitUntil(() => server.chatRequests().length - before >= 8, 240_000, 10);
    holder!.child.kill('SIGKILL');
    await holder!.done;
    holdSolve = false;
    const list = await workers(1, '--lock-duration', '1');
    const result = await producer.done;
    assert.equal(result.code, 0, result.stderr);
    await stopWorkers(list);
    // 4 calls the killed worker made (its results never came back) + 2 per query by the other one.
    const summary = JSON.parse(result.stdout) as { ledger: { totals: { calls: number } } };
    const answered = server.chatRequests().length - before - 4;
    assert.equal(answered, 12);
    assert.equal(summary.ledger.totals.calls, answered, 'every answered call is in the ledger, once');
    const admin = new Redis(redis.url);
    try {
      assert.deepEqual(await admin.keys('toolalpaca:*:calls:*'), [], 'collected call lists are removed');
    } finally {
      admin.disconnect();
    }
    const ids = loggedValues(`${out}.log.jsonl`, 'task', 'id');
    assert.equal(ids.length, 4, 'each query journaled once');
    assert.equal(new Set(ids).size, 4);
    const expected = Object.fromEntries(
      Object.entries(filesOf(join(dir, 'answers-local'))).filter(([name]) =>
        ids.some((id) => name.startsWith(`${id}_`)),
      ),
    );
    assert.equal(Object.keys(expected).length, 4);
    assert.deepEqual(
      filesOf(out),
      expected,
      'the recovered queries are answered as a local run answers them',
    );
  });
});
