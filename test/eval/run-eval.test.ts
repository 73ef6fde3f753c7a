import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { RunFileSchema } from '../../src/core/run.js';
import { InputError } from '../../src/core/errors.js';
import { RunError } from '../../src/run/index.js';
import { readRunFile, runEvaluation, stepsOfInstance } from '../../src/eval/run-eval.js';
import { judgeRun } from '../../src/eval/judge/judge-run.js';
import { evalWorld, goldenByInstruction, plainAction, roleOf, type WorldRole } from './eval-world.js';

const SIMULATED = sharedData('toolalpaca/eval_simulated.json');
const REAL = sharedData('toolalpaca/eval_real.json');

describe('runEvaluation', () => {
  let server: FakeOpenAI;
  let model: CreatedChatModel;
  const roles: WorldRole[] = [];

  before(async () => {
    server = await startFakeOpenAI();
    const golden = goldenByInstruction([
      ...(await readToolAlpacaFile(SIMULATED)),
      ...(await readToolAlpacaFile(REAL)),
    ]);
    server.setDefault(evalWorld({ golden, onRole: (role) => roles.push(role) }));
    model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl },
      noCache: true,
    });
  });
  after(async () => {
    await model.close();
    await server.close();
  });

  test('the whole simulated set (10 tools, 100 instructions) with the schema executor, then judged', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'run.json');
    const executor = await createExecutor('schema');
    const summary = await runEvaluation({
      toolsPath: SIMULATED,
      out,
      assistant: model,
      executor,
      concurrency: 8,
      seed: 7,
    });
    const run = RunFileSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    assert.equal(run.items.length, 100);
    assert.equal(new Set(run.items.map((i) => i.tool)).size, 10);
    assert.equal(run.meta.prompt, 'test_v1');
    assert.equal(run.meta.executor, 'schema');
    assert.equal(run.meta.model, 'openai:fake-model');
    assert.equal(run.meta.seed, 7);
    assert.equal(run.meta.complete, true);
    assert.equal(run.meta.total, 100);
    assert.match(run.meta.toolsHash ?? '', /^sha256:/);
    assert.ok(run.meta.tokens.prompt > 0 && run.meta.tokens.completion > 0);
    assert.deepEqual(summary.run.items.length, 100);
    // Items are in file order: tool by tool, instruction by instruction, with their golden answers.
    const records = await readToolAlpacaFile(SIMULATED);
    const first = records[0];
    assert.ok(first !== undefined);
    assert.equal(run.items[0]?.tool, first.Name);
    assert.equal(run.items[0]?.instruction, first.Instructions?.[0]);
    assert.deepEqual(run.items[1]?.goldenAnswers, first.Golden_Answers?.[1]);
    assert.equal(run.items[0]?.nlDocumentation, first.NLDocumentation);
    // The scripted assistant replays the golden answer: its steps name the golden functions, in order.
    for (const item of run.items) {
      assert.equal(item.status, 'completed', `${item.tool}#${item.index}: ${item.failure?.message ?? ''}`);
      assert.deepEqual(
        item.steps.map((s) => s.action),
        item.goldenAnswers.map((g) => plainAction(g.Action)),
      );
      assert.equal(item.finalAnswer, 'Here is what I found for you.');
      for (const step of item.steps) assert.ok(step.observation.length > 0);
    }
    // The run judges (LLM judge on the fake server): every solution holds every standard function.
    const judged = await judgeRun(run, { judge: model, concurrency: 8 });
    assert.equal(judged.statistics.num, 100);
    assert.equal(judged.statistics.error_num, 0);
    assert.equal(judged.statistics.process.Yes, 100);
    assert.equal(judged.statistics.percentages.overall, 100);
    await executor.close?.();
  });

  test('the real set against a local HTTP server with the real executor, base URL override and secrets file', async () => {
    const seen: { url: string; method: string }[] = [];
    const http: Server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', method: req.method ?? '' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: (req.url ?? '').split('?')[0] }));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    const dir = makeTempDir();
    const secrets = join(dir, 'secrets.json');
    writeFileSync(
      secrets,
      JSON.stringify({
        // Tied to the local stand-in of the APIs (a secret goes only to the hosts it lists).
        'apilayer weatherstack': { apiKey: 'ws-secret-123', hosts: ['127.0.0.1'] },
        WolframAlpha: { apiKey: 'wa-secret-456', hosts: ['127.0.0.1'] },
        CurrencyBeacon: { apiKey: 'cb-secret-789', hosts: ['127.0.0.1'] },
      }),
    );
    const executor = await createExecutor('real', {
      real: { baseUrl: `http://127.0.0.1:${port}`, secretsFile: secrets, allowPrivate: true },
    });
    const out = join(dir, 'run.json');
    try {
      // One instruction per tool (round-robin): all 11 APIs, the three keyed ones included.
      const summary = await runEvaluation({
        toolsPath: REAL,
        out,
        assistant: model,
        executor,
        limit: 11,
        concurrency: 6,
      });
      const run = await readRunFile(out);
      assert.equal(run.items.length, 11);
      assert.equal(new Set(run.items.map((i) => i.tool)).size, 11);
      assert.equal(run.meta.executor, 'real');
      assert.equal(run.meta.total, 11);
      assert.equal(summary.generation.total, 11);
      assert.ok(seen.length > 0, 'the local API server was called');
      // Keys from the secrets file reached the server, and never the run file.
      const urls = seen.map((s) => s.url).join('\n');
      assert.match(urls, /ws-secret-123/);
      assert.match(urls, /wa-secret-456/);
      const text = readFileSync(out, 'utf8');
      assert.doesNotMatch(text, /ws-secret-123|wa-secret-456|cb-secret-789/);
      const observed = run.items.flatMap((i) => i.steps.map((s) => s.observation)).join('\n');
      assert.match(observed, /"ok":\s*true/);
      const judged = await judgeRun(run, { judge: model });
      assert.equal(judged.statistics.num, 11);
      assert.equal(judged.items.length, 11);
    } finally {
      await executor.close?.();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  test('the simulated executor on both sets (limited), then judged', async () => {
    const executor = await createExecutor('simulated', { simulated: { model } });
    for (const [path, limit] of [
      [SIMULATED, 10],
      [REAL, 11],
    ] as const) {
      roles.length = 0;
      const out = join(makeTempDir(), 'run.json');
      await runEvaluation({
        toolsPath: path,
        out,
        assistant: model,
        executor,
        executorModel: 'openai:fake-model',
        limit,
        concurrency: 6,
      });
      const run = await readRunFile(out);
      assert.equal(run.items.length, limit);
      assert.equal(run.meta.executor, 'simulated');
      assert.equal(run.meta.executorModel, 'openai:fake-model');
      assert.ok(roles.includes('executor'), 'the simulated executor asked the model');
      const observed = run.items.flatMap((i) => i.steps.map((s) => s.observation)).join('\n');
      assert.match(observed, /"ok":\s*true/);
      const judged = await judgeRun(run, { judge: model });
      assert.equal(judged.statistics.num, limit);
      assert.equal(
        judged.statistics.error_num +
          judged.statistics.process.Yes +
          judged.statistics.process.No +
          judged.statistics.process.Uncertain,
        limit,
      );
    }
    await executor.close?.();
  });

  test('resume: a limited run is continued without redoing finished items; a log without --resume is refused', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'run.json');
    const executor = await createExecutor('schema');
    const count = (): number => server.requests.filter((r) => roleOf(r.body) === 'assistant').length;
    const before1 = count();
    await runEvaluation({ toolsPath: SIMULATED, out, assistant: model, executor, limit: 6, concurrency: 4 });
    const firstRun = await readRunFile(out);
    assert.equal(firstRun.items.length, 6);
    const firstCalls = count() - before1;
    await assert.rejects(
      runEvaluation({ toolsPath: SIMULATED, out, assistant: model, executor, limit: 12 }),
      (error: unknown) => error instanceof RunError && error.reason === 'log-exists',
    );
    const before2 = count();
    const summary = await runEvaluation({
      toolsPath: SIMULATED,
      out,
      assistant: model,
      executor,
      limit: 12,
      resume: true,
      concurrency: 4,
    });
    assert.equal(summary.generation.resumed, 6);
    const run = await readRunFile(out);
    assert.equal(run.items.length, 12);
    assert.equal(new Set(run.items.map((i) => `${i.tool}#${i.index}`)).size, 12);
    // Only the 6 new items asked the assistant (about as many calls as the first 6).
    const secondCalls = count() - before2;
    assert.ok(secondCalls > 0 && secondCalls <= firstCalls * 2, `${secondCalls} vs ${firstCalls}`);
    assert.ok(existsSync(`${out}.log.jsonl`));
    await executor.close?.();
  });

  test('an interrupted run writes a partial run file (complete: false) that --resume completes', async () => {
    const out = join(makeTempDir(), 'run.json');
    const executor = await createExecutor('schema');
    const controller = new AbortController();
    server.setLatency(20);
    try {
      const summary = await runEvaluation({
        toolsPath: SIMULATED,
        out,
        assistant: model,
        executor,
        concurrency: 2,
        limit: 16,
        signal: controller.signal,
        graceMs: 0,
        onProgress: (p) => {
          if (p.done >= 3) controller.abort();
        },
      });
      assert.equal(summary.generation.interrupted, true);
      const partial = await readRunFile(out);
      assert.equal(partial.meta.complete, false);
      assert.ok(partial.items.length >= 3 && partial.items.length < 16);
    } finally {
      server.setLatency(0);
    }
    await runEvaluation({
      toolsPath: SIMULATED,
      out,
      assistant: model,
      executor,
      limit: 16,
      resume: true,
      concurrency: 8,
    });
    const run = await readRunFile(out);
    assert.equal(run.meta.complete, true);
    assert.equal(run.items.length, 16);
    await executor.close?.();
  });

  test('tools without instructions are refused with a one-line error naming the tool', async () => {
    const dir = makeTempDir();
    const records = (await readToolAlpacaFile(SIMULATED)).slice(0, 2);
    const broken = records.map((r, i) => (i === 1 ? { ...r, Instructions: [], Golden_Answers: [] } : r));
    const tools = join(dir, 'tools.json');
    writeFileSync(tools, JSON.stringify(broken));
    const executor = await createExecutor('schema');
    await assert.rejects(
      runEvaluation({ toolsPath: tools, out: join(dir, 'run.json'), assistant: model, executor }),
      (error: unknown) =>
        error instanceof InputError &&
        error.message.includes(String(records[1]?.Name)) &&
        !error.message.includes('\n'),
    );
  });
});

test('stepsOfInstance maps ToolAlpaca intermediate steps', () => {
  assert.deepEqual(
    stepsOfInstance({
      intermediate_steps: [
        [['getX', '{"a": 1}', ' Thought\nAction: getX'], 'Status Code: 200. Response: {}'],
      ],
    }),
    [
      {
        action: 'getX',
        actionInput: '{"a": 1}',
        thought: ' Thought\nAction: getX',
        observation: 'Status Code: 200. Response: {}',
      },
    ],
  );
  assert.deepEqual(stepsOfInstance({}), []);
});

test('stepsOfInstance gives each step its observation source, only when the instance records them', () => {
  const step = (action: string): [[string, string, string], string] => [[action, '{}', ''], 'obs'];
  const steps = stepsOfInstance({
    intermediate_steps: [step('a'), step('b'), step('c')],
    observation_sources: ['real', null, 'cache'],
  });
  assert.deepEqual(
    steps.map((s) => s.source),
    ['real', null, 'cache'],
  );
  // An older journal without the list: no step gets a source (not even null).
  const older = stepsOfInstance({ intermediate_steps: [step('a')] });
  assert.equal('source' in (older[0] ?? {}), false);
  // A list shorter than the steps names no source for the steps past its end.
  const short = stepsOfInstance({ intermediate_steps: [step('a'), step('b')], observation_sources: ['mcp'] });
  assert.deepEqual(
    short.map((s) => ('source' in s ? s.source : 'absent')),
    ['mcp', 'absent'],
  );
});

test('readRunFile names the file and the problem on one line', async () => {
  const dir = makeTempDir();
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ kind: 'toolalpaca-run', version: 1, meta: {}, items: [] }));
  await assert.rejects(
    readRunFile(bad),
    (e: unknown) => e instanceof InputError && e.message.startsWith(bad) && /meta/.test(e.message),
  );
  const corpus = join(dir, 'corpus.json');
  writeFileSync(corpus, '[]');
  await assert.rejects(
    readRunFile(corpus),
    (e: unknown) => e instanceof InputError && /ToolAlpaca corpus, not a run file/.test(e.message),
  );
});
