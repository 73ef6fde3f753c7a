/**
 * Failures that surface, through the compiled CLI against the fake OpenAI server: a dead endpoint is
 * one line and exit 3 before anything is written (every run kind), a server that dies mid-run opens the
 * circuit breaker (exit 3, what was done written), infrastructure failures at the end are exit 4 with
 * their count, a resume retries them (behavioural failures only with --retry-failed all), a resume with
 * another --temperature or --max-steps is refused, one run per output (a second is refused, a lock
 * left by kill -9 is taken over), and kill -9 + --resume for eval run, eval judge and solve.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  promptText,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeReply,
} from '../helpers/fake-openai-server.js';
import type { RunCliResult } from '../helpers/cli.js';
import { loggedValues, runCliIn, startCli, waitUntil } from '../helpers/cli-process.js';
import { closedPort } from '../helpers/net.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, roleOf, worldResponder } from '../pipeline/fake-agents.js';
import { evalWorld, goldenByInstruction } from '../eval/eval-world.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const CATALOG = sharedData('toolalpaca/public_apis.json');
const TASKS = sharedData('stabletoolbench/G1_instruction.json');

function cli(args: string[], cwd: string): Promise<RunCliResult> {
  return runCliIn(args, cwd, 120_000);
}

function taskIds(journal: string): string[] {
  return loggedValues(journal, 'task', 'id');
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0] as string;
}

describe('failures that surface', () => {
  let server: FakeOpenAI;
  let world: (body: Parameters<ReturnType<typeof worldResponder>>[0]) => FakeReply;
  let plans: ReturnType<typeof planCalls>;
  let names: string[];
  let instructions: string[];
  const model = (url: string) => [
    '--model',
    'openai:fake-model',
    '--base-url',
    url,
    '--no-cache',
    '--max-retries',
    '0',
  ];
  const generate = (out: string, url: string, ...extra: string[]) => [
    'generate',
    '--tools',
    EVAL,
    '--executor',
    'schema',
    ...model(url),
    '--out',
    out,
    ...extra,
  ];

  before(async () => {
    server = await startFakeOpenAI();
    const { tools } = await loadGenerationTools(EVAL);
    names = tools.map((t) => t.record.Name);
    instructions = tools.map((t) => t.record.Instructions?.[0] ?? '');
    plans = planCalls(tools.map((t) => t.tool));
    world = worldResponder(plans);
    server.setDefault(world);
  });
  after(async () => {
    await server.close();
  });

  test('a dead endpoint: one line naming it, exit 3, nothing written (generate, eval run, toolset build, solve, judge)', async () => {
    const dir = makeTempDir();
    const dead = `http://127.0.0.1:${await closedPort()}/v1`;
    const runs: [string, string[]][] = [
      ['corpus.json', generate(join(dir, 'corpus.json'), dead)],
      ['run.json', ['eval', 'run', '--tools', EVAL, ...model(dead), '--out', join(dir, 'run.json')]],
      [
        'toolset.json',
        ['toolset', 'build', '--catalog', CATALOG, ...model(dead), '--out', join(dir, 'toolset.json')],
      ],
      ['answers', ['solve', '--tasks', TASKS, ...model(dead), '--out', join(dir, 'answers')]],
    ];
    const run = join(dir, 'given-run.json');
    writeFileSync(
      run,
      JSON.stringify({
        kind: 'toolalpaca-run',
        version: 1,
        meta: {
          model: 'm',
          prompt: 'test_v1',
          mode: 'react',
          executor: 'schema',
          createdAt: 'x',
          toolalpacaVersion: '0',
          tokens: { prompt: 0, completion: 0 },
          costUsd: 0,
        },
        items: [],
      }),
    );
    runs.push([
      'judged.json',
      [
        'eval',
        'judge',
        run,
        '--judge-model',
        'openai:fake-model',
        '--base-url',
        dead,
        '--out',
        join(dir, 'judged.json'),
      ],
    ]);
    for (const [output, args] of runs) {
      const result = await cli(args, dir);
      assert.equal(result.code, 3, `${args[0]}: ${result.stderr}`);
      assert.match(oneLine(result.stderr), new RegExp(`^toolalpaca: .*${dead.replace(/[.:/]/g, '\\$&')}`));
      assert.equal(existsSync(join(dir, output)), false, output);
      assert.equal(existsSync(join(dir, `${output}.log.jsonl`)), false, `${output} journal`);
      assert.equal(existsSync(join(dir, `${output}.lock`)), false, `${output} lock`);
    }
  });

  test('a server that dies mid-run opens the circuit breaker: exit 3 naming it, done instances written; --resume finishes', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    let calls = 0;
    server.setDefault((body) => {
      calls++;
      // Two instances (two assistant calls each), then the server only answers 503.
      return calls <= 4 ? world(body) : { fault: 'server_error', status: 503 };
    });
    try {
      const args = generate(
        out,
        server.baseUrl,
        '--limit',
        '8',
        '--concurrency',
        '1',
        '--circuit-breaker',
        '2',
      );
      const stopped = await cli([...args, '--json'], dir);
      assert.equal(stopped.code, 3, stopped.stderr);
      assert.match(
        stopped.stderr,
        new RegExp(
          `^toolalpaca: service unavailable \\(${server.baseUrl.replace(/[.:/]/g, '\\$&')}\\): 2 instances in a row failed`,
          'm',
        ),
      );
      const summary = JSON.parse(stopped.stdout) as {
        completed: number;
        infrastructureFailed: number;
        notStarted: number;
      };
      assert.equal(summary.completed, 2);
      assert.equal(summary.infrastructureFailed, 2);
      assert.equal(summary.notStarted, 4);
      const written = (await readToolAlpacaFile(out)).flatMap((r) => r.Instances ?? []);
      assert.equal(written.filter((i) => (i as { status?: string }).status === undefined).length, 2);

      server.setDefault(world);
      const resumed = await cli([...args, '--resume', '--json'], dir);
      assert.equal(resumed.code, 0, resumed.stderr);
      const done = JSON.parse(resumed.stdout) as { completed: number; retried: number; resumed: number };
      assert.deepEqual([done.completed, done.retried, done.resumed], [8, 2, 2]);
      const ids = taskIds(`${out}.log.jsonl`);
      assert.equal(ids.length, 10, 'two retried lines appended');
      assert.equal(new Set(ids).size, 8);
      assert.equal((await readToolAlpacaFile(out)).flatMap((r) => r.Instances ?? []).length, 8);
    } finally {
      server.setDefault(world);
    }
  });

  test('infrastructure failures at the end: exit 4 with their count; --resume retries them, --retry-failed all the rest; other parameters are refused', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    const [infraTool, loopTool] = instructions as [string, string];
    const loopPlan = plans.get(names[1] as string);
    let serverDown = true;
    const loop = (body: Parameters<typeof world>[0], reply: FakeReply): FakeReply => {
      // The second tool's assistant never gives a final answer: a behavioural failure (step limit).
      if (roleOf(body) !== 'assistant' || !promptText(body).includes(loopTool)) return reply;
      if (!('text' in reply) || !/Final Answer/.test(reply.text ?? '')) return reply;
      return {
        text: ` Again.\nAction: ${loopPlan?.fn.name ?? 'x'}\nAction Input: ${JSON.stringify(loopPlan?.args ?? {})}`,
      };
    };
    let looping = true;
    server.setDefault((body) => {
      if (serverDown && promptText(body).includes(infraTool)) return { fault: 'server_error', status: 502 };
      const reply = world(body);
      return looping ? loop(body, reply) : reply;
    });
    try {
      const args = generate(out, server.baseUrl, '--limit', '3', '--max-steps', '2', '--concurrency', '1');
      const first = await cli([...args, '--json'], dir);
      assert.equal(first.code, 4, first.stderr);
      assert.match(
        first.stderr,
        /^toolalpaca: 1 instance failed for an infrastructure reason \(http:\/\/127\.0\.0\.1:\d+\/v1\): rerun with --resume to retry it$/m,
      );
      const summary = JSON.parse(first.stdout) as {
        failedByReason: Record<string, number>;
        infrastructureFailed: number;
      };
      assert.equal(summary.infrastructureFailed, 1);
      assert.deepEqual(summary.failedByReason, { model_error: 1, step_limit: 1 });
      const corpus = await readToolAlpacaFile(out);
      const failure = (corpus[0]?.Instances?.[0] as { failure?: { infrastructure?: boolean } }).failure;
      assert.equal(failure?.infrastructure, true, 'the failure record says so');

      // Changed parameters are refused, naming them.
      for (const [flag, value, name] of [
        ['--temperature', '0.5', 'temperature'],
        ['--max-steps', '5', 'maxSteps'],
      ] as const) {
        const changed = [...args, '--resume'];
        const at = changed.indexOf(flag);
        if (at >= 0) changed[at + 1] = value;
        else changed.push(flag, value);
        const refused = await cli(changed, dir);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(oneLine(refused.stderr), new RegExp(`cannot resume .*\\(${name} [^→]+→ ${value}\\)`));
      }

      serverDown = false;
      const resumed = await cli([...args, '--resume', '--json'], dir);
      assert.equal(resumed.code, 0, resumed.stderr);
      const second = JSON.parse(resumed.stdout) as {
        retried: number;
        failedByReason: Record<string, number>;
      };
      assert.equal(second.retried, 1);
      assert.deepEqual(second.failedByReason, { step_limit: 1 }, 'the behavioural failure is kept');

      looping = false;
      const all = await cli([...args, '--resume', '--retry-failed', 'all', '--json'], dir);
      assert.equal(all.code, 0, all.stderr);
      const third = JSON.parse(all.stdout) as { retried: number; failed: number; completed: number };
      assert.deepEqual([third.retried, third.failed, third.completed], [1, 0, 3]);
      assert.equal(new Set(taskIds(`${out}.log.jsonl`)).size, 3);
      const bad = await cli([...args, '--resume', '--retry-failed', 'some'], dir);
      assert.equal(bad.code, 2);
      assert.match(oneLine(bad.stderr), /--retry-failed: expected one of infrastructure, all, none/);
    } finally {
      server.setDefault(world);
    }
  });

  test('one run per output: a second run is refused in one line; the lock of a killed run is taken over', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'corpus.json');
    // The model never answers while the first run holds the lock, however late a loaded machine starts the second.
    const args = generate(out, server.baseUrl, '--limit', '10', '--concurrency', '1');
    server.setDefault(() => ({ fault: 'hang' }));
    try {
      const { child, done } = startCli(args, dir);
      await waitUntil(() => existsSync(`${out}.lock`) && existsSync(`${out}.log.jsonl`), 60_000, 20);
      const second = await cli([...args, '--resume'], dir);
      assert.equal(second.code, 3, second.stderr);
      assert.match(
        oneLine(second.stderr),
        new RegExp(
          `^toolalpaca: another run is writing this output \\(pid ${child.pid ?? 0} on .*remove .*corpus\\.json\\.lock`,
        ),
      );
      child.kill('SIGKILL');
      assert.equal((await done).code, 137);
      assert.ok(existsSync(`${out}.lock`), 'kill -9 leaves the lock behind');
      server.setDefault(world);
      const resumed = await cli([...args, '--resume', '--json'], dir);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal((JSON.parse(resumed.stdout) as { completed: number }).completed, 10);
      assert.equal(existsSync(`${out}.lock`), false, 'released at the end');
    } finally {
      server.setDefault(world);
    }
  });
});

describe('kill -9 and --resume: eval run, eval judge, solve', () => {
  let server: FakeOpenAI;
  const base = (url: string) => ['--model', 'openai:fake-model', '--base-url', url, '--no-cache'];

  before(async () => {
    server = await startFakeOpenAI();
    const golden = goldenByInstruction(await readToolAlpacaFile(EVAL));
    const evalResponder = evalWorld({ golden });
    server.setDefault((body) => {
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
      return evalResponder(body);
    });
  });
  after(async () => {
    await server.close();
  });

  /** Starts `args`, kills it once `journal` has `atLeast` tasks, resumes; checks every task once. */
  async function killAndResume(args: string[], dir: string, journal: string, total: number): Promise<void> {
    server.setLatency(200);
    try {
      const { child, done } = startCli(args, dir);
      await waitUntil(() => taskIds(journal).length >= 2, 60_000, 20);
      child.kill('SIGKILL');
      assert.equal((await done).code, 137);
      const before = taskIds(journal);
      assert.ok(before.length >= 2 && before.length < total, `killed after ${before.length}`);
      server.setLatency(0);
      const resumed = await cli([...args, '--resume'], dir);
      assert.equal(resumed.code, 0, resumed.stderr);
      const ids = taskIds(journal);
      assert.equal(ids.length, total);
      assert.equal(new Set(ids).size, total, 'no task twice');
      assert.deepEqual(ids.slice(0, before.length), before);
    } finally {
      server.setLatency(0);
    }
  }

  test('eval run, then eval judge on its run file', async () => {
    const dir = makeTempDir();
    const run = join(dir, 'run.json');
    const evalArgs = [
      'eval',
      'run',
      '--tools',
      EVAL,
      '--executor',
      'schema',
      ...base(server.baseUrl),
      '--out',
      run,
      '--limit',
      '10',
      '--concurrency',
      '2',
    ];
    await killAndResume(evalArgs, dir, `${run}.log.jsonl`, 10);
    const runFile = JSON.parse(readFileSync(run, 'utf8')) as {
      items: unknown[];
      meta: { complete: boolean };
    };
    assert.equal(runFile.items.length, 10);
    assert.equal(runFile.meta.complete, true);

    const judged = join(dir, 'judged.json');
    const judgeArgs = [
      'eval',
      'judge',
      run,
      '--judge-model',
      'openai:fake-model',
      '--base-url',
      server.baseUrl,
      '--no-cache',
      '--out',
      judged,
      '--concurrency',
      '2',
    ];
    await killAndResume(judgeArgs, dir, `${judged}.log.jsonl`, 10);
    const judgedFile = JSON.parse(readFileSync(judged, 'utf8')) as {
      items: unknown[];
      judge: { complete: boolean };
    };
    assert.equal(judgedFile.items.length, 10);
    assert.equal(judgedFile.judge.complete, true);
  });

  test('solve', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'answers');
    const args = [
      'solve',
      '--tasks',
      TASKS,
      '--solver',
      'react',
      ...base(server.baseUrl),
      '--out',
      out,
      '--limit',
      '6',
      '--concurrency',
      '2',
    ];
    await killAndResume(args, dir, `${out}.log.jsonl`, 6);
  });
});
