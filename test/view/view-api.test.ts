/**
 * `toolalpaca view`'s server over every kind of file, through its HTTP API: kinds detected from content,
 * facet filters and counts, disagreements first, trajectories with judgments, DFSDT trees, comparisons,
 * token masks, a live generation log growing, and the Host allow-list. The browser itself is tested in
 * view-browser.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { importToolAlpacaJudged, judgedToRun } from '../../src/eval/import/toolalpaca.js';
import { judgeRun } from '../../src/eval/judge/judge-run.js';
import { startView, type RunningView } from '../../src/cli/view.js';
import type {
  CompareResponse,
  FileInfo,
  ItemDetail,
  ListResponse,
  PositionResponse,
  SummaryResponse,
} from '../../src/view/api.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { writeKindsCorpus, writeVerifiedCorpus } from './viewer-fixture.js';

const JUDGED_7B = sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json');
const EVAL = sharedData('toolalpaca/eval_simulated.json');
const ANSWERS = sharedData('toolbench_example/answer');

const silent = { write: () => true };

/** A journal line (src/run/journal.ts) for a finished generation task on `tool`. */
function logInstance(
  tool: string,
  index: number,
  extra: Record<string, unknown> = {},
  failure?: { reason: string; message: string; infrastructure?: boolean },
): string {
  return `${JSON.stringify({
    type: 'task',
    id: `${tool}#${index}`,
    status: failure === undefined ? 'completed' : 'failed',
    ...(failure !== undefined ? { failure } : {}),
    output: {
      tool,
      index,
      steps: 1,
      usage: { promptTokens: 10, completionTokens: 5, calls: 2 },
      instance: {
        input: `Question ${index} for ${tool}`,
        output: 'Done.',
        'Final Thought': 'I know.',
        intermediate_steps: [
          [['getThing', '{"id": 1}', 'I should look.\nAction: getThing'], 'Status Code: 200. Response: {}'],
        ],
        ...extra,
      },
    },
    finishedAt: '2026-01-01T00:00:00.000Z',
  })}\n`;
}

describe('view API', () => {
  let dir: string;
  let running: RunningView;
  let base: string;
  let files: FileInfo[];
  let log: string;
  const byName = (name: string): FileInfo => {
    const file = files.find((f) => f.path.endsWith(name));
    assert.ok(file !== undefined, `${name} is open`);
    return file;
  };
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`);
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return (await response.json()) as T;
  };

  before(async () => {
    dir = makeTempDir('toolalpaca-view-');
    // Our own run and judged files, from the published judgments: the run, and the checker as its judge.
    const imported = importToolAlpacaJudged(JSON.parse(readFileSync(JUDGED_7B, 'utf8')), {
      label: JUDGED_7B,
    });
    const run = judgedToRun(imported);
    run.meta.executor = 'simulated';
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
    writeFileSync(join(dir, 'det.json'), JSON.stringify(await judgeRun(run, { judge: 'deterministic' })));
    // ToolEval results over two of the example answers.
    const verdict = (queryId: string, passed: boolean) => ({
      queryId,
      answered: true,
      hasFinish: true,
      passed,
      passedVotes: passed ? 1 : 0,
      failedVotes: passed ? 0 : 1,
      answerStatus: passed ? 'Solved' : 'Unsolved',
      runs: [
        {
          answerStatus: passed ? 'Solved' : 'Unsolved',
          decision: passed ? 'Passed' : 'Failed',
          label: passed ? 'passed' : 'failed',
          reason: `reason ${queryId}`,
        },
      ],
    });
    writeFileSync(
      join(dir, 'tooleval.json'),
      JSON.stringify({
        judge: 'openai:fake',
        passRate: {
          queries: 2,
          runs: 1,
          passRate: 0.5,
          perQuery: [verdict('57', true), verdict('102', false)],
          solvablePassRate: { mean: 0.5 },
        },
      }),
    );
    // A token file beside its export manifest (no tokenizer: ids only).
    mkdirSync(join(dir, 'export'));
    writeFileSync(
      join(dir, 'export', 'export.json'),
      JSON.stringify({
        layout: 'sharegpt',
        source: 'toolalpaca',
        corpus: 'c.json',
        files: { train: 'train.jsonl' },
        tokens: { train: 'train.tokens.jsonl', template: 'default', tokenizer: join(dir, 'no-tokenizer') },
        tokenCounts: 'tokenizer',
        counts: { train: 1, validation: 0 },
        stats: {},
      }),
    );
    writeFileSync(
      join(dir, 'export', 'train.jsonl'),
      `${JSON.stringify({
        id: 'toolalpaca/Axolotl/0',
        conversations: [
          { from: 'system', value: 'sys' },
          { from: 'human', value: 'Show me an axolotl' },
          { from: 'gpt', value: 'Final Answer: here' },
        ],
      })}\n`,
    );
    writeFileSync(
      join(dir, 'export', 'train.tokens.jsonl'),
      `${JSON.stringify({ id: 'toolalpaca/Axolotl/0', input_ids: [1, 2, 3, 4, 5], attention_mask: [1, 1, 1, 1, 1], labels: [-100, -100, 3, 4, -100], assistant_masks: [0, 0, 1, 1, 0] })}\n`,
    );
    // A generation log with its header and one instance so far.
    log = join(dir, 'corpus.json.log.jsonl');
    writeFileSync(
      log,
      `${JSON.stringify({ type: 'header', kind: 'generate', version: 2, parameters: { model: 'openai:fake', executor: 'simulated', prompt: 'train_v1', mode: 'react', toolsHash: 'sha256:0' }, context: { tools: EVAL, out: join(dir, 'corpus.json') }, startedAt: '2026-01-01T00:00:00.000Z' })}\n${logInstance('Axolotl', 0, {}, { reason: 'model_error', message: 'down', infrastructure: true })}`,
    );
    writeVerifiedCorpus(join(dir, 'verified.json'));
    writeKindsCorpus(join(dir, 'kinds.json'));
    // A journal whose tool notes carry the tools' records (generate writes them): documentation from there.
    writeFileSync(
      join(dir, 'noted.json.log.jsonl'),
      [
        {
          type: 'header',
          kind: 'generate',
          version: 2,
          parameters: { model: 'openai:fake', executor: 'mcp', prompt: 'train_v1', mode: 'react' },
          startedAt: '2026-01-01T00:00:00.000Z',
        },
        {
          type: 'note',
          key: 'tool:Widget',
          value: { Name: 'Widget', Description: 'W', NLDocumentation: 'getWidget: noted documentation' },
        },
      ]
        .map((line) => `${JSON.stringify(line)}\n`)
        .join('') + logInstance('Widget', 0),
    );
    running = await startView(
      [
        join(dir, 'verified.json'),
        join(dir, 'kinds.json'),
        join(dir, 'noted.json.log.jsonl'),
        JUDGED_7B,
        EVAL,
        ANSWERS,
        join(dir, 'run.json'),
        join(dir, 'det.json'),
        join(dir, 'tooleval.json'),
        join(dir, 'export'),
        log,
      ],
      { port: '0' },
      { stdout: silent, stderr: silent },
    );
    await running.viewer.open();
    base = running.server.url;
    files = await get<FileInfo[]>('/api/files');
  });
  after(async () => {
    await running.stop();
  });

  test('each file is read as its kind, detected from its content', () => {
    const kinds = Object.fromEntries(files.map((f) => [f.path.split('/').pop(), [f.kind, f.count, f.error]]));
    assert.deepEqual(kinds, {
      'judged_ToolAlpaca-7B_simulated.json': ['judged', 100, undefined],
      'eval_simulated.json': ['tools', 10, undefined],
      answer: ['toolbench-answers', 15, undefined],
      'run.json': ['run', 100, undefined],
      'det.json': ['judged', 100, undefined],
      'tooleval.json': ['tooleval', 2, undefined],
      export: ['export', 1, undefined],
      'corpus.json.log.jsonl': ['generation-log', 1, undefined],
      'verified.json': ['corpus', 4, undefined],
      'kinds.json': ['corpus', 2, undefined],
      'noted.json.log.jsonl': ['generation-log', 1, undefined],
    });
    assert.match(byName('7B_simulated.json').meta.statistics ?? '', /process 63\.0%/);
    assert.match(byName('det.json').meta.statistics ?? '', /response not judged/);
  });

  test('facet filters: counts per value, other facets counted under the filter, search', async () => {
    const judged = byName('7B_simulated.json');
    const all = await get<ListResponse>(`/api/files/${judged.id}/list`);
    assert.equal(all.total, 100);
    const count = (list: ListResponse, facet: string, value: string): number | undefined =>
      list.facets[facet as 'tool']?.find((c) => c.value === value)?.count;
    assert.equal(count(all, 'process', 'Yes'), 63);
    assert.equal(count(all, 'process', 'No'), 35);
    const no = await get<ListResponse>(`/api/files/${judged.id}/list?process=No&limit=500`);
    assert.equal(no.total, 35);
    assert.ok(no.rows.every((r) => r.facets.process?.includes('No')));
    // The filtered facet still offers its other values; the others count within the filter.
    assert.equal(count(no, 'process', 'Yes'), 63);
    assert.equal(
      no.facets.tool?.reduce((sum, c) => sum + c.count, 0),
      35,
    );
    const both = await get<ListResponse>(`/api/files/${judged.id}/list?process=No&tool=Axolotl&tool=Auth0`);
    assert.ok(both.rows.every((r) => ['Axolotl', 'Auth0'].includes(r.tool ?? '')));
    const search = await get<ListResponse>(
      `/api/files/${judged.id}/list?q=${encodeURIComponent('axolotl habitats')}`,
    );
    assert.deepEqual(
      search.rows.map((r) => r.id),
      ['Axolotl#2'],
    );
    const page = await get<ListResponse>(`/api/files/${judged.id}/list?offset=90&limit=50`);
    assert.equal(page.rows.length, 10);
  });

  test('judgments: disagreements between GPT-4 and the checker first, both verdicts in the item', async () => {
    const judged = byName('7B_simulated.json');
    const list = await get<ListResponse>(`/api/files/${judged.id}/list?sort=disagreements&limit=500`);
    const disagree = list.facets.agreement?.find((c) => c.value === 'disagree')?.count ?? 0;
    assert.ok(disagree > 0);
    assert.ok(list.rows.slice(0, disagree).every((r) => r.disagree === true));
    assert.ok(list.rows.slice(disagree).every((r) => r.disagree !== true));
    const first = list.rows[0];
    assert.ok(first !== undefined);
    const detail = await get<ItemDetail>(`/api/files/${judged.id}/items/${first.n}`);
    assert.equal(detail.judgments?.agreement, 'disagree');
    assert.equal(detail.judgments?.llm?.model, 'gpt-4-0613');
    assert.ok((detail.judgments?.llm?.verdicts[0]?.analysis ?? '').length > 20, 'GPT-4 reasoning');
    assert.equal(detail.judgments?.checker?.correct, detail.judgments?.llm?.process !== 'Yes');
    assert.ok((detail.trajectory?.steps.length ?? 0) > 0);
    assert.ok((detail.trajectory?.golden?.length ?? 0) > 0, 'the standard answer');
    assert.match(detail.toolDoc ?? '', /Parameters:/);
    // Next/previous follow the list the item was opened from.
    const position = await get<PositionResponse>(
      `/api/files/${judged.id}/position?sort=disagreements&n=${first.n}`,
    );
    assert.deepEqual([position.index, position.prev, position.next], [0, undefined, list.rows[1]?.id]);
    // The checker as judge: no LLM verdict, its own result, response not judged.
    const det = byName('det.json');
    const detItem = await get<ItemDetail>(`/api/files/${det.id}/items/0`);
    assert.equal(detItem.judgments?.llm, undefined);
    assert.equal(detItem.judgments?.checker?.computed, false);
    const detList = await get<ListResponse>(`/api/files/${det.id}/list`);
    assert.equal(detList.facets.response, undefined, 'no response label from the checker');
  });

  test('a run: observation sources from its executor, the checker computed, runs compared side by side', async () => {
    const run = byName('run.json');
    const item = await get<ItemDetail>(`/api/files/${run.id}/items/0`);
    assert.ok(item.trajectory?.steps.every((s) => s.source === 'simulated'));
    assert.deepEqual(item.facets.source, ['simulated']);
    assert.equal(item.judgments?.checker?.computed, true);
    const compare = await get<CompareResponse>(
      `/api/compare?a=${byName('7B_simulated.json').id}&b=${run.id}`,
    );
    assert.deepEqual(compare.counts, { both: 100, onlyA: 0, onlyB: 0, differ: 0 });
    const det = await get<CompareResponse>(
      `/api/compare?a=${byName('7B_simulated.json').id}&b=${byName('det.json').id}&only=differ&limit=500`,
    );
    assert.ok(det.counts.differ > 0, 'GPT-4 and the checker differ somewhere');
    assert.equal(det.total, det.counts.differ);
    const summary = await get<SummaryResponse>(`/api/files/${run.id}/summary`);
    assert.equal(summary.categories.length, 10);
  });

  test('a DFSDT tree: chosen path, give-ups, backtracks and calls; its ToolEval verdict beside it', async () => {
    const answers = byName('answer');
    const list = await get<ListResponse>(`/api/files/${answers.id}/list?limit=50`);
    assert.deepEqual(list.facets.group?.map((c) => [c.value, c.count]).sort(), [
      ['G1_answer', 5],
      ['G2_answer', 5],
      ['G3_answer', 5],
    ]);
    const row = list.rows.find((r) => r.id === 'G1_answer/57');
    assert.ok(row !== undefined);
    const detail = await get<ItemDetail>(`/api/files/${answers.id}/items/${row.n}`);
    const tree = detail.tree;
    assert.ok(tree !== undefined);
    assert.equal(tree.stats.nodes, 26);
    assert.equal(tree.stats.calls, 12);
    assert.equal(tree.stats.giveUps, 1);
    assert.ok(tree.stats.backtracks >= 1);
    assert.equal(tree.chosenKind, 'answer');
    const chosen = tree.nodes.filter((n) => n.chosen && n.id !== 0);
    const last = chosen[chosen.length - 1];
    assert.deepEqual([last?.action, last?.code], ['Finish', 3]);
    assert.equal(
      chosen.length,
      (detail.trajectory?.steps.length ?? 0) + 1,
      'the chosen path is the trajectory, then Finish',
    );
    assert.ok(tree.nodes.some((n) => n.gaveUp && !n.chosen));
    assert.equal(detail.judgments?.tooleval?.passed, true);
    // The ToolEval file links back to the answer.
    const tooleval = byName('tooleval.json');
    const verdicts = await get<ListResponse>(`/api/files/${tooleval.id}/list`);
    assert.deepEqual(verdicts.facets.tooleval?.map((c) => c.value).sort(), ['failed', 'passed']);
    const linked = await get<ItemDetail>(`/api/files/${tooleval.id}/items/0`);
    assert.deepEqual(linked.links?.[0], { label: 'answer and search tree', file: answers.id, n: row.n });
    assert.match(linked.title, /latest/i, 'titled by the answer’s query');
    // A give-up: the chosen path is the kept conversation's, ending in a give-up.
    const gaveUp = list.rows.find((r) => r.id === 'G2_answer/127');
    const giveUpTree = (await get<ItemDetail>(`/api/files/${answers.id}/items/${gaveUp?.n}`)).tree;
    assert.equal(giveUpTree?.chosenKind, 'give_up');
  });

  test('an export: the conversation and its tokens, trained ones marked from the labels', async () => {
    const exported = byName('export');
    const detail = await get<ItemDetail>(`/api/files/${exported.id}/items/0`);
    assert.equal(detail.tool, 'Axolotl');
    assert.deepEqual(
      detail.turns?.map((t) => [t.role, t.trained === true]),
      [
        ['system', false],
        ['human', false],
        ['gpt', true],
      ],
    );
    assert.equal(detail.tokens?.total, 5);
    assert.equal(detail.tokens?.trained, 2);
    assert.equal(detail.tokens?.decoded, false);
    assert.deepEqual(
      detail.tokens?.segments.map((s) => s.trained),
      [false, false, true, true, false],
    );
    assert.match(detail.tokens?.note ?? '', /tokenizer not found/);
  });

  test('a live generation log: appended instances appear, a torn line once it is whole', async () => {
    const file = byName('corpus.json.log.jsonl');
    assert.equal(file.live, true);
    const events = await fetch(`${base}/api/events`);
    const reader = events.body?.getReader();
    assert.ok(reader !== undefined);
    const decoder = new TextDecoder();
    let buffer = '';
    // Resolves with the first file list pushed where the log has `count` items (and `also` holds).
    const until = async (count: number, also: (f: FileInfo) => boolean = () => true): Promise<FileInfo[]> => {
      for (;;) {
        const messages = buffer.split('\n\n');
        buffer = messages.pop() ?? '';
        for (const message of messages) {
          const data = message.split('\n').find((line) => line.startsWith('data: '));
          if (data === undefined) continue;
          const list = JSON.parse(data.slice(6)) as FileInfo[];
          const info = list.find((f) => f.id === file.id);
          if (info?.count === count && !info.indexing && also(info)) return list;
        }
        const { value, done } = await reader.read();
        assert.ok(!done, 'the event stream stays open');
        buffer += decoder.decode(value, { stream: true });
      }
    };
    await until(1);
    const torn = logInstance('Auth0', 3, {
      verification: { passed: false, stage: 'execution', reasons: ['error then success claimed'] },
      kind: 'parallel',
    });
    appendFileSync(log, logInstance('Axolotl', 1) + torn.slice(0, 40));
    await until(2);
    appendFileSync(log, torn.slice(40));
    const three = (await until(3)).find((f) => f.id === file.id) as FileInfo;
    // A retried task: its later line replaces the failed one (the journal's last line of an id wins).
    const failed = await get<ListResponse>(`/api/files/${file.id}/list?status=failed`);
    assert.deepEqual(
      failed.rows.map((r) => [r.id, r.facets.failure]),
      [['Axolotl#0', ['model_error']]],
    );
    appendFileSync(log, logInstance('Axolotl', 0));
    await until(3, (f) => f.version > three.version);
    await reader.cancel();
    assert.equal((await get<ListResponse>(`/api/files/${file.id}/list?status=failed`)).total, 0);
    const list = await get<ListResponse>(
      `/api/files/${file.id}/list?verification=${encodeURIComponent('failed: execution')}`,
    );
    assert.deepEqual(
      list.rows.map((r) => r.id),
      ['Auth0#3'],
    );
    assert.deepEqual(list.rows[0]?.facets.kind, ['parallel']);
    const detail = await get<ItemDetail>(`/api/files/${file.id}/items/${list.rows[0]?.n}`);
    assert.deepEqual(detail.verification, {
      passed: false,
      stage: 'execution',
      reasons: ['error then success claimed'],
    });
    assert.equal(detail.trajectory?.steps[0]?.thought, 'I should look.');
    assert.equal(detail.trajectory?.steps[0]?.source, 'simulated');
    // The tool's documentation comes from another open file that documents it (or the run's tools input).
    const axolotl = await get<ItemDetail>(`/api/files/${file.id}/items/0`);
    assert.match(axolotl.toolDoc ?? '', /getRandomAxolotlImage/);
  });

  test('verification output: stage, reason codes and instance kinds as facets; reasons and judge in the item', async () => {
    const file = byName('verified.json');
    const all = await get<ListResponse>(`/api/files/${file.id}/list`);
    const counts = (facet: 'verification' | 'reason' | 'kind'): Record<string, number> =>
      Object.fromEntries((all.facets[facet] ?? []).map((c) => [c.value, c.count]));
    assert.deepEqual(counts('verification'), { passed: 1, 'failed: format': 1, 'failed: execution': 1 });
    assert.deepEqual(counts('reason'), { 'empty-thought': 1, 'over-five-steps': 1, 'empty-observation': 1 });
    // Recorded kinds, and ToolAlpaca's kind-less instances by their tool calls (getDetails not counted).
    assert.deepEqual(counts('kind'), { parallel: 1, 'multi-step': 1, single: 1, irrelevance: 1 });
    const format = await get<ListResponse>(`/api/files/${file.id}/list?reason=over-five-steps`);
    assert.deepEqual(
      format.rows.map((r) => [r.title, r.facets.kind]),
      [['List then get', ['multi-step']]],
    );
    const detail = await get<ItemDetail>(`/api/files/${file.id}/items/${format.rows[0]?.n}`);
    assert.deepEqual(detail.verification?.reasons, [
      'empty-thought: step 2: the step has no thought before its action',
      'over-five-steps: more than five steps',
    ]);
    assert.equal(detail.instanceKind, 'multi-step (no kind recorded: by its steps)');
    const passed = await get<ListResponse>(`/api/files/${file.id}/list?verification=passed`);
    const first = await get<ItemDetail>(`/api/files/${file.id}/items/${passed.rows[0]?.n}`);
    assert.equal(first.instanceKind, 'parallel');
    assert.equal(first.verification?.judge, 'openai:judge: Yes (Yes, Yes, No, 67 % agree)');
    assert.match(first.toolDoc ?? '', /getGadget: one gadget/);
  });

  test('instance kinds: a multi-turn instance shows its follow-up turns, a missing-info one the argument left out', async () => {
    const file = byName('kinds.json');
    const multi = await get<ItemDetail>(`/api/files/${file.id}/items/0`);
    assert.equal(multi.instanceKind, 'multi-turn');
    const turn = multi.trajectory?.followUps?.[0];
    assert.equal(turn?.instruction, 'And gizmo 2?');
    assert.equal(turn?.finalAnswer, 'Gizmo 2 is blue.');
    assert.deepEqual(
      turn?.steps.map((s) => [s.action, s.observation]),
      [['getGizmo', '{"color": "blue"}']],
    );
    const missing = await get<ItemDetail>(`/api/files/${file.id}/items/1`);
    assert.deepEqual(missing.trajectory?.missing, { argument: 'id', function: 'getGizmo', value: '7' });
    assert.equal(missing.trajectory?.followUps, undefined);
  });

  test('a journal with tool notes: documentation from the note, the source from its executor', async () => {
    const file = byName('noted.json.log.jsonl');
    const detail = await get<ItemDetail>(`/api/files/${file.id}/items/0`);
    assert.equal(detail.toolDoc, 'getWidget: noted documentation');
    assert.equal(detail.trajectory?.steps[0]?.source, 'mcp');
    assert.equal(detail.instanceKind, 'single (no kind recorded: by its steps)');
  });

  test('serve’s access rules: loopback Host names answer, others are refused (DNS rebinding), so are cross-site pages', async () => {
    const status = (host: string, extra: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve, reject) => {
        const url = new URL(`${base}/api/files`);
        const req = request(
          { host: url.hostname, port: url.port, path: url.pathname, headers: { host, ...extra } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    const port = new URL(base).port;
    assert.equal(await status(`localhost:${port}`), 200);
    assert.equal(await status(`127.0.0.1:${port}`), 200);
    assert.equal(await status(`evil.example:${port}`), 421);
    assert.equal(await status('127.0.0.1.evil.example'), 421);
    assert.equal(await status(`127.0.0.1:${port}`, { origin: 'http://evil.example' }), 403);
    assert.equal(await status(`127.0.0.1:${port}`, { origin: base }), 200);
    const index = await fetch(`${base}/`);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });

  test('the CLI: a missing path or a file it does not read is one line, exit 2', async () => {
    const missing = await runCli(['view', join(dir, 'missing.json'), '--port', '0']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    assert.match(missing.stderr, /missing\.json/);
    writeFileSync(join(dir, 'other.json'), '{"hello": "world"}');
    const other = await runCli(['view', join(dir, 'other.json'), '--port', '0']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /other\.json: not a ToolAlpaca corpus/);
    const port = await runCli(['view', EVAL, '--port', 'x']);
    assert.equal(port.code, 2);
  });
});
