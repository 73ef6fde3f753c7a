/**
 * Keys of the response cache, shared by every store (the SQLite file, Redis): backend + model id + the
 * endpoint's identity + the canonical request, hashed. A store never answers for another server, file
 * or model because all of them are part of the key.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/json-schema.js';
import type { ChatRequest, ChatResponse, FinishReason } from './chat-model.js';

// The project's one canonical JSON (core/json-schema.ts), re-exported for the cache's users.
export { canonicalJson };

/** Bumped when the key derivation changes, so old rows simply stop matching. */
const KEY_VERSION = 2;

const CACHEABLE_FINISH_REASONS: ReadonlySet<FinishReason> = new Set(['stop', 'tool_calls', 'length']);

/** Whether a response is stored (see src/models/cache.ts for the reasoning). */
export function isCacheable(response: ChatResponse): boolean {
  return CACHEABLE_FINISH_REASONS.has(response.finishReason);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 (hex) of the canonical request: the same for every backend and model. */
export function requestHash(request: ChatRequest): string {
  return sha256(canonicalJson(request));
}

/**
 * The cache key (sha256 hex) of a request to one model at one endpoint. `model` is the model's id, i.e.
 * its spec (e.g. "openai:gpt-4o-mini"), as `ChatModel.id` gives it; `identity` what tells its answers
 * apart from another server's or file's (the normalised base URL, a GGUF content hash). The request
 * includes sampling parameters and seed; call options (abort signal, stage) are not part of it.
 */
export function cacheKey(backend: string, model: string, request: ChatRequest, identity: string): string {
  return cacheKeyOfCanonical(backend, model, identity, canonicalJson(request));
}

/**
 * `sha256(canonicalJson({backend, identity, model, request, v}))` from the request's canonical JSON,
 * written out in sorted key order so that a call canonicalises its request once for both the key and
 * `requestHash`.
 */
export function cacheKeyOfCanonical(
  backend: string,
  model: string,
  identity: string,
  canonicalRequest: string,
): string {
  return sha256(
    `{"backend":${JSON.stringify(backend)},"identity":${JSON.stringify(identity)},"model":${JSON.stringify(model)},"request":${canonicalRequest},"v":${KEY_VERSION}}`,
  );
}

/** Backend of a model id ("openai:gpt-4o" → "openai"). */
export function backendOf(modelId: string): string {
  const colon = modelId.indexOf(':');
  return colon > 0 ? modelId.slice(0, colon) : modelId;
}
