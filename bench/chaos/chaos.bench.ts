/**
 * The chaos runner (runnable alone: `node --import tsx bench/chaos/chaos.bench.ts [--kills N] [--seed S]
 * [--rounds R]`): the scenarios of test/reliability with more iterations — kill -9 at seeded random
 * points of generate, eval run, solve and toolset build (N kills each, then --resume), runs through the
 * fault proxy (each fault kind), a flapping and a dead server, two runs on one output, and the
 * secret-echoing API — all through the built CLI on loopback. Prints the figures as the Markdown table
 * docs/reliability.md records (runs, faults injected, kills, instances lost, duplicated, failed at the
 * end, secrets found), with the machine, date and command.
 */
import { loadavg } from 'node:os';
import { makeTempDir } from '../../test/helpers/paths.js';
import {
  deadServer,
  flappingServer,
  killAndResume,
  RUN_KINDS,
  startWorld,
  throughFaults,
  twoRunsOneOutput,
} from '../../test/reliability/chaos.js';
import { secretEchoScenario } from '../../test/reliability/secret-echo.js';
import { machineDescription } from '../benchmarks-doc.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const kills = flag('--kills', 5);
const seed = flag('--seed', 1);
const rounds = flag('--rounds', 2);

interface Row {
  scenario: string;
  runs: number;
  faults: number | string;
  kills: number | string;
  lost: number;
  duplicated: number;
  failed: number;
  secrets: number | string;
  note: string;
}

const rows: Row[] = [];
const started = Date.now();
const load = loadavg()[0]?.toFixed(1) ?? '?';
const server = await startWorld();
const log = (row: Row) => {
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
};
try {
  for (let round = 0; round < rounds; round++) {
    const kinds = Object.values(RUN_KINDS);
    // The kinds of one round run side by side (4 processes), as a loaded machine would see them.
    const killed = await Promise.all(
      kinds.map((kind, i) =>
        killAndResume(kind, server, makeTempDir(), {
          size: 8,
          kills,
          seed: seed * 1000 + round * 10 + i,
          latencyMs: 50,
        }),
      ),
    );
    for (const f of killed) {
      log({
        scenario: `kill -9 + resume: ${f.kind}`,
        runs: f.runs,
        faults: '-',
        kills: f.kills,
        lost: f.lost,
        duplicated: f.duplicated,
        failed: f.failed,
        secrets: '-',
        note: `round ${round + 1}`,
      });
    }
    const faulted = await Promise.all(
      (['generate', 'eval run', 'solve'] as const).map((name, i) =>
        throughFaults(RUN_KINDS[name], server, makeTempDir(), {
          size: 8,
          seed: seed * 1000 + round * 10 + i,
          rate: 0.3,
          rounds: 4,
        }),
      ),
    );
    for (const f of faulted) {
      const byKind = Object.entries(f.byKind)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      log({
        scenario: `fault proxy (30 %): ${f.kind}`,
        runs: f.runs,
        faults: f.faults,
        kills: '-',
        lost: f.lost,
        duplicated: f.duplicated,
        failed: f.failed,
        secrets: '-',
        note: `${byKind}; first run left ${f.failedFirst} failed; exits ${f.codes.join(' ')}`,
      });
    }
  }
  const [flap, twice, dead] = await Promise.all([
    flappingServer(RUN_KINDS.generate, server, makeTempDir(), { size: 8, up: 5, down: 3, rounds: 8 }),
    twoRunsOneOutput(RUN_KINDS.generate, server, makeTempDir(), { size: 6 }),
    deadServer(RUN_KINDS['eval run'], server, makeTempDir()),
  ]);
  log({
    scenario: 'flapping server (5 up, 3 reset): generate',
    runs: flap.codes.length,
    faults: flap.faults,
    kills: '-',
    lost: flap.lost,
    duplicated: flap.duplicated,
    failed: flap.failed,
    secrets: '-',
    note: `exits ${flap.codes.join(' ')}`,
  });
  log({
    scenario: 'two runs on one --out: generate',
    runs: 2,
    faults: '-',
    kills: '-',
    lost: twice.lost,
    duplicated: twice.duplicated,
    failed: twice.failed,
    secrets: '-',
    note: `exits ${twice.codes.join(' ')}`,
  });
  log({
    scenario: 'dead server: eval run',
    runs: 1,
    faults: '-',
    kills: '-',
    lost: 0,
    duplicated: 0,
    failed: 0,
    secrets: '-',
    note: `exit ${dead.code} after ${dead.seconds.toFixed(1)} s (CLI start-up included); files written: ${dead.written.length}`,
  });
  const secrets = await secretEchoScenario(makeTempDir('toolalpaca-chaos-secrets-'));
  log({
    scenario: 'secret-echoing API: generate, eval run, serve',
    runs: secrets.runs,
    faults: '-',
    kills: '-',
    lost: 0,
    duplicated: 0,
    failed: 0,
    secrets: secrets.found.length,
    note: `${secrets.delivered} calls carried a secret; ${secrets.searched} files and streams searched`,
  });
} finally {
  await server.close();
}

const sum = (pick: (r: Row) => number | string) =>
  rows.reduce((total, r) => total + (typeof pick(r) === 'number' ? (pick(r) as number) : 0), 0);
const lines = [
  `Machine: ${machineDescription()}; load average ${load} at the start.`,
  `Date: ${new Date().toISOString()}; ${((Date.now() - started) / 1000).toFixed(0)} s in all.`,
  `Command: \`node --import tsx bench/chaos/chaos.bench.ts --kills ${kills} --seed ${seed} --rounds ${rounds}\``,
  '',
  '| scenario | runs | faults injected | kills | lost | duplicated | failed at the end | secrets found | notes |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.runs} | ${r.faults} | ${r.kills} | ${r.lost} | ${r.duplicated} | ${r.failed} | ${r.secrets} | ${r.note} |`,
  ),
  `| **total** | ${sum((r) => r.runs)} | ${sum((r) => r.faults)} | ${sum((r) => r.kills)} | ${sum((r) => r.lost)} | ${sum((r) => r.duplicated)} | ${sum((r) => r.failed)} | ${sum((r) => r.secrets)} | |`,
];
process.stdout.write(`${lines.join('\n')}\n`);
