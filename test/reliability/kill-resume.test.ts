/**
 * kill -9 at seeded random points of generate, eval run, solve and toolset build, each followed by
 * --resume: the final outputs and journals hold every instance once (none lost, none duplicated).
 * The chaos runner (bench/chaos) repeats this with more kills; docs/reliability.md has its figures.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../helpers/paths.js';
import { killAndResume, RUN_KINDS, startWorld } from './chaos.js';

describe('kill -9 at random points, then --resume', { concurrency: true }, () => {
  for (const [index, kind] of Object.values(RUN_KINDS).entries()) {
    test(`${kind.name}: nothing lost, nothing duplicated`, async () => {
      // One server per run kind: killAndResume slows its server down while it kills, and the tests run
      // side by side (a shared server was set back to full speed by whichever test ended first).
      const server = await startWorld();
      try {
        const figures = await killAndResume(kind, server, makeTempDir(), {
          size: 5,
          kills: 1,
          seed: 13 + index,
          latencyMs: 50,
        });
        assert.ok(figures.kills >= 1, `${kind.name} was killed`);
        assert.equal(figures.lost, 0, `${kind.name}: lost`);
        assert.equal(figures.duplicated, 0, `${kind.name}: duplicated`);
        assert.equal(figures.failed, 0, `${kind.name}: failed at the end`);
      } finally {
        await server.close();
      }
    });
  }
});
