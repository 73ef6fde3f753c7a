/**
 * An in-memory `ChatModel` that answers from a script and records every call, for tests of code that
 * talks to a model where HTTP is not what is tested (agents, search, pipeline stages). Replies are
 * queued with `script(...)` and consumed in order; when the queue is empty the default responder
 * answers (by default a failure naming the call, so an unexpected call is visible). Like every
 * backend behind `createChatModel`, a request with `jsonSchema` gets `json` set when the reply text is
 * JSON valid for the schema.
 */
import type {
  ChatCallOptions,
  ChatModel,
  ChatRequest,
  ChatResponse,
  FinishReason,
  TokenUsage,
  ToolCall,
} from '../models/chat-model.js';
import { ModelCallError, type ModelFailureKind } from '../models/model-errors.js';
import { checkJsonReply } from '../models/structured.js';

/** A tool call in a scripted reply; `arguments` may be an object (written as JSON) or raw text. */
export interface ScriptedToolCall {
  name: string;
  arguments?: string | Record<string, unknown>;
  id?: string;
}

/** One scripted answer: a text, tool calls, a failure, or a call that never answers until aborted. */
export type ScriptedReply =
  | string
  | {
      text?: string;
      toolCalls?: ScriptedToolCall[];
      finishReason?: FinishReason;
      /** Default: about one token per 4 characters of the prompt and of the reply. */
      usage?: Partial<TokenUsage>;
    }
  | { error: unknown }
  /** A failure as a backend reports it after its retries (`connection`, `server_error`, `rate_limited`...). */
  | { fault: ModelFailureKind; status?: number; message?: string }
  | { hang: true };

/** What the model was asked, in order. */
export interface RecordedChatCall {
  request: ChatRequest;
  stage?: string;
}

export type ScriptedResponder = (
  request: ChatRequest,
  call: number,
) => ScriptedReply | Promise<ScriptedReply>;

export interface ScriptedChatModelOptions {
  /** The model's spec (default `scripted:model`). */
  id?: string;
  /** Replies queued from the start. */
  replies?: readonly ScriptedReply[];
  /** Answers when the queue is empty. */
  respond?: ScriptedResponder;
}

export interface ScriptedChatModel extends ChatModel {
  /** Every call received, in arrival order. */
  readonly calls: RecordedChatCall[];
  /** Queues replies for the next calls, consumed in order. */
  script(...replies: ScriptedReply[]): void;
  /** Replies still queued. */
  pending(): number;
  /** Replaces the responder used when the queue is empty. */
  setDefault(responder: ScriptedResponder): void;
  /** Clears calls and queue and restores the starting responder. */
  reset(): void;
  /** True once `close` was called. */
  readonly closed: boolean;
}

const tokensOf = (text: string): number => Math.ceil(text.length / 4);

function promptChars(request: ChatRequest): string {
  return request.messages.map((message) => message.content).join('\n');
}

const unscripted: ScriptedResponder = (_request, call) => ({
  error: new ModelCallError(`scripted model: no reply scripted for call ${call + 1}`, {
    kind: 'bad_response',
    retryable: false,
  }),
});

function abortError(): ModelCallError {
  return new ModelCallError('the call was aborted', { kind: 'aborted' });
}

/** Waits for `signal` to abort (forever without one). */
function hangUntilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(abortError()), { once: true });
  });
}

function toolCallsOf(calls: readonly ScriptedToolCall[], callIndex: number): ToolCall[] {
  return calls.map((call, index) => ({
    id: call.id ?? `call_${callIndex + 1}_${index + 1}`,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
  }));
}

/** The response of a scripted text or tool-call reply. */
function responseOf(
  id: string,
  request: ChatRequest,
  reply: Exclude<ScriptedReply, { error: unknown } | { fault: ModelFailureKind } | { hang: true }>,
  callIndex: number,
): ChatResponse {
  const {
    text = '',
    toolCalls = [],
    finishReason,
    usage,
  } = typeof reply === 'string' ? { text: reply } : reply;
  const calls = toolCallsOf(toolCalls, callIndex);
  const response: ChatResponse = {
    text,
    toolCalls: calls,
    finishReason: finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop'),
    usage: {
      promptTokens: usage?.promptTokens ?? tokensOf(promptChars(request)),
      completionTokens: usage?.completionTokens ?? tokensOf(text),
    },
    latencyMs: 0,
    cached: false,
    model: id,
  };
  if (request.jsonSchema !== undefined) {
    const check = checkJsonReply(text, request.jsonSchema.schema);
    if (check.ok) response.json = check.value;
  }
  return response;
}

/** A scripted chat model (see the module comment). */
export function createScriptedChatModel(options: ScriptedChatModelOptions = {}): ScriptedChatModel {
  const id = options.id ?? 'scripted:model';
  const initialResponder = options.respond ?? unscripted;
  let responder = initialResponder;
  const queue: ScriptedReply[] = [...(options.replies ?? [])];
  const calls: RecordedChatCall[] = [];
  let closed = false;
  return {
    id,
    backend: id.split(':')[0] ?? 'scripted',
    endpoint: 'scripted:',
    calls,
    get closed() {
      return closed;
    },
    script: (...replies) => void queue.push(...replies),
    pending: () => queue.length,
    setDefault: (next) => void (responder = next),
    reset() {
      calls.length = 0;
      queue.length = 0;
      responder = initialResponder;
    },
    async chat(request: ChatRequest, callOptions: ChatCallOptions = {}): Promise<ChatResponse> {
      const index = calls.length;
      calls.push({
        request: structuredClone(request),
        ...(callOptions.stage !== undefined ? { stage: callOptions.stage } : {}),
      });
      if (callOptions.signal?.aborted === true) throw abortError();
      const reply = queue.length > 0 ? queue.shift()! : await responder(request, index);
      if (typeof reply === 'object' && 'error' in reply) throw reply.error;
      if (typeof reply === 'object' && 'fault' in reply) {
        const status = reply.status !== undefined ? { status: reply.status } : {};
        throw new ModelCallError(reply.message ?? `${id}: scripted ${reply.fault}`, {
          kind: reply.fault,
          ...status,
        });
      }
      if (typeof reply === 'object' && 'hang' in reply) return hangUntilAborted(callOptions.signal);
      return responseOf(id, request, reply, index);
    },
    async close() {
      closed = true;
    },
  };
}
