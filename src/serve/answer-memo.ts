/**
 * Answers kept for reuse when the executor is deterministic (`ToolExecutor.deterministic`: the same call
 * always gets the same observation, as with the schema executor). A request that carries the same inputs
 * as an earlier one on the same route is answered with the earlier answer, without collecting and checking
 * the arguments, calling the executor and writing the response again: on a warm cache that pipeline is most
 * of a request's cost (see docs/benchmarks.md, "Virtual API server").
 *
 * What a request's arguments can come from, and so what the key holds: the route, the URL (path and
 * query), and the headers and cookies the route's functions declare as parameters. Requests with a body are
 * not memoised. The access checks run before any route, so a memoised answer is never sent to a request
 * they refuse. Only the API's own answers are kept (not rejections or failures), FIFO-bounded in entries
 * and characters.
 */
import type { FastifyRequest } from 'fastify';
import type { ToolFunction } from '../core/tool.js';
import { headerValue, requestInputsOf } from './arguments.js';
import type { RouteGroup } from './mount.js';
import type { Answer } from './reply.js';

/** Default bound on memoised answers (`ToolServerOptions.answerMemoSize`). */
export const DEFAULT_ANSWER_MEMO_SIZE = 1000;
/** Characters of keys and payloads kept at most. */
const MAX_MEMO_CHARS = 32 * 1024 * 1024;
/** Larger answers are not kept. */
const MAX_ANSWER_CHARS = 1024 * 1024;

export interface AnswerMemo {
  get(key: string): Answer | undefined;
  set(key: string, answer: Answer): void;
}

/** A memo of at most `maxEntries` answers; undefined when `maxEntries` is 0. */
export function createAnswerMemo(maxEntries: number, maxChars = MAX_MEMO_CHARS): AnswerMemo | undefined {
  if (!(maxEntries > 0)) return undefined;
  const answers = new Map<string, Answer>();
  let chars = 0;
  const sizeOf = (key: string, answer: Answer): number =>
    key.length + (typeof answer.payload === 'string' ? answer.payload.length : 0);
  return {
    get: (key) => answers.get(key),
    set(key, answer) {
      const size = sizeOf(key, answer);
      if (!answer.reusable || size > MAX_ANSWER_CHARS || answers.has(key)) return;
      answers.set(key, answer);
      chars += size;
      for (const [oldKey, old] of answers) {
        if (answers.size <= maxEntries && chars <= maxChars) break;
        answers.delete(oldKey);
        chars -= sizeOf(oldKey, old);
      }
    },
  };
}

/** How a routed group's requests are keyed: its prefix and the headers its functions read arguments from. */
export interface MemoKeying {
  prefix: string;
  headers: string[];
}

/** The keying of a group served as fastify route number `routeId`. */
export function memoKeying(routeId: number, group: RouteGroup): MemoKeying {
  const headers = new Set<string>();
  for (const { fn } of group.candidates) for (const name of inputHeaders(fn)) headers.add(name);
  return { prefix: `${routeId} `, headers: [...headers].sort() };
}

function inputHeaders(fn: ToolFunction): string[] {
  const inputs = requestInputsOf(fn);
  return inputs.cookies ? [...inputs.headers, 'cookie'] : inputs.headers;
}

/**
 * The memo key of a request on a keyed route, or undefined when the request is not memoised (it has a
 * body). A request target holds no spaces, so the parts cannot run into each other.
 */
export function memoKey(keying: MemoKeying, request: FastifyRequest): string | undefined {
  if (request.body !== undefined) return undefined;
  const key = keying.prefix + request.url;
  if (keying.headers.length === 0) return key;
  const values = keying.headers.map((name) => headerValue(request.headers[name]) ?? null);
  return `${key} ${JSON.stringify(values)}`;
}
