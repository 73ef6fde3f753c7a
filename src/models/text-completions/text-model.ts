/**
 * `text:MODEL`: a checkpoint served on an OpenAI-compatible `/v1/completions` endpoint (vLLM, llama.cpp
 * server) without a chat template. The conversation is rendered into one prompt with a conversation
 * template, and the continuation read back into text and tool calls, so agents and solvers use it like
 * any chat model. Retries, rate limits, the cache and the ledger come from `createChatModel`.
 */
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResponse, ProbeOptions } from '../chat-model.js';
import { ModelCallError, abortedError } from '../model-errors.js';
import { BodyTooLargeError, postJson } from '../openai-compatible/completions-http.js';
import { mapFinishReason } from '../openai-compatible/convert.js';
import { normaliseBaseUrl, probeOpenAICompatible } from '../openai-compatible/endpoint.js';
import { classifyOpenAIError } from '../openai-compatible/errors.js';
import { resolveOpenAIEndpoint } from '../openai-compatible/openai-model.js';
import { DEFAULT_MAX_REPLY_BYTES, replyTooLarge } from '../reply-checks.js';
import { parseContinuation, renderPrompt, type TemplateTexts } from './render.js';
import type { ConversationTemplate } from './templates.js';

export interface TextCompletionModelOptions {
  /** Model name the server knows. */
  model: string;
  template: ConversationTemplate;
  texts?: TemplateTexts;
  baseUrl?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** Hard cap per HTTP request (default 10 min); `withRetries` applies the real per-request timeout. */
  timeoutMs?: number;
  maxReplyBytes?: number;
}

function badResponse(what: string): ModelCallError {
  return new ModelCallError(`unexpected response from the model server: ${what}`, { kind: 'bad_response' });
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export function createTextCompletionModel(options: TextCompletionModelOptions): ChatModel {
  const { baseUrl, apiKey } = resolveOpenAIEndpoint(options);
  const endpoint = normaliseBaseUrl(baseUrl);
  const id = `text:${options.model}`;
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  const post = {
    baseUrl,
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(options.headers !== undefined ? { headers: options.headers } : {}),
    timeoutMs: options.timeoutMs ?? 600_000,
    maxBodyBytes: maxReplyBytes,
  };
  const texts = options.texts ?? {};
  const template = options.template;

  return {
    id,
    backend: 'text',
    endpoint,
    probe: (probeOptions?: ProbeOptions) =>
      probeOpenAICompatible(
        {
          baseUrl,
          endpoint,
          route: '/completions',
          ...(apiKey !== undefined ? { apiKey } : {}),
          ...(options.headers !== undefined ? { headers: options.headers } : {}),
        },
        probeOptions,
      ),
    async chat(request: ChatRequest, callOptions: ChatCallOptions = {}): Promise<ChatResponse> {
      const { signal } = callOptions;
      if (signal?.aborted) throw abortedError(signal.reason);
      const prompt = renderPrompt(template, request, texts);
      const stop = [...new Set([...template.stop, ...(request.stop ?? [])])];
      const body = {
        model: options.model,
        prompt,
        ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.topP !== undefined ? { top_p: request.topP } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(stop.length > 0 ? { stop } : {}),
      };
      const started = performance.now();
      let completion: unknown;
      try {
        completion = await postJson(post, '/completions', body, signal);
      } catch (error) {
        if (error instanceof BodyTooLargeError) throw replyTooLarge(id, error.limit, 'the HTTP body');
        const classified = classifyOpenAIError(error, {
          baseUrl,
          ...(apiKey !== undefined ? { apiKey } : {}),
        });
        if (signal?.aborted && classified.kind !== 'aborted') throw abortedError(error);
        throw classified;
      }
      if (typeof completion !== 'object' || completion === null)
        throw badResponse('the body is not a JSON object');
      const { choices, usage } = completion as { choices?: unknown; usage?: Record<string, unknown> };
      const choice = Array.isArray(choices)
        ? (choices[0] as { text?: unknown; finish_reason?: unknown })
        : undefined;
      if (choice === undefined || typeof choice.text !== 'string')
        throw badResponse('no text in the first choice');
      const reply = parseContinuation(template, choice.text);
      return {
        ...reply,
        finishReason:
          reply.toolCalls.length > 0
            ? 'tool_calls'
            : mapFinishReason(choice.finish_reason as string | undefined),
        usage: {
          promptTokens: count(usage?.prompt_tokens),
          completionTokens: count(usage?.completion_tokens),
        },
        latencyMs: performance.now() - started,
        cached: false,
        model: id,
      };
    },
  };
}
