/**
 * LLaMA-Factory's sharegpt formatting with native tool use: `human`, `function_call` (JSON `{name,
 * arguments}`), `observation`, and the final `gpt` answer; `system` and `tools` (a JSON string of function
 * definitions) beside them; plus the `dataset_info.json` entry LLaMA-Factory reads. Thoughts are not kept:
 * LLaMA-Factory requires a function call right after each human/observation turn.
 */
import { LlamaFactoryRecordSchema, type DatasetInfoEntry, type LlamaFactoryRecord } from '../core/sft.js';
import { conversationTurns, type SftExample } from './example.js';
import { argumentsValue, functionCallingSystem, type SftLayout } from './layout.js';

export function llamaFactoryRecord(example: SftExample): LlamaFactoryRecord {
  const conversations: LlamaFactoryRecord['conversations'] = [];
  // A multi-turn instance goes on with a human turn after each answer (the alternation LLaMA-Factory needs).
  for (const turn of conversationTurns(example)) {
    conversations.push({ from: 'human', value: turn.instruction });
    for (const step of turn.steps) {
      conversations.push({
        from: 'function_call',
        value: JSON.stringify({ name: step.action, arguments: argumentsValue(step.actionInput) }),
      });
      conversations.push({ from: 'observation', value: step.observation });
    }
    conversations.push({ from: 'gpt', value: turn.finalAnswer });
  }
  return {
    conversations,
    system: functionCallingSystem(example),
    tools: JSON.stringify(
      example.functions.map((fn) => ({
        name: fn.name,
        description: fn.description,
        parameters: fn.parameters,
      })),
    ),
  };
}

/** The `dataset_info.json` entry for one data file of this layout. */
export function datasetInfoEntry(fileName: string): DatasetInfoEntry {
  return {
    file_name: fileName,
    formatting: 'sharegpt',
    columns: { messages: 'conversations', system: 'system', tools: 'tools' },
    tags: {
      role_tag: 'from',
      content_tag: 'value',
      user_tag: 'human',
      assistant_tag: 'gpt',
      observation_tag: 'observation',
      function_tag: 'function_call',
    },
  };
}

export const llamaFactoryLayout: SftLayout = {
  name: 'llamafactory',
  fileFormat: 'json',
  schema: LlamaFactoryRecordSchema,
  render: llamaFactoryRecord,
};
