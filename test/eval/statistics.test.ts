import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedData } from '../helpers/paths.js';
import type { VerdictLabel } from '../../src/core/run.js';
import {
  agreementShare,
  combineVerdicts,
  computeStatistics,
  formatStatistics,
  majorityLabel,
  runSpread,
  type ItemLabels,
} from '../../src/eval/statistics.js';

test("reproduces the statistics of ToolAlpaca's judged 7-B file from its labels", () => {
  const data = JSON.parse(
    readFileSync(sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json'), 'utf8'),
  ) as Record<string, unknown>;
  const expected = data.statistics as Record<string, unknown>;
  const labels: ItemLabels[] = [];
  for (const [key, list] of Object.entries(data)) {
    if (key === 'statistics') continue;
    for (const entry of list as { process_correctness?: string; final_response_correctness?: string }[]) {
      labels.push(
        entry.process_correctness === undefined
          ? undefined
          : {
              process: entry.process_correctness as VerdictLabel,
              response: entry.final_response_correctness as VerdictLabel,
            },
      );
    }
  }
  const statistics = computeStatistics(labels);
  const { percentages, ...shape } = statistics;
  assert.deepEqual(shape, expected);
  // ToolAlpaca-7B on simulated tools, as its paper reports: 63 / 68 / 60.
  assert.deepEqual(percentages, { procedure: 63, response: 68, overall: 60 });
  assert.equal(
    formatStatistics(statistics),
    'procedure 63.00% · response 68.00% · overall 60.00% (n=100, errors 1)',
  );
});

test('empty input gives zeros, not NaN', () => {
  const s = computeStatistics([]);
  assert.equal(s.num, 0);
  assert.deepEqual(s.percentages, { procedure: 0, response: 0, overall: 0 });
});

test('majority: most frequent label; a tie for first place is Uncertain', () => {
  assert.equal(majorityLabel(['Yes', 'No', 'Yes']), 'Yes');
  assert.equal(majorityLabel(['Yes', 'No']), 'Uncertain');
  assert.equal(majorityLabel(['No', 'Uncertain', 'No', 'Yes']), 'No');
  assert.equal(majorityLabel([]), undefined);
  assert.equal(agreementShare(['Yes', 'No', 'Yes']), 0.67);
  assert.equal(agreementShare(['Yes']), 1);
});

test('combineVerdicts leaves unreadable verdicts out', () => {
  const combined = combineVerdicts([
    { process: 'No', response: 'Yes', analysis: '' },
    { analysis: '', error: 'unreadable' },
    { process: 'No', response: 'No', analysis: '' },
  ]);
  assert.deepEqual(combined.majority, { process: 'No', response: 'Uncertain' });
  assert.deepEqual(combined.spread, { process: 1, response: 0.5 });
  assert.deepEqual(combineVerdicts([{ analysis: '', error: 'x' }]), {});
});

test('runSpread: per-run statistics and min/max/stdev of the percentages', () => {
  const y = { process: 'Yes', response: 'Yes', analysis: '' } as const;
  const n = { process: 'No', response: 'Yes', analysis: '' } as const;
  const spread = runSpread([[y, n], [y, y], []], 2);
  assert.deepEqual(
    spread.perRun.map((s) => [s.process.Yes, s.error_num]),
    [
      [2, 1],
      [1, 1],
    ],
  );
  assert.equal(spread.procedure.max, 66.67);
  assert.equal(spread.procedure.min, 33.33);
  assert.equal(spread.procedure.stdev, 16.67);
  assert.equal(spread.response.stdev, 0);
});
