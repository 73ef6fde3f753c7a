/**
 * One vocabulary of exit codes across commands: 0 ok, 2 usage errors (commander's unknown option,
 * missing argument, bad value) and unreadable input, 4 a run that finished with tasks failed for an
 * infrastructure reason, 130 interrupted. Every command of the program is checked in-process for usage
 * errors; 4 and 130 are checked through the built CLI for each of the five run kinds (generate, eval
 * run, solve, toolset build, eval judge) against the fake OpenAI server (3 is in run-reliability).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram, main } from '../../src/cli/main.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { loggedValues, runCliIn, startCli, waitUntil } from '../helpers/cli-process.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeResponder } from '../helpers/fake-openai-server.js';
import { closedPort } from '../helpers/net.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { evalWorld, goldenByInstruction } from '../eval/eval-world.js';

/** Every command that does something (leaves of the command tree), as argv paths. */
function leafCommands(command: Command, path: string[] = []): string[][] {
  const children = command.commands as Command[];
  if (children.length === 0) return [path];
  return children.flatMap((child) => leafCommands(child, [...path, child.name()]));
}

/** main() with stdout/stderr captured. */
async function runInProcess(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  const previousExitCode = process.exitCode;
  try {
    const code = await main(['node', 'toolalpaca', ...argv]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    process.exitCode = previousExitCode;
  }
}

const commands = leafCommands(await buildProgram());

describe('exit codes', () => {
  test('the program has the commands the README lists', () => {
    const names = commands.map((path) => path.join(' '));
    for (const expected of ['generate', 'eval run', 'eval judge', 'solve', 'serve', 'export', 'tools list']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
  });

  test('--help exits 0 for every command', async () => {
    for (const path of commands) {
      const result = await runInProcess([...path, '--help']);
      assert.equal(result.code, 0, `${path.join(' ')} --help`);
      assert.match(result.stdout, /Usage: /, path.join(' '));
    }
  });

  test('an unknown option is a usage error, exit 2, for every command', async () => {
    for (const path of commands) {
      const result = await runInProcess([...path, '--no-such-option-here']);
      assert.equal(result.code, 2, `${path.join(' ')}: ${result.stderr}`);
      // Commands with a required option report that first; either way it is a usage error.
      assert.match(result.stderr, /unknown option '--no-such-option-here'|required option/, path.join(' '));
    }
  });

  test('an unknown command is exit 2', async () => {
    const result = await runInProcess(['no-such-command']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command 'no-such-command'/);
  });

  test('through the built CLI: unknown option and missing argument exit 2, --help exits 0', async () => {
    const unknown = await runCli(['tools', 'list', '--bogus']);
    assert.equal(unknown.code, 2, unknown.stderr);
    const missing = await runCli(['chat']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /missing required argument/);
    const help = await runCli(['generate', '--help']);
    assert.equal(help.code, 0);
  });

  test('--out onto a folder: exit 2 in one line before any instance runs, nothing written beside it', async () => {
    const server = await startFakeOpenAI();
    try {
      const dir = makeTempDir();
      const out = join(dir, 'corpus-folder');
      await import('node:fs/promises').then((fs) => fs.mkdir(out));
      const tools = sharedData('toolalpaca/eval_simulated.json');
      const model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
      for (const args of [
        ['generate', '--tools', tools, '--executor', 'schema', ...model, '--out', out, '--limit', '1'],
        ['eval', 'run', '--tools', tools, '--executor', 'schema', ...model, '--out', out, '--limit', '1'],
      ]) {
        const result = await runCli(args, { cwd: dir });
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stderr, `toolalpaca: ${out}: is a folder; --out needs a file path\n`);
        assert.equal(server.chatRequests().length, 0, 'no instance ran');
        assert.equal(existsSync(`${out}.log.jsonl`) || existsSync(`${out}.lock`), false);
        assert.equal(existsSync(join(dirname(out), 'corpus-folder.meta.json')), false);
      }
    } finally {
      await server.close();
    }
  });
});

describe('exit 4 and 130 for every run kind (built CLI, fake server)', () => {
  const EVAL = sharedData('toolalpaca/eval_simulated.json');
  let server: FakeOpenAI;
  let world: FakeResponder;
  /** A finished `eval run` (every item completed), the input of `eval judge`. */
  let runFile: string;
  const model = (): string[] => [
    '--base-url',
    server.baseUrl,
    '--no-cache',
    '--max-retries',
    '0',
    '--concurrency',
    '1',
  ];

  /** The five run kinds: arguments writing into `dir`, the journal, what the tasks are called. */
  const kinds: Record<string, (dir: string) => { args: string[]; journal: string; what: RegExp }> = {
    generate: (dir) => ({
      args: [
        'generate',
        '--tools',
        EVAL,
        '--executor',
        'schema',
        '--model',
        'openai:fake-model',
        ...model(),
      ].concat(['--out', join(dir, 'corpus.json'), '--limit', '4']),
      journal: join(dir, 'corpus.json.log.jsonl'),
      what: /1 instance/,
    }),
    'eval run': (dir) => ({
      args: ['eval', 'run', '--tools', EVAL, '--executor', 'schema', '--model', 'openai:fake-model'].concat(
        model(),
        ['--out', join(dir, 'run.json'), '--limit', '4'],
      ),
      journal: join(dir, 'run.json.log.jsonl'),
      what: /1 instruction/,
    }),
    solve: (dir) => ({
      args: [
        'solve',
        '--tasks',
        sharedData('stabletoolbench/G1_instruction.json'),
        '--solver',
        'react',
      ].concat(['--model', 'openai:fake-model', ...model(), '--out', join(dir, 'answers'), '--limit', '4']),
      journal: join(dir, 'answers.log.jsonl'),
      what: /1 query/,
    }),
    'toolset build': (dir) => ({
      args: ['toolset', 'build', '--catalog', sharedData('toolalpaca/public_apis.json')].concat([
        '--model',
        'openai:fake-model',
        ...model(),
        '--out',
        join(dir, 'toolset.json'),
        '--limit',
        '4',
      ]),
      journal: join(dir, 'toolset.json.log.jsonl'),
      what: /1 tool/,
    }),
    'eval judge': (dir) => ({
      args: ['eval', 'judge', runFile, '--judge-model', 'openai:fake-model', ...model()].concat([
        '--out',
        join(dir, 'judged.json'),
      ]),
      journal: join(dir, 'judged.json.log.jsonl'),
      what: /1 item/,
    }),
  };

  before(async () => {
    server = await startFakeOpenAI();
    const evalResponder = evalWorld({ golden: goldenByInstruction(await readToolAlpacaFile(EVAL)) });
    // Native tool calls (solve's react solver) finish at once; every other prompt gets the eval world.
    world = (body) =>
      body.tools !== undefined
        ? {
            toolCalls: [
              {
                name: 'Finish',
                arguments: JSON.stringify({ return_type: 'give_answer', final_answer: 'Done.' }),
              },
            ],
          }
        : evalResponder(body);
    server.setDefault(world);
    const dir = makeTempDir();
    runFile = join(dir, 'run.json');
    const made = await runCliIn(kinds['eval run']!(dir).args, dir, 120_000);
    assert.equal(made.code, 0, made.stderr);
    const items = (JSON.parse(readFileSync(runFile, 'utf8')) as { items: { status?: string }[] }).items;
    assert.equal(items.length, 4);
    assert.ok(
      items.every((item) => item.status !== 'failed'),
      'every item can be judged',
    );
  });
  after(() => server.close());

  test('a bad --out and a dead server: the usage error (2) wins over the pre-flight (3), every run kind', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/v1`;
    for (const [kind, make] of Object.entries(kinds)) {
      const dir = makeTempDir();
      const { args } = make(dir);
      const at = args.indexOf('--out');
      // solve writes into a folder (an existing file is wrong there); the others write a file.
      const bad = join(dir, kind === 'solve' ? 'a-file' : 'a-folder');
      if (kind === 'solve') writeFileSync(bad, '');
      else mkdirSync(bad);
      const withBadOut = args.map((arg, i) => (i === at + 1 ? bad : arg === server.baseUrl ? dead : arg));
      const result = await runCliIn(withBadOut, dir, 120_000);
      assert.equal(result.code, 2, `${kind}: ${result.stderr}`);
      assert.equal(
        result.stderr,
        `toolalpaca: ${bad}: ${kind === 'solve' ? 'is a file; --out needs a folder' : 'is a folder; --out needs a file path'}\n`,
        kind,
      );
    }
  });

  for (const [kind, make] of Object.entries(kinds)) {
    test(`${kind}: one task failed for an infrastructure reason → exit 4, one line with the count`, async () => {
      const dir = makeTempDir();
      const { args, journal, what } = make(dir);
      server.setDefault(world);
      // The first chat request of the run gets a 502 (no retries): that task fails for the service.
      server.script({ fault: 'server_error', status: 502 });
      try {
        const result = await runCliIn(args, dir, 120_000);
        assert.equal(result.code, 4, result.stderr);
        const line = result.stderr.split('\n').find((l) => l.includes('infrastructure reason')) ?? '';
        assert.match(
          line,
          /^toolalpaca: 1 \S+ failed for an infrastructure reason \(http:\/\/127\.0\.0\.1:\d+\/v1\)/,
        );
        assert.match(line, what);
        assert.equal(new Set(loggedValues(journal, 'task', 'id')).size, 4, 'the other tasks ran');
      } finally {
        server.reset();
        server.setDefault(world);
      }
    });

    test(`${kind}: Ctrl-C → exit 130, finished tasks kept in the journal`, async () => {
      const dir = makeTempDir();
      const { args, journal } = make(dir);
      const finished = (): number => loggedValues(journal, 'task', 'id').length;
      // Once a task is journalled every request hangs: the run cannot end on its own, whatever the load.
      server.setDefault((body) => (finished() >= 1 ? { fault: 'hang' } : world(body)));
      try {
        const { child, done } = startCli([...args, '--grace', '0'], dir);
        await waitUntil(() => finished() >= 1, 60_000, 20);
        assert.ok(finished() >= 1, 'a task was journalled');
        child.kill('SIGINT');
        const result = await done;
        assert.equal(result.code, 130, result.stderr);
        assert.match(result.stderr, /interrupted/);
        const kept = finished();
        assert.ok(kept >= 1 && kept < 4, `${kept} tasks journalled`);
      } finally {
        server.reset();
        server.setDefault(world);
      }
    });
  }
});
