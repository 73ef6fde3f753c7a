import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runRetrieveCommand } from '../../src/cli/retrieve.js';
import { runEvalRetrievalCommand, runToolevalCommand } from '../../src/cli/tooleval.js';
import { InputError } from '../../src/core/errors.js';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

function capture() {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (t: string) => ((out += t), true) },
      stderr: { write: (t: string) => ((err += t), true), isTTY: false },
      cwd: makeTempDir(),
      env: { CI: '1' },
    },
    out: () => out,
    err: () => err,
  };
}

const G1 = sharedData('stabletoolbench/G1_instruction.json');
const G3 = sharedData('stabletoolbench/G3_instruction.json');

describe('retrieve and eval retrieval (actions)', () => {
  test("retrieve puts a gold API of G1_instruction's first query first", async () => {
    const c = capture();
    const hits = await runRetrieveCommand(
      {
        tools: G1,
        query:
          "I'm a football enthusiast and I want to know more about Lionel Messi's career. Can you provide me with information about Messi's clubs, managers, teammates, and referees? I'm also curious about any notable transfers he has made.",
        k: '3',
        json: true,
      },
      c.io,
    );
    assert.equal(hits.length, 3);
    // relevant APIs: [TheClique, Transfermarkt search], [TheClique, Transfermarkt details]
    assert.equal(hits[0]?.tool, 'TheClique');
    assert.ok(hits[0]!.score >= hits[1]!.score && hits[1]!.score >= hits[2]!.score);
    assert.deepEqual(JSON.parse(c.out()), hits);
  });

  test('retrieve rejects a missing query and a bad --k', async () => {
    const c = capture();
    await assert.rejects(runRetrieveCommand({ tools: G1 }, c.io), InputError);
    await assert.rejects(runRetrieveCommand({ tools: G1, query: 'x', k: '0' }, c.io), /--k/);
  });

  test('eval retrieval prints NDCG@1 and NDCG@5; lexical beats plain bm25', async () => {
    const c = capture();
    const [ours] = await runEvalRetrievalCommand({ queries: [G3] }, c.io);
    assert.match(c.out(), /61 queries over 44 APIs \(lexical\)\s+NDCG@1 0\.\d{4}\s+NDCG@5 0\.\d{4}/);
    const [plain] = await runEvalRetrievalCommand(
      { queries: [G3], retriever: 'bm25', json: true },
      capture().io,
    );
    assert.ok(ours!.ndcg[5]! > plain!.ndcg[5]!);
  });

  test("union corpus (ToolBench's protocol): every query over all APIs of the shared files", async () => {
    const all = ['G1_instruction', 'G1_category', 'G1_tool', 'G2_instruction', 'G3_instruction'].map((n) =>
      sharedData(`stabletoolbench/${n}.json`),
    );
    const G1_TOOL = sharedData('stabletoolbench/G1_tool.json');
    const c = capture();
    const union = await runEvalRetrievalCommand({ queries: [G3, G1_TOOL], corpus: all, json: true }, c.io);
    assert.deepEqual(
      union.map((r) => [r.file, r.corpus, r.apis, r.queries]),
      [
        [G3, 'union', 2249, 61],
        [G1_TOOL, 'union', 2249, 158],
        ['all', 'union', 2249, 219],
      ],
    );
    const plain = await runEvalRetrievalCommand(
      { queries: [G3, G1_TOOL], corpus: all, retriever: 'bm25' },
      capture().io,
    );
    const [own] = await runEvalRetrievalCommand({ queries: [G3] }, capture().io);
    // The union is harder than the file's own 44 APIs; the lexical retriever keeps its lead over BM25.
    assert.ok(union[0]!.ndcg[5]! < own!.ndcg[5]!);
    for (let i = 0; i < 3; i++) assert.ok(union[i]!.ndcg[5]! > plain[i]!.ndcg[5]! + 0.05, union[i]!.file);
    // Held-out files (docs/retrieval.md): G3 0.561, G1_tool 0.762 with the lexical default.
    assert.ok(union[0]!.ndcg[5]! >= 0.55 && union[1]!.ndcg[5]! >= 0.75);
  });

  test('eval retrieval rejects dense without --embeddings', async () => {
    await assert.rejects(
      runEvalRetrievalCommand({ queries: [G3], retriever: 'dense' }, capture().io),
      /--embeddings/,
    );
  });
});

describe('embeddings and tooleval against the fake server', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(async () => {
    await server.close();
  });

  test('eval retrieval with --embeddings and hybrid fusion calls /v1/embeddings', async () => {
    server.reset();
    const c = capture();
    const [dense] = await runEvalRetrievalCommand(
      { queries: [G3], embeddings: 'openai:fake-embed', baseUrl: server.baseUrl, json: true },
      c.io,
    );
    assert.equal(dense?.retriever, 'dense');
    assert.ok(dense!.ndcg[5]! >= 0 && dense!.ndcg[5]! <= 1);
    const calls = server.requests.filter((r) => r.path === '/v1/embeddings');
    // One batch for the 44 API documents, then one call per query.
    assert.equal(calls.length, 1 + 61);
    assert.equal(calls[0]?.body.model, 'fake-embed');
    const [hybrid] = await runEvalRetrievalCommand(
      { queries: [G3], embeddings: 'openai:fake-embed', baseUrl: server.baseUrl, retriever: 'hybrid' },
      capture().io,
    );
    assert.equal(hybrid?.retriever, 'hybrid');
  });

  test('eval tooleval over real ToolBench answers with a scripted judge', async () => {
    server.reset();
    server.setDefault((body) => {
      const name = body.response_format?.json_schema?.name;
      if (name === 'task_status') return { text: '{"reason":"r","task_status":"Solvable"}' };
      if (name === 'preference') return { text: '{"reason":"r","better":"A"}' };
      return { text: '{"reason":"r","answer_status":"Solved"}' };
    });
    const c = capture();
    const result = await runToolevalCommand(
      [sharedData('toolbench_example/answer/G2_answer')],
      {
        judgeModel: 'openai:fake-model',
        baseUrl: server.baseUrl,
        cache: false,
        runs: '2',
        json: true,
        evaluator: 'project',
      },
      c.io,
    );
    // 5 answers: 2 answered (solved by the judge), 3 gave up (Unsolved, task Solvable → failed).
    const passRate = result.passRate ?? assert.fail('no pass rate');
    assert.equal(passRate.queries, 5);
    assert.equal(passRate.passRate, 2 / 5);
    assert.equal(passRate.solvablePassRate.mean, 2 / 5);
    const printed = JSON.parse(c.out()) as {
      passRate: { passRate: number };
      comparable: boolean;
      note: string;
    };
    assert.equal(printed.passRate.passRate, 2 / 5);
    assert.equal(printed.comparable, false);
    assert.equal(printed.note, 'not comparable with published ToolEval figures');
  });

  test('eval tooleval with a reference run reports the win rate', async () => {
    server.reset();
    server.setDefault((body) => {
      const name = body.response_format?.json_schema?.name;
      if (name === 'task_status') return { text: '{"reason":"r","task_status":"Solvable"}' };
      if (name === 'preference') return { text: '{"reason":"r","better":"A"}' };
      return { text: '{"reason":"r","answer_status":"Solved"}' };
    });
    const c = capture();
    const dir = sharedData('toolbench_example/answer/G2_answer');
    const result = await runToolevalCommand(
      [dir],
      {
        judgeModel: 'openai:fake-model',
        baseUrl: server.baseUrl,
        cache: false,
        runs: '2',
        reference: dir,
        evaluator: 'project',
      },
      c.io,
    );
    // The same run against itself: identical answers go to a coin per round, so no query is a
    // pass-rate or status win; the rates still add up over the 5 queries.
    const w = result.winRate!;
    assert.equal(w.queries, 5);
    assert.ok(Math.abs(w.win + w.tie + w.lose - 1) < 1e-12);
    assert.ok(w.perQuery.every((q) => q.how === 'identical answers'));
    assert.match(c.out(), /win rate vs reference: \d+\.\d% \(tie \d+\.\d%, lose \d+\.\d%; 2 rounds\)/);
    assert.match(c.out(), /coverage: 5 queries answered by both runs/);
    assert.match(c.out(), /not comparable with published ToolEval figures/);
  });
});

describe('compiled CLI', () => {
  test('retrieve and eval retrieval run as a user would', async () => {
    const r = await runCli([
      'retrieve',
      '--tools',
      G1,
      '--query',
      'Lionel Messi transfers and clubs',
      '--k',
      '2',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const hits = JSON.parse(r.stdout) as { tool: string }[];
    assert.equal(hits.length, 2);
    const e = await runCli(['eval', 'retrieval', '--queries', G3]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /NDCG@1 0\.\d{4}\s+NDCG@5 0\.\d{4}/);
    const bad = await runCli(['retrieve', '--tools', '/nonexistent/x.json', '--query', 'q']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });
});
