/**
 * Checks that the backend contract suite (test/models/contract.ts) runs and passes against a minimal,
 * throwaway adapter: the official `openai` client pointed at the fake server, once streaming and once
 * not. The real adapter lives in src/models/openai-compatible and runs the same suite in its own tests.
 */
import OpenAI, { APIUserAbortError } from 'openai';
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type {
  ChatModel,
  ChatRequest,
  ChatResponse,
  FinishReason,
  ToolCall,
} from '../../src/models/chat-model.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { startFakeOpenAI } from '../helpers/fake-openai-server.js';
import { runChatModelContract } from '../models/contract.js';

function toWire(request: ChatRequest): ChatCompletionCreateParamsNonStreaming {
  const messages: ChatCompletionMessageParam[] = request.messages.map((m) => {
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    if (m.role === 'assistant') {
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    }
    return { role: m.role, content: m.content };
  });
  const choice = request.toolChoice;
  const toolChoice: ChatCompletionToolChoiceOption | undefined =
    typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice;
  return {
    model: 'fake-model',
    messages,
    temperature: request.temperature,
    top_p: request.topP,
    max_completion_tokens: request.maxTokens,
    stop: request.stop,
    seed: request.seed,
    tools: request.tools?.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    })),
    tool_choice: request.tools ? toolChoice : undefined,
    response_format: request.jsonSchema
      ? {
          type: 'json_schema',
          json_schema: { name: request.jsonSchema.name ?? 'reply', schema: request.jsonSchema.schema },
        }
      : undefined,
  };
}

function finish(reason: string | null | undefined): FinishReason {
  return reason === 'stop' || reason === 'length' || reason === 'tool_calls' || reason === 'content_filter'
    ? reason
    : 'other';
}

function throwawayModel(client: OpenAI, stream: boolean): ChatModel {
  return {
    id: 'openai:fake-model',
    backend: 'openai',
    async chat(request, options = {}): Promise<ChatResponse> {
      const started = performance.now();
      const body = toWire(request);
      try {
        const completion = stream
          ? await client.chat.completions
              .stream(
                { ...body, stream: true, stream_options: { include_usage: true } },
                { signal: options.signal },
              )
              .finalChatCompletion()
          : await client.chat.completions.create(body, { signal: options.signal });
        const choice = completion.choices[0]!;
        const text = choice.message.content ?? '';
        const finishReason = choice.finish_reason;
        const usage = completion.usage;
        const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).flatMap((c) =>
          c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
        );
        return {
          text,
          toolCalls,
          finishReason: finish(finishReason),
          usage: { promptTokens: usage?.prompt_tokens ?? 0, completionTokens: usage?.completion_tokens ?? 0 },
          latencyMs: performance.now() - started,
          cached: false,
          model: 'openai:fake-model',
          json: request.jsonSchema ? (JSON.parse(text) as unknown) : undefined,
        };
      } catch (error) {
        if (error instanceof APIUserAbortError || options.signal?.aborted) {
          throw new ModelCallError('fake-model: request aborted', { kind: 'aborted', cause: error });
        }
        throw error;
      }
    },
  };
}

for (const stream of [false, true]) {
  runChatModelContract(`throwaway openai client adapter on the fake server (stream: ${stream})`, async () => {
    const fake = await startFakeOpenAI();
    const client = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'test-key', maxRetries: 0 });
    return {
      model: throwawayModel(client, stream),
      deterministicTools: true,
      teardown: () => fake.close(),
    };
  });
}
