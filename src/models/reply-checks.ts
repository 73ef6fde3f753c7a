/**
 * The checks every backend's replies go through, in one place so that all backends behave alike:
 * - a size cap: a reply whose text and tool arguments exceed `maxReplyBytes` fails the call (a
 *   `bad_response` that is not retried: the same request would bring it again);
 * - JSON re-validation: when the request has `jsonSchema`, `json` is set to the parsed reply if it is
 *   JSON valid for the schema, and left unset otherwise (whether the backend constrained its output or
 *   not); `chatJson` re-asks on an invalid reply. Without `jsonSchema`, `json` is never set.
 */
import { oneLine } from '../core/errors.js';
import {
  identityOf,
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
} from './chat-model.js';
import { ModelCallError } from './model-errors.js';
import { checkJsonReply } from './structured.js';

/** Default largest reply: 8 MiB (of HTTP body, and of text plus tool arguments). */
export const DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024;

/** UTF-8 bytes of a reply's text, tool names and arguments. */
export function replyBytes(response: Pick<ChatResponse, 'text' | 'toolCalls'>): number {
  let bytes = Buffer.byteLength(response.text);
  for (const call of response.toolCalls)
    bytes += Buffer.byteLength(call.name) + Buffer.byteLength(call.arguments);
  return bytes;
}

/** The error of a reply over the cap. */
export function replyTooLarge(modelId: string, limit: number, what = 'the reply'): ModelCallError {
  return new ModelCallError(oneLine(`${modelId}: ${what} is larger than the ${limit}-byte limit`), {
    kind: 'bad_response',
    retryable: false,
  });
}

export function withReplyChecks(model: ChatModel, options: { maxReplyBytes?: number } = {}): ChatModel {
  const limit = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  return {
    ...identityOf(model),
    async chat(request: ChatRequest, callOptions?: ChatCallOptions): Promise<ChatResponse> {
      const response = await model.chat(request, callOptions);
      if (replyBytes(response) > limit) throw replyTooLarge(model.id, limit);
      const { json: _ignored, ...checked } = response;
      if (request.jsonSchema === undefined) return checked;
      const check = checkJsonReply(response.text, request.jsonSchema.schema);
      return check.ok ? { ...checked, json: check.value } : checked;
    },
    close: model.close?.bind(model),
  };
}
