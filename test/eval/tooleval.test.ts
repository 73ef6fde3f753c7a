import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  majorityPassed,
  passDecision,
  queryOutcome,
  solvablePassRate,
  winRates,
  type AnswerStatus,
  type TaskStatus,
} from '../../src/eval/tooleval/decision.js';
import { evaluatePassRate, evaluateWinRate, judgedAnswerOf } from '../../src/eval/tooleval/evaluate.js';
import type { JudgedAnswer } from '../../src/eval/tooleval/judge.js';
import { readToolBenchAnswer } from '../../src/formats/toolbench.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeRequestBody } from '../helpers/fake-openai-server.js';
import { sharedData } from '../helpers/paths.js';

describe('ToolEval decision table', () => {
  test('every cell, as in ToolEval', () => {
    const table: [AnswerStatus, TaskStatus, string][] = [
      ['Solved', 'Solvable', 'Passed'],
      ['Solved', 'Unsure', 'Passed'],
      ['Solved', 'Unsolvable', 'Passed'],
      ['Unsolved', 'Solvable', 'Failed'],
      ['Unsolved', 'Unsure', 'Unsure'],
      ['Unsolved', 'Unsolvable', 'Passed'],
      ['Unsure', 'Solvable', 'Unsure'],
      ['Unsure', 'Unsure', 'Unsure'],
      ['Unsure', 'Unsolvable', 'Passed'],
    ];
    for (const [answer, task, expected] of table)
      assert.equal(passDecision(answer, task), expected, `${answer}/${task}`);
  });

  test('majority over K runs: a tie passes (failed <= passed)', () => {
    assert.equal(majorityPassed(['passed', 'failed', 'failed']), false);
    assert.equal(majorityPassed(['passed', 'passed', 'failed']), true);
    assert.equal(majorityPassed(['passed', 'failed']), true);
    assert.equal(majorityPassed(['failed']), false);
  });

  test('Solvable Pass Rate: Solved 1, Unsure 0.5, Unsolved 0, every query counted', () => {
    // 4 queries, 2 runs. q4 unanswered (no statuses).
    const sopr = solvablePassRate(
      [['Solved', 'Solved'], ['Unsure', 'Unsolved'], ['Unsolved', 'Unsure'], []],
      2,
    );
    // run 0: (1 + 0.5 + 0 + 0)/4 = 0.375; run 1: (1 + 0 + 0.5 + 0)/4 = 0.375.
    assert.deepEqual(sopr.perRun, [0.375, 0.375]);
    assert.equal(sopr.mean, 0.375);
    assert.equal(sopr.std, 0);
    const spread = solvablePassRate([['Solved', 'Unsolved']], 2);
    assert.equal(spread.mean, 0.5);
    assert.equal(spread.std, 0.5);
  });

  test('win/tie/lose over rounds', () => {
    assert.equal(queryOutcome(['candidate', 'reference']), 'tie');
    assert.equal(queryOutcome(['candidate', 'candidate']), 'win');
    assert.equal(queryOutcome(['reference', undefined]), 'lose');
    assert.deepEqual(winRates(['win', 'tie', 'lose', 'win']), { win: 0.5, tie: 0.25, lose: 0.25 });
  });
});

function answer(queryId: string, finalAnswer: string, extra: Partial<JudgedAnswer> = {}): JudgedAnswer {
  return {
    queryId,
    query: `[${queryId}] please do the task`,
    hasFinish: true,
    finalAnswer,
    gaveUp: finalAnswer === '',
    steps: [{ name: 'search_for_tool', arguments: '{}', response: '{"ok":true}' }],
    tools: [{ name: 'search_for_tool', description: 'searches' }],
    ...extra,
  };
}

/** Judge replies keyed by query id and question; values may vary by seed (run = seed - 1). */
type Script = Record<
  string,
  Partial<Record<'answer' | 'detailed' | 'task' | 'preference', string | string[]>>
>;

function responder(script: Script) {
  return (body: FakeRequestBody) => {
    const user = String(body.messages?.at(-1)?.content ?? '');
    const id = /\[(q\d+)\]/.exec(user)?.[1] ?? '';
    const name = body.response_format?.json_schema?.name ?? '';
    const kind =
      name === 'answer_status'
        ? 'answer'
        : name === 'answer_status_detailed'
          ? 'detailed'
          : name === 'task_status'
            ? 'task'
            : 'preference';
    const entry = script[id]?.[kind];
    const run = (body.seed ?? 1) - 1;
    const value = Array.isArray(entry) ? entry[run % entry.length] : entry;
    if (value === undefined) throw new Error(`no scripted ${kind} reply for ${id}`);
    const key = kind === 'task' ? 'task_status' : kind === 'preference' ? 'better' : 'answer_status';
    return { text: JSON.stringify({ reason: 'scripted', [key]: value }) };
  };
}

describe('ToolEval against the fake server', () => {
  let server: FakeOpenAI;
  let judge: CreatedChatModel;
  before(async () => {
    server = await startFakeOpenAI();
    judge = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl },
      noCache: true,
      maxRetries: 0,
    });
  });
  after(async () => {
    await judge.close();
    await server.close();
  });

  test('pass rate and SoPR with unanswered queries, no-Finish answers and majority over 3 runs', async () => {
    server.reset();
    server.setDefault(
      responder({
        // Solved every run → passed without a task call.
        q1: { answer: 'Solved' },
        // Unsolved on a solvable task twice, solved once → 1 pass vs 2 fails → failed.
        q2: { answer: ['Unsolved', 'Solved', 'Unsolved'], task: 'Solvable' },
        // Unsolved but the task is unsolvable → passed (ToolEval's table).
        q3: { answer: 'Unsolved', task: 'Unsolvable' },
        // Unsure at first, then Solved with the trajectory → passed; SoPR credit 1.
        q4: { answer: 'Unsure', detailed: 'Solved' },
        // Unsure twice (detailed), solvable → undecided → coin; run 2 Solved.
        q5: { answer: 'Unsure', detailed: ['Unsure', 'Unsure', 'Solved'], task: 'Solvable' },
      }),
    );
    const answers = [
      answer('q1', 'done'),
      answer('q2', 'partly'),
      answer('q3', 'cannot'),
      answer('q4', 'maybe'),
      answer('q5', 'hmm'),
      answer('q6', '', { hasFinish: false }),
    ];
    // q7 has no answer file at all but is in the query set.
    const coinCalls: string[] = [];
    const report = await evaluatePassRate(judge, answers, ['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7'], {
      runs: 3,
      coin: (key) => {
        coinCalls.push(key);
        return false; // every undecided run fails
      },
    });
    const passed = Object.fromEntries(report.perQuery.map((v) => [v.queryId, v.passed]));
    assert.deepEqual(passed, { q1: true, q2: false, q3: true, q4: true, q5: false, q6: false, q7: false });
    assert.equal(report.queries, 7);
    assert.equal(report.answered, 6);
    assert.equal(report.finished, 5);
    assert.equal(report.passRate, 3 / 7);
    assert.deepEqual(coinCalls.sort(), ['q5#0', 'q5#1']);
    // SoPR per run: q1 1, q2 (0,1,0), q3 0, q4 1, q5 (0.5,0.5,1), q6 0, q7 0 over 7 queries.
    const expected = [2.5 / 7, 3.5 / 7, 3 / 7];
    report.solvablePassRate.perRun.forEach((x, i) => assert.ok(Math.abs(x - expected[i]!) < 1e-12));
    assert.ok(Math.abs(report.solvablePassRate.mean - 3 / 7) < 1e-12);
    // No judge call for q6 (no Finish) or q7 (no answer); q1 needs no task call.
    const asked = server
      .chatRequests()
      .map((body) => /\[(q\d+)\]/.exec(String(body.messages?.at(-1)?.content))?.[1]);
    assert.ok(!asked.includes('q6') && !asked.includes('q7'));
    assert.equal(asked.filter((q) => q === 'q1').length, 3);
  });

  test('win rate: pass-rate shortcut, status shortcut, judged rounds and a tie', async () => {
    server.reset();
    server.setDefault(
      responder({
        q1: { answer: 'Solved' },
        q2: { answer: 'Solved', preference: ['B', 'A'] },
        q3: { answer: 'Solved', preference: ['A', 'A'] },
        q4: { answer: 'Solved', preference: ['A', 'B'] },
      }),
    );
    const candidate = [answer('q1', 'c1'), answer('q2', 'c2'), answer('q3', 'c3'), answer('q4', 'c4')];
    const reference = [
      answer('q1', '', { hasFinish: false }),
      answer('q2', 'r2'),
      answer('q3', 'r3'),
      answer('q4', 'r4'),
    ];
    const ids = ['q1', 'q2', 'q3', 'q4', 'q5'];
    const cPass = await evaluatePassRate(judge, candidate, ids, { runs: 1 });
    const rPass = await evaluatePassRate(judge, reference, ids, { runs: 1 });
    const report = await evaluateWinRate(
      judge,
      { answers: candidate, verdicts: cPass.perQuery },
      { answers: reference, verdicts: rPass.perQuery },
      ids,
      { runs: 2 },
    );
    const outcome = Object.fromEntries(report.perQuery.map((q) => [q.queryId, q.outcome]));
    // q1: candidate passed, reference failed → win without a judge.
    // q2: both solved → judged: round 0 shows the reference first and "B" (candidate) wins; round 1
    //     shows the candidate first and "A" (candidate) wins → win.
    // q3: round 0 shows the reference first and "A" wins → reference; round 1 shows the candidate
    //     first and "A" wins → candidate: 1-1 → tie.
    // q4: round 0 "A" = reference; round 1 "B" = reference → lose.
    // q5: no answer on either side → both failed, goes to the reference → lose.
    assert.equal(outcome.q1, 'win');
    assert.equal(outcome.q2, 'win');
    assert.equal(outcome.q3, 'tie');
    assert.equal(outcome.q4, 'lose');
    assert.equal(outcome.q5, 'lose');
    assert.equal(report.perQuery.find((q) => q.queryId === 'q1')?.how, 'pass rate');
    assert.equal(report.queries, 5);
    assert.deepEqual(
      { win: report.win, tie: report.tie, lose: report.lose },
      { win: 2 / 5, tie: 1 / 5, lose: 2 / 5 },
    );
  });

  test('judged answers from real ToolBench answer files', async () => {
    const gaveUp = judgedAnswerOf(
      await readToolBenchAnswer(
        sharedData('toolbench_example/answer/G2_answer/10_ChatGPT_DFS_woFilter_w2.json'),
      ),
    );
    assert.equal(gaveUp.hasFinish, true);
    assert.equal(gaveUp.gaveUp, true);
    assert.ok(gaveUp.tools.length > 0 && gaveUp.tools.every((t) => t.name !== 'Finish'));
    const invalid = judgedAnswerOf(
      await readToolBenchAnswer(
        sharedData('toolbench_example/answer/G1_answer/69_ChatGPT_DFS_woFilter_w2.json'),
      ),
    );
    assert.equal(invalid.hasFinish, false);
    const solved = judgedAnswerOf(
      await readToolBenchAnswer(
        sharedData('toolbench_example/answer/G1_answer/10_ChatGPT_DFS_woFilter_w2.json'),
      ),
    );
    assert.equal(solved.hasFinish, true);
    assert.equal(solved.gaveUp, false);
    assert.match(solved.finalAnswer, /Gondrand|ACT/);
    assert.ok(solved.steps.length > 0);

    // A give-up is Unsolved without asking; only the task question goes to the judge.
    server.reset();
    server.setDefault((body) => {
      const name = body.response_format?.json_schema?.name;
      assert.equal(name, 'task_status');
      return { text: JSON.stringify({ reason: 'no tool for it', task_status: 'Unsolvable' }) };
    });
    const report = await evaluatePassRate(judge, [gaveUp, invalid], [gaveUp.queryId, invalid.queryId], {
      runs: 2,
    });
    assert.equal(report.perQuery[0]?.passed, true);
    assert.equal(report.perQuery[1]?.passed, false);
    assert.equal(report.solvablePassRate.mean, 0);
  });
});
