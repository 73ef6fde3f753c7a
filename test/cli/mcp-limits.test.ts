/**
 * The MCP executor's limits as flags (`--mcp-timeout`, `--mcp-start-timeout`, `--mcp-max-message`,
 * `--mcp-max-body`, `--mcp-max-instances`, `--mcp-max-failed-starts`): through the built CLI against
 * server-everything (a body cut to the cap, a call past its timeout, an answer over the message cap) and a
 * server that never answers initialize (the start timeout, then no further start); bad values are one line
 * and exit 2 on every command that takes them; and the option builder hands each limit to the executor.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  executorOptionsFrom,
  executorParameters,
  mcpExecutorOptionsFrom,
} from '../../src/cli/executor-options.js';
import type { ModelPool } from '../../src/cli/context.js';
import { toolToRecord } from '../../src/formats/toolalpaca-json.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
} from '../../src/mcp/connection.js';
import { DEFAULT_MAX_BODY_CHARS } from '../../src/mcp/result.js';
import { DEFAULT_MAX_FAILED_STARTS, DEFAULT_MAX_INSTANCES } from '../../src/executors/mcp-executor.js';
import { readMcpServerTool } from '../../src/mcp/tools.js';
import { runCli } from '../helpers/cli.js';
import { runCliIn } from '../helpers/cli-process.js';
import { promptText, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';
import { roleOf } from '../pipeline/fake-agents.js';

const EVERYTHING = join(repoRoot, 'node_modules', '.bin', 'mcp-server-everything');
const FIXTURE = join(repoRoot, 'test', 'fixtures', 'mcp', 'misbehaving-server.mjs');

/** The flags, the placeholder the help shows and the library's default each help text must state. */
const LIMITS = [
  ['--mcp-timeout', '<ms>', DEFAULT_CALL_TIMEOUT_MS],
  ['--mcp-start-timeout', '<ms>', DEFAULT_CONNECT_TIMEOUT_MS],
  ['--mcp-max-message', '<bytes>', DEFAULT_MAX_MESSAGE_BYTES],
  ['--mcp-max-body', '<chars>', DEFAULT_MAX_BODY_CHARS],
  ['--mcp-max-instances', '<n>', DEFAULT_MAX_INSTANCES],
  ['--mcp-max-failed-starts', '<n>', DEFAULT_MAX_FAILED_STARTS],
] as const;

interface TaskLine {
  status: string;
  failure?: { reason: string; message: string };
  output?: { instance?: { input?: string; intermediate_steps?: unknown[][] } };
}

function taskLines(corpus: string): TaskLine[] {
  return readFileSync(`${corpus}.log.jsonl`, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"type":"task"'))
    .map((line) => JSON.parse(line) as TaskLine);
}

/** "Please call NAME with ARGS." makes the assistant call NAME with ARGS once, then answer. */
function callWorld(server: FakeOpenAI): void {
  server.setDefault((body) => {
    if (roleOf(body) !== 'assistant') return { text: 'OK.' };
    const question = promptText(body).split('Begin!').pop() ?? '';
    if (question.includes('Observation:')) return { text: ' Done.\nFinal Answer: it answered.' };
    const [, name = 'echo', args = '{}'] = /Please call ([\w-]+) with (\{.*?\})\./.exec(question) ?? [];
    return { text: ` I call it.\nAction: ${name}\nAction Input: ${args}` };
  });
}

describe('MCP executor limits through the CLI', () => {
  let server: FakeOpenAI;
  let model: string[];
  let dir: string;

  before(async () => {
    server = await startFakeOpenAI();
    callWorld(server);
    model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
    dir = makeTempDir();
  });
  after(() => server.close());

  test('--mcp-max-body cuts a body, --mcp-timeout and --mcp-max-message fail a call', async () => {
    // One process per server for the run; generous start: a loaded machine starts Node slowly. Only
    // "slow" leaves its call timeout to --mcp-timeout: the others' entries set theirs (an entry's own
    // timeout wins over the flag), so a loaded machine cannot turn their answers into timeouts.
    const started = { command: EVERYTHING, startTimeout: 120_000 };
    const patient = { ...started, timeout: 120_000 };
    const asks = {
      cut: `Please call echo with ${JSON.stringify({ message: 'x'.repeat(300) })}.`,
      slow: `Please call trigger-long-running-operation with ${JSON.stringify({ duration: 3600, steps: 1 })}.`,
      // The fixture's huge: an answer of that many bytes (server-everything has none without a huge ask).
      big: `Please call huge with ${JSON.stringify({ bytes: 50_000 })}.`,
    };
    const records = [
      toolToRecord(await readMcpServerTool('everything', patient), { Instructions: [asks.cut] }),
      toolToRecord(await readMcpServerTool('slow', started), { Instructions: [asks.slow] }),
      toolToRecord(
        await readMcpServerTool('fx', { ...patient, command: process.execPath, args: [FIXTURE] }),
        { Instructions: [asks.big] },
      ),
    ];
    const tools = join(dir, 'limits-tools.json');
    writeFileSync(tools, JSON.stringify(records));
    const corpus = join(dir, 'limits-corpus.json');
    const generated = await runCliIn(
      [
        'generate',
        ...['--tools', tools, '--executor', 'mcp', '--out', corpus, '--concurrency', '1'],
        ...['--mcp-max-body', '40', '--mcp-timeout', '400', '--mcp-max-message', '10000'],
        ...model,
      ],
      dir,
      240_000,
    );
    const tasks = taskLines(corpus);
    assert.equal(tasks.length, 3, generated.stderr);
    const byAsk = new Map(
      tasks.map((task) => [
        Object.entries(asks).find(([, ask]) => JSON.stringify(task).includes(JSON.stringify(ask)))?.[0],
        task,
      ]),
    );

    const cut = byAsk.get('cut');
    assert.equal(cut?.status, 'completed', JSON.stringify(cut));
    const observation = String(cut?.output?.instance?.intermediate_steps?.[0]?.[1] ?? '');
    // The server answers "Echo: " and the 300 characters; 40 are kept, the cut marked.
    assert.equal(observation, `Status Code: 200. Response: Echo: ${'x'.repeat(34)} [truncated]`);

    for (const [ask, pattern] of [
      ['slow', /MCP server "slow" did not answer tools\/call trigger-long-running-operation within 400 ms/],
      ['big', /MCP server "fx" sent an answer to tools\/call huge larger than 10000 bytes/],
    ] as const) {
      const task = byAsk.get(ask);
      assert.equal(task?.status, 'failed', ask);
      assert.equal(task?.failure?.reason, 'executor_error', ask);
      assert.match(task?.failure?.message ?? '', pattern);
      assert.doesNotMatch(task?.failure?.message ?? '', /\n/);
    }
    // A cut body changes observations: the run's parameters say so (a resume without it is refused).
    const meta = JSON.parse(readFileSync(`${corpus}.meta.json`, 'utf8')) as {
      parameters: { executorOptions: Record<string, unknown> };
    };
    assert.equal(meta.parameters.executorOptions.mcpMaxBody, '40');
  });

  test('a server that never answers initialize: --mcp-start-timeout, then --mcp-max-failed-starts', async () => {
    const record = toolToRecord(
      await readMcpServerTool('mute', { command: process.execPath, args: [FIXTURE], startTimeout: 120_000 }),
      { Instructions: ['Please call echo with {"text":"one"}.', 'Please call echo with {"text":"two"}.'] },
    );
    // Read while it answered; launched in the run with no startTimeout of its own, so the flag decides.
    const documentation = JSON.parse(record.Documentation ?? '{}') as Record<string, unknown>;
    documentation['x-mcp-servers'] = {
      mute: { command: process.execPath, args: [FIXTURE, 'hang-at-start'] },
    };
    record.Documentation = JSON.stringify(documentation);
    const tools = join(dir, 'mute-tools.json');
    writeFileSync(tools, JSON.stringify([record]));
    const corpus = join(dir, 'mute-corpus.json');
    const generated = await runCliIn(
      [
        'generate',
        ...['--tools', tools, '--executor', 'mcp', '--out', corpus, '--concurrency', '1'],
        ...['--mcp-start-timeout', '500', '--mcp-max-failed-starts', '1'],
        ...model,
      ],
      dir,
      120_000,
    );
    const messages = taskLines(corpus).map((task) => {
      assert.equal(task.status, 'failed', generated.stderr);
      assert.equal(task.failure?.reason, 'executor_error');
      return task.failure?.message ?? '';
    });
    assert.equal(messages.length, 2, generated.stderr);
    for (const message of messages) {
      assert.match(message, /MCP server "mute": did not answer initialize within 500 ms/);
    }
    // The first instance tried once; the second was not started again.
    assert.deepEqual(
      messages.map((message) => /not started again after 1 failed starts$/.test(message)).sort(),
      [false, true],
    );
  });

  test('bad values: one line naming the flag, exit 2, on every command that takes them', async () => {
    const cases = [
      [
        ['generate', '--tools', 'tools.json', '--out', 'o.json', '--mcp-timeout', 'soon'],
        '--mcp-timeout',
        'soon',
      ],
      [
        ['eval', 'run', '--tools', 'tools.json', '--out', 'o.json', '--mcp-max-body', '0'],
        '--mcp-max-body',
        '0',
      ],
      [
        ['solve', '--tasks', 'q.json', '--out', 'answers', '--mcp-max-instances', '1.5'],
        '--mcp-max-instances',
        '1.5',
      ],
      [['verify', 'c.json', '--out', 'v.json', '--mcp-start-timeout', '-3'], '--mcp-start-timeout', '-3'],
      [
        ['serve', '--tools', 'tools.json', '--executor', 'mcp', '--mcp-max-failed-starts', 'x'],
        '--mcp-max-failed-starts',
        'x',
      ],
    ] as const;
    for (const [args, flag, value] of cases) {
      // serve takes no model flags with --executor mcp.
      const result = await runCli([...args, ...(args[0] === 'serve' ? [] : model)], { cwd: dir });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr, `toolalpaca: ${flag}: expected a positive integer, got "${value}"\n`);
    }
    // serve refuses a limit of an executor it does not run.
    const served = await runCli(['serve', '--tools', 'tools.json', '--mcp-max-message', '100'], { cwd: dir });
    assert.equal(served.code, 2);
    assert.equal(
      served.stderr,
      'toolalpaca: --mcp-max-message is for --executor mcp (got --executor schema)\n',
    );
  });

  test("--help of each command lists the limits with the library's defaults", async () => {
    for (const command of [['generate'], ['eval', 'run'], ['solve'], ['verify'], ['serve']]) {
      const result = await runCli([...command, '--help']);
      assert.equal(result.code, 0, result.stderr);
      const text = result.stdout.replace(/\s+/g, ' ');
      for (const [flag, placeholder, fallback] of LIMITS) {
        assert.match(
          text,
          new RegExp(`${flag} ${placeholder} MCP executor: [^()]*\\(default ${fallback}\\b`),
        );
      }
    }
  });
});

describe('MCP executor limits: the option builder', () => {
  const pool = {} as ModelPool; // not used: no simulated executor here

  test('each flag reaches its option of the mcp executor; none given, no mcp group', async () => {
    const flags = {
      mcpTimeout: '1500',
      mcpStartTimeout: '9000',
      mcpMaxMessage: '65536',
      mcpMaxBody: '300',
      mcpMaxInstances: '2',
      mcpMaxFailedStarts: '5',
    };
    const expected = {
      timeoutMs: 1500,
      connectTimeoutMs: 9000,
      maxMessageBytes: 65536,
      maxBodyChars: 300,
      maxInstances: 2,
      maxFailedStarts: 5,
    };
    assert.deepEqual(mcpExecutorOptionsFrom(flags), expected);
    assert.deepEqual((await executorOptionsFrom(flags, pool, undefined)).mcp, expected);
    assert.deepEqual((await executorOptionsFrom({ mcpMaxInstances: '3' }, pool, undefined)).mcp, {
      maxInstances: 3,
    });
    assert.equal((await executorOptionsFrom({}, pool, undefined)).mcp, undefined);
  });

  test('the run parameters record --mcp-max-body only when given (older runs resume unchanged)', () => {
    assert.equal('mcpMaxBody' in executorParameters({}), false);
    assert.equal(executorParameters({ mcpMaxBody: '0040' }).mcpMaxBody, '40');
  });
});
