/**
 * ToolAlpaca's training layout (build_dataset.py, read by train.py): each example is `[segments,
 * trainable]`; the first segment is the prompt (instructions, function docs, the question), then the
 * assistant's steps (trainable) alternate with observations (not trainable), then the final answer.
 * build_dataset.py uses the `test_v1` chat prompt (`ASSISTANT Thought:` ...); `train_v1` is offered too.
 */
import { getPromptLayout, type PromptFunction } from '../agents/prompts/index.js';
import { ToolAlpacaSftRecordSchema, type ToolAlpacaSftRecord } from '../core/sft.js';
import { conversationTurns, type SftExample } from './example.js';
import { reactChatTurns, type SftLayout } from './layout.js';

export type ToolAlpacaPrompt = 'test_v1' | 'train_v1';

interface Labels {
  action: string;
  actionInput: string;
  observation: string;
  thought: string;
  response: string;
  /** Opens a follow-up question of a multi-turn conversation. */
  user: string;
}

const LABELS: Record<ToolAlpacaPrompt, Labels> = {
  test_v1: {
    action: 'ASSISTANT Action:',
    actionInput: 'ASSISTANT Action Input:',
    observation: 'ASSISTANT Observation: ',
    thought: 'ASSISTANT Thought: ',
    response: 'ASSISTANT Response: ',
    // test_v1's format: "USER: user's next question".
    user: 'USER: ',
  },
  train_v1: {
    action: 'Action:',
    actionInput: 'Action Input:',
    observation: 'Observation: ',
    thought: 'Thought: ',
    response: 'Final Answer: ',
    user: 'Question: ',
  },
};

function promptFunctions(example: SftExample): PromptFunction[] {
  return example.functions.map((fn) => ({
    name: fn.name,
    description: fn.description,
    summary: '',
    parameters: [],
  }));
}

export function toolAlpacaSegments(example: SftExample, prompt: ToolAlpacaPrompt): ToolAlpacaSftRecord {
  const labels = LABELS[prompt];
  const head = getPromptLayout(prompt).render({
    functions: promptFunctions(example),
    input: example.instruction,
    steps: [],
  });
  const segments = [`${head} `];
  const trainable = [false];
  for (const [index, turn] of conversationTurns(example).entries()) {
    if (index > 0) {
      // A follow-up: the user's next question (not trained), the assistant thinks again.
      segments.push(`\n${labels.user}${turn.instruction}\n${labels.thought}`);
      trainable.push(false);
    }
    for (const step of turn.steps) {
      segments.push(
        `${step.thought}\n${labels.action} ${step.action}\n${labels.actionInput} ${step.actionInput}\n${labels.observation}`,
      );
      trainable.push(true);
      segments.push(`${step.observation}\n${labels.thought}`);
      trainable.push(false);
    }
    // ToolAlpaca's default final thought, typo included.
    segments.push(
      `${turn.finalThought || 'I can reponse to the user now.'}\n${labels.response}${turn.finalAnswer}`,
    );
    trainable.push(true);
  }
  return [segments, trainable];
}

export function toolAlpacaLayout(prompt: ToolAlpacaPrompt = 'test_v1'): SftLayout {
  return {
    name: 'toolalpaca',
    fileFormat: 'json',
    schema: ToolAlpacaSftRecordSchema,
    render: (example) => toolAlpacaSegments(example, prompt),
    chatTurns: reactChatTurns,
  };
}
