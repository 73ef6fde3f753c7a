/**
 * The leanest layout the project offers (its own wording): one line per function with its parameters'
 * names and types, short rules, the same Thought/Action/Action Input/Final Answer keywords (so the same
 * parser reads it). Instructions and tools go in a system message, which stays identical across steps.
 */
import { parseReactOutput } from '../react-parser.js';
import { scratchpad, stopSequencesFor, type PromptFunction, type PromptLayout } from './layout.js';

function signature(fn: PromptFunction): string {
  const params = fn.parameters
    .map((p) => `${p.name}${p.required ? '' : '?'}: ${p.enum ? p.enum.join('|') : p.type}`)
    .join(', ');
  return `${fn.name}(${params})${fn.summary ? ` - ${fn.summary}` : ''}`;
}

const OBSERVATION = 'Observation: ';

export const lean: PromptLayout = {
  name: 'lean',
  system: (ctx) =>
    [
      "Answer the user's question with these tools (? = optional). Never invent inputs; ask with getDetails if required ones are missing.",
      ...ctx.functions.map(signature),
      'Reply as:\nThought: ...\nAction: a tool name\nAction Input: a JSON object\nor, when done:\nThought: ...\nFinal Answer: the full answer for the user',
    ].join('\n'),
  render: (ctx) => `Question: ${ctx.input}\nThought:${scratchpad(ctx.steps, OBSERVATION, 'Thought:')}`,
  stopSequences: stopSequencesFor(OBSERVATION),
  parse: parseReactOutput,
};
