/**
 * The `replay:` backend: answers only from the response cache, never from a live model. Re-running a
 * pipeline with `--model replay:` reproduces a recorded run offline and for free.
 *
 * - `replay:` (no model) matches by request alone (the request hash): the most recently recorded
 *   answer to that exact request, whatever model gave it.
 * - `replay:openai:gpt-4o-mini` matches the full key, i.e. only answers that model gave.
 *
 * A miss is a ModelCallError of kind 'cache_miss' whose one-line message names the request.
 */
import { InputError, oneLine } from '../../core/errors.js';
import { requestHash, type ResponseCache } from '../cache.js';
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResponse } from '../chat-model.js';
import { ModelCallError } from '../model-errors.js';

/** First words of the last user message (for error messages). */
function lastUserWords(request: ChatRequest, maxChars = 60): string {
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index];
    if (message?.role === 'user') {
      return oneLine(message.content, maxChars);
    }
  }
  return '';
}

/**
 * A model that replays recorded responses. `of` is the recorded model's canonical spec
 * ("openai:gpt-4o-mini", "llama:/models/x.gguf"); without it, any recorded model's answer to the same
 * request is used. Answers are matched by request (and model), whatever endpoint gave them: replaying is
 * choosing a recording, not asking a server. The cache stays owned by the caller unless `closeCache` is set.
 */
export function createReplayChatModel(
  cache: ResponseCache,
  of?: string,
  options: { closeCache?: boolean } = {},
): ChatModel {
  const target = of === undefined || of === '' ? undefined : of;
  if (target !== undefined) {
    const colon = target.indexOf(':');
    if (colon <= 0 || colon === target.length - 1 || target.startsWith('replay:')) {
      throw new InputError(`model spec replay:${target}: expected replay: or replay:BACKEND:MODEL`);
    }
  }
  const id = `replay:${target ?? ''}`;

  return {
    id,
    backend: 'replay',
    endpoint: `replay:${cache.path}`,
    async chat(request: ChatRequest, callOptions?: ChatCallOptions): Promise<ChatResponse> {
      if (callOptions?.signal?.aborted) {
        throw new ModelCallError(`${id}: call aborted`, {
          kind: 'aborted',
          cause: callOptions.signal.reason,
        });
      }
      const started = performance.now();
      const key = requestHash(request);
      const stored = cache.findByRequest(key, target !== undefined ? { model: target } : {})?.response;
      if (stored === undefined) {
        const words = lastUserWords(request);
        const what = [
          `model ${target ?? 'any'}`,
          `stage ${callOptions?.stage ?? 'default'}`,
          words === '' ? 'no user message' : `last user message "${words}"`,
          `request hash ${key.slice(0, 12)}`,
        ].join(', ');
        throw new ModelCallError(oneLine(`${id}: no recorded response in ${cache.path} for ${what}`), {
          kind: 'cache_miss',
        });
      }
      return {
        ...stored,
        cached: true,
        latencyMs: performance.now() - started,
        originalLatencyMs: stored.originalLatencyMs ?? stored.latencyMs,
      };
    },
    async close() {
      if (options.closeCache === true) cache.close();
    },
  };
}
