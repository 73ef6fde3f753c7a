/**
 * The MCP client connection against real servers nobody here wrote (server-memory, server-everything,
 * server-filesystem over stdio), a streamable HTTP server, and a fixture that misbehaves on request:
 * every failure is one line naming the server, and nothing hangs.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectMcpServer, McpServerError, type McpConnection } from '../../src/mcp/connection.js';
import { mcpResultView } from '../../src/mcp/result.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test', 'fixtures', 'mcp', 'misbehaving-server.mjs');
const bin = (name: string): string => join(repoRoot, 'node_modules', '.bin', name);

function fixture(mode = 'ok'): { command: string; args: string[] } {
  return { command: process.execPath, args: [FIXTURE, mode] };
}

/** Asserts `promise` rejects with a one-line McpServerError matching `pattern`. */
async function rejectsOneLine(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof McpServerError, String(error));
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('MCP connection: a misbehaving server', () => {
  let connection: McpConnection;
  before(async () => {
    connection = await connectMcpServer('fixture', fixture(), { maxMessageBytes: 200_000 });
  });
  after(() => connection.close());

  test('lists its tools and answers; isError, images and structured content are mapped', async () => {
    assert.equal(connection.identity.name, 'misbehaving');
    const tools = await connection.listTools();
    assert.ok(tools.some((tool) => tool.name === 'structured' && tool.outputSchema !== undefined));
    assert.deepEqual(mcpResultView(await connection.callTool('echo', { text: 'hi' })), {
      status: 200,
      body: 'hi',
      contentType: 'text/plain',
      truncated: false,
    });
    const failed = mcpResultView(await connection.callTool('fail', {}));
    assert.equal(failed.status, 400);
    assert.equal(failed.body, 'the widget is broken');
    assert.deepEqual(mcpResultView(await connection.callTool('structured', { city: 'Oslo' })).body, {
      city: 'Oslo',
      temperature: 21.5,
    });
    assert.equal(mcpResultView(await connection.callTool('image', {})).body, '[image image/gif, 11 bytes]');
  });

  test('progress and log notifications nobody asked for are ignored', async () => {
    assert.equal(mcpResultView(await connection.callTool('noisy', {})).body, 'done');
    assert.equal(connection.closed, false);
  });

  test('a hanging call ends at its timeout, and the server still answers others', async () => {
    await rejectsOneLine(
      connection.callTool('hang', {}, { timeoutMs: 200 }),
      /^MCP server "fixture" did not answer tools\/call hang within 200 ms$/,
    );
    assert.equal(mcpResultView(await connection.callTool('echo', { text: 'still here' })).body, 'still here');
  });

  test('long text is cut at the character cap and marked', async () => {
    const view = mcpResultView(await connection.callTool('huge', { bytes: 50_000 }), { maxBodyChars: 1000 });
    assert.equal(view.truncated, true);
    assert.equal((view.body as string).length, 1000);
  });
});

describe('MCP connection: failures that end the connection', () => {
  test('a server that exits at start: one line with its last stderr line', async () => {
    await rejectsOneLine(
      connectMcpServer('broken', fixture('exit-at-start')),
      /^MCP server "broken": exited before answering initialize \(.*\) \(stderr: fixture: missing configuration, giving up\)$/,
    );
  });

  test('a server that never answers initialize: the connect timeout', async () => {
    await rejectsOneLine(
      connectMcpServer('mute', fixture('hang-at-start'), { connectTimeoutMs: 300 }),
      /^MCP server "mute": did not answer initialize within 300 ms/,
    );
    // The entry's own startTimeout wins (a server fetched by npx on first use may need longer).
    await rejectsOneLine(
      connectMcpServer(
        'mute',
        { ...fixture('hang-at-start'), startTimeout: 200 },
        { connectTimeoutMs: 60_000 },
      ),
      /^MCP server "mute": did not answer initialize within 200 ms/,
    );
  });

  test('a command that does not exist', async () => {
    await rejectsOneLine(
      connectMcpServer('nothing', { command: 'toolalpaca-no-such-command-xyz' }),
      /^MCP server "nothing": cannot start "toolalpaca-no-such-command-xyz": no such command$/,
    );
  });

  test('a crash during a call is named, and later calls fail at once until reconnected', async () => {
    const connection = await connectMcpServer('crashy', fixture());
    try {
      await rejectsOneLine(
        connection.callTool('crash', {}),
        /^MCP server "crashy" closed the connection during tools\/call crash \(it exited or crashed\) \(stderr: fixture: crashing on purpose\)$/,
      );
      assert.equal(connection.closed, true);
      await rejectsOneLine(connection.callTool('echo', { text: 'x' }), /is not connected/);
    } finally {
      await connection.close();
    }
  });

  test('an answer over the message size cap closes the connection with that reason', async () => {
    const connection = await connectMcpServer('big', fixture(), { maxMessageBytes: 100_000 });
    try {
      await rejectsOneLine(
        connection.callTool('huge', { bytes: 300_000 }),
        /^MCP server "big" sent an answer to tools\/call huge larger than 100000 bytes; connection closed$/,
      );
    } finally {
      await connection.close();
    }
  });
});

describe('MCP connection: real servers over stdio', () => {
  test('server-everything sees only the minimal environment, never the parent secrets', async () => {
    const saved = { ...process.env };
    process.env.OPENAI_API_KEY = 'sk-parent-secret-123';
    process.env.TOOLALPACA_SECRET_SOMETOOL = 'parent-secret-456';
    let connection: McpConnection | undefined;
    try {
      connection = await connectMcpServer('everything', {
        command: bin('mcp-server-everything'),
        env: { GIVEN: 'yes', FROM_PARENT: '${env:TOOLALPACA_SECRET_SOMETOOL}' },
      });
      const result = await connection.callTool('get-env', {});
      const text = result.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      const env = JSON.parse(text) as Record<string, string>;
      assert.equal(env.GIVEN, 'yes');
      // Only because the entry asked for it by name:
      assert.equal(env.FROM_PARENT, 'parent-secret-456');
      assert.equal(env.OPENAI_API_KEY, undefined);
      assert.equal(env.TOOLALPACA_SECRET_SOMETOOL, undefined);
      assert.doesNotMatch(text, /sk-parent-secret-123/);
      assert.equal(env.PATH, process.env.PATH);
    } finally {
      await connection?.close();
      process.env = saved;
    }
  });

  test('server-memory lists its 9 tools and keeps state in MEMORY_FILE_PATH under {instanceDir}', async () => {
    const dir = makeTempDir();
    const connection = await connectMcpServer(
      'memory',
      { command: bin('mcp-server-memory'), env: { MEMORY_FILE_PATH: '{instanceDir}/memory.jsonl' } },
      { instanceDir: dir },
    );
    try {
      const tools = await connection.listTools();
      assert.equal(tools.length, 9);
      await connection.callTool('create_entities', {
        entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }],
      });
      const view = mcpResultView(await connection.callTool('read_graph', {}));
      assert.deepEqual(
        (view.body as { entities: { name: string }[] }).entities.map((e) => e.name),
        ['Ada'],
      );
    } finally {
      await connection.close();
    }
  });

  test('server-filesystem reads a file of its temp folder and refuses one outside', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'note.txt'), 'hello from the folder');
    const connection = await connectMcpServer('files', {
      command: bin('mcp-server-filesystem'),
      args: [dir],
    });
    try {
      const read = mcpResultView(
        await connection.callTool('read_text_file', { path: join(dir, 'note.txt') }),
      );
      assert.equal(read.status, 200);
      assert.match(JSON.stringify(read.body), /hello from the folder/);
      const outside = mcpResultView(await connection.callTool('read_text_file', { path: '/etc/hostname' }));
      assert.equal(outside.status, 400);
    } finally {
      await connection.close();
    }
  });
});

describe('MCP connection: streamable HTTP', () => {
  let url = '';
  const seen: IncomingHttpHeaders[] = [];
  const http = createServer(async (request, response) => {
    seen.push(request.headers);
    if (request.url !== '/mcp') {
      response.writeHead(404).end(`no route; you sent ${request.headers.authorization ?? ''}`);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString()) as unknown) : undefined;
    const server = new Server({ name: 'remote', version: '2' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [{ name: 'whoami', inputSchema: { type: 'object' } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, (_request, extra) => ({
      content: [{ type: 'text', text: String(extra.requestInfo?.headers['x-team'] ?? '') }],
    }));
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
  });
  before(async () => {
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  );

  test('sends the configured headers (resolved from ${env:...}) with every request', async () => {
    const connection = await connectMcpServer(
      'remote',
      { url: `${url}/mcp`, headers: { Authorization: 'Bearer ${env:REMOTE_TOKEN}', 'X-Team': 'blue' } },
      { env: { REMOTE_TOKEN: 'tok-987654' } },
    );
    try {
      assert.equal(connection.identity.name, 'remote');
      assert.deepEqual(
        (await connection.listTools()).map((tool) => tool.name),
        ['whoami'],
      );
      assert.equal(mcpResultView(await connection.callTool('whoami', {})).body, 'blue');
      assert.ok(seen.length >= 3);
      for (const headers of seen) assert.equal(headers.authorization, 'Bearer tok-987654');
    } finally {
      await connection.close();
    }
  });

  test('a failure message never shows a header value', async () => {
    await assert.rejects(
      connectMcpServer(
        'remote',
        { url: `${url}/elsewhere`, headers: { Authorization: 'Bearer tok-987654' } },
        { connectTimeoutMs: 5000 },
      ),
      (error: unknown) => {
        assert.ok(error instanceof McpServerError);
        assert.match(error.message, /^MCP server "remote": cannot connect/);
        assert.doesNotMatch(error.message, /tok-987654/);
        return true;
      },
    );
  });
});
