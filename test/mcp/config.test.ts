/** MCP client configurations: detection, validation, `${env:...}` resolution, minimal env, record copies. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/core/errors.js';
import {
  looksLikeMcpConfig,
  parseMcpConfig,
  resolveConfigString,
  serverEnvironment,
  specForRecord,
  usesInstanceDir,
} from '../../src/mcp/config.js';
import { mcpSecretsLeftOut, mcpServersExtension } from '../../src/formats/mcp.js';

describe('MCP configuration', () => {
  test('is told apart from ToolAlpaca JSON and OpenAPI by content', () => {
    assert.equal(looksLikeMcpConfig({ mcpServers: { a: { command: 'x' } } }), true);
    assert.equal(looksLikeMcpConfig({ servers: { a: { type: 'http', url: 'http://h/mcp' } } }), true);
    assert.equal(looksLikeMcpConfig({ openapi: '3.0.0', servers: [{ url: 'http://h' }] }), false);
    assert.equal(looksLikeMcpConfig([{ Name: 'x' }]), false);
    assert.equal(looksLikeMcpConfig({ Name: 'x' }), false);
  });

  test('reads stdio and HTTP entries (Claude Desktop and VS Code shapes), leaves disabled ones out', () => {
    const config = parseMcpConfig(
      {
        mcpServers: {
          memory: { command: 'npx', args: ['-y', 'server-memory'], env: { A: '1' }, perInstance: true },
          remote: { url: 'https://example.com/mcp', headers: { Authorization: 'Bearer x' }, timeout: 500 },
          off: { command: 'x', disabled: true },
          other: { command: 'y', autoApprove: ['a'] },
        },
      },
      'mcp.json',
    );
    assert.deepEqual(Object.keys(config.mcpServers), ['memory', 'remote', 'other']);
    assert.equal(config.mcpServers.memory?.perInstance, true);
    const vscode = parseMcpConfig({ servers: { s: { type: 'stdio', command: 'node' } } }, 'mcp.json');
    assert.deepEqual(Object.keys(vscode.mcpServers), ['s']);
  });

  test('bad entries are one line naming the file, the server and the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ mcpServers: { a: 3 } }, /^mcp\.json: server "a": expected an object with "command" or "url"$/],
      [{ mcpServers: { a: { command: 'x', args: 'y' } } }, /^mcp\.json: server "a": field "args": /],
      [{ mcpServers: { a: { url: 'ftp://h/x' } } }, /^mcp\.json: server "a": "url" must be http\(s\)/],
      [{ mcpServers: { a: { url: 'not a url' } } }, /^mcp\.json: server "a": "url" is not a URL$/],
      [{ mcpServers: { a: { type: 'sse', url: 'http://h/sse' } } }, /type "sse" .* not supported/],
      [{ mcpServers: { a: { args: [] } } }, /expected "command" .* or "url"/],
      [{ mcpServers: {} }, /^mcp\.json: no enabled MCP server in mcpServers$/],
      [{ mcpServers: { a: { command: 'x', timeout: -1 } } }, /field "timeout"/],
    ];
    for (const [data, pattern] of cases) {
      assert.throws(
        () => parseMcpConfig(data, 'mcp.json'),
        (error: unknown) =>
          error instanceof InputError && pattern.test(error.message) && !error.message.includes('\n'),
        JSON.stringify(data),
      );
    }
  });

  test('${env:NAME} and ${NAME} are resolved; an unset one is named, {instanceDir} is replaced', () => {
    const env = { TOKEN: 'abc', HOME: '/home/u' };
    assert.equal(resolveConfigString('Bearer ${env:TOKEN}', env, 'x'), 'Bearer abc');
    assert.equal(resolveConfigString('${HOME}/data', env, 'x'), '/home/u/data');
    assert.equal(resolveConfigString('{instanceDir}/m.json', env, 'x', '/tmp/i1'), '/tmp/i1/m.json');
    assert.throws(
      () => resolveConfigString('${env:MISSING}', env, 'MCP server "a": header X'),
      /MCP server "a": header X refers to \$\{env:MISSING\}, which is not set$/,
    );
    assert.equal(usesInstanceDir({ command: 'x', args: ['{instanceDir}'] }), true);
    assert.equal(usesInstanceDir({ command: 'x', env: { P: '/tmp' } }), false);
  });

  test('a stdio server gets PATH, HOME, LANG and what its entry names, never the parent secrets', () => {
    const parent = {
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      OPENAI_API_KEY: 'sk-secret',
      TOOLALPACA_SECRET_X: 'hidden',
      GITHUB_TOKEN: 'ghp',
      BASH_FUNC_x: '() { evil; }',
    };
    const env = serverEnvironment(
      's',
      { MEMORY_FILE_PATH: '{instanceDir}/m.jsonl', KEY: '${env:GITHUB_TOKEN}' },
      parent,
      '/i',
    );
    assert.deepEqual(env, {
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      MEMORY_FILE_PATH: '/i/m.jsonl',
      KEY: 'ghp',
    });
  });

  test('the copy written with the tools keeps references and plain settings, drops literal secrets', () => {
    const stdio = specForRecord({
      command: 'srv',
      env: { MEMORY_FILE_PATH: '{instanceDir}/m', API_KEY: 'sk-1', TOKEN: '${env:T}', LEVEL: 'debug' },
    });
    assert.deepEqual(stdio.spec, {
      command: 'srv',
      env: { MEMORY_FILE_PATH: '{instanceDir}/m', TOKEN: '${env:T}', LEVEL: 'debug' },
    });
    assert.deepEqual(stdio.dropped, ['env.API_KEY']);
    const http = specForRecord({
      url: 'https://h/mcp',
      headers: { Authorization: 'Bearer ${env:T}', 'X-Org': 'acme' },
    });
    assert.deepEqual(http.spec, { url: 'https://h/mcp', headers: { Authorization: 'Bearer ${env:T}' } });
    assert.deepEqual(http.dropped, ['headers.X-Org']);
  });

  test('commands that write tools name each secret left out, never its value', () => {
    const tool = {
      name: 'search',
      description: '',
      auth: [],
      servers: [],
      functions: [],
      mcpServers: {
        search: { url: 'https://h/mcp', headers: { Authorization: 'Bearer abc123secret' } },
        local: { command: 'srv', env: { API_KEY: '${env:K}' } },
      },
    };
    const warnings = mcpSecretsLeftOut([tool]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /^MCP server "search": headers\.Authorization is a literal secret/);
    assert.doesNotMatch(warnings.join('\n'), /abc123secret/);
    assert.doesNotMatch(JSON.stringify(mcpServersExtension(tool)), /abc123secret/);
  });
});
