/**
 * StableToolBench's environment: a cache folder written here in its `tool_response_cache` layout answers
 * calls before the simulator; a miss goes to the simulator (fake model) with the API's cached examples;
 * `solve --executor stabletoolbench` runs a G1 task with it.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSolveCommand } from '../../src/cli/solve.js';
import type { ToolBenchTask } from '../../src/core/toolbench.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import { formatSimulatorReply } from '../../src/executors/simulated-executor.js';
import {
  cacheLocation,
  createStableToolBenchExecutor,
  openStableToolBenchCache,
  standardCategory,
} from '../../src/executors/stabletoolbench-cache.js';
import { readToolBenchQueries } from '../../src/formats/toolbench.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const G1 = sharedData('stabletoolbench/G1_instruction.json');
const SEARCH = 'transfermarkt_search_for_theclique';

let server: FakeOpenAI;
let model: CreatedChatModel;
let task: ToolBenchTask;
let cacheDir: string;

/** A cache folder in StableToolBench's layout: Data/theclique_for_Data/transfermarkt_search.json. */
function writeCache(): string {
  const dir = makeTempDir();
  const apiDir = join(dir, 'Data', 'theclique_for_Data');
  mkdirSync(apiDir, { recursive: true });
  writeFileSync(
    join(apiDir, 'transfermarkt_search.json'),
    JSON.stringify(
      {
        "{'name': 'messi'}": { error: '', response: 'RECORDED: Lionel Messi, forward, Inter Miami' },
        "{'name': 'pele'}": { error: '', response: { players: [{ name: 'Pelé', club: 'Santos' }] } },
        "{'name': 'down'}": { error: 'Service Not Found', response: '' },
      },
      null,
      4,
    ),
  );
  return dir;
}

before(async () => {
  server = await startFakeOpenAI();
  model = await createChatModel('openai:fake-model', {
    openai: { baseUrl: server.baseUrl, apiKey: 'k' },
    noCache: true,
    maxRetries: 0,
  });
  task = (await readToolBenchQueries(G1)).find((t) => t.queryId === '588') ?? assert.fail('588 missing');
  cacheDir = writeCache();
});
after(async () => {
  await model.close();
  await server.close();
});
beforeEach(() => server.reset());

describe("StableToolBench's response cache", () => {
  test('locations and keys as its virtual server computes them', () => {
    const tool = task.tools[0] ?? assert.fail();
    const location = cacheLocation(tool, SEARCH, { name: 'messi', page: 2, exact: true, x: null });
    assert.deepEqual(
      { category: location?.category, tool: location?.tool, api: location?.api, key: location?.key },
      {
        category: 'Data',
        tool: 'theclique_for_Data',
        api: 'transfermarkt_search',
        key: "{'name': 'messi', 'page': 2, 'exact': True, 'x': None}",
      },
    );
    assert.equal(standardCategory('Business Software'), 'Business_Software');
    assert.equal(standardCategory('Movies, TV/Film'), 'Movies_TV_Film');
  });

  test('a recorded call is answered from the cache, a miss by the simulator shown the cached examples', async () => {
    const tool = task.tools[0] ?? assert.fail();
    server.setDefault(() => ({ text: formatSimulatorReply(200, { name: 'Cristiano Ronaldo' }) }));
    const executor = await createStableToolBenchExecutor({ cacheDir, simulated: { model } });
    const hit = await executor.execute(tool, SEARCH, { name: 'messi' });
    assert.equal(hit.status, 200);
    assert.equal(hit.source, 'replay');
    assert.equal(hit.body, 'RECORDED: Lionel Messi, forward, Inter Miami');
    assert.equal(server.chatRequests().length, 0, 'the simulator was not asked');
    const failed = await executor.execute(tool, SEARCH, { name: 'down' });
    assert.equal(failed.error, 'Service Not Found');

    const miss = await executor.execute(tool, SEARCH, { name: 'ronaldo' });
    assert.equal(miss.source, 'simulated');
    assert.deepEqual(miss.body, { name: 'Cristiano Ronaldo' });
    const [request] = server.chatRequests();
    const system = String(request?.messages?.[0]?.content);
    // The API's recorded calls, in the file's order, as the simulator's examples.
    assert.ok(
      system.includes(
        'Input: {\'name\': \'messi\'}\nOutput: {"error":"","response":"RECORDED: Lionel Messi, forward, Inter Miami"}',
      ),
      system,
    );
    assert.ok(system.indexOf("{'name': 'messi'}") < system.indexOf("{'name': 'pele'}"));
    assert.deepEqual(executor.counts, { hits: 2, misses: 1 });
    await executor.close?.();
  });

  test('at most 5 examples, fewer while their text is over 2,048 characters', async () => {
    const dir = makeTempDir();
    const apiDir = join(dir, 'Data', 'theclique_for_Data');
    mkdirSync(apiDir, { recursive: true });
    const many = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`{'name': 'p${i}'}`, { error: '', response: `r${i}` }]),
    );
    writeFileSync(join(apiDir, 'transfermarkt_search.json'), JSON.stringify(many));
    writeFileSync(
      join(apiDir, 'transfermarkt_details.json'),
      JSON.stringify(
        Object.fromEntries(
          Array.from({ length: 4 }, (_, i) => [`{'k': ${i}}`, { error: '', response: 'x'.repeat(900) }]),
        ),
      ),
    );
    const cache = openStableToolBenchCache(dir);
    const tool = task.tools[0] ?? assert.fail();
    assert.deepEqual(
      (await cache.examples(tool, SEARCH)).map((e) => e.input),
      ["{'name': 'p0'}", "{'name': 'p1'}", "{'name': 'p2'}", "{'name': 'p3'}", "{'name': 'p4'}"],
    );
    assert.equal((await cache.examples(tool, 'transfermarkt_details_for_theclique')).length, 2);
    assert.deepEqual(await cache.examples(tool, 'songkick_concert_for_theclique'), []);
  });

  test('registered as an executor kind; it needs its folder', async () => {
    const executor = await createExecutor('stabletoolbench', { stabletoolbench: { cacheDir } });
    const tool = task.tools[0] ?? assert.fail();
    assert.equal((await executor.execute(tool, SEARCH, { name: 'messi' })).status, 200);
    // No simulator: a miss says so.
    const miss = await executor.execute(tool, SEARCH, { name: 'nobody' });
    assert.equal(miss.status, 404);
    assert.match(miss.error ?? '', /no recorded response for \{'name': 'nobody'\}/);
    await assert.rejects(
      createExecutor('stabletoolbench', {}),
      /tool_response_cache folder \(option `cacheDir`\)/,
    );
  });

  test('solve --executor stabletoolbench: the recorded response reaches the model', async () => {
    process.env.OPENAI_API_KEY ??= 'test-key';
    server.script(
      { toolCalls: [{ name: SEARCH, arguments: '{"name": "messi"}' }] },
      { toolCalls: [{ name: 'Finish', arguments: '{"return_type":"give_answer","final_answer":"ok"}' }] },
    );
    const dir = makeTempDir();
    const out = join(dir, 'answers');
    const summary = await runSolveCommand(
      {
        tasks: G1,
        model: 'openai:fake-model',
        baseUrl: server.baseUrl,
        cache: false,
        maxRetries: '0',
        out,
        limit: '1',
        solver: 'react',
        executor: 'stabletoolbench',
        toolResponseCache: cacheDir,
      },
      {
        stdout: { write: () => true },
        stderr: { write: () => true, isTTY: false },
        cwd: dir,
        env: { CI: 'true' },
      },
    );
    assert.equal(summary.answered, 1);
    const second = server.chatRequests()[1]?.messages?.at(-1);
    assert.match(String(second?.content), /RECORDED: Lionel Messi/);
    const file = readdirSync(out)[0] ?? assert.fail();
    assert.match(readFileSync(join(out, file), 'utf8'), /RECORDED: Lionel Messi/);
    await assert.rejects(
      runSolveCommand(
        { tasks: G1, out, executor: 'stabletoolbench', model: 'openai:fake-model' },
        { stdout: { write: () => true }, stderr: { write: () => true, isTTY: false }, cwd: dir },
      ),
      /--executor stabletoolbench needs --tool-response-cache DIR/,
    );
  });
});
