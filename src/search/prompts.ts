/**
 * Prompts of the ToolBench solvers, written for this project (same roles as ToolBench's: a system
 * prompt that explains the Thought → function call loop, the `Finish` rules and lists the tools; a user
 * message with the query; and the diversity prompt DFSDT adds when it expands another child of a node).
 */
import { oneLine } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import type { AnswerFunction } from '../core/toolbench.js';
import { FINISH_FUNCTION } from '../formats/toolbench.js';

/** One line per tool: `1.name: description` (the category stands in when a tool has no description). */
export function toolListText(tools: readonly Tool[]): string {
  return tools
    .map((tool, index) => {
      const about =
        tool.description.trim() !== ''
          ? tool.description
          : tool.category !== undefined
            ? `a ${tool.category} tool`
            : 'None';
      return `${index + 1}.${tool.name}: ${oneLine(about, 512)}`;
    })
    .join('\n');
}

export function solverSystemPrompt(tools: readonly Tool[]): string {
  return [
    "You solve a user's task by calling functions, one call per step.",
    'At every step, first say in a few words (five sentences at most) what the state is and what you will do next, then call one function to do it.',
    'Each call returns a result that moves you to a new state; calls cannot be taken back. To start over, give up and restart.',
    'Rules:',
    '1. Always end with the "Finish" function. With return_type "give_answer", its final_answer is the only thing the user will read, so it must hold everything they asked for. If the task cannot be done from where you are, or the functions keep failing, call Finish with return_type "give_up_and_restart".',
    '2. Call the subfunctions by their own names (like "xxx_for_tool"); the tool names below are not functions.',
    'The tools you can use:',
    toolListText(tools),
  ].join('\n');
}

export function solverUserPrompt(query: string): string {
  return `${query.trim()}\nBegin!`;
}

/** What an earlier child of a node did, as the diversity prompt lists it. */
export interface EarlierCandidate {
  name: string;
  arguments: string;
  function_output: string;
}

/**
 * The message DFSDT appends (for one call only) when a node already has children: the earlier
 * candidates and the node's own observation, with the request to do something different.
 */
export function diversityPrompt(candidates: readonly EarlierCandidate[], formerObservation: string): string {
  const lines = [
    'This is not your first attempt from this state. Your earlier attempts from here, none of which led to an answer yet:',
    JSON.stringify(candidates, null, 2),
  ];
  if (formerObservation !== '')
    lines.push(`Your last observation before those attempts: ${formerObservation}`);
  lines.push(
    'Think about what went wrong and choose an action that is different from all of the attempts above: another function, or other arguments. Do not repeat them.',
  );
  return lines.join('\n');
}

/**
 * The texts a solver shows the model: system and user prompts, the diversity prompt, and the `Finish`
 * function. `PROJECT_PROMPTS` (this project's wording) is the default; `--prompt-set toolbench` reads
 * ToolBench's own at run time (`loadToolBenchPromptSet` in toolbench-prompts.ts).
 */
export interface SolverPromptSet {
  /** "project" or "toolbench" (recorded in the answer file). */
  readonly name: string;
  system(tools: readonly Tool[]): string;
  user(query: string): string;
  diversity(candidates: readonly EarlierCandidate[], formerObservation: string): string;
  readonly finish: AnswerFunction;
}

export const PROJECT_PROMPTS: SolverPromptSet = {
  name: 'project',
  system: solverSystemPrompt,
  user: solverUserPrompt,
  diversity: diversityPrompt,
  finish: FINISH_FUNCTION,
};
