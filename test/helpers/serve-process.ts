/** `toolalpaca serve` from the compiled CLI in a child process, resolved on its ready line. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cliPath } from './cli.js';
import { repoRoot } from './paths.js';

export interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  readyLine: string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `toolalpaca serve ARGS` (extra environment in `env`) and resolves on its ready line. */
export function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [cliPath, 'serve', ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line within 30 s: ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^serving (\d+) tools at (http:\/\/\S+)$/m.exec(stdout);
      if (match?.[2]) {
        clearTimeout(timer);
        resolve({
          child,
          url: match[2],
          readyLine: match[0],
          stderr: () => stderr,
          exit,
          async stop() {
            child.kill('SIGTERM');
            return (await exit).code;
          },
        });
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code} before it was ready: ${stderr}`));
    });
  });
}
