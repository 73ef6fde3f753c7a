/**
 * The SFT layout interface: one file per layout (layout-*.ts), each an `SftLayout`, resolved by name in
 * `layouts.ts`. A layout turns one SftExample into one record of its file format; text layouts also give
 * the conversation as chat turns, which token masks render with a model's chat template.
 */
import { TRAIN_V1_FORMAT, TRAIN_V1_PREFIX } from '../agents/prompts/train-v1.js';
import { isRecord } from '../core/json-text.js';
import type { SftLayoutName, SftRecordSchema } from '../core/sft.js';
import { conversationTurns, type SftExample, type SftStep, type SftTurn } from './example.js';

/** One chat message as chat templates read it. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

export interface SftLayout {
  readonly name: SftLayoutName;
  /**
   * `json`: the split is one JSON array, one record a line (ToolAlpaca, ToolBench and LLaMA-Factory read
   * their data with a plain JSON load); `jsonl`: one record a line.
   */
  readonly fileFormat: 'json' | 'jsonl';
  /** Validates one record of this layout. */
  readonly schema: SftRecordSchema;
  render(example: SftExample): unknown;
  /**
   * The conversation as plain-text chat turns (assistant turns are the text the model must write), for
   * token masks. Layouts whose assistant turns are native tool calls have none: the training engine
   * tokenises those with its own template.
   */
  chatTurns?(example: SftExample): ChatTurn[];
}

/** `name: description` lines, as ToolAlpaca's prompts list functions. */
export function functionLines(example: SftExample): string {
  return example.functions.map((fn) => `${fn.name}: ${fn.description}`).join('\n');
}

/** ToolAlpaca's train_v1 instructions (prefix, functions, format) as a system prompt for chat layouts. */
export function reactSystemPrompt(example: SftExample): string {
  const names = example.functions.map((fn) => fn.name).join(', ');
  return [TRAIN_V1_PREFIX, functionLines(example), TRAIN_V1_FORMAT.replace('{tool_names}', names)].join(
    '\n\n',
  );
}

/** One ReAct step as the assistant writes it in train_v1 (`Thought:` / `Action:` / `Action Input:`). */
export function reactStepText(step: SftStep): string {
  return `Thought: ${step.thought}\nAction: ${step.action}\nAction Input: ${step.actionInput}`;
}

/** A turn's final answer as the assistant writes it in train_v1 (`Thought:` / `Final Answer:`). */
export function reactFinalText(turn: Pick<SftTurn, 'finalThought' | 'finalAnswer'>): string {
  return `Thought: ${turn.finalThought || 'I can respond to the user now.'}\nFinal Answer: ${turn.finalAnswer}`;
}

/**
 * The ReAct conversation as chat turns: system, then for each turn of the conversation (one, or a
 * multi-turn instance's first request and its follow-ups) the user's request, assistant / tool pairs and
 * the final answer. Only assistant turns are trained.
 */
export function reactChatTurns(example: SftExample): ChatTurn[] {
  const turns: ChatTurn[] = [{ role: 'system', content: reactSystemPrompt(example) }];
  for (const turn of conversationTurns(example)) {
    turns.push({ role: 'user', content: turn.instruction.trim() });
    for (const step of turn.steps) {
      turns.push({ role: 'assistant', content: reactStepText(step).trim() });
      turns.push({ role: 'tool', content: step.observation.trim() });
    }
    turns.push({ role: 'assistant', content: reactFinalText(turn).trim() });
  }
  return turns;
}

/** A system prompt for the native function-calling layouts (openai, llamafactory). */
export function functionCallingSystem(example: SftExample): string {
  const tools = example.tools.join(', ');
  return [
    `You answer the user's request with the help of the functions of ${tools}.`,
    'The user cannot see function calls or their results, so your final reply must give them all the information they need.',
    'Do not make up information or arguments; if required information is missing, ask the user.',
  ].join(' ');
}

/** Arguments as a JSON object when the assistant wrote valid JSON; the raw text otherwise. */
export function argumentsValue(actionInput: string): unknown {
  try {
    const parsed: unknown = JSON.parse(actionInput);
    if (isRecord(parsed)) return parsed;
  } catch {
    // not JSON: kept as text
  }
  return actionInput;
}
