/**
 * ToolBench-style work on MCP tools, with the fake model server: `toolbench instructions` from an MCP
 * configuration (each server one tool of category MCP), and `solve --tools CONFIG --executor mcp`, whose
 * calls reach the live server-memory (a fresh graph per query) under the tasks' ToolBench function names.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runSolveCommand } from '../../src/cli/solve.js';
import { runToolbenchInstructions } from '../../src/cli/toolbench.js';
import { readToolBenchQueries } from '../../src/formats/toolbench.js';
import {
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeRequestBody,
  type FakeReply,
} from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const MEMORY = join(repoRoot, 'node_modules', '.bin', 'mcp-server-memory');

let server: FakeOpenAI;
let dir: string;
let config: string;

function quietIo(cwd: string) {
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

const model = () => ({ model: 'openai:fake-model', baseUrl: server.baseUrl, cache: false, maxRetries: '0' });

before(async () => {
  process.env.OPENAI_API_KEY ??= 'test-key';
  server = await startFakeOpenAI();
  dir = makeTempDir();
  config = join(dir, 'mcp.json');
  const memory = {
    command: MEMORY,
    env: { MEMORY_FILE_PATH: '{instanceDir}/memory.jsonl' },
    perInstance: true,
    startTimeout: 120_000,
  };
  // Two servers, so that I2 (tools of one category) has two tools to combine.
  await writeFile(config, JSON.stringify({ mcpServers: { people: memory, places: memory } }));
});
after(() => server.close());
beforeEach(() => server.reset());

describe('toolbench instructions and solve on MCP tools', () => {
  test('toolbench instructions reads an MCP configuration: queries name the servers and their tools', async () => {
    server.setDefault((body: FakeRequestBody): FakeReply => {
      const prompt = String(body.messages?.at(-1)?.content ?? '');
      const apis = JSON.parse(prompt.slice(prompt.indexOf('APIs:\n') + 'APIs:\n'.length)) as {
        tool_name: string;
        api_name: string;
      }[];
      const first = new Map<string, string>();
      for (const api of apis) if (!first.has(api.tool_name)) first.set(api.tool_name, api.api_name);
      const pairs = [...first.entries()];
      return {
        text: JSON.stringify({
          queries: [{ query: `Use ${pairs.map(([, a]) => a).join(' and ')}.`, related_apis: pairs }],
        }),
      };
    });
    const out = join(dir, 'queries.json');
    const run = quietIo(dir);
    const result = await runToolbenchInstructions(
      { tools: config, mode: 'I2', count: '2', perSample: '1', seed: '1', out, ...model() },
      run.io,
    );
    assert.equal(result.queries.length, 2, run.err.join(''));
    const tasks = await readToolBenchQueries(out);
    for (const task of tasks) {
      assert.deepEqual([...new Set(task.apis.map((api) => api.toolName))].sort(), ['people', 'places']);
      assert.ok(task.apis.every((api) => api.category === 'MCP'));
    }
  });

  test('solve --tools CONFIG --executor mcp: the live server answers, each query in a fresh memory', async () => {
    const api = (tool: string, name: string) => ({
      category_name: 'MCP',
      tool_name: tool,
      api_name: name,
      api_description: '',
      required_parameters: [],
      optional_parameters: [],
      method: 'POST',
    });
    const queries = ['ada', 'grace'].map((who, i) => ({
      query: `Remember person-${who}, then show me everything you know.`,
      query_id: i + 1,
      api_list: [api('people', 'create_entities'), api('people', 'read_graph')],
      'relevant APIs': [
        ['people', 'create_entities'],
        ['people', 'read_graph'],
      ],
    }));
    const tasksFile = join(dir, 'tasks.json');
    await writeFile(tasksFile, JSON.stringify(queries));
    server.setDefault((body: FakeRequestBody): FakeReply => {
      const messages = body.messages ?? [];
      const who = /person-[a-z]+/.exec(JSON.stringify(messages))?.[0] ?? 'person-nobody';
      const done = messages.filter((m) => m.role === 'tool').length;
      if (done === 0) {
        const entities = [{ name: who, entityType: 'person', observations: ['asked to be remembered'] }];
        return {
          toolCalls: [{ name: 'create_entities_for_people', arguments: JSON.stringify({ entities }) }],
        };
      }
      if (done === 1) return { toolCalls: [{ name: 'read_graph_for_people', arguments: '{}' }] };
      const answer = { return_type: 'give_answer', final_answer: `Stored ${who}.` };
      return { toolCalls: [{ name: 'Finish', arguments: JSON.stringify(answer) }] };
    });
    const out = join(dir, 'answers');
    const run = quietIo(dir);
    const summary = await runSolveCommand(
      {
        tasks: tasksFile,
        tools: config,
        executor: 'mcp',
        solver: 'react',
        out,
        json: true,
        ...model(),
      },
      run.io,
    );
    assert.equal(summary.answered, 2, run.err.join(''));
    for (const [id, who, other] of [
      ['1', 'person-ada', 'person-grace'],
      ['2', 'person-grace', 'person-ada'],
    ] as const) {
      const text = await readFile(join(out, `${id}_CoT@1.json`), 'utf8');
      // read_graph's answer, as the live server gave it: this query's entity, not the other's.
      const graph = /\{\\"entities\\":\[\{\\"name\\":\\"(person-[a-z]+)\\"/.exec(text);
      assert.equal(graph?.[1], who, text.slice(0, 2000));
      assert.equal(text.includes(other), false);
    }
  });

  test('solve --tools: a task naming an API the source lacks is one line, before any model call', async () => {
    const tasksFile = join(dir, 'bad-tasks.json');
    await writeFile(
      tasksFile,
      JSON.stringify([
        {
          query: 'x',
          query_id: 9,
          api_list: [{ category_name: 'MCP', tool_name: 'people', api_name: 'fly' }],
        },
      ]),
    );
    await assert.rejects(
      runSolveCommand(
        { tasks: tasksFile, tools: config, executor: 'mcp', out: join(dir, 'bad'), ...model() },
        quietIo(dir).io,
      ),
      (error: Error) =>
        /bad-tasks\.json: query 9: tool "people" has no API "fly"$/.test(error.message) &&
        !error.message.includes('\n'),
    );
    assert.equal(server.requests.length, 0);
  });
});
