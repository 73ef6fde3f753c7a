/**
 * The one shape every corpus reader produces and every layout consumes: an instruction, the functions the
 * assistant could call, the ReAct steps it took and its final answer.
 */
import type { JsonSchema } from '../core/tool.js';

export interface SftFunction {
  name: string;
  /** The documentation the assistant saw (ToolAlpaca's NL documentation, ToolBench's description). */
  description: string;
  /** JSON schema of the arguments object. */
  parameters: JsonSchema;
}

export interface SftStep {
  thought: string;
  action: string;
  /** The action input exactly as the assistant wrote it (JSON text). */
  actionInput: string;
  observation: string;
}

/** One turn of a conversation: the user's request and the assistant's steps and answer to it. */
export interface SftTurn {
  instruction: string;
  steps: SftStep[];
  finalThought: string;
  finalAnswer: string;
}

export interface SftExample {
  /** Stable id: source, tool(s) and position, e.g. `toolalpaca/Weather/3`. */
  id: string;
  source: 'toolalpaca' | 'toolbench';
  /** Tool names the example uses (one for ToolAlpaca; one or more for ToolBench); split keys. */
  tools: string[];
  category: string;
  /** One-line description of each tool, by name (ToolAlpaca's `Description`), when known. */
  toolDescriptions: Record<string, string>;
  instruction: string;
  /** Functions listed in prompts, built-ins (getDetails) first for ToolAlpaca as its prompts do. */
  functions: SftFunction[];
  steps: SftStep[];
  finalThought: string;
  finalAnswer: string;
  /** The run finished with a final answer (not failed, not given up). */
  completed: boolean;
  /** A verification stage marked it correct (`verification.passed === true`). */
  verified: boolean;
  /** What a verification stage said: passed, failed, or none ran (no `verification` field). */
  verification: 'passed' | 'failed' | 'none';
  /** The instance kind when the corpus records one (`single`, `irrelevance`, ...). */
  kind?: string;
  /** ToolBench's own system prompt (with its tool list), kept verbatim for the toolbench layout. */
  toolbenchSystem?: string;
  /**
   * The turns after the first (a multi-turn instance's `follow_ups`): the user's follow-up and the
   * assistant's work on it. Absent for a one-turn example; `instruction` … `finalAnswer` are the first turn.
   */
  followUps?: SftTurn[];
}

/** Every turn of an example in order: the first (its own fields), then the follow-ups. */
export function conversationTurns(example: SftExample): SftTurn[] {
  const first: SftTurn = {
    instruction: example.instruction,
    steps: example.steps,
    finalThought: example.finalThought,
    finalAnswer: example.finalAnswer,
  };
  return [first, ...(example.followUps ?? [])];
}
