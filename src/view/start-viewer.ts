/**
 * The viewer in one call, as `toolalpaca view` starts it: the paths detected, the server listening, the
 * files read in the background (`ready`), browsers told when a watched file changes.
 */
import { InputError } from '../core/errors.js';
import { detectPaths } from './detect.js';
import { startViewServer, type ViewServer, type ViewServerOptions } from './server.js';
import { Viewer } from './viewer.js';

export interface StartViewerOptions extends ViewServerOptions {
  /** Where relative paths are resolved. Default `process.cwd()`. */
  cwd?: string;
  /** Re-read files when they change (default true). */
  watch?: boolean;
}

export interface RunningViewer {
  viewer: Viewer;
  server: ViewServer;
  /** The URL to open, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Resolves once every file has been read (each source reports its own error, if any). */
  ready: Promise<void>;
  /** Stops watching and closes the server. */
  close(): Promise<void>;
}

/** Starts a viewer over `paths` (files or folders); the server listens before the files are read. */
export async function startViewer(
  paths: readonly string[],
  options: StartViewerOptions = {},
): Promise<RunningViewer> {
  if (paths.length === 0) throw new InputError('viewer: give at least one file or folder');
  const { cwd, watch, ...serverOptions } = options;
  const detected = await detectPaths(paths, cwd);
  let server: ViewServer | undefined;
  const viewer = await Viewer.create(detected, {
    ...(watch === false ? { watch: false } : {}),
    onChange: () => server?.broadcast(),
  });
  try {
    server = await startViewServer(viewer, serverOptions);
  } catch (error) {
    await viewer.close();
    throw error;
  }
  const running = server;
  let closing: Promise<void> | undefined;
  return {
    viewer,
    server: running,
    url: running.url,
    ready: viewer.open(),
    close(): Promise<void> {
      if (closing === undefined) closing = viewer.close().then(() => running.close());
      return closing;
    },
  };
}
