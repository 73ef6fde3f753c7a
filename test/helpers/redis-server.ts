/**
 * A real `redis-server` for queue tests: started on a free loopback port with its data in a temp
 * folder (AOF on, fsync on every write, so that a server killed with -9 and restarted loses nothing).
 * Without the binary the tests are skipped, except under CI=true, where they fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { closedPort } from './net.js';

/** The redis-server binary on PATH (or Debian's), if installed. */
export function redisServerBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'redis-server');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `{ skip }` for node:test when redis-server is missing; under CI=true a missing binary is an error
 * (the test must run there, not be skipped).
 */
export function redisTestOptions(): { skip?: string } {
  if (redisServerBinary() !== undefined) return {};
  if (process.env.CI === 'true') {
    throw new Error(
      'redis-server is not installed, and CI=true: install it (apt-get install -y redis-server)',
    );
  }
  return { skip: 'redis-server is not installed' };
}

export interface RedisProcess {
  port: number;
  /** `redis://[:PASSWORD@]127.0.0.1:PORT/0`. */
  url: string;
  /** Kills the server with SIGKILL and starts it again on the same port and data (AOF). */
  restart(): Promise<void>;
  /** Kills it (SIGKILL) and resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again after `kill`. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(dir: string, options: { password?: string } = {}): Promise<RedisProcess> {
  const binary = redisServerBinary();
  if (binary === undefined) throw new Error('redis-server is not installed');
  const port = await closedPort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
      '--logfile',
      '',
      ...(options.password !== undefined ? ['--requirepass', options.password] : []),
    ];
    const started = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (/Ready to accept connections/.test(output)) {
          started.stdout?.off('data', onData);
          started.stdout?.resume();
          resolve();
        }
      };
      started.stdout?.on('data', onData);
      started.stderr?.resume();
      started.once('exit', (code) =>
        reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`)),
      );
    });
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await gone;
  };
  await start();
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}/0`,
    restart: async () => {
      await kill();
      await start();
    },
    kill,
    start,
    stop: kill,
  };
}
