/**
 * What `toolalpaca worker` processes share through the queue's Redis (a real redis-server), through
 * the compiled CLI against the fake OpenAI server: the response cache (a second run of the same
 * generation on other workers makes no call; another model or base URL never gets a hit) and the
 * rate limits (three workers with --rpm together stay under it, counted on the server's timestamps; with
 * a --tpm budget for one call a minute, one call reaches the server while every worker holds jobs).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { fakeGenerateArgs, type RunCliResult } from '../helpers/cli.js';
import { runCliIn, startWatched, type WatchedCli } from '../helpers/cli-process.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { redisTestOptions, startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { queueStatus } from '../../src/run/queue/queue-admin.js';
import { parseQueueUrl } from '../../src/run/queue/queue-url.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const PASSWORD = 'worker-shared-secret-0815';
const API_KEY = 'test-key';

type Started = WatchedCli;

function instanceCount(corpus: string): number {
  const records = JSON.parse(readFileSync(corpus, 'utf8')) as { Instances?: unknown[] }[];
  return records.reduce((sum, r) => sum + (r.Instances?.length ?? 0), 0);
}

function cacheHits(result: RunCliResult): number {
  const match = /cache hits (\d+)/.exec(result.stdout);
  assert.ok(match !== null, `the summary names the cache hits: ${result.stdout}${result.stderr}`);
  return Number(match[1]);
}

/** Most of `times` in any window of `windowMs` (shortened by `slackMs`, the delivery jitter). */
function mostInAnyWindow(times: number[], windowMs: number, slackMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs - slackMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/** Arrival times relative to the first, for failure messages. */
function offsets(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.map((t) => Math.round(t - sorted[0]!)).join(' ');
}

describe('workers share the response cache and the rate limits through Redis', redisTestOptions(), () => {
  let redis: RedisProcess;
  const servers: FakeOpenAI[] = [];
  let dir: string;
  const running = new Set<Started>();
  let responder: Parameters<FakeOpenAI['setDefault']>[0];

  const start = (args: string[], cwd = dir): Started => startWatched(args, cwd, running);
  /** A worker in its own folder (its own local cache file, unused here), ready to take jobs. */
  const worker = async (name: string, concurrency = '4'): Promise<Started> => {
    const cwd = join(dir, name);
    mkdirSync(cwd, { recursive: true });
    const started = start(
      ['worker', '--queue', redis.url, '--concurrency', concurrency, '--lock-duration', '5'],
      cwd,
    );
    assert.ok(await started.printed(/taking jobs/), 'the worker started');
    return started;
  };
  const stopWorkers = async (workers: Started[]): Promise<RunCliResult[]> => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    const results = await Promise.all(workers.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    return results;
  };
  const generateArgs = (out: string, server: FakeOpenAI, ...extra: string[]): string[] =>
    fakeGenerateArgs(
      EVAL,
      server.baseUrl,
      '--max-retries',
      '0',
      '--limit',
      '8',
      '--out',
      join(dir, out),
      '--queue',
      redis.url,
      ...extra,
    );
  const generate = (out: string, server: FakeOpenAI, ...extra: string[]): Promise<RunCliResult> =>
    runCliIn(generateArgs(out, server, ...extra), dir, 240_000);
  const fakeServer = async (): Promise<FakeOpenAI> => {
    const server = await startFakeOpenAI({ latencyMs: 5 });
    server.setDefault(responder);
    servers.push(server);
    return server;
  };
  const calls = (server: FakeOpenAI): number => server.chatRequests().length;

  before(async () => {
    dir = makeTempDir('toolalpaca-worker-shared-');
    redis = await startRedis(dir, { password: PASSWORD });
    const { tools } = await loadGenerationTools(EVAL);
    responder = worldResponder(planCalls(tools.map((t) => t.tool)));
  });
  afterEach(async () => {
    for (const started of running) started.child.kill('SIGKILL');
    await Promise.all([...running].map((s) => s.done));
  });
  after(async () => {
    for (const server of servers) await server.close();
    await redis?.stop();
  });

  test('a re-run on other workers is answered from the shared cache; another model or base URL is not', async () => {
    const [a, b] = [await fakeServer(), await fakeServer()];
    const first = [await worker('w1')];
    const run1 = await generate('run1.json', a);
    assert.equal(run1.code, 0, run1.stderr);
    const made = calls(a);
    assert.ok(made >= 8, `the first run called the server (${made} calls)`);
    assert.equal(cacheHits(run1), 0);
    await stopWorkers(first);

    // Other worker processes, in other folders: only Redis is shared.
    const second = [await worker('w2'), await worker('w3')];
    const run2 = await generate('run2.json', a);
    assert.equal(run2.code, 0, run2.stderr);
    assert.equal(calls(a), made, 'the second run made no call to the server');
    assert.equal(cacheHits(run2), made, 'every call of the second run was a cache hit');
    assert.equal(instanceCount(join(dir, 'run2.json')), instanceCount(join(dir, 'run1.json')));

    const otherModel = await generate('run3.json', a, '--model', 'openai:other-model');
    assert.equal(otherModel.code, 0, otherModel.stderr);
    assert.equal(cacheHits(otherModel), 0, 'another model never gets a hit');
    assert.ok(calls(a) > made);
    const otherServer = await generate('run4.json', b);
    assert.equal(otherServer.code, 0, otherServer.stderr);
    assert.equal(cacheHits(otherServer), 0, 'another base URL never gets a hit');
    assert.equal(calls(b), made);
    const stopped = await stopWorkers(second);

    // What Redis holds: no API key, no password.
    const admin = new Redis(redis.url);
    try {
      const keys = await admin.keys('toolalpaca:cache:*');
      assert.ok(keys.length >= made);
      const values = await admin.mget(keys);
      for (const value of values) assert.ok(!(value ?? '').includes(API_KEY), 'no API key in the cache');
    } finally {
      admin.disconnect();
    }
    for (const r of [run1, run2, otherModel, otherServer, ...stopped]) {
      assert.ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD), 'the Redis password is never printed');
    }
  });

  test('--rpm holds across three workers: the server never sees more than its share of a window', async () => {
    const server = await fakeServer();
    const workers = [await worker('r1', '2'), await worker('r2', '2'), await worker('r3', '2')];
    // 60 per minute, spaced evenly: one a second, 10 in any 10 s. Three workers each limiting itself
    // alone would let 30 through.
    const run = await generate('limited.json', server, '--limit', '8', '--rpm', '60');
    assert.equal(run.code, 0, run.stderr);
    const arrivals = server.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.arrivedAt);
    assert.ok(arrivals.length > 10, `more calls than a window allows (${arrivals.length})`);
    // A request reaches the server a moment after its turn was booked; on a loaded machine (load 28
    // on 2 cores) a worker's first call, its runner just opened, was seen to arrive over 1 s late and
    // so land in the next turn's window: one request of slack per window for that, and 600 ms.
    // Without the shared limit the three workers put all their 16 calls into one window.
    const most = mostInAnyWindow(arrivals, 10_000, 600);
    assert.ok(most <= 11, `at most 10 (+1) requests in any 10 s, got ${most}: ${offsets(arrivals)}`);
    assert.ok(mostInAnyWindow(arrivals, 60_000, 600) <= 60, 'at most 60 in any minute');
    const stopped = await stopWorkers(workers);
    const jobs = stopped.map((r) => Number(/stopped after (\d+) jobs/.exec(r.stderr)?.[1] ?? 0));
    assert.equal(
      jobs.filter((n) => n > 0).length,
      3,
      `the three workers shared the run (jobs per worker: ${jobs.join(', ')})`,
    );
  });

  test('--tpm holds across three workers: a budget for one call a minute lets one through, not one per worker', async () => {
    const server = await fakeServer();
    await Promise.all(['t1', 't2', 't3'].map((name) => worker(name, '2')));
    // A budget of 1 token admits a call only into an empty window, whatever its size: one call a
    // minute across every worker. Workers that each kept their own budget would each send one at once.
    const producer = start(generateArgs('tpm.json', server, '--tpm', '1'));
    const location = parseQueueUrl(redis.url);
    let active = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
      active = (await queueStatus(location)).jobs.active;
      // Five of the six slots taken means every worker (two slots each) holds jobs.
      if (active >= 5 && calls(server) >= 1) break;
    }
    assert.ok(active >= 5, `every worker holds jobs (${active} active)`);
    await sleep(3_000);
    assert.equal(producer.child.exitCode, null, 'the run is still going, waiting for the budget');
    const seen = calls(server);
    assert.equal(seen, 1, `one call in the first minute from all three workers together, not ${seen}`);
  });
});
