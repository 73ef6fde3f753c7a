/**
 * Runs the compiled CLI (`node bin/toolalpaca.js ...`) exactly as a user would. `dist/` must be built
 * (scripts/run-tests.mjs builds before running tests).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface RunCliOptions {
  /** Working directory; the repository root by default. */
  cwd?: string;
  /** Extra environment variables, merged over the current environment (undefined removes one). */
  env?: Record<string, string | undefined>;
  /** Text written to the program's stdin (stdin is closed either way). */
  input?: string;
  /** Kill the program after this many milliseconds (default 90 s: CI machines can be slow) and reject. */
  timeoutMs?: number;
}

export interface RunCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Absolute path of the CLI launcher. */
export const cliPath: string = join(repoRoot, 'bin', 'toolalpaca.js');

export function runCli(args: string[], options: RunCliOptions = {}): Promise<RunCliResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, NO_COLOR: '1', ...options.env })) {
    if (value !== undefined) env[key] = value;
  }
  const timeoutMs = options.timeoutMs ?? 90_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`toolalpaca ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code: code ?? (signal === null ? 1 : 128),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    // The child may exit before reading stdin; ignore the resulting EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/**
 * `generate` over `tools` with the schema executor and the scripted `openai:fake-model` at `baseUrl`
 * (the fake server), then `rest`: the start of the generation most CLI tests and benches run.
 */
export function fakeGenerateArgs(tools: string, baseUrl: string, ...rest: string[]): string[] {
  return [
    'generate',
    '--tools',
    tools,
    '--executor',
    'schema',
    '--model',
    'openai:fake-model',
    '--base-url',
    baseUrl,
    ...rest,
  ];
}
