/**
 * OpenAI chat JSONL for function-calling fine-tuning: `messages` (system, user, assistant with
 * `tool_calls`, `tool` results, the final assistant reply) and `tools`. The thought of a step is the
 * assistant message's `content`. Function names are made valid for function-calling APIs. A multi-turn
 * instance is one conversation: each follow-up is a user message after the previous answer.
 */
import { wireNames } from '../agents/episode.js';
import { OpenAiChatRecordSchema, type OpenAiChatRecord } from '../core/sft.js';
import { conversationTurns, type SftExample } from './example.js';
import { functionCallingSystem, type SftLayout } from './layout.js';

type Message = OpenAiChatRecord['messages'][number];

export function openAiRecord(example: SftExample): OpenAiChatRecord {
  const turns = conversationTurns(example);
  const actions = turns.flatMap((turn) => turn.steps.map((s) => s.action));
  const wire = wireNames([...new Set([...example.functions.map((f) => f.name), ...actions])]);
  const nameOf = (name: string): string => wire.get(name) ?? name;
  const messages: Message[] = [{ role: 'system', content: functionCallingSystem(example) }];
  // Call ids run on across turns: one conversation, every id unique.
  let calls = 0;
  for (const turn of turns) {
    messages.push({ role: 'user', content: turn.instruction });
    for (const step of turn.steps) {
      const id = `call_${++calls}`;
      messages.push({
        role: 'assistant',
        content: step.thought === '' ? null : step.thought,
        tool_calls: [
          { id, type: 'function', function: { name: nameOf(step.action), arguments: step.actionInput } },
        ],
      });
      messages.push({ role: 'tool', tool_call_id: id, content: step.observation });
    }
    messages.push({ role: 'assistant', content: turn.finalAnswer });
  }
  return {
    messages,
    tools: example.functions.map((fn) => ({
      type: 'function' as const,
      function: { name: nameOf(fn.name), description: fn.description, parameters: fn.parameters },
    })),
  };
}

export const openAiLayout: SftLayout = {
  name: 'openai',
  fileFormat: 'jsonl',
  schema: OpenAiChatRecordSchema,
  render: openAiRecord,
};
