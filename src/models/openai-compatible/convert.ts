/**
 * Pure translation between our ChatModel types and the OpenAI chat-completions wire format.
 * No I/O here, so the mapping is easy to test and to reuse for the streaming and non-streaming paths.
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type {
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  ToolCall,
  TokenUsage,
} from '../chat-model.js';
import { ModelCallError } from '../model-errors.js';

/** Request body fields shared by the streaming and non-streaming calls (without `stream`). */
export type OpenAIRequestBody = Omit<ChatCompletionCreateParamsBase, 'stream' | 'stream_options'>;

export function toOpenAIMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant':
      if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
        return {
          role: 'assistant',
          // Some servers reject an empty string next to tool calls; null is the canonical "no text".
          content: message.content === '' ? null : message.content,
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          })),
        };
      }
      return { role: 'assistant', content: message.content };
    case 'tool':
      return { role: 'tool', content: message.content, tool_call_id: message.toolCallId };
  }
}

export function toOpenAITools(request: ChatRequest): ChatCompletionTool[] | undefined {
  if (request.tools === undefined || request.tools.length === 0) return undefined;
  return request.tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      parameters: tool.parameters,
    },
  }));
}

export function toOpenAIToolChoice(
  choice: ChatRequest['toolChoice'],
): ChatCompletionToolChoiceOption | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.name } };
}

/** Schema names must match ^[a-zA-Z0-9_-]{1,64}$ on OpenAI. */
function schemaName(name: string | undefined): string {
  const cleaned = (name ?? 'response').replace(/[^a-zA-Z0-9_-]+/g, '_').slice(0, 64);
  return cleaned === '' ? 'response' : cleaned;
}

export function toOpenAIRequest(model: string, request: ChatRequest): OpenAIRequestBody {
  const body: OpenAIRequestBody = {
    model,
    messages: request.messages.map(toOpenAIMessage),
  };
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  // max_tokens (not max_completion_tokens): the one every OpenAI-compatible server understands.
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.stop !== undefined && request.stop.length > 0) body.stop = request.stop;
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.jsonSchema !== undefined) {
    body.response_format = {
      type: 'json_schema',
      // strict:false: strict mode rejects many ordinary schemas (optional properties, formats...);
      // we re-validate the reply ourselves anyway.
      json_schema: {
        name: schemaName(request.jsonSchema.name),
        schema: request.jsonSchema.schema,
        strict: false,
      },
    };
  }
  const tools = toOpenAITools(request);
  if (tools !== undefined) {
    body.tools = tools;
    const choice = toOpenAIToolChoice(request.toolChoice);
    if (choice !== undefined) body.tool_choice = choice;
  }
  return body;
}

export function mapFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return reason;
    case 'function_call':
      return 'tool_calls';
    default:
      return 'other';
  }
}

function badResponse(what: string): ModelCallError {
  return new ModelCallError(`unexpected response from the model server: ${what}`, { kind: 'bad_response' });
}

function usageOf(
  usage: { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined,
): TokenUsage {
  const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return { promptTokens: count(usage?.prompt_tokens), completionTokens: count(usage?.completion_tokens) };
}

/** The fields of a ChatResponse a backend produces; timing, cache flag and model id are added by the adapter. */
export type BackendReply = Pick<ChatResponse, 'text' | 'toolCalls' | 'finishReason' | 'usage'>;

/** Reads a non-streaming completion; the SDK's types are not trusted, since any server may answer. */
export function fromOpenAICompletion(completion: ChatCompletion): BackendReply {
  if (typeof completion !== 'object' || completion === null)
    badResponseThrow('the body is not a JSON object');
  const choices: unknown = (completion as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0) badResponseThrow('no choices in the completion');
  const choice = choices[0] as ChatCompletion.Choice;
  const message = choice.message as ChatCompletion.Choice['message'] | undefined;
  if (typeof message !== 'object' || message === null) badResponseThrow('the first choice has no message');
  const toolCalls: ToolCall[] = [];
  for (const [index, call] of (message.tool_calls ?? []).entries()) {
    if (call.type !== undefined && call.type !== 'function') continue;
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } }).function;
    if (fn === undefined || typeof fn.name !== 'string') badResponseThrow('a tool call has no function name');
    toolCalls.push({
      id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${index}`,
      name: fn.name,
      arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
    });
  }
  return {
    text: typeof message.content === 'string' ? message.content : '',
    toolCalls,
    finishReason:
      toolCalls.length > 0 && choice.finish_reason === 'stop'
        ? 'tool_calls'
        : mapFinishReason(choice.finish_reason),
    usage: usageOf(completion.usage),
  };
}

function badResponseThrow(what: string): never {
  throw badResponse(what);
}

/** Folds streamed chunks into one reply. Tool-call fragments are joined by their index. */
export class StreamAccumulator {
  private text = '';
  private finish: string | null = null;
  private usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();
  private sawChunk = false;
  /** Characters of text and tool-call fragments received so far (a bound on the reply's size). */
  bytes = 0;

  add(chunk: ChatCompletionChunk): void {
    if (typeof chunk !== 'object' || chunk === null) badResponseThrow('a stream chunk is not a JSON object');
    this.sawChunk = true;
    if (chunk.usage) this.usage = usageOf(chunk.usage);
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== undefined && choice.index !== 0) continue;
      const delta = choice.delta;
      if (typeof delta?.content === 'string') {
        this.text += delta.content;
        this.bytes += delta.content.length;
      }
      for (const fragment of delta?.tool_calls ?? []) {
        const index = fragment.index ?? 0;
        const call = this.calls.get(index) ?? { id: '', name: '', arguments: '' };
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name) call.name += fragment.function.name;
        if (fragment.function?.arguments) {
          call.arguments += fragment.function.arguments;
          this.bytes += fragment.function.arguments.length;
        }
        this.calls.set(index, call);
      }
      if (choice.finish_reason) this.finish = choice.finish_reason;
    }
  }

  result(): BackendReply {
    if (!this.sawChunk) badResponseThrow('the stream ended without any chunk');
    if (this.finish === null) {
      // A stream that ends without a finish reason was cut short (proxy or server died mid-answer).
      throw new ModelCallError('the model server closed the stream before the answer was complete', {
        kind: 'connection',
      });
    }
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({
        id: call.id === '' ? `call_${index}` : call.id,
        name: call.name,
        arguments: call.arguments,
      }));
    return {
      text: this.text,
      toolCalls,
      finishReason:
        toolCalls.length > 0 && this.finish === 'stop' ? 'tool_calls' : mapFinishReason(this.finish),
      usage: this.usage,
    };
  }
}
