/**
 * What an episode does differently for an instruction of a kind (`instructions --kinds`): a short
 * guidance for the assistant, and how a multi-turn episode shows the conversation so far to a ReAct
 * prompt, whose layouts have a single question. Episodes without a kind use none of this, so their
 * requests are ToolAlpaca's unchanged. Wording written for this project.
 */
import type { InstanceKind } from '../core/toolalpaca-record.js';

const GUIDANCE: Partial<Record<InstanceKind, string>> = {
  parallel:
    'When a request has parts that do not depend on each other, make a call for each part without waiting for the others (several calls in one turn when you can make them at once), then answer every part.',
  irrelevance:
    'If none of your tools can do what the user asks, do not call any tool: say plainly that you cannot do it with the tools you have, and suggest where the user could look instead.',
  'missing-info':
    'If the request lacks a value that a function requires, do not guess or invent it: ask the user with getDetails first, then make the call with their answer.',
};

/** The assistant's guidance for an episode of `kind`, when that kind needs one. */
export function kindGuidance(kind: InstanceKind | undefined): string | undefined {
  return kind === undefined ? undefined : GUIDANCE[kind];
}

/** An earlier exchange of a multi-turn episode. */
export interface ConversationTurn {
  input: string;
  output: string;
}

/**
 * The question of a later turn in ReAct mode: the conversation so far, then the follow-up (the
 * instance records the follow-up alone as the turn's `input`).
 */
export function followUpQuestion(earlier: readonly ConversationTurn[], followUp: string): string {
  const lines = ['(Earlier in this conversation)'];
  for (const turn of earlier) lines.push(`User: ${turn.input.trim()}`, `You answered: ${turn.output.trim()}`);
  lines.push('(The user now asks)', followUp.trim());
  return lines.join('\n');
}
