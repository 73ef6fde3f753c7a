/**
 * MCP tool sources through the compiled CLI, with the fake model server as the models: instructions from
 * server-memory's tools, a corpus whose observations come from the live server (a fresh memory per
 * instance), export and an evaluation run on it; `tools list|validate` on a configuration; and a server
 * that exits at start, which fails every instance with one line instead of hanging.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstanceSchema } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile, toolToRecord } from '../../src/formats/toolalpaca-json.js';
import { readMcpServerTool } from '../../src/mcp/tools.js';
import { runCliIn } from '../helpers/cli-process.js';
import {
  promptText,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeRequestBody,
  type FakeReply,
} from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';
import { roleOf } from '../pipeline/fake-agents.js';

const MEMORY = join(repoRoot, 'node_modules', '.bin', 'mcp-server-memory');
const FIXTURE = join(repoRoot, 'test', 'fixtures', 'mcp', 'misbehaving-server.mjs');

/**
 * Instructions name a person by number; the assistant stores that person with create_entities, reads the
 * graph back with read_graph and answers. Anything else gets the default.
 */
function memoryWorld(): (body: FakeRequestBody) => FakeReply {
  let batch = 0;
  return (body) => {
    const role = roleOf(body);
    const text = promptText(body);
    if (role === 'instructions') {
      batch++;
      return {
        text: JSON.stringify({
          // Different enough that the near-duplicate filter keeps all three.
          instructions: [
            `Please remember that person-${batch}1 is a chemist who likes green tea.`,
            `Store person-${batch}2 in my knowledge graph; she plays the cello on Sundays.`,
            `Could you note down person-${batch}3 as the neighbour whose dog barks at night?`,
          ],
        }),
      };
    }
    // The assistant, in ToolAlpaca's training layout (generate) or its test_v1 chat layout (eval run).
    const chat = text.includes('ASSISTANT Thought:');
    if (role === 'assistant' || (chat && text.includes('read_graph'))) {
      const question = text.split('Begin!').pop() ?? '';
      const who = /person-\d+/.exec(question)?.[0] ?? 'person-0';
      const done = question.split('Observation:').length - 1;
      const prefix = chat ? 'ASSISTANT ' : '';
      const act = (name: string, args: unknown): FakeReply => ({
        text: ` I call ${name}.\n${prefix}Action: ${name}\n${prefix}Action Input: ${JSON.stringify(args)}`,
      });
      if (done === 0) {
        return act('create_entities', {
          entities: [{ name: who, entityType: 'person', observations: ['likes tea'] }],
        });
      }
      if (done === 1) return act('read_graph', {});
      return { text: ` I now know.\n${chat ? 'ASSISTANT Response' : 'Final Answer'}: I stored ${who}.` };
    }
    return { text: 'OK.' };
  };
}

describe('MCP tools through the CLI', () => {
  let server: FakeOpenAI;
  let model: string[];
  let dir: string;
  let config: string;

  before(async () => {
    server = await startFakeOpenAI();
    server.setDefault(memoryWorld());
    model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
    dir = makeTempDir();
    config = join(dir, 'mcp.json');
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: {
          memory: {
            command: MEMORY,
            env: { MEMORY_FILE_PATH: '{instanceDir}/memory.jsonl' },
            perInstance: true,
            // Generous: a loaded CI machine can be slow to start a Node program.
            startTimeout: 120_000,
          },
        },
      }),
    );
  });
  after(() => server.close());

  test('tools list reads the configuration: one tool per server, its MCP tools as functions', async () => {
    const result = await runCliIn(['tools', 'list', config, '--json'], dir, 60_000);
    assert.equal(result.code, 0, result.stderr);
    const [entry] = JSON.parse(result.stdout) as { name: string; category: string; functions: number }[];
    assert.deepEqual(
      { name: entry?.name, category: entry?.category, functions: entry?.functions },
      { name: 'memory', category: 'MCP', functions: 9 },
    );
    const docs = join(dir, 'memory-docs.json');
    const written = await runCliIn(['tools', 'docs', config, '--out', docs], dir, 60_000);
    assert.equal(written.code, 0, written.stderr);
    const [record] = await readToolAlpacaFile(docs);
    assert.match(record?.NLDocumentation ?? '', /^create_entities: Create multiple new entities/m);
    assert.match(record?.NLDocumentation ?? '', /^read_graph: /m);
  });

  test('instructions → generate --executor mcp → export → eval run, observations from the live server', async () => {
    const tools = join(dir, 'tools.json');
    const made = await runCliIn(
      ['instructions', '--tools', config, '--out', tools, '--per-tool', '3', ...model],
      dir,
      60_000,
    );
    assert.equal(made.code, 0, made.stderr);
    const [record] = await readToolAlpacaFile(tools);
    assert.equal(record?.Name, 'memory');
    assert.equal(record?.Instructions?.length, 3);
    // The launch spec travels with the tools, so a later run can start the server.
    const documentation = JSON.parse(record?.Documentation ?? '{}') as Record<string, unknown>;
    assert.deepEqual(documentation['x-mcp-servers'], {
      memory: {
        command: MEMORY,
        env: { MEMORY_FILE_PATH: '{instanceDir}/memory.jsonl' },
        perInstance: true,
        startTimeout: 120_000,
      },
    });
    assert.match(record?.NLDocumentation ?? '', /^create_entities: Create multiple new entities/);

    const corpus = join(dir, 'corpus.json');
    const generated = await runCliIn(
      [
        'generate',
        '--tools',
        tools,
        '--executor',
        'mcp',
        '--out',
        corpus,
        '--concurrency',
        '2',
        '--json',
        ...model,
      ],
      dir,
      90_000,
    );
    assert.equal(generated.code, 0, generated.stderr);
    const summary = JSON.parse(generated.stdout) as { completed: number; total: number };
    assert.deepEqual(
      { completed: summary.completed, total: summary.total },
      { completed: 3, total: 3 },
      generated.stderr,
    );
    const [withInstances] = await readToolAlpacaFile(corpus);
    const instances = (withInstances?.Instances ?? []).map((value) => InstanceSchema.parse(value));
    assert.equal(instances.length, 3);
    for (const instance of instances) {
      const who = /person-\d+/.exec(instance.input)?.[0];
      const steps = instance.intermediate_steps ?? [];
      assert.equal(steps.length, 2);
      const readGraph = String(steps[1]?.[1] ?? '');
      // The server's own answer: this instance's entity, and no other instance's.
      assert.match(
        readGraph,
        new RegExp(`^Status Code: 200\\. Response: \\{"entities":\\[\\{"name":"${who}"`),
      );
      assert.equal(readGraph.match(/person-\d+/g)?.length, 1, readGraph);
    }
    const meta = JSON.parse(readFileSync(`${corpus}.meta.json`, 'utf8')) as {
      parameters?: { executor?: string };
    };
    assert.equal(JSON.stringify(meta).includes('"executor":"mcp"'), true);

    const exported = await runCliIn(
      ['export', '--data', corpus, '--format', 'sharegpt', '--out', join(dir, 'sft'), '--val-ratio', '0'],
      dir,
      60_000,
    );
    assert.equal(exported.code, 0, exported.stderr);

    const run = join(dir, 'run.json');
    const evaluated = await runCliIn(
      ['eval', 'run', '--tools', tools, '--executor', 'mcp', '--out', run, '--concurrency', '2', ...model],
      dir,
      90_000,
    );
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const items = (JSON.parse(readFileSync(run, 'utf8')) as { items: { status: string; steps: unknown[] }[] })
      .items;
    assert.deepEqual(
      items.map((item) => item.status),
      ['completed', 'completed', 'completed'],
    );
    assert.deepEqual(
      items.map((item) => item.steps.length),
      [2, 2, 2],
    );
  });

  test('a server that exits at start: every instance fails with one line naming it, nothing hangs', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(
      broken,
      JSON.stringify({
        mcpServers: { broken: { command: process.execPath, args: [FIXTURE, 'exit-at-start'] } },
      }),
    );
    const validated = await runCliIn(['tools', 'validate', broken], dir, 60_000);
    assert.equal(validated.code, 1);
    assert.match(
      validated.stdout,
      /^broken: MCP server "broken": exited before answering initialize .*missing configuration, giving up\)\n$/,
    );

    // Tools read while the server worked, launched later with a spec that now fails.
    const tools = join(dir, 'tools.json');
    const records = JSON.parse(readFileSync(tools, 'utf8')) as { Documentation: string }[];
    const doc = JSON.parse(records[0]!.Documentation) as Record<string, unknown>;
    doc['x-mcp-servers'] = { memory: { command: process.execPath, args: [FIXTURE, 'exit-at-start'] } };
    records[0]!.Documentation = JSON.stringify(doc);
    const brokenTools = join(dir, 'broken-tools.json');
    writeFileSync(brokenTools, JSON.stringify(records));
    const corpus = join(dir, 'broken-corpus.json');
    const generated = await runCliIn(
      ['generate', '--tools', brokenTools, '--executor', 'mcp', '--out', corpus, '--json', ...model],
      dir,
      90_000,
    );
    const log = readFileSync(`${corpus}.log.jsonl`, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"type":"task"'))
      .map((line) => JSON.parse(line) as { status: string; failure?: { reason: string; message: string } });
    assert.equal(log.length, 3, generated.stderr);
    for (const entry of log) {
      assert.equal(entry.status, 'failed');
      assert.equal(entry.failure?.reason, 'executor_error');
      assert.match(entry.failure?.message ?? '', /MCP server "memory": exited before answering initialize/);
      assert.doesNotMatch(entry.failure?.message ?? '', /\n/);
    }
  });

  test('crash, hang, huge answer: each instance a recorded failure in one line; isError is an answer', async () => {
    // The same fixture twice: "slow" with a short call timeout for the hang, "fx" with the default one
    // (a 5 MB answer may take a while on a loaded machine, and must fail for its size, not its time).
    const spec = { command: process.execPath, args: [FIXTURE], startTimeout: 120_000 };
    const records = [
      toolToRecord(await readMcpServerTool('fx', spec), {
        Instructions: ['crash', 'huge', 'fail'].map((name) => `Please call ${name} for me.`),
      }),
      toolToRecord(await readMcpServerTool('slow', { ...spec, timeout: 1500 }), {
        Instructions: ['Please call hang for me.'],
      }),
    ];
    const tools = join(dir, 'fx-tools.json');
    writeFileSync(tools, JSON.stringify(records));
    server.setDefault((body) => {
      const text = promptText(body);
      if (roleOf(body) !== 'assistant') return { text: 'OK.' };
      const question = text.split('Begin!').pop() ?? '';
      if (question.includes('Observation:')) return { text: ' Done.\nFinal Answer: it answered.' };
      const name = /Please call (\w+)/.exec(question)?.[1] ?? 'fail';
      const args = name === 'huge' ? { bytes: 5_000_000 } : {};
      return { text: ` I call it.\nAction: ${name}\nAction Input: ${JSON.stringify(args)}` };
    });
    try {
      const corpus = join(dir, 'fx-corpus.json');
      const generated = await runCliIn(
        ['generate', '--tools', tools, '--executor', 'mcp', '--out', corpus, '--concurrency', '1', ...model],
        dir,
        240_000,
      );
      const tasks = readFileSync(`${corpus}.log.jsonl`, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"type":"task"'))
        .map(
          (line) =>
            JSON.parse(line) as {
              status: string;
              failure?: { reason: string; message: string };
              output?: {
                instance?: { input?: string; Final_Thought?: string; intermediate_steps?: unknown[][] };
              };
            },
        );
      assert.equal(tasks.length, 4, generated.stderr);
      const byAsk = new Map(tasks.map((task) => [/call (\w+)/.exec(JSON.stringify(task))?.[1], task]));
      for (const [ask, pattern] of [
        ['crash', /MCP server "fx" closed the connection during tools\/call crash \(it exited or crashed\)/],
        ['hang', /MCP server "slow" did not answer tools\/call hang within 1500 ms/],
        ['huge', /MCP server "fx" sent an answer to tools\/call huge larger than 4194304 bytes/],
      ] as const) {
        const task = byAsk.get(ask);
        assert.equal(task?.status, 'failed', ask);
        assert.equal(task?.failure?.reason, 'executor_error', ask);
        assert.match(task?.failure?.message ?? '', pattern);
        assert.doesNotMatch(task?.failure?.message ?? '', /\n/);
      }
      // A tool error is the tool's answer: the assistant read it and the instance completed.
      const failed = byAsk.get('fail');
      assert.equal(failed?.status, 'completed');
      assert.match(JSON.stringify(failed), /Status Code: 400\. Response: the widget is broken/);
    } finally {
      server.setDefault(memoryWorld());
    }
  });
});
