/**
 * The prompt-layout interface: one file per layout (train_v1, train_v2, test_v1, test_v2, lean), each a
 * `PromptLayout`, resolved by name in `./index.ts`.
 */
import type { ParsedTurn } from '../react-parser.js';

export type PromptLayoutName = 'train_v1' | 'train_v2' | 'test_v1' | 'test_v2' | 'lean';

export const PROMPT_LAYOUT_NAMES: readonly PromptLayoutName[] = [
  'train_v1',
  'train_v2',
  'test_v1',
  'test_v2',
  'lean',
];

/** One parameter of a listed function, for compact layouts. */
export interface PromptParameter {
  name: string;
  /** JSON type as a short word: string, integer, number, boolean, array, object. */
  type: string;
  required: boolean;
  enum?: readonly string[];
}

/** One action the assistant may take: a function of the tool or a built-in tool. */
export interface PromptFunction {
  name: string;
  /** ToolAlpaca's natural-language documentation of the function (its `Function_Description` entry). */
  description: string;
  /** One short line saying what the function does. */
  summary: string;
  parameters: readonly PromptParameter[];
}

/** An earlier step: the assistant's full text for it and the observation it got. */
export interface ScratchpadStep {
  text: string;
  observation: string;
}

export interface PromptContext {
  /** The actions listed, in order (built-ins first, as ToolAlpaca lists getDetails first). */
  functions: readonly PromptFunction[];
  /** The user's instruction. */
  input: string;
  steps: readonly ScratchpadStep[];
}

export interface PromptLayout {
  readonly name: PromptLayoutName;
  /** A system message, for layouts that use one (the ToolAlpaca layouts put everything in `render`). */
  system?(ctx: PromptContext): string;
  /** The prompt text sent as the user message; it ends where the assistant continues (`Thought:`). */
  render(ctx: PromptContext): string;
  /** Stop sequences so that the model stops before writing the observation itself. */
  readonly stopSequences: readonly string[];
  parse(text: string): ParsedTurn;
}

/** ToolAlpaca's langchain ZeroShotAgent scratchpad: each step's text, then the observation, then `Thought:`. */
export function scratchpad(
  steps: readonly ScratchpadStep[],
  observationPrefix: string,
  llmPrefix: string,
): string {
  let out = '';
  for (const step of steps) out += `${step.text}\n${observationPrefix}${step.observation}\n${llmPrefix}`;
  return out;
}

/** The stop sequences langchain derives from an observation prefix. */
export function stopSequencesFor(observationPrefix: string): string[] {
  const label = observationPrefix.trimEnd();
  return [`\n${label}`, `\n\t${label}`];
}

/**
 * A ToolAlpaca (langchain ZeroShotAgent) prompt: prefix, the tools as `name: description` lines, the format
 * instructions with the tool names, and the suffix with the question and the scratchpad, joined by blank lines.
 */
export function zeroShotPrompt(
  parts: { prefix: string; formatInstructions: string; suffix: string },
  ctx: PromptContext,
  prefixes: { observation: string; llm: string },
): string {
  const toolStrings = ctx.functions.map((fn) => `${fn.name}: ${fn.description}`).join('\n');
  const toolNames = ctx.functions.map((fn) => fn.name).join(', ');
  const format = parts.formatInstructions.replace('{tool_names}', toolNames);
  // One pass, so that braces in the user's text are never read as placeholders.
  const suffix = parts.suffix.replace(/\{(input|agent_scratchpad)\}/g, (_m, key: string) =>
    key === 'input' ? ctx.input : scratchpad(ctx.steps, prefixes.observation, prefixes.llm),
  );
  return [parts.prefix, toolStrings, format, suffix].join('\n\n');
}
