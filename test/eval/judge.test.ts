import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { RunError } from '../../src/run/index.js';
import { JudgedFileSchema, type RunFile, type RunItem } from '../../src/core/run.js';
import { parseJudgeReply } from '../../src/eval/judge/parse.js';
import { judgePrompt, solutionText, standardAnswerText } from '../../src/eval/judge/prompt.js';
import { judgeRun, readJudgedFile, runJudge } from '../../src/eval/judge/judge-run.js';
import { runEvaluation } from '../../src/eval/run-eval.js';
import { checkProcess } from '../../src/eval/deterministic/checker.js';
import { parseJudgePrompt } from '../../src/eval/import/judge-prompt.js';
import { evalWorld, goldenByInstruction, plainAction, roleOf } from './eval-world.js';

const REAL = sharedData('toolalpaca/eval_real.json');
const JUDGED_7B = sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json');

interface ToolAlpacaJudged {
  id: number;
  input: { role: string; content: string }[] | '';
  output: string;
  process_correctness?: string;
  final_response_correctness?: string;
}

function judged7b(): ToolAlpacaJudged[] {
  const data = JSON.parse(readFileSync(JUDGED_7B, 'utf8')) as Record<string, unknown>;
  return Object.entries(data)
    .filter(([key]) => key !== 'statistics')
    .flatMap(([, list]) => list as ToolAlpacaJudged[]);
}

describe('parseJudgeReply', () => {
  test("reads every GPT-4 reply of ToolAlpaca's judged 7-B file as evaluation.py labelled it", () => {
    const entries = judged7b().filter((e) => e.output !== '');
    assert.equal(entries.length, 99);
    for (const entry of entries) {
      const parsed = parseJudgeReply(entry.output);
      assert.ok(parsed.ok, entry.output.slice(-200));
      assert.equal(parsed.process, entry.process_correctness);
      assert.equal(parsed.response, entry.final_response_correctness);
      assert.ok(parsed.analysis.length > 0);
      assert.doesNotMatch(parsed.analysis, /Process Correctness/);
    }
  });

  test('tolerates the usual variations of the Results block', () => {
    const cases: [string, string, string][] = [
      ['## Results\nProcess Correctness: Yes\nFinal Response Correctness: No', 'Yes', 'No'],
      [
        '### Results:\n**Process Correctness:** yes\n**Final Response Correctness:** UNCERTAIN',
        'Yes',
        'Uncertain',
      ],
      ['**Results**\n- Process Correctness: [No]\n- Final Response Correctness: "Yes"', 'No', 'Yes'],
      ['Analysis done.\nProcess correctness: No.\nFinal response correctness: Unsure', 'No', 'Uncertain'],
      ['## Results\nProcess_Correctness = Yes\nFinal-Response-Correctness: Not sure', 'Yes', 'Uncertain'],
      // A Process Correctness word in the analysis does not win over the Results block.
      [
        '## Analysis\nProcess Correctness: No would be harsh.\n## Results\nProcess Correctness: Yes\nFinal Response Correctness: Yes',
        'Yes',
        'Yes',
      ],
    ];
    for (const [text, process, response] of cases) {
      const parsed = parseJudgeReply(text);
      assert.ok(parsed.ok, text);
      assert.equal(parsed.process, process, text);
      assert.equal(parsed.response, response, text);
    }
  });

  test('unreadable replies are errors naming what is missing', () => {
    for (const text of [
      '',
      'Looks fine to me.',
      '## Results\nProcess Correctness: Partially\nFinal Response Correctness: Yes',
      '## Results\nProcess Correctness: Yes',
    ]) {
      const parsed = parseJudgeReply(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.error, /Correctness/);
    }
  });
});

describe('judge prompt', () => {
  test("reproduces ToolAlpaca's judge prompt sections for every judged 7-B solution", () => {
    let compared = 0;
    for (const entry of judged7b()) {
      if (entry.input === '') continue;
      const content = entry.input[0]?.content ?? '';
      const parts = parseJudgePrompt(content);
      const prompt = judgePrompt({
        instruction: parts.instruction,
        nlDocumentation: parts.documentation,
        goldenAnswers: parts.goldenAnswers,
        steps: parts.steps,
        finalAnswer: parts.finalAnswer ?? '',
      });
      const from = (text: string): string => text.slice(text.indexOf('## Documentation\n'));
      assert.equal(from(prompt), from(content));
      compared++;
    }
    assert.equal(compared, 99);
  });

  test('standard answer and solution use the numbered layout', () => {
    assert.equal(
      standardAnswerText([
        { Action: 'a', Action_Input: '{}' },
        { Action: 'b', Action_Input: '{"x": 1}' },
      ]),
      '1. Function: a\nParameters: {}\n2. Function: b\nParameters: {"x": 1}\n',
    );
    assert.equal(
      solutionText([{ action: 'a', actionInput: '{}', observation: 'ok' }], 'done'),
      '1. Function: a\nParameters: {}\nRetruns: ok\n2. Final Response: done',
    );
  });
});

function item(overrides: Partial<RunItem> = {}): RunItem {
  return {
    tool: 'T',
    index: 0,
    instruction: 'Find the weather in Paris.',
    goldenAnswers: [{ Action: 'getWeather', Action_Input: '{"city": "Paris"}' }],
    nlDocumentation: 'getWeather: the weather.',
    status: 'completed',
    steps: [
      {
        action: 'getWeather',
        actionInput: '{"city": "Paris"}',
        observation: 'Status Code: 200. Response: {"t": 20}',
      },
    ],
    finalAnswer: 'It is 20 degrees in Paris.',
    usage: { promptTokens: 1, completionTokens: 1, calls: 1 },
    ...overrides,
  };
}

function runOf(items: RunItem[]): RunFile {
  return {
    kind: 'toolalpaca-run',
    version: 1,
    meta: {
      model: 'm',
      prompt: 'test_v1',
      mode: 'react',
      executor: 'schema',
      createdAt: new Date(0).toISOString(),
      toolalpacaVersion: '0',
      tokens: { prompt: 0, completion: 0 },
      costUsd: 0,
    },
    items,
  };
}

describe('judgeRun', () => {
  let server: FakeOpenAI;
  let model: CreatedChatModel;
  before(async () => {
    server = await startFakeOpenAI();
    model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl },
      noCache: true,
      maxRetries: 0,
    });
  });
  after(async () => {
    await model.close();
    await server.close();
  });

  test('the whole real set (11 APIs, 114 instructions): schema executor, LLM judge and deterministic judge', async () => {
    const records = await readToolAlpacaFile(REAL);
    const golden = goldenByInstruction(records);
    // The assistant leaves out the last standard step of every third instruction.
    const skipped = new Set([...golden.keys()].filter((_, i) => i % 3 === 0));
    server.setDefault(evalWorld({ golden, skipLastFor: (i) => skipped.has(i) }));
    const dir = makeTempDir();
    const executor = await createExecutor('schema');
    const { run } = await runEvaluation({
      toolsPath: REAL,
      out: join(dir, 'run.json'),
      assistant: model,
      executor,
      concurrency: 8,
    });
    await executor.close?.();
    assert.equal(run.items.length, 114);
    assert.equal(new Set(run.items.map((i) => i.tool)).size, 11);

    const out = join(dir, 'judged.json');
    const judged = await judgeRun(run, { judge: model, out, concurrency: 8 });
    const onDisk = JudgedFileSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    assert.deepEqual(onDisk.statistics, judged.statistics);
    const s = judged.statistics;
    assert.equal(s.num, 114);
    // Items whose solution has no call (golden answer of one step, left out) are errors, as in ToolAlpaca.
    const noCall = run.items.filter((i) => i.steps.length === 0).length;
    assert.equal(s.error_num, noCall);
    assert.equal(s.process.Yes + s.process.No + s.process.Uncertain + s.error_num, 114);
    // The scripted judge says No exactly where a standard function is missing from a non-empty solution.
    const missing = run.items.filter(
      (i) =>
        i.steps.length > 0 &&
        i.goldenAnswers.some((g) => !i.steps.some((s) => s.action === plainAction(g.Action))),
    ).length;
    assert.equal(s.process.No, missing);
    assert.ok(s.process.No > 0 && s.process.Yes > 0);
    assert.equal(s.percentages.procedure, Math.round((s.process.Yes / 114) * 10000) / 100);
    assert.equal(s.percentages.overall, Math.round((s.both / 114) * 10000) / 100);
    assert.equal(judged.judge.model, 'openai:fake-model');
    assert.equal(judged.judge.complete, true);
    // Each judged item carries the deterministic checker's result beside the LLM verdict.
    for (const j of judged.items) {
      assert.equal(j.deterministic?.correct, checkProcess(j).correct);
    }

    const deterministic = await judgeRun(run, { judge: 'deterministic' });
    assert.equal(deterministic.judge.model, 'deterministic');
    assert.equal(deterministic.statistics.num, 114);
    assert.equal(deterministic.statistics.error_num, noCall);
    assert.equal(deterministic.statistics.response.Yes, 0);
    assert.equal(deterministic.statistics.percentages.response, 0);
    for (const j of deterministic.items) {
      if (j.steps.length === 0) continue;
      assert.equal(j.verdicts[0]?.responseJudged, false);
      assert.equal(j.majority?.process, checkProcess(j).correct ? 'Yes' : 'No');
    }
  });

  test('an unreadable reply is re-asked; still unreadable after the re-asks counts in error_num', async () => {
    server.setDefault(evalWorld({ golden: new Map(), garbledJudgeReplies: 1 }));
    const before1 = server.requests.length;
    const once = await judgeRun(runOf([item()]), { judge: model, reasks: 2 });
    assert.equal(server.requests.length - before1, 2, 'one garbled reply, one re-ask');
    assert.equal(once.statistics.error_num, 0);
    assert.equal(once.items[0]?.verdicts[0]?.reasks, 1);
    assert.equal(once.items[0]?.majority?.process, 'Yes');
    // The re-ask carries the garbled reply and the reminder.
    const reask = server.requests.at(-1)?.body.messages ?? [];
    assert.equal(reask.length, 3);
    assert.equal(reask[1]?.role, 'assistant');
    assert.match(String(reask[2]?.content), /## Results/);

    server.setDefault(evalWorld({ golden: new Map(), garbledJudgeReplies: 100 }));
    const before2 = server.requests.length;
    const never = await judgeRun(runOf([item(), item({ index: 1 })]), { judge: model, reasks: 1 });
    assert.equal(server.requests.length - before2, 4);
    assert.equal(never.statistics.num, 2);
    assert.equal(never.statistics.error_num, 2);
    assert.equal(never.statistics.process.Yes + never.statistics.process.No, 0);
    assert.match(never.items[0]?.error ?? '', /re-asks/);
  });

  test('K runs: majority, per-item spread and the spread of the percentages across runs', async () => {
    // Judge run k is asked with seed k: seeds 0 and 1 say Yes, seed 2 says No (process), response always Yes.
    server.setDefault((body) => {
      if (roleOf(body) !== 'judge') return { text: 'OK.' };
      const process = body.seed === 2 ? 'No' : 'Yes';
      return {
        text: `## Analysis\nok\n## Results\nProcess Correctness: ${process}\nFinal Response Correctness: Yes`,
      };
    });
    const judged = await judgeRun(runOf([item(), item({ index: 1 }), item({ index: 2, steps: [] })]), {
      judge: model,
      runs: 3,
    });
    const first = judged.items[0];
    assert.equal(first?.verdicts.length, 3);
    assert.deepEqual(first?.majority, { process: 'Yes', response: 'Yes' });
    assert.deepEqual(first?.spread, { process: 0.67, response: 1 });
    assert.equal(judged.items[2]?.error !== undefined, true);
    assert.equal(judged.statistics.process.Yes, 2);
    assert.equal(judged.statistics.error_num, 1);
    const spread = judged.spread;
    assert.ok(spread !== undefined);
    assert.equal(spread.perRun.length, 3);
    assert.deepEqual(
      spread.perRun.map((s) => s.process.Yes),
      [2, 2, 0],
    );
    assert.equal(spread.procedure.min, 0);
    assert.equal(spread.procedure.max, 66.67);
    assert.ok(spread.procedure.stdev > 30);
    const seeds = server.requests
      .slice(-6)
      .map((r) => r.body.seed)
      .sort();
    assert.deepEqual(seeds, [0, 0, 1, 1, 2, 2]);
  });

  test('durable log: resume skips judged items; another judge or K is refused; no log reuse without --resume', async () => {
    server.setDefault(evalWorld({ golden: new Map() }));
    const out = join(makeTempDir(), 'judged.json');
    const items = [item(), item({ index: 1 }), item({ index: 2 })];
    await judgeRun(runOf(items.slice(0, 2)), { judge: model, out });
    // The same run grew (as after a resumed eval run): the log is resumed only with --resume.
    await assert.rejects(
      judgeRun(runOf(items), { judge: model, out }),
      (e: unknown) => e instanceof RunError && e.reason === 'log-exists',
    );
    await assert.rejects(
      judgeRun(runOf(items.slice(0, 2)), { judge: model, out, resume: true, runs: 2 }),
      (e: unknown) =>
        e instanceof RunError &&
        e.details.reason === 'parameters-differ' &&
        e.details.changes.map((c) => c.name).join() === 'runs',
    );
    const before1 = server.requests.length;
    const resumed = await judgeRun(runOf(items.slice(0, 2)), { judge: model, out, resume: true });
    assert.equal(server.requests.length, before1, 'nothing judged twice');
    assert.equal(resumed.items.length, 2);
    const forced = await judgeRun(runOf(items), { judge: model, out, force: true });
    assert.equal(forced.items.length, 3);
    assert.equal((await readJudgedFile(out)).items.length, 3);
  });

  test('a judge call refused for a behavioural reason (400) is kept as an error item, not retried by default', async () => {
    server.setDefault(() => ({ fault: 'client_error', status: 400, message: 'bad request here' }));
    const out = join(makeTempDir(), 'judged.json');
    const first = await runJudge(runOf([item()]), { judge: model, out });
    assert.equal(first.status.infrastructureFailed, 0);
    assert.equal(first.judged.items.length, 1);
    assert.match(first.judged.items[0]?.error ?? '', /judge openai:fake-model failed: .*bad request here/);
    assert.ok(!(first.judged.items[0]?.error ?? '').includes('\n'));
    assert.equal(first.judged.statistics.error_num, 1);
    const before = server.requests.length;
    await runJudge(runOf([item()]), { judge: model, out, resume: true });
    assert.equal(server.requests.length, before, 'kept on resume');
    await runJudge(runOf([item()]), { judge: model, out, resume: true, retryFailed: 'all' });
    assert.equal(server.requests.length, before + 1, 'judged again with retryFailed all');
  });
});
