/**
 * Multi-tool instructions (I2 / I3) on tools imported from StableToolBench, with the fake OpenAI server
 * answering the generation prompts: seeded sampling, relevant-API checks, ToolBench's query shape.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Tool } from '../../src/core/tool.js';
import {
  importToolBenchFiles,
  readToolBenchQueries,
  readToolBenchTools,
} from '../../src/formats/toolbench.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import {
  checkRelatedApis,
  generateMultiToolInstructions,
  sampleTools,
  toolGroups,
} from '../../src/pipeline/multi-tool-instructions.js';
import { seededRandom } from '../../src/core/random.js';
import { runToolbenchInstructions } from '../../src/cli/toolbench.js';
import {
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeRequestBody,
  type FakeReply,
} from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

let server: FakeOpenAI;
let model: CreatedChatModel;
let tools: Tool[];
let toolsDir: string;

/** Answers with two queries: one using an API of each of the first two tools shown, one naming an unknown API. */
function writer(body: FakeRequestBody): FakeReply {
  const prompt = String(body.messages?.at(-1)?.content ?? '');
  const apis = JSON.parse(prompt.slice(prompt.indexOf('APIs:\n') + 'APIs:\n'.length)) as {
    tool_name: string;
    api_name: string;
  }[];
  const byTool = new Map<string, string>();
  for (const api of apis) if (!byTool.has(api.tool_name)) byTool.set(api.tool_name, api.api_name);
  const pairs = [...byTool.entries()].slice(0, 2);
  const n = server.requests.length;
  return {
    text: JSON.stringify({
      queries: [
        { query: `Request ${n}: I need ${pairs.map(([, a]) => a).join(' and ')}.`, related_apis: pairs },
        { query: `Request ${n}: something else.`, related_apis: [[pairs[0]?.[0] ?? '', 'No such API']] },
      ],
    }),
  };
}

before(async () => {
  server = await startFakeOpenAI();
  model = await createChatModel('openai:fake-model', {
    openai: { baseUrl: server.baseUrl, apiKey: 'k' },
    noCache: true,
    maxRetries: 0,
  });
  const out = makeTempDir();
  await importToolBenchFiles(
    [sharedData('stabletoolbench/G2_instruction.json'), sharedData('stabletoolbench/G3_instruction.json')],
    out,
  );
  toolsDir = join(out, 'tools');
  tools = await readToolBenchTools(toolsDir);
});

after(async () => {
  await model.close();
  await server.close();
});

beforeEach(() => server.reset());

describe('multi-tool instructions', () => {
  test('groups: I2 by category, I3 by collection; samples of 2–5 tools with up to 3 APIs each, seeded', () => {
    const i2 = toolGroups(tools, 'I2');
    const i3 = toolGroups(tools, 'I3');
    assert.ok(i2.size > 0 && i3.size > 0);
    for (const members of i2.values()) assert.equal(new Set(members.map((t) => t.category)).size, 1);
    for (let seed = 0; seed < 20; seed++) {
      const sample = sampleTools(i2, seededRandom(seed));
      const perTool = new Map<string, number>();
      for (const api of sample.apis) perTool.set(api.tool_name, (perTool.get(api.tool_name) ?? 0) + 1);
      assert.ok(perTool.size >= 2 && perTool.size <= 5, `seed ${seed}: ${perTool.size} tools`);
      assert.ok([...perTool.values()].every((n) => n >= 1 && n <= 3));
      assert.ok(sample.apis.every((a) => a.category_name === sample.group));
      assert.deepEqual(sampleTools(i2, seededRandom(seed)), sample, 'same seed, same sample');
    }
  });

  test('relevant APIs must be sampled APIs of at least two tools', () => {
    const apis = [
      { tool_name: 'A', api_name: 'x' },
      { tool_name: 'B', api_name: 'y' },
      { tool_name: 'A', api_name: 'z' },
    ];
    assert.equal(
      checkRelatedApis(
        [
          ['A', 'x'],
          ['B', 'y'],
        ],
        apis,
      ).ok,
      true,
    );
    assert.equal(
      checkRelatedApis(
        [
          ['A', 'x'],
          ['A', 'z'],
        ],
        apis,
      ).ok,
      false,
    );
    assert.equal(
      checkRelatedApis(
        [
          ['A', 'x'],
          ['C', 'q'],
        ],
        apis,
      ).ok,
      false,
    );
    assert.equal(checkRelatedApis([['A', 'x']], apis).ok, false);
  });

  test('I2 instructions come out in ToolBench query shape and read back as tasks', async () => {
    server.setDefault(writer);
    const result = await generateMultiToolInstructions({
      tools,
      mode: 'I2',
      model,
      count: 3,
      perSample: 2,
      seed: 7,
    });
    assert.equal(result.queries.length, 3);
    assert.equal(result.samples, 3);
    assert.equal(result.dropped, 3, 'the unknown-API query of each sample is dropped');
    for (const q of result.queries) {
      const tools = new Set(q.api_list?.map((a) => a.tool_name));
      assert.ok(tools.size >= 2);
      assert.ok(
        q['relevant APIs']?.every(([t, a]) => q.api_list?.some((x) => x.tool_name === t && x.api_name === a)),
      );
    }
    assert.deepEqual(
      result.queries.map((q) => q.query_id),
      [1, 2, 3],
    );
    const dir = makeTempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'i2.json'), JSON.stringify(result.queries));
    const tasks = await readToolBenchQueries(join(dir, 'i2.json'));
    assert.equal(tasks.length, 3);
    assert.ok(tasks.every((t) => t.tools.length >= 2 && t.relevantApis.length >= 2));
  });

  test('toolbench instructions (action): I3 from the imported tools folder', async () => {
    process.env.OPENAI_API_KEY ??= 'test-key';
    server.setDefault(writer);
    const dir = makeTempDir();
    const out = join(dir, 'i3.json');
    const stdout: string[] = [];
    const result = await runToolbenchInstructions(
      {
        tools: toolsDir,
        mode: 'I3',
        model: 'openai:fake-model',
        baseUrl: server.baseUrl,
        cache: false,
        count: '2',
        out,
        json: true,
      },
      { stdout: { write: (t: string) => stdout.push(t) }, stderr: { write: () => true }, cwd: dir },
    );
    assert.equal(result.queries.length, 2);
    assert.equal(JSON.parse(stdout.join('')).queries, 2);
    const tasks = await readToolBenchQueries(out);
    assert.equal(tasks.length, 2);
    await assert.rejects(
      runToolbenchInstructions(
        { tools: toolsDir, mode: 'I9', model: 'openai:fake-model', out },
        { stdout: { write: () => true }, stderr: { write: () => true }, cwd: dir },
      ),
      /--mode: expected I2 or I3/,
    );
  });
});
