/**
 * `toolalpaca view PATH… [--port N] [--host 127.0.0.1]`: a local web app over corpora, tool files,
 * generation logs (live), runs and judged files, ToolBench answers, ToolEval results and exports. The
 * kind of each path is detected from its content; files are indexed on this machine and paged to the
 * browser; nothing leaves the machine. Stops cleanly on SIGTERM or SIGINT.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { FILE_KIND_LABELS } from '../view/api.js';
import type { ViewServer } from '../view/server.js';
import type { Viewer, ViewerOptions } from '../view/viewer.js';

export const DEFAULT_VIEW_PORT = 8100;

export interface ViewFlags {
  port?: string;
  host?: string;
  allowHost?: string[];
  watch?: boolean;
}

export interface ViewIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  cwd?: string;
}

export interface RunningView {
  viewer: Viewer;
  server: ViewServer;
  stop(): Promise<void>;
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_VIEW_PORT;
  const port = Number(value);
  if (value.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InputError(`--port: expected an integer from 0 to 65535, got "${value}"`);
  }
  return port;
}

/**
 * Detects the paths, starts the server (printing its URL), then reads the files in the background: the
 * list is served from the items read so far. `options.pauseIndexing` holds indexing (tests).
 */
export async function startView(
  paths: readonly string[],
  flags: ViewFlags,
  io: ViewIo,
  options: Pick<ViewerOptions, 'pauseIndexing'> = {},
): Promise<RunningView> {
  if (paths.length === 0) throw new InputError('view: give at least one file or folder');
  const port = parsePort(flags.port);
  const host = flags.host ?? '127.0.0.1';
  // Loaded here, not at start-up: other commands do not pay for the viewer's modules.
  const [{ detectPaths }, { isLoopbackAddress, parseAllowedHost }, { startViewServer }, { Viewer }] =
    await Promise.all([
      import('../view/detect.js'),
      import('../serve/access.js'),
      import('../view/server.js'),
      import('../view/viewer.js'),
    ]);
  for (const entry of flags.allowHost ?? []) {
    if (parseAllowedHost(entry) === undefined) {
      throw new InputError(`--allow-host: expected NAME or NAME:PORT, got "${entry}"`);
    }
  }
  const detected = await detectPaths(paths, io.cwd);
  let server: ViewServer | undefined;
  const viewer = await Viewer.create(detected, {
    ...options,
    ...(flags.watch === false ? { watch: false } : {}),
    onChange: () => server?.broadcast(),
  });
  try {
    server = await startViewServer(viewer, { host, port, allowHosts: flags.allowHost ?? [] });
  } catch (error) {
    await viewer.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new InputError(`view: cannot listen on ${host}:${port}: ${code}`, { cause: error });
    }
    throw error;
  }
  if (!isLoopbackAddress(host)) {
    io.stderr.write(
      `toolalpaca: warning: listening on ${host}: anyone who can reach this address can read the files\n`,
    );
  }
  io.stdout.write(`viewing ${detected.length} file(s) at ${server.url}\n`);
  const started = Date.now();
  void viewer.open().then(() => {
    for (const source of viewer.sources) {
      const info = source.info();
      const problem = info.error !== undefined ? ` (${info.error})` : '';
      io.stderr.write(`  ${info.path}: ${FILE_KIND_LABELS[info.kind]}, ${info.count} items${problem}\n`);
    }
    io.stderr.write(`read in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });
  const running = server;
  let stopping: Promise<void> | undefined;
  return {
    viewer,
    server: running,
    stop() {
      stopping ??= (async () => {
        await viewer.close();
        await running.close();
      })();
      return stopping;
    },
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerViewCommand(program: Command): void {
  program
    .command('view')
    .description(
      'A local web viewer: corpora, tool files, generation logs (live), runs and judged files, ToolBench answers and search trees, ToolEval results, exports with token masks.',
    )
    .argument('<paths...>', 'files or folders (the kind of each is detected from its content)')
    .option('--port <port>', `port to listen on (0: any free port)`, String(DEFAULT_VIEW_PORT))
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--allow-host <name>', 'also accept this Host header name (repeatable)', collect)
    .option('--no-watch', 'read each file once; do not follow appended lines or rewrites')
    .action(async (paths: string[], flags: ViewFlags) => {
      const io: ViewIo = { stdout: process.stdout, stderr: process.stderr };
      const running = await startView(paths, flags, io);
      await new Promise<void>((resolve, reject) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          io.stderr.write(`toolalpaca: ${signal}: closing the viewer\n`);
          running.stop().then(resolve, reject);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    });
}
