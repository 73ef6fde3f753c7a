/**
 * The compiled CLI as a child process the test can watch and kill (kill -9, Ctrl-C) while it runs, and
 * the durable logs it writes read line by line. For a run that simply finishes, `runCli` (./cli.ts)
 * is enough.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cliPath, type RunCliResult } from './cli.js';

/** The launcher under test (TOOLALPACA_TEST_CLI overrides it to check a build made elsewhere). */
export const testCli: string = process.env.TOOLALPACA_TEST_CLI ?? cliPath;

/**
 * Starts the CLI in `cwd` with piped output, CI=true (plain progress lines) and a test OpenAI key.
 * `done` resolves when it exits; a SIGKILL reads as code 137.
 */
export function startCli(args: string[], cwd: string): { child: ChildProcess; done: Promise<RunCliResult> } {
  const child = spawn(process.execPath, [testCli, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', CI: 'true', OPENAI_API_KEY: 'test-key' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => stdout.push(c));
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  const done = new Promise<RunCliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal === 'SIGKILL' ? 137 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
  });
  return { child, done };
}

/** A CLI process started by `startWatched`: its exit, and a wait for a line on its stderr. */
export interface WatchedCli {
  child: ChildProcess;
  done: Promise<RunCliResult>;
  /** Resolves when the process printed a line matching `pattern` on stderr (false if it ended first). */
  printed(pattern: RegExp): Promise<boolean>;
}

/**
 * `startCli`, watched: the process is in `running` until it exits (so a test's `after` can kill what
 * is left), and `printed` waits for a line on its stderr.
 */
export function startWatched(args: string[], cwd: string, running: Set<WatchedCli>): WatchedCli {
  const cli = startCli(args, cwd);
  let text = '';
  cli.child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const printed = (pattern: RegExp): Promise<boolean> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (pattern.test(text)) resolve(true);
      };
      check();
      cli.child.stderr?.on('data', check);
      void cli.done.then(() => resolve(pattern.test(text)));
    });
  const started: WatchedCli = { ...cli, printed };
  running.add(started);
  void started.done.then(() => running.delete(started));
  return started;
}

/** `startCli` run to its end; killed with SIGKILL (code 137) after `timeoutMs`. */
export async function runCliIn(args: string[], cwd: string, timeoutMs: number): Promise<RunCliResult> {
  const { child, done } = startCli(args, cwd);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

/** `String(line[field])` of every JSONL line of type `type` in `path` (none when it does not exist). */
export function loggedValues(path: string, type: string, field: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const value = JSON.parse(line) as Record<string, unknown> & { type?: string };
        return value.type === type ? [String(value[field])] : [];
      } catch {
        return [];
      }
    });
}

/** Polls `condition` every `intervalMs` until it holds or `timeoutMs` has passed. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  intervalMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, intervalMs));
}
