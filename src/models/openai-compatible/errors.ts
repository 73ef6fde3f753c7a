/**
 * Classifies whatever the `openai` SDK (or the fetch under it) throws into a ModelCallError, so that
 * one retry policy serves every backend. Messages are one line and never contain the API key.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { messageOf, oneLine } from '../../core/errors.js';
import { ModelCallError, abortedError } from '../model-errors.js';

/**
 * Milliseconds to wait from a response's `retry-after-ms` or `retry-after` header (seconds or an
 * HTTP date). Undefined when absent or unreadable.
 */
export function parseRetryAfter(
  headers: Headers | Record<string, string | undefined> | undefined | null,
  now: number = Date.now(),
): number | undefined {
  if (headers === undefined || headers === null) return undefined;
  const get = (name: string): string | undefined => {
    if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
    const record = headers as Record<string, string | undefined>;
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : record[key];
  };
  const ms = get('retry-after-ms');
  if (ms !== undefined && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const raw = get('retry-after')?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw) * 1000;
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Removes the API key (and anything that looks like an OpenAI-style key) from a message. */
export function redactSecrets(text: string, apiKey?: string): string {
  let out = text;
  if (apiKey !== undefined && apiKey.length >= 4) out = out.split(apiKey).join('***');
  // Servers echo partly masked keys ("Incorrect API key provided: sk-ab***yz"); drop them whole.
  return out.replace(/\b(sk|rk|pk)-[A-Za-z0-9_*.-]{4,}/g, '$1-***').replace(/Bearer\s+\S+/gi, 'Bearer ***');
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The message of the innermost `cause`. */
function rootCauseMessage(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 8; depth++) {
    const next = (current as { cause?: unknown } | null | undefined)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  return messageOf(current);
}

/** The first system error code (ECONNREFUSED, UND_ERR_SOCKET...) in an error's cause chain. */
export function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const innerCode = errorCodeOf(inner);
        if (innerCode !== undefined) return innerCode;
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isAbortLike(error: unknown): boolean {
  return (
    error instanceof APIUserAbortError ||
    (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))
  );
}

export interface ClassifyContext {
  baseUrl: string;
  apiKey?: string;
}

/** Turns any thrown value from the SDK into a ModelCallError (returned, not thrown). */
export function classifyOpenAIError(error: unknown, context: ClassifyContext): ModelCallError {
  if (error instanceof ModelCallError) return error;
  const where = context.baseUrl;
  const clean = (text: string): string => oneLine(redactSecrets(text, context.apiKey), 300);

  if (isAbortLike(error)) return abortedError(error);
  if (error instanceof APIConnectionTimeoutError) {
    return new ModelCallError(`request to ${where} timed out`, { kind: 'timeout', cause: error });
  }
  if (error instanceof APIConnectionError) {
    const code = errorCodeOf(error);
    const root = rootCauseMessage(error);
    // fetch refuses some ports outright ("bad port"), before any connection attempt.
    if ((code !== undefined && UNREACHABLE_CODES.has(code)) || (code === undefined && root === 'bad port')) {
      return new ModelCallError(
        `cannot reach ${where} (${code ?? root}): is the server running? set the base URL (\`baseUrl\`) or OPENAI_BASE_URL`,
        {
          kind: 'connection',
          cause: error,
          details: { reason: 'connection-refused', endpoint: where, code: code ?? root },
        },
      );
    }
    const detail = code ?? clean(root);
    return new ModelCallError(`connection to ${where} failed (${detail})`, {
      kind: 'connection',
      cause: error,
    });
  }
  if (error instanceof APIError) {
    const status = error.status;
    const serverMessage = clean(
      typeof (error.error as { message?: unknown } | undefined)?.message === 'string'
        ? (error.error as { message: string }).message
        : error.message,
    );
    const text = `HTTP ${status ?? '?'} from ${where}${serverMessage !== '' ? `: ${serverMessage}` : ''}`;
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(error.headers);
      return new ModelCallError(`rate limited: ${text}`, {
        kind: 'rate_limited',
        status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        cause: error,
      });
    }
    if (status !== undefined && status >= 500) {
      const retryAfterMs = parseRetryAfter(error.headers);
      return new ModelCallError(`server error: ${text}`, {
        kind: 'server_error',
        status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        cause: error,
      });
    }
    if (status === 408)
      return new ModelCallError(`timed out: ${text}`, { kind: 'timeout', status, cause: error });
    if (status === 401 || status === 403) {
      return new ModelCallError(`${text} (check OPENAI_API_KEY)`, {
        kind: 'client_error',
        status,
        cause: error,
      });
    }
    return new ModelCallError(text, { kind: 'client_error', status, cause: error });
  }
  if (error instanceof SyntaxError) {
    return new ModelCallError(`malformed JSON from ${where}: ${clean(error.message)}`, {
      kind: 'bad_response',
      cause: error,
    });
  }
  const code = errorCodeOf(error);
  if (
    code !== undefined ||
    (error instanceof TypeError && /terminated|fetch failed|socket/i.test(error.message))
  ) {
    return new ModelCallError(`connection to ${where} was dropped (${code ?? clean(messageOf(error))})`, {
      kind: 'connection',
      cause: error,
    });
  }
  return new ModelCallError(`model call to ${where} failed: ${clean(messageOf(error))}`, {
    kind: 'bad_response',
    cause: error,
  });
}
