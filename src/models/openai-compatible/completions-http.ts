/**
 * The non-streaming chat-completions call over undici's `request` API, with the process's keep-alive
 * dispatcher (which also applies HTTP(S)_PROXY / NO_PROXY, see core/http-dispatcher.ts).
 *
 * Why not the `openai` SDK here: a generation run keeps dozens of calls in flight, and at concurrency 32
 * on a 2-core machine the client's own CPU between two waves of answers decides the throughput. Through
 * the SDK and the global fetch a call costs about 1 ms of client CPU (request/response objects, web
 * streams, abort plumbing, header building); through `request` it costs about 0.3 ms (`bench/models`).
 * The wire format is the same JSON, and failures are turned into the SDK's own error classes so that
 * `classifyOpenAIError` treats both paths alike. Streaming (SSE) stays on the SDK.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { request, type Dispatcher } from 'undici';
import { sharedHttpDispatcher } from '../../core/http-dispatcher.js';

// A connect timeout is not here: classifyOpenAIError reports it as an unreachable server.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function responseHeaders(headers: Dispatcher.ResponseData['headers']): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) out.append(name, item);
  }
  return out;
}

/** What a failed request threw, as the SDK would have thrown it. */
function asSdkError(error: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted === true) return new APIUserAbortError();
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new APIConnectionTimeoutError();
  }
  return new APIConnectionError({ cause: error instanceof Error ? error : new Error(String(error)) });
}

export interface CompletionPost {
  /** Base URL ending in /v1. */
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** Longest wait for the answer's headers and between body chunks, ms. */
  timeoutMs: number;
  /** Largest body read, in bytes; a longer one fails the call without being held in memory. */
  maxBodyBytes?: number;
}

/** Thrown when a body is larger than `CompletionPost.maxBodyBytes` (mapped to a ModelCallError by the caller). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the reply body is larger than the ${limit}-byte limit`);
    this.name = 'BodyTooLargeError';
  }
}

/** Reads a body as text, up to `limit` bytes: a larger one is dropped and BodyTooLargeError thrown. */
async function readBody(answer: Dispatcher.ResponseData, limit: number | undefined): Promise<string> {
  if (limit === undefined) return answer.body.text();
  // Dropping an oversized body destroys the stream, which then reports an abort nobody else listens to.
  answer.body.on('error', () => undefined);
  const declared = Number(answer.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    answer.body.destroy();
    throw new BodyTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of answer.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      answer.body.destroy();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * POSTs one chat-completions body (without `stream`) and returns the parsed completion. Throws the SDK's
 * error classes: APIError subclasses for non-2xx answers, APIConnectionError / APIConnectionTimeoutError
 * for transport failures, APIUserAbortError when the signal fired; a 2xx body that is not JSON throws a
 * SyntaxError; a body over `maxBodyBytes` a BodyTooLargeError.
 */
export async function postChatCompletion(
  target: CompletionPost,
  body: object,
  signal: AbortSignal | undefined,
): Promise<ChatCompletion> {
  return (await postJson(target, '/chat/completions', { ...body, stream: false }, signal)) as ChatCompletion;
}

/** POSTs a JSON body to `{baseUrl}{route}` and returns the parsed JSON answer (errors as `postChatCompletion`). */
export async function postJson(
  target: CompletionPost,
  route: string,
  body: object,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  let answer: Dispatcher.ResponseData;
  let text: string;
  try {
    answer = await request(`${target.baseUrl}${route}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(target.apiKey !== undefined ? { authorization: `Bearer ${target.apiKey}` } : {}),
        ...target.headers,
      },
      body: JSON.stringify(body),
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      dispatcher: sharedHttpDispatcher(),
      ...(signal !== undefined ? { signal } : {}),
    });
    text = await readBody(answer, target.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw asSdkError(error, signal);
  }
  if (answer.statusCode < 200 || answer.statusCode >= 300) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw APIError.generate(
      answer.statusCode,
      parsed as object | undefined,
      parsed === undefined ? text : undefined,
      responseHeaders(answer.headers),
    );
  }
  return JSON.parse(text) as unknown;
}
