/**
 * What the server's hooks and routes share: the mounted tools, the executor, the public base URL (known
 * once listening). Where each request's answer came from, shown in the log line, is a request property.
 */
import type { FastifyRequest } from 'fastify';
import type { ToolExecutor } from '../executors/executor.js';
import type { AnswerMemo } from './answer-memo.js';
import type { MountedTool } from './mount.js';

export interface ServeContext {
  tools: Map<string, MountedTool>;
  executor: ToolExecutor;
  bodyLimit: number;
  /** Base URL of the links in documents and 404 answers, without a trailing slash. */
  baseUrl: string;
  /** Answers kept for reuse, when the executor is deterministic (see `answer-memo.ts`). */
  memo?: AnswerMemo;
}

/** The request property (declared with `decorateRequest`) holding where its answer came from. */
export const SOURCE_PROPERTY = 'toolalpacaSource';

type SourcedRequest = FastifyRequest & { [SOURCE_PROPERTY]?: string };

/** Records where a request's answer came from (`schema`, `validation`, `not-found`...), for the log line. */
export function setSource(request: FastifyRequest, source: string): void {
  (request as SourcedRequest)[SOURCE_PROPERTY] = source;
}

/** Where a request's answer came from, or `-`. */
export function sourceOf(request: FastifyRequest): string {
  return (request as SourcedRequest)[SOURCE_PROPERTY] || '-';
}

/** The URL of a mounted tool, e.g. `http://127.0.0.1:8000/Nager.Date`. */
export function toolUrl(context: ServeContext, m: MountedTool): string {
  return `${context.baseUrl}${m.prefix}`;
}
