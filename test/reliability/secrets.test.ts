/**
 * A secret-echoing API on loopback (its Authorization header, query and Basic password echoed into
 * answers and error bodies) called by generate, eval run and serve with `--executor real --secrets`:
 * the keys reach the API, and no output, journal, cache, log, error or prompt holds one in any form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../helpers/paths.js';
import { secretEchoScenario } from './secret-echo.js';

test('secrets echoed by the API are found nowhere: outputs, journals, cache, logs, errors', async () => {
  const figures = await secretEchoScenario(makeTempDir('toolalpaca-secret-echo-'));
  assert.ok(figures.delivered >= 3, `the API received the secrets (${figures.delivered} calls)`);
  assert.ok(figures.searched >= 10, `searched ${figures.searched}`);
  assert.deepEqual(figures.found, []);
  // The response cache was on: the run's summary says how many answers came from it.
  assert.match(figures.generateSummary, /cache hits \d+/);
});
