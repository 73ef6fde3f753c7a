/**
 * Runs through a fault-injecting proxy (connection resets, 5xx, 429 with Retry-After, slow replies,
 * truncated bodies, garbage JSON), a flapping server, a dead one, and two runs on one output: every
 * fault ends as a retry, a recorded failure or a refusal, and after --resume the output holds every
 * instance once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import {
  deadServer,
  flappingServer,
  RUN_KINDS,
  startWorld,
  throughFaults,
  twoRunsOneOutput,
} from './chaos.js';

describe('faults from the model server', { concurrency: true }, () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startWorld();
  });
  after(async () => {
    await server.close();
  });

  test('generate through the fault proxy: every fault kind injected, nothing lost or duplicated', async () => {
    const figures = await throughFaults(RUN_KINDS.generate, server, makeTempDir(), {
      size: 8,
      seed: 7,
      rate: 0.35,
      rounds: 3,
    });
    assert.ok(figures.faults >= 3, `faults injected: ${JSON.stringify(figures.byKind)}`);
    assert.equal(figures.lost, 0);
    assert.equal(figures.duplicated, 0);
    assert.equal(figures.failed, 0);
  });

  test('eval run through the fault proxy: nothing lost or duplicated', async () => {
    const figures = await throughFaults(RUN_KINDS['eval run'], server, makeTempDir(), {
      size: 8,
      seed: 12,
      rate: 0.35,
      rounds: 3,
    });
    assert.ok(figures.faults >= 2, `faults injected: ${JSON.stringify(figures.byKind)}`);
    assert.equal(figures.lost, 0);
    assert.equal(figures.duplicated, 0);
    assert.equal(figures.failed, 0);
  });

  test('a flapping server: the breaker or exit 4 stops the run, --resume retries until done', async () => {
    const figures = await flappingServer(RUN_KINDS.generate, server, makeTempDir(), {
      size: 6,
      up: 5,
      down: 3,
      rounds: 6,
    });
    assert.ok(
      figures.codes.some((code) => code === 3 || code === 4),
      `exit codes ${figures.codes.join(', ')}`,
    );
    assert.equal(figures.codes.at(-1), 0, `exit codes ${figures.codes.join(', ')}`);
    assert.equal(figures.lost, 0);
    assert.equal(figures.duplicated, 0);
    assert.equal(figures.failed, 0);
  });

  test('a dead server: exit 3 in one line naming it, nothing written', async () => {
    const dir = makeTempDir();
    const figures = await deadServer(RUN_KINDS.solve, server, dir);
    assert.equal(figures.code, 3, figures.stderr);
    assert.match(figures.stderr, /^toolalpaca: .*http:\/\/127\.0\.0\.1:\d+\/v1/);
    assert.equal(figures.stderr.split('\n').length, 1, figures.stderr);
    assert.deepEqual(figures.written, []);
  });

  test('two runs started together on one --out: one runs, the other is refused (exit 3)', async () => {
    const figures = await twoRunsOneOutput(RUN_KINDS['eval run'], server, makeTempDir(), {
      size: 4,
    });
    assert.deepEqual(figures.codes, [0, 3], figures.refusal);
    assert.match(figures.refusal, /^toolalpaca: another run is writing this output \(pid \d+/);
    assert.equal(figures.lost, 0);
    assert.equal(figures.duplicated, 0);
    assert.equal(figures.failed, 0);
  });
});
