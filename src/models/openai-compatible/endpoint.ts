/**
 * The identity of an OpenAI-compatible server, and the pre-flight probe that checks it answers.
 *
 * The identity (`normaliseBaseUrl`) is what messages name and what the response cache keys on: scheme
 * and host in lower case, no default port, no credentials, no query or fragment, no trailing slash.
 * Two spellings of one server give one identity; two servers never share one.
 */
import { request, type Dispatcher } from 'undici';
import { InputError, ServiceError } from '../../core/errors.js';
import { sharedHttpDispatcher } from '../../core/http-dispatcher.js';
import type { ProbeOptions } from '../chat-model.js';
import { abortedError } from '../model-errors.js';
import { errorCodeOf } from './errors.js';

/** Default time a probe may take. */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

/**
 * The normalised base URL of a server (see the file comment). Throws a one-line InputError when `url`
 * is not an http(s) URL; the message never repeats credentials the URL may hold.
 */
export function normaliseBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new InputError(
      `base URL "${stripCredentials(url)}" is not a URL (expected e.g. http://127.0.0.1:8000/v1)`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InputError(`base URL ${stripCredentials(url)} must be http:// or https://`);
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/** `url` without a `user:password@` part, for messages about unparseable URLs. */
function stripCredentials(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}

export interface ProbeTarget {
  /** Base URL requests go to (ending in /v1 for most servers). */
  baseUrl: string;
  /** Normalised base URL, named in messages. */
  endpoint: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** The route the backend posts to ("/chat/completions" or "/completions"), tried when /models is missing. */
  route: string;
}

type Outcome = { status: number } | { error: unknown };

/**
 * Checks that an OpenAI-compatible server answers, with one cheap request (`GET /models`, which every
 * common server offers and which costs no generation). When that route is missing (404/405), an empty
 * POST to the backend's own route tells a live API (it answers 400/422) from a wrong base URL (404).
 * Throws a one-line ServiceError (exit 3) naming the endpoint, never the key, when the server is
 * unreachable, does not answer in time, refuses the key, fails with 5xx, or has no such API.
 */
export async function probeOpenAICompatible(target: ProbeTarget, options: ProbeOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const where = target.endpoint;
  const first = await send(target, 'GET', '/models', timeoutMs, options.signal);
  let outcome = first;
  let tried = '/models';
  if ('status' in first && (first.status === 404 || first.status === 405)) {
    outcome = await send(target, 'POST', target.route, timeoutMs, options.signal);
    tried = `/models and ${target.route}`;
  }
  if ('error' in outcome) {
    if (options.signal?.aborted) throw abortedError(options.signal.reason);
    if (outcome.error === TIMED_OUT) {
      throw new ServiceError(`model server ${where} did not answer within ${timeoutMs} ms`);
    }
    const code = errorCodeOf(outcome.error) ?? 'no connection';
    throw new ServiceError(
      `model server ${where} is unreachable (${code}): is it running? check the base URL (\`baseUrl\`) or OPENAI_BASE_URL`,
      { cause: outcome.error, details: { reason: 'endpoint-unreachable', endpoint: where, code } },
    );
  }
  const { status } = outcome;
  if (status === 401 || status === 403) {
    throw new ServiceError(
      `model server ${where} refused the request (HTTP ${status}): check OPENAI_API_KEY`,
    );
  }
  if (status === 404) {
    throw new ServiceError(
      `no OpenAI-compatible API at ${where} (HTTP 404 on ${tried}): check the base URL (\`baseUrl\`; it usually ends in /v1)`,
      { details: { reason: 'no-openai-api', endpoint: where, tried } },
    );
  }
  if (status >= 500) {
    throw new ServiceError(`model server ${where} is failing (HTTP ${status} on ${tried})`);
  }
  // 2xx, 429 (alive, just busy) and other 4xx (the route exists) all mean the server answers.
}

const TIMED_OUT = Symbol('timed out');

async function send(
  target: ProbeTarget,
  method: 'GET' | 'POST',
  route: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = (): void => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  try {
    const answer: Dispatcher.ResponseData = await request(`${target.baseUrl}${route}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        ...(target.apiKey !== undefined ? { authorization: `Bearer ${target.apiKey}` } : {}),
        ...target.headers,
      },
      ...(method === 'POST' ? { body: '{}' } : {}),
      dispatcher: sharedHttpDispatcher(),
      signal: controller.signal,
    });
    // The body is not needed; reading it frees the keep-alive socket for the run.
    await answer.body.dump({ limit: 1_048_576 }).catch(() => undefined);
    return { status: answer.statusCode };
  } catch (error) {
    return { error: timedOut ? TIMED_OUT : error };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
