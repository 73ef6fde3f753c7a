/**
 * The `mcp` executor against live servers: the misbehaving fixture (crash, hang, huge answers, exit at
 * start), server-memory with a fresh state per instance; registry, chain and the schema executor on MCP
 * schemas.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { McpServerSpec } from '../../src/core/mcp-config.js';
import type { Tool } from '../../src/core/tool.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import type { ToolExecutor } from '../../src/executors/executor.js';
import { createMcpExecutor } from '../../src/executors/mcp-executor.js';
import { createSchemaExecutor } from '../../src/executors/schema-executor.js';
import { McpServerError } from '../../src/mcp/connection.js';
import { mcpServerTool, readMcpServerTool } from '../../src/mcp/tools.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test', 'fixtures', 'mcp', 'misbehaving-server.mjs');
const MEMORY = join(repoRoot, 'node_modules', '.bin', 'mcp-server-memory');

function fixtureSpec(extra: Partial<McpServerSpec> = {}, mode = 'ok'): McpServerSpec {
  return { command: process.execPath, args: [FIXTURE, mode], ...extra } as McpServerSpec;
}

/** The fixture's tool with another launch spec (the functions are the same). */
function withSpec(tool: Tool, spec: McpServerSpec): Tool {
  return { ...tool, mcpServers: { [tool.name]: spec } };
}

async function rejectsOneLine(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof McpServerError, String(error));
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('mcp executor', () => {
  let tool: Tool;
  let executor: ToolExecutor;
  before(async () => {
    tool = await readMcpServerTool('fx', fixtureSpec());
    executor = createMcpExecutor({ maxMessageBytes: 100_000 });
  });
  after(() => executor.close?.());

  test('the tool read from the server: one function per MCP tool, with its binding and schemas', () => {
    assert.equal(tool.name, 'fx');
    assert.equal(tool.category, 'MCP');
    const structured = tool.functions.find((fn) => fn.name === 'structured');
    assert.deepEqual(structured?.binding, {
      kind: 'mcp',
      server: 'fx',
      tool: 'structured',
      annotations: { readOnlyHint: true, idempotentHint: true },
    });
    assert.equal(structured?.outputSchema?.type, 'object');
    assert.deepEqual(structured?.inputSchema.required, ['city']);
  });

  test('answers come from the live server with source mcp; isError is a 400 answer', async () => {
    const echo = await executor.execute(tool, 'echo', { text: 'hello' }, { instanceId: 'a' });
    assert.equal(echo.source, 'mcp');
    assert.equal(echo.status, 200);
    assert.equal(echo.body, 'hello');
    const structured = await executor.execute(tool, 'structured', { city: 'Oslo' });
    assert.deepEqual(structured.body, { city: 'Oslo', temperature: 21.5 });
    assert.equal(structured.headers['content-type'], 'application/json');
    const failed = await executor.execute(tool, 'fail', {});
    assert.equal(failed.status, 400);
    assert.equal(failed.body, 'the widget is broken');
    assert.equal(failed.error, undefined);
  });

  test('arguments are checked against the MCP input schema before any call', async () => {
    const rejected = await executor.execute(tool, 'echo', {});
    assert.equal(rejected.status, 400);
    assert.deepEqual(rejected.validationErrors, ["Missing required parameter 'text'"]);
    const unknown = await executor.execute(tool, 'nope', {});
    assert.equal(unknown.status, 404);
  });

  test('a crash is one line naming the server; the next call starts it again', async () => {
    await rejectsOneLine(
      executor.execute(tool, 'crash', {}),
      /^MCP server "fx" closed the connection during tools\/call crash .*crashing on purpose/,
    );
    const again = await executor.execute(tool, 'echo', { text: 'back' });
    assert.equal(again.body, 'back');
  });

  test('an answer over the size cap fails that call; the server is started again after it', async () => {
    await rejectsOneLine(executor.execute(tool, 'huge', { bytes: 300_000 }), /larger than 100000 bytes/);
    assert.equal((await executor.execute(tool, 'echo', { text: 'ok' })).body, 'ok');
    const cut = await createMcpExecutor({ maxBodyChars: 500 });
    try {
      const observation = await cut.execute(tool, 'huge', { bytes: 5000 });
      assert.equal(observation.truncated, true);
      assert.equal((observation.body as string).length, 500);
    } finally {
      await cut.close?.();
    }
  });

  test("a hanging tool ends at the entry's timeout", async () => {
    const slow = withSpec(tool, fixtureSpec({ timeout: 300 }));
    await rejectsOneLine(executor.execute(slow, 'hang', {}), /did not answer tools\/call hang within 300 ms/);
  });

  test('a server that exits at start: one line each time, then no more starts after 3 failures', async () => {
    const broken = withSpec(tool, fixtureSpec({}, 'exit-at-start'));
    for (let i = 0; i < 3; i++) {
      await rejectsOneLine(
        executor.execute(broken, 'echo', { text: 'x' }),
        /exited before answering initialize.*missing configuration/,
      );
    }
    await rejectsOneLine(
      executor.execute(broken, 'echo', { text: 'x' }),
      /not started again after 3 failed starts$/,
    );
  });

  test('a function without an MCP binding answers 501; a missing launch spec is an input error', async () => {
    const http: Tool = {
      name: 'web',
      description: '',
      auth: [],
      servers: [],
      functions: [
        {
          name: 'get',
          inputSchema: { type: 'object', properties: {} },
          binding: { kind: 'http', method: 'get', path: '/x', parameters: [] },
        },
      ],
    };
    const observation = await executor.execute(http, 'get', {});
    assert.equal(observation.status, 501);
    assert.match(observation.error ?? '', /not an MCP tool/);
    const { mcpServers: _dropped, ...noSpec } = tool;
    await assert.rejects(
      executor.execute(noSpec, 'echo', { text: 'x' }),
      /no launch spec for MCP server "fx"/,
    );
  });

  test('perInstance: each instance has its own process and folder, removed when the instance ends', async () => {
    const own = withSpec(tool, fixtureSpec({ perInstance: true }));
    const count = async (instanceId: string) =>
      (await executor.execute(own, 'count', {}, { instanceId })).body as string;
    assert.equal(await count('i1'), '1');
    assert.equal(await count('i1'), '2');
    assert.equal(await count('i2'), '1');
    const where = (await executor.execute(own, 'where', {}, { instanceId: 'i1' })).body as { cwd: string };
    assert.match(where.cwd, /toolalpaca-mcp-/);
    assert.ok(existsSync(where.cwd));
    await executor.endInstance?.('i1');
    assert.equal(existsSync(where.cwd), false);
    assert.equal(await count('i1'), '1', 'a new process after the instance ended');
    await executor.endInstance?.('i1');
    await executor.endInstance?.('i2');
  });

  test('perInstance caps the processes kept: the least recently used idle one is stopped', async () => {
    const capped = createMcpExecutor({ maxInstances: 2 });
    const own = withSpec(tool, fixtureSpec({ perInstance: true }));
    try {
      for (const id of ['a', 'b', 'c']) await capped.execute(own, 'count', {}, { instanceId: id });
      // 'a' was stopped to make room for 'c': it starts again from 1.
      assert.equal((await capped.execute(own, 'count', {}, { instanceId: 'a' })).body, '1');
      assert.equal((await capped.execute(own, 'count', {}, { instanceId: 'c' })).body, '2');
    } finally {
      await capped.close?.();
    }
  });

  test('server-memory with MEMORY_FILE_PATH under {instanceDir}: instances do not see each other', async () => {
    const memory = await readMcpServerTool('memory', {
      command: MEMORY,
      env: { MEMORY_FILE_PATH: '{instanceDir}/memory.jsonl' },
      perInstance: true,
      startTimeout: 120_000,
    });
    assert.equal(memory.functions.length, 9);
    const entity = { name: 'Ada', entityType: 'person', observations: ['wrote the first program'] };
    const created = await executor.execute(
      memory,
      'create_entities',
      { entities: [entity] },
      { instanceId: 'm1' },
    );
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const own = await executor.execute(memory, 'read_graph', {}, { instanceId: 'm1' });
    assert.deepEqual((own.body as { entities: unknown[] }).entities, [entity]);
    const other = await executor.execute(memory, 'read_graph', {}, { instanceId: 'm2' });
    assert.deepEqual((other.body as { entities: unknown[] }).entities, []);
    await executor.endInstance?.('m1');
    await executor.endInstance?.('m2');
  });

  test('server-filesystem on {instanceDir}: each instance its own empty folder, removed when it ends', async () => {
    const files = await readMcpServerTool('files', {
      command: join(repoRoot, 'node_modules', '.bin', 'mcp-server-filesystem'),
      args: ['{instanceDir}'],
      perInstance: true,
      startTimeout: 120_000,
    });
    const folderOf = async (instanceId: string): Promise<string> => {
      const listed = await executor.execute(files, 'list_allowed_directories', {}, { instanceId });
      const folder = /\/\S*toolalpaca-mcp-[^\s"\\]+/.exec(JSON.stringify(listed.body))?.[0];
      return folder ?? assert.fail(`no folder in ${JSON.stringify(listed.body)}`);
    };
    const first = await folderOf('f1');
    const second = await folderOf('f2');
    assert.notEqual(first, second);
    const note = join(first, 'note.txt');
    const written = await executor.execute(
      files,
      'write_file',
      { path: note, content: 'instance one was here' },
      { instanceId: 'f1' },
    );
    assert.equal(written.status, 200, JSON.stringify(written.body));
    assert.equal(existsSync(note), true);
    // The other instance sees an empty folder and may not reach the first one's.
    const listing = await executor.execute(files, 'list_directory', { path: second }, { instanceId: 'f2' });
    assert.doesNotMatch(JSON.stringify(listing.body), /note\.txt/);
    const reach = await executor.execute(files, 'read_text_file', { path: note }, { instanceId: 'f2' });
    assert.equal(reach.status, 400);
    await executor.endInstance?.('f1');
    await executor.endInstance?.('f2');
    assert.equal(existsSync(first), false);
  });
});

describe('mcp executor with the others', () => {
  const tool = mcpServerTool('fx', fixtureSpec(), { name: 'misbehaving' }, [
    {
      name: 'structured',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      outputSchema: {
        type: 'object',
        properties: { city: { type: 'string' }, temperature: { type: 'number' } },
        required: ['city', 'temperature'],
      },
    },
    { name: 'crash', inputSchema: { type: 'object', properties: {} } },
  ]);

  test('the schema executor answers from the MCP output schema, offline', async () => {
    const observation = await createSchemaExecutor().execute(tool, 'structured', { city: 'Oslo' });
    assert.equal(observation.status, 200);
    const body = observation.body as { city: unknown; temperature: unknown };
    assert.equal(typeof body.city, 'string');
    assert.equal(typeof body.temperature, 'number');
  });

  test('registered as "mcp"; a chain mcp → schema falls through when the server crashes', async () => {
    const chain = await createExecutor('chain', { chain: { order: ['mcp', 'schema'] } });
    try {
      const live = await chain.execute(tool, 'structured', { city: 'Oslo' });
      assert.equal(live.source, 'mcp');
      const fallback = await chain.execute(tool, 'crash', {});
      assert.equal(fallback.source, 'schema');
    } finally {
      await chain.close?.();
    }
  });

  test('cache → mcp → schema: a call answered by the server is answered from the cache next time', async () => {
    const cacheFile = join(makeTempDir(), 'cache.jsonl');
    const chain = await createExecutor('chain', { chain: { order: ['mcp', 'schema'], cacheFile } });
    try {
      const live = await chain.execute(tool, 'structured', { city: 'Oslo' });
      assert.equal(live.source, 'mcp');
      const again = await chain.execute(tool, 'structured', { city: 'Oslo' });
      assert.equal(again.source, 'cache');
      assert.deepEqual(again.body, live.body);
    } finally {
      await chain.close?.();
    }
  });
});
