/**
 * What the server's hooks and routes share: the mounted tools, the executor, the public base URL (known
 * once listening) and the per-request source shown in the log line.
 */
import type { FastifyRequest } from 'fastify';
import type { ToolExecutor } from '../executors/executor.js';
import type { MountedTool } from './mount.js';

export interface ServeContext {
  tools: Map<string, MountedTool>;
  executor: ToolExecutor;
  bodyLimit: number;
  /** Base URL of the links in documents and 404 answers, without a trailing slash. */
  baseUrl: string;
  /** Where a request's answer came from (`schema`, `validation`, `not-found`...), for the log line. */
  sources: WeakMap<FastifyRequest, string>;
}

/** The URL of a mounted tool, e.g. `http://127.0.0.1:8000/Nager.Date`. */
export function toolUrl(context: ServeContext, m: MountedTool): string {
  return `${context.baseUrl}${m.prefix}`;
}
