/**
 * One vocabulary of exit codes across commands: 0 ok, 2 usage errors (commander's unknown option,
 * missing argument, bad value) and unreadable input. Every command of the program is checked in-process;
 * a few are also run through the built CLI as a user would.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram, main } from '../../src/cli/main.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

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
