/**
 * The reliability scenarios, shared by the tests under test/reliability (few iterations) and the chaos
 * runner bench/chaos/chaos.bench.ts (many): every run goes through the built CLI against the fake
 * OpenAI server on loopback, optionally behind the fault proxy. Each scenario returns its figures (runs,
 * faults injected, kills, instances lost and duplicated) so both callers can assert and record them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  promptText,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeReply,
  type FakeRequestBody,
} from '../helpers/fake-openai-server.js';
import type { RunCliResult } from '../helpers/cli.js';
import { loggedValues, runCliIn, startCli, waitUntil } from '../helpers/cli-process.js';
import { sharedData } from '../helpers/paths.js';
import { seededRandom } from '../../src/core/random.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';
import { evalWorld, goldenByInstruction } from '../eval/eval-world.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { toolsetResponder } from '../pipeline/toolset/toolset-responder.js';
import { startFaultProxy, type FaultKind, type FaultProxy, type FaultProxyOptions } from './fault-proxy.js';

export const EVAL = sharedData('toolalpaca/eval_simulated.json');
export const CATALOG = sharedData('toolalpaca/public_apis.json');
export const TASKS = sharedData('stabletoolbench/G1_instruction.json');

/** Longest a single CLI run may take on a loaded machine before it counts as hung. */
export const RUN_TIMEOUT_MS = 180_000;

export function cli(args: string[], cwd: string): Promise<RunCliResult> {
  return runCliIn(args, cwd, RUN_TIMEOUT_MS);
}

/**
 * One fake model that plays every role the four run kinds need: the assistant and simulated parts of
 * generate and eval run (ReAct text), the solver (a native Finish call when tools are offered) and the
 * toolset builder (by the `[toolset:stage]` marker).
 */
export async function startWorld(): Promise<FakeOpenAI> {
  const server = await startFakeOpenAI();
  const { tools } = await loadGenerationTools(EVAL);
  const world = worldResponder(planCalls(tools.map((t) => t.tool)));
  const evaluation = evalWorld({ golden: goldenByInstruction(await readToolAlpacaFile(EVAL)) });
  const toolset = toolsetResponder();
  server.setDefault((body: FakeRequestBody): FakeReply => {
    if (body.tools !== undefined) {
      return {
        toolCalls: [
          {
            name: 'Finish',
            arguments: JSON.stringify({ return_type: 'give_answer', final_answer: 'Done.' }),
          },
        ],
      };
    }
    const first = body.messages?.find((m) => m.role === 'user');
    if (typeof first?.content === 'string' && first.content.startsWith('[toolset:')) {
      return toolset.respond(body);
    }
    // eval run's prompt (test_v1) speaks as USER / ASSISTANT; generate's does not.
    return promptText(body).includes('ASSISTANT Thought:') ? evaluation(body) : world(body);
  });
  return server;
}

/** A kind of durable run: its arguments, and the identities of what its final output holds. */
export interface RunKind {
  name: 'generate' | 'eval run' | 'solve' | 'toolset build';
  /** Output path under `dir`. */
  out(dir: string): string;
  args(out: string, baseUrl: string, size: number): string[];
  /** One identity per instance in the final output (duplicates show as repeats). */
  finalIds(out: string): string[];
}

const model = (url: string) => ['--model', 'openai:fake-model', '--base-url', url, '--no-cache'];

/** `command` on its input, against the model at `url`, into `out`, limited to `size` tasks. */
function runArgs(command: string[], url: string, out: string, size: number, extra: string[] = []): string[] {
  return [...command, ...model(url), '--out', out, ...extra, '--limit', String(size)];
}

interface ToolAlpacaRecordLike {
  Name: string;
  Instances?: { input?: string; status?: string }[];
}

export const RUN_KINDS: Record<RunKind['name'], RunKind> = {
  generate: {
    name: 'generate',
    out: (dir) => join(dir, 'corpus.json'),
    args: (out, url, size) => runArgs(['generate', '--tools', EVAL, '--executor', 'schema'], url, out, size),
    finalIds: (out) =>
      (JSON.parse(readFileSync(out, 'utf8')) as ToolAlpacaRecordLike[]).flatMap((r) =>
        (r.Instances ?? []).map((i) => `${r.Name}\u0000${i.input ?? ''}`),
      ),
  },
  'eval run': {
    name: 'eval run',
    out: (dir) => join(dir, 'run.json'),
    args: (out, url, size) =>
      runArgs(['eval', 'run', '--tools', EVAL, '--executor', 'schema'], url, out, size),
    finalIds: (out) =>
      (JSON.parse(readFileSync(out, 'utf8')) as { items: { tool: string; index: number }[] }).items.map(
        (i) => `${i.tool}#${i.index}`,
      ),
  },
  solve: {
    name: 'solve',
    out: (dir) => join(dir, 'answers'),
    args: (out, url, size) => runArgs(['solve', '--tasks', TASKS, '--solver', 'react'], url, out, size),
    // One answer file per query; the journal holds each query once (checked from the journal).
    finalIds: (out) => readdirSync(out).filter((f) => f.endsWith('.json')),
  },
  'toolset build': {
    name: 'toolset build',
    out: (dir) => join(dir, 'toolset.json'),
    args: (out, url, size) =>
      runArgs(['toolset', 'build', '--catalog', CATALOG], url, out, size, ['--seed', '5']),
    finalIds: (out) => (JSON.parse(readFileSync(out, 'utf8')) as { Name: string }[]).map((r) => r.Name),
  },
};

/** A kind's arguments with run flags after them (`{ concurrency: 2 }` → `--concurrency 2`). */
function kindArgs(
  kind: RunKind,
  out: string,
  url: string,
  size: number,
  flags: Record<string, number> = {},
): string[] {
  return [
    ...kind.args(out, url, size),
    ...Object.entries(flags).flatMap(([flag, value]) => [
      `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
      String(value),
    ]),
  ];
}

/** Throws, naming the run and its last stderr line, unless it exited with one of `allowed`. */
function expectExit(what: string, result: RunCliResult, allowed: readonly number[]): RunCliResult {
  if (!allowed.includes(result.code)) {
    throw new Error(`${what} exited ${result.code}: ${result.stderr.trim().split('\n').at(-1)}`);
  }
  return result;
}

/** Runs `body` with a fault proxy in front of `server`, closed whatever happens. */
async function withProxy<T>(
  server: FakeOpenAI,
  options: Omit<FaultProxyOptions, 'target'>,
  body: (proxy: FaultProxy) => Promise<T>,
): Promise<T> {
  const proxy = await startFaultProxy({ target: server.origin, ...options });
  try {
    return await body(proxy);
  } finally {
    await proxy.close();
  }
}

/** The ids a run of `size` must end with (the journal's task ids are the reference). */
export function journalOf(out: string): string {
  return `${out}.log.jsonl`;
}

export function journalTaskIds(out: string): string[] {
  return loggedValues(journalOf(out), 'task', 'id');
}

/** Journal task lines: id and whether the line records a failure. */
function journalTasks(out: string): { id: string; failed: boolean }[] {
  const path = journalOf(out);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const value = JSON.parse(line) as { type?: string; id?: string; status?: string; failure?: unknown };
        if (value.type !== 'task' || value.id === undefined) return [];
        const failed = value.status === 'failed' || value.failure !== undefined;
        return [{ id: value.id, failed }];
      } catch {
        return [];
      }
    });
}

export interface Tally {
  /** Expected instances the final output lacks. */
  lost: number;
  /** Instances the final output holds more than once, plus journal lines that redo a finished task. */
  duplicated: number;
  /** What the final output holds. */
  final: number;
  /** Tasks whose last journal line is a failure. */
  failed: number;
}

/**
 * Counts against `expected` instances: lost (missing from the final output), duplicated (an identity
 * twice in the final output, or a task journalled again after it had succeeded: work done twice).
 */
export function tally(kind: RunKind, out: string, expected: number): Tally {
  const ids = existsSync(out) ? kind.finalIds(out) : [];
  const unique = new Set(ids);
  const tasks = journalTasks(out);
  let redone = 0;
  const succeeded = new Set<string>();
  for (const task of tasks) {
    if (succeeded.has(task.id)) redone++;
    if (!task.failed) succeeded.add(task.id);
  }
  const last = new Map(tasks.map((t) => [t.id, t.failed]));
  const lost = Math.max(0, expected - unique.size) + Math.max(0, expected - last.size);
  const failed = [...last.values()].filter(Boolean).length;
  return { lost, duplicated: ids.length - unique.size + redone, final: ids.length, failed };
}

function pick(t: Tally): Pick<Tally, 'lost' | 'duplicated' | 'failed'> {
  return { lost: t.lost, duplicated: t.duplicated, failed: t.failed };
}

/** Resumes (`--resume --retry-failed all`) until the run exits 0, at most `rounds` times. */
export async function resumeUntilDone(
  args: string[],
  dir: string,
  rounds: number,
): Promise<{ runs: number; codes: number[] }> {
  const codes: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const result = await cli([...args, '--resume', '--retry-failed', 'all'], dir);
    codes.push(result.code);
    if (result.code === 0) break;
    expectExit('resume', result, [3, 4]);
  }
  return { runs: codes.length, codes };
}

export interface KillFigures {
  kind: RunKind['name'];
  kills: number;
  runs: number;
  lost: number;
  duplicated: number;
  failed: number;
}

/**
 * Starts a run of `size` instances, kills it (SIGKILL) once the journal holds a seeded random number
 * of finished tasks (0..size-1: a kill before the first task is included), `kills` times with a resume
 * in between, then resumes to the end and counts lost and duplicated instances.
 */
export async function killAndResume(
  kind: RunKind,
  server: FakeOpenAI,
  dir: string,
  options: { size: number; kills: number; seed: number; latencyMs: number },
): Promise<KillFigures> {
  const out = kind.out(dir);
  const args = kindArgs(kind, out, server.baseUrl, options.size, { concurrency: 2 });
  const random = seededRandom(options.seed);
  let runs = 0;
  let kills = 0;
  server.setLatency(options.latencyMs);
  try {
    for (let k = 0; k < options.kills; k++) {
      const done = journalTaskIds(out).length;
      if (done >= options.size) break;
      const target = done + Math.floor(random() * (options.size - done));
      const started = startCli(k === 0 ? args : [...args, '--resume'], dir);
      runs++;
      // Killed at the first event past the target: the lock written (target 0) or the Nth task line.
      await waitUntil(
        () =>
          started.child.exitCode !== null ||
          (target === 0 ? existsSync(`${out}.lock`) : journalTaskIds(out).length >= target),
        RUN_TIMEOUT_MS,
        10,
      );
      if (started.child.exitCode === null) {
        started.child.kill('SIGKILL');
        kills++;
      }
      expectExit(kind.name, await started.done, [0, 137]);
    }
  } finally {
    server.setLatency(0);
  }
  const final = await resumeUntilDone(args, dir, 3);
  runs += final.runs;
  if (final.codes.at(-1) !== 0) throw new Error(`${kind.name} did not finish: ${final.codes.join(', ')}`);
  const counted = tally(kind, out, options.size);
  return { kind: kind.name, kills, runs, ...pick(counted) };
}

export interface FaultFigures {
  kind: RunKind['name'];
  runs: number;
  faults: number;
  byKind: Record<FaultKind, number>;
  /** Exit codes of the runs, in order. */
  codes: number[];
  /** Instances the first run ended as failed. */
  failedFirst: number;
  lost: number;
  duplicated: number;
  failed: number;
}

/**
 * A run through the fault proxy (faults on every `rate` of the chat requests, seeded), then resumes
 * with the faults still on (`--retry-failed all`, up to `rounds`), then one with the faults off if it
 * is still not done.
 */
export async function throughFaults(
  kind: RunKind,
  server: FakeOpenAI,
  dir: string,
  options: { size: number; seed: number; rate: number; rounds: number },
): Promise<FaultFigures> {
  return withProxy(server, { seed: options.seed, rate: options.rate }, async (proxy) => {
    const out = kind.out(dir);
    const args = kindArgs(kind, out, proxy.baseUrl, options.size, {
      concurrency: 2,
      maxRetries: 2,
      circuitBreaker: 0,
    });
    const first = expectExit(kind.name, await cli(args, dir), [0, 4]);
    const codes = [first.code];
    // Failures the first run kept: garbage JSON that outlives the retries is a bad reply, not an
    // infrastructure failure, so it exits 0 and only `--retry-failed all` runs it again.
    const failedFirst = tally(kind, out, options.size).failed;
    if (first.code !== 0 || failedFirst > 0) {
      const resumed = await resumeUntilDone(args, dir, options.rounds);
      codes.push(...resumed.codes);
      if (resumed.codes.at(-1) !== 0) {
        proxy.setRate(0);
        const last = await resumeUntilDone(args, dir, 1);
        codes.push(...last.codes);
      }
    }
    if (codes.at(-1) !== 0) throw new Error(`${kind.name} did not finish: ${codes.join(', ')}`);
    const counted = tally(kind, out, options.size);
    return {
      kind: kind.name,
      runs: codes.length,
      faults: proxy.faults(),
      byKind: { ...proxy.injected },
      codes,
      failedFirst,
      ...pick(counted),
    };
  });
}

export interface ConcurrentFigures {
  /** Exit codes of the two runs, sorted. */
  codes: number[];
  refusal: string;
  lost: number;
  duplicated: number;
  failed: number;
}

/**
 * Two runs of `kind` started together on one --out, the model held (no chat reply) until one of them
 * has exited: one runs, the other is refused (exit 3). Were both let in, neither would exit while held.
 */
export async function twoRunsOneOutput(
  kind: RunKind,
  server: FakeOpenAI,
  dir: string,
  options: { size: number },
): Promise<ConcurrentFigures> {
  return withProxy(server, { seed: 0 }, async (proxy) => {
    const out = kind.out(dir);
    const args = kindArgs(kind, out, proxy.baseUrl, options.size, { concurrency: 1 });
    proxy.hold();
    try {
      const runs = [startCli(args, dir).done, startCli(args, dir).done] as const;
      const first = await Promise.race(runs);
      proxy.release();
      const [a, b] = await Promise.all(runs);
      const refused = [a, b].find((r) => r.code !== 0);
      const counted = tally(kind, out, options.size);
      return {
        codes: [a.code, b.code].sort(),
        refusal: (refused ?? first).stderr.trim(),
        ...pick(counted),
      };
    } finally {
      proxy.release();
    }
  });
}

export interface DeadFigures {
  code: number;
  stderr: string;
  seconds: number;
  written: string[];
}

/** A run against a server that refuses every connection (the proxy, down). */
export async function deadServer(kind: RunKind, server: FakeOpenAI, dir: string): Promise<DeadFigures> {
  return withProxy(server, { seed: 0 }, async (proxy) => {
    proxy.setDown(true);
    const started = Date.now();
    const result = await cli(kind.args(kind.out(dir), proxy.baseUrl, 4), dir);
    return {
      code: result.code,
      stderr: result.stderr.trim(),
      seconds: (Date.now() - started) / 1000,
      written: readdirSync(dir),
    };
  });
}

export interface FlapFigures {
  kind: RunKind['name'];
  codes: number[];
  faults: number;
  lost: number;
  duplicated: number;
  failed: number;
}

/**
 * A server that answers `up` chat requests, then resets `down` connections, over and over: the run
 * stops on the circuit breaker (exit 3) or ends with infrastructure failures (exit 4); plain
 * `--resume` (infrastructure failures only) runs until it is done.
 */
export async function flappingServer(
  kind: RunKind,
  server: FakeOpenAI,
  dir: string,
  options: { size: number; up: number; down: number; rounds: number },
): Promise<FlapFigures> {
  return withProxy(server, { seed: 0, flap: { up: options.up, down: options.down } }, async (proxy) => {
    const out = kind.out(dir);
    const args = kindArgs(kind, out, proxy.baseUrl, options.size, {
      concurrency: 1,
      maxRetries: 0,
      circuitBreaker: 2,
    });
    const codes = [(await cli(args, dir)).code];
    for (let i = 0; i < options.rounds && codes.at(-1) !== 0; i++) {
      codes.push(expectExit('resume', await cli([...args, '--resume'], dir), [0, 3, 4]).code);
    }
    const counted = tally(kind, out, options.size);
    return { kind: kind.name, codes, faults: proxy.faults(), ...pick(counted) };
  });
}
