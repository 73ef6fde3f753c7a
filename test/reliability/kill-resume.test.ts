/**
 * kill -9 at seeded random points of generate, eval run, solve and toolset build, each followed by
 * --resume: the final outputs and journals hold every instance once (none lost, none duplicated).
 * The chaos runner (bench/chaos) repeats this with more kills; docs/reliability.md has its figures.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { killAndResume, RUN_KINDS, startWorld } from './chaos.js';

describe('kill -9 at random points, then --resume', { concurrency: true }, () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startWorld();
  });
  after(async () => {
    await server.close();
  });

  for (const [index, kind] of Object.values(RUN_KINDS).entries()) {
    test(`${kind.name}: nothing lost, nothing duplicated`, async () => {
      const figures = await killAndResume(kind, server, makeTempDir(), {
        size: 6,
        kills: 1,
        seed: 13 + index,
        latencyMs: 50,
      });
      assert.ok(figures.kills >= 1, `${kind.name} was killed`);
      assert.equal(figures.lost, 0, `${kind.name}: lost`);
      assert.equal(figures.duplicated, 0, `${kind.name}: duplicated`);
      assert.equal(figures.failed, 0, `${kind.name}: failed at the end`);
    });
  }
});
