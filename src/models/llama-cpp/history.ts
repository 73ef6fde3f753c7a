/**
 * ChatMessage[] (OpenAI-like: tool results are separate messages) → node-llama-cpp chat history
 * (a function call and its result live together inside the model's response).
 */
import type {
  ChatHistoryItem,
  ChatModelFunctionCall,
  ChatModelFunctions,
  ChatModelResponse,
} from 'node-llama-cpp';
import type { ChatMessage, ToolDefinition } from '../chat-model.js';
import { toGbnfJsonSchema } from './gbnf-schema.js';

/** The parsed JSON of `text`, or the text itself when it is not JSON. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The history to hand to `LlamaChat.generateResponse`. It always ends with a model response to
 * continue: an empty one after a user turn, or the assistant turn whose tool results came last.
 */
export function toLlamaHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  // Tool results are looked up by call id; one without a matching call becomes a user message.
  const results = new Map<string, ChatMessage & { role: 'tool' }>();
  const consumed = new Set<ChatMessage>();
  for (const message of messages) if (message.role === 'tool') results.set(message.toolCallId, message);

  const history: ChatHistoryItem[] = [];
  let current: ChatModelResponse | undefined;
  const flushModel = (): void => {
    current = undefined;
  };

  for (const message of messages) {
    switch (message.role) {
      case 'system': {
        // Several system messages (or one after the start) are merged into the first one.
        const first = history[0];
        if (first?.type === 'system' && typeof first.text === 'string')
          first.text += `\n\n${message.content}`;
        else history.unshift({ type: 'system', text: message.content });
        flushModel();
        break;
      }
      case 'user':
        history.push({ type: 'user', text: message.content });
        flushModel();
        break;
      case 'assistant': {
        const response: ChatModelResponse['response'] = [];
        if (message.content !== '') response.push(message.content);
        for (const call of message.toolCalls ?? []) {
          const result = results.get(call.id);
          if (result !== undefined) consumed.add(result);
          const item: ChatModelFunctionCall = {
            type: 'functionCall',
            name: call.name,
            params: jsonOrText(call.arguments),
            // Structured results render as JSON, plain text as a JSON string.
            result: result === undefined ? null : jsonOrText(result.content),
          };
          response.push(item);
        }
        // Consecutive assistant messages continue the same model turn.
        if (current !== undefined) current.response.push(...response);
        else {
          current = { type: 'model', response };
          history.push(current);
        }
        break;
      }
      case 'tool':
        if (!consumed.has(message)) {
          history.push({
            type: 'user',
            text: `Result of ${message.name ?? 'the tool call'} ${message.toolCallId}: ${message.content}`,
          });
          flushModel();
        }
        break;
    }
  }
  const last = history.at(-1);
  if (last?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}

/** ToolDefinition[] → node-llama-cpp functions (parameter schemas simplified for the grammar). */
export function toLlamaFunctions(tools: readonly ToolDefinition[]): ChatModelFunctions {
  const functions: Record<string, ChatModelFunctions[string]> = {};
  for (const tool of tools) {
    functions[tool.name] = {
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      params: toGbnfJsonSchema(tool.parameters),
    };
  }
  return functions;
}
