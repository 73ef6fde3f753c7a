/**
 * `solve` on a sample of StableToolBench G1 tasks against the fake OpenAI server: the action function
 * with the schema and the simulated executors (answer files in ToolBench's layout, --resume), and the
 * compiled CLI.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readToolBenchAnswers, readToolBenchQueries } from '../../src/formats/toolbench.js';
import { runSolveCommand, type SolveFlags } from '../../src/cli/solve.js';
import { formatSimulatorReply } from '../../src/executors/simulated-executor.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { runCli } from '../helpers/cli.js';
import { solverAssistant } from '../helpers/solver-assistant.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const TASKS = sharedData('stabletoolbench/G1_instruction.json');

let server: FakeOpenAI;

before(async () => {
  server = await startFakeOpenAI();
});
after(async () => {
  await server.close();
});
beforeEach(() => server.reset());

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t), isTTY: false },
      cwd,
      env: { CI: 'true' },
    },
    out,
    err,
  };
}

function flags(extra: Partial<SolveFlags>): SolveFlags {
  return {
    tasks: TASKS,
    model: 'openai:fake-model',
    baseUrl: server.baseUrl,
    cache: false,
    maxRetries: '0',
    ...extra,
  };
}

describe('solve', () => {
  test('DFSDT on 3 G1 tasks with the schema executor writes ToolBench answer files; --resume skips them', async () => {
    process.env.OPENAI_API_KEY ??= 'test-key';
    server.setDefault(solverAssistant);
    const dir = makeTempDir();
    const out = join(dir, 'answers');
    const run = io(dir);
    const summary = await runSolveCommand(flags({ out, solver: 'dfsdt', limit: '3', json: true }), run.io);
    assert.equal(summary.written, 3);
    assert.equal(summary.answered, 3);
    const tasks = (await readToolBenchQueries(TASKS)).slice(0, 3);
    const files = (await readdir(out)).sort();
    // ToolBench's method names, as StableToolBench's conversion script selects files by them.
    assert.deepEqual(files, tasks.map((t) => `${t.queryId}_DFS_woFilter_w2.json`).sort());
    for (const task of tasks) {
      const data = JSON.parse(
        await readFile(join(out, `${task.queryId}_DFS_woFilter_w2.json`), 'utf8'),
      ) as Record<string, unknown>;
      const gen = data.answer_generation as Record<string, unknown>;
      for (const key of [
        'valid_data',
        'query',
        'query_count',
        'total_tokens',
        'final_answer',
        'finish_type',
        'function',
        'train_messages',
      ]) {
        assert.ok(key in gen, `answer_generation.${key}`);
      }
      assert.equal(gen.valid_data, true);
      assert.equal(gen.finish_type, 'give_answer');
      assert.equal(gen.query, task.query);
      assert.equal(gen.query_count, 2);
      assert.equal(JSON.parse(String(gen.final_answer)).final_answer, 'Here is what I found.');
      // root, Thought, Action, Action Input (first call), Action, Action Input (Finish).
      assert.equal((data.tree as { size: number }).size, 6);
      assert.equal(data.query_id, task.queryId);
    }
    const answers = await readToolBenchAnswers([out]);
    assert.equal(answers.filter((a) => a.answered).length, 3);
    assert.equal(JSON.parse(run.out.join('')).answered, 3);
    const callsBefore = server.chatRequests().length;

    const again = await runSolveCommand(
      flags({ out, solver: 'dfsdt', limit: '4', resume: true }),
      io(dir).io,
    );
    assert.equal(again.skipped, 3);
    assert.equal(again.written, 1);
    assert.equal(server.chatRequests().length - callsBefore, 2, 'only the fourth query was solved');
    assert.equal((await readdir(out)).length, 4);
  });

  test('ReAct with the simulated executor: the simulator sees the API doc and the template response', async () => {
    process.env.OPENAI_API_KEY ??= 'test-key';
    const simulatorPrompts: string[] = [];
    server.setDefault((body) => {
      if (body.tools !== undefined) return solverAssistant(body);
      simulatorPrompts.push(
        (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n'),
      );
      return { text: formatSimulatorReply(200, { name: 'Lionel Messi', clubs: ['Barcelona'] }) };
    });
    const dir = makeTempDir();
    const out = join(dir, 'answers');
    // Query 588 (TheClique) is the first of G1_instruction; its first function is "Songkick concert".
    const run = io(dir);
    const summary = await runSolveCommand(
      flags({ out, solver: 'react', executor: 'simulated', limit: '1' }),
      run.io,
    );
    assert.equal(summary.answered, 1, run.err.join(''));
    assert.equal(simulatorPrompts.length, 1);
    assert.match(simulatorPrompts[0] ?? '', /songkick_concert/i);
    // The template response of "Songkick concert" is in the prompt as the example response.
    assert.match(simulatorPrompts[0] ?? '', /venue_name/);
    const [answer] = await readToolBenchAnswers([out]);
    const observation = answer?.answer.answer_generation.train_messages?.[1]?.[3]?.content ?? '';
    assert.match(observation, /Lionel Messi/);
    assert.equal(answer?.answer.forward_args?.pass_at, 1);
  });

  test("--retrieve K: ToolBench's open-domain setting, the solver sees only the retrieved APIs", async () => {
    process.env.OPENAI_API_KEY ??= 'test-key';
    server.setDefault(() => ({
      toolCalls: [{ name: 'Finish', arguments: '{"return_type":"give_answer","final_answer":"ok"}' }],
    }));
    const dir = makeTempDir();
    const run = io(dir);
    const summary = await runSolveCommand(
      flags({
        out: join(dir, 'answers'),
        solver: 'react',
        limit: '1',
        retrieve: '3',
        retrievalCorpus: [TASKS, sharedData('stabletoolbench/G1_tool.json')],
      }),
      run.io,
    );
    assert.equal(summary.answered, 1);
    const offered = server.chatRequests()[0]?.tools?.map((t) => t.function.name) ?? [];
    // Query 588 (TheClique, 10 APIs of its own): 3 retrieved APIs, then Finish.
    assert.equal(offered.length, 4);
    assert.equal(offered.at(-1), 'Finish');
    // A relevant API of the query, and APIs of another tool the query file never offered it.
    assert.ok(offered.includes('transfermarkt_details_for_theclique'), offered.join(', '));
    assert.ok(
      offered.some((name) => name.endsWith('_for_transfermarkt_db')),
      offered.join(', '),
    );
    assert.match(run.err.join(''), /retrieval: 3 APIs per query from \d+; relevant APIs retrieved: \d of 2/);
    await assert.rejects(
      runSolveCommand(flags({ out: dir, retrievalCorpus: [TASKS] }), io(dir).io),
      /--retrieval-corpus needs --retrieve K/,
    );
  });

  test('bad flags are one-line input errors', async () => {
    const dir = makeTempDir();
    await assert.rejects(
      runSolveCommand(flags({ out: dir, solver: 'bfs' }), io(dir).io),
      /--solver: unknown solver "bfs"/,
    );
    await assert.rejects(runSolveCommand(flags({ out: dir, limit: '0' }), io(dir).io), /--limit/);
  });

  test('compiled CLI: toolalpaca solve', async () => {
    server.setDefault(solverAssistant);
    const dir = makeTempDir();
    const out = join(dir, 'answers');
    const result = await runCli(
      [
        'solve',
        '--tasks',
        TASKS,
        '--solver',
        'react',
        '--model',
        'openai:fake-model',
        '--base-url',
        server.baseUrl,
        '--no-cache',
        '--out',
        out,
        '--limit',
        '2',
        '--json',
      ],
      { cwd: dir, env: { OPENAI_API_KEY: 'test-key', CI: 'true' } },
    );
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { written: number; ledger: { totals: { calls: number } } };
    assert.equal(printed.written, 2);
    // The cost ledger ends every run's output.
    assert.ok(printed.ledger.totals.calls > 0);
    const names = await readdir(out);
    assert.equal(names.filter((f) => /^\d+_CoT@1\.json$/.test(f)).length, 2, names.join(', '));
    // A CoT@1 file carries its chain as ToolBench's `trys`.
    const cot = JSON.parse(await readFile(join(out, names[0] ?? ''), 'utf8')) as {
      try_count?: number;
      trys?: { chain: { node_type: string }[] }[];
      method?: string;
    };
    assert.equal(cot.method, 'CoT@1');
    assert.equal(cot.try_count, 1);
    assert.deepEqual(
      cot.trys?.[0]?.chain.map((n) => n.node_type),
      ['Thought', 'Action', 'Action Input', 'Action', 'Action Input'],
    );
  });
});
