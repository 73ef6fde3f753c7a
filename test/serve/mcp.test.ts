/**
 * `serve --mcp stdio|http` as a user runs it: the compiled CLI, the official SDK client over both
 * transports, listing and calling every function of ToolAlpaca's 10 simulated evaluation tools.
 */
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { createMcpExecutor } from '../../src/executors/mcp-executor.js';
import { createSchemaExecutor, generateFromSchema } from '../../src/executors/schema-executor.js';
import { readToolSource, toolsOfSource } from '../../src/formats/toolalpaca-json.js';
import { createToolServer } from '../../src/serve/index.js';
import { mcpSafeName, uniqueMcpNames } from '../../src/serve/mcp.js';
import { cliPath } from '../helpers/cli.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';

const TOOLS = sharedData('toolalpaca/eval_simulated.json');
const TOOL_NAMES = [
  'Axolotl',
  'AniAPI',
  'AbuseIPDB',
  'Améthyste',
  'Auth0',
  'Abstract Public Holidays',
  '1Forge',
  'A Bíblia Digital',
  'Apache Superset',
  'Lob.com',
];
const FUNCTIONS = 54;

/** Lists the tools, checks names and schemas, calls every one; returns the calls' results by name. */
async function listAndCallAll(
  client: Client,
): Promise<{ tools: McpTool[]; results: Map<string, CallToolResult> }> {
  const { tools } = await client.listTools();
  assert.equal(tools.length, FUNCTIONS);
  const names = tools.map((tool) => tool.name);
  assert.equal(new Set(names).size, names.length, 'names are unique');
  for (const name of names) assert.match(name, /^[a-zA-Z0-9_-]{1,64}$/);
  for (const tool of tools) assert.equal(tool.inputSchema.type, 'object');
  // Each of the 10 tools is there, its functions prefixed by its (made valid) name.
  for (const toolName of TOOL_NAMES) {
    const prefix = `${mcpSafeName(toolName)}_`;
    assert.ok(
      names.some((name) => name.startsWith(prefix)),
      `a function of ${toolName}`,
    );
  }
  const results = new Map<string, CallToolResult>();
  for (const [i, tool] of tools.entries()) {
    const args = generateFromSchema(tool.inputSchema as Record<string, unknown>, i + 1) as Record<
      string,
      unknown
    >;
    const result = (await client.callTool({ name: tool.name, arguments: args })) as CallToolResult;
    results.set(tool.name, result);
  }
  return { tools, results };
}

function checkResults(tools: McpTool[], results: Map<string, CallToolResult>): void {
  let structured = 0;
  for (const tool of tools) {
    const result = results.get(tool.name);
    assert.ok(result !== undefined);
    const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
    assert.notEqual(result.isError, true, `${tool.name}: ${text}`);
    assert.notEqual(text, '', tool.name);
    assert.equal(result._meta?.['toolalpaca/source'], 'schema');
    if (tool.outputSchema !== undefined) {
      assert.ok(result.structuredContent !== undefined, `${tool.name} has structured content`);
      structured++;
    }
  }
  assert.ok(structured > 0, 'some functions declare an output schema');
}

describe('serve --mcp http', () => {
  let child: ReturnType<typeof spawn>;
  let url = '';
  let exited: Promise<number | null>;

  before(async () => {
    child = spawn(
      process.execPath,
      [cliPath, 'serve', '--tools', TOOLS, '--mcp', 'http', '--port', '0', '--quiet'],
      {
        cwd: repoRoot,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /^serving 10 tools at (http:\/\/\S+) \(MCP at \S+\/mcp\)$/m.exec(stdout);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
  });

  after(async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  test('the SDK client lists and calls every function of the 10 tools; REST answers beside it', async () => {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    try {
      const { tools, results } = await listAndCallAll(client);
      checkResults(tools, results);
    } finally {
      await client.close();
    }
    const rest = await fetch(`${url}/AniAPI/anime/42`);
    assert.equal(rest.status, 200);
  });

  test('an unknown tool is a protocol error; bad arguments are a tool error naming the parameter', async () => {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    try {
      await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), /unknown tool/);
      const { tools } = await client.listTools();
      const withRequired = tools.find((tool) => (tool.inputSchema.required ?? []).length > 0);
      assert.ok(withRequired !== undefined);
      const result = (await client.callTool({ name: withRequired.name, arguments: {} })) as CallToolResult;
      assert.equal(result.isError, true);
      const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
      assert.match(text, new RegExp(String(withRequired.inputSchema.required?.[0])));
    } finally {
      await client.close();
    }
  });

  test('requests without a session are refused; a closed session is gone', async () => {
    const response = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 400);
    const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(transport);
    const session = transport.sessionId;
    assert.ok(session !== undefined);
    await transport.terminateSession();
    await client.close();
    const again = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.equal(again.status, 404);
  });
});

describe('serve --mcp stdio', () => {
  test('the SDK client starts the CLI, lists and calls every function; the server exits when the client leaves', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cliPath, 'serve', '--tools', TOOLS, '--mcp', 'stdio', '--quiet'],
      cwd: repoRoot,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(transport);
    const pid = transport.pid;
    try {
      const { tools, results } = await listAndCallAll(client);
      checkResults(tools, results);
    } finally {
      await client.close();
    }
    assert.match(stderr, /serving 10 tools \(54 MCP tools\) over stdio/);
    assert.ok(pid !== null);
    // The SDK's close ends stdin first; the server leaves on its own (no signal needed).
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});

describe('serve --mcp http: access', () => {
  test('/mcp is behind the same Host allow-list and bearer token as the REST routes', async () => {
    const tools = (await toolsOfSource(await readToolSource(TOOLS))).flatMap((entry) =>
      entry.tool !== undefined ? [entry.tool] : [],
    );
    const token = 'a-long-enough-test-token';
    const server = await createToolServer(tools, createSchemaExecutor(), { mcp: true, token });
    try {
      const initialize = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      };
      const post = async (headers: Record<string, string>): Promise<number> =>
        (
          await server.app.inject({
            method: 'POST',
            url: '/mcp',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              ...headers,
            },
            payload: JSON.stringify(initialize),
          })
        ).statusCode;
      assert.equal(await post({}), 401);
      assert.equal(await post({ authorization: `Bearer ${token}`, host: 'evil.example' }), 421);
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      assert.equal((await client.listTools()).tools.length, FUNCTIONS);
      await client.close();
    } finally {
      await server.close();
    }
  });

  test('a tool named "mcp" cannot be served beside the endpoint', async () => {
    const tool = { name: 'mcp', description: '', auth: [], servers: [], functions: [] };
    await assert.rejects(
      createToolServer([tool], createSchemaExecutor(), { mcp: true }),
      /a tool named "mcp"/,
    );
  });
});

describe('serve --mcp http with --executor mcp', () => {
  test('an MCP configuration re-served: a stdio server reached over HTTP, its structured answers kept', async () => {
    const dir = makeTempDir();
    const config = join(dir, 'mcp.json');
    const fixture = join(repoRoot, 'test', 'fixtures', 'mcp', 'misbehaving-server.mjs');
    writeFileSync(
      config,
      JSON.stringify({ mcpServers: { fx: { command: process.execPath, args: [fixture] } } }),
    );
    const tools = (await toolsOfSource(await readToolSource(config))).flatMap((entry) =>
      entry.tool !== undefined ? [entry.tool] : [],
    );
    const executor = createMcpExecutor();
    const server = await createToolServer(tools, executor, { mcp: true });
    const client = new Client({ name: 'test', version: '1' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
      const listed = (await client.listTools()).tools;
      const structured = listed.find((tool) => tool.name === 'structured');
      assert.deepEqual(structured?.annotations, { readOnlyHint: true, idempotentHint: true });
      assert.equal(structured?.outputSchema?.type, 'object');
      const result = (await client.callTool({
        name: 'structured',
        arguments: { city: 'Oslo' },
      })) as CallToolResult;
      assert.deepEqual(result.structuredContent, { city: 'Oslo', temperature: 21.5 });
      assert.equal(result._meta?.['toolalpaca/source'], 'mcp');
      const failed = (await client.callTool({ name: 'fail', arguments: {} })) as CallToolResult;
      assert.equal(failed.isError, true);
      assert.match(JSON.stringify(failed.content), /Status 400: the widget is broken/);
    } finally {
      await client.close();
      await server.close();
      await executor.close?.();
    }
  });
});

describe('MCP names', () => {
  test('invalid characters become _, long names are cut, clashes get a suffix', () => {
    assert.equal(mcpSafeName('A Bíblia Digital_get verse'), 'A_B_blia_Digital_get_verse');
    assert.equal(mcpSafeName('...'), 'tool');
    const long = 'x'.repeat(80);
    const names = uniqueMcpNames([long, long, 'a.b', 'a b']);
    assert.equal(names[0], 'x'.repeat(64));
    assert.equal(names[1], `${'x'.repeat(62)}_2`);
    assert.deepEqual(names.slice(2), ['a_b', 'a_b_2']);
  });
});
