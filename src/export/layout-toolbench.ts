/**
 * ToolBench's (ToolLLaMA's) `conversations` layout: ToolBench's system prompt with the tool list and the
 * API documents, the query, then assistant turns `Thought / Action / Action Input` and `function` results;
 * the run ends with a call of `Finish`. One record holds the whole conversation (ToolBench's preprocess
 * script writes one record per step; with loss on every assistant turn, one record teaches the same).
 * The split is one JSON array, because ToolBench's trainer reads its data file with `json.load`.
 */
import { ToolBenchRecordSchema, type ToolBenchRecord } from '../core/sft.js';
import { conversationTurns, type SftExample, type SftTurn } from './example.js';
import type { ChatTurn, SftLayout } from './layout.js';

/** ToolBench's function-calling system prompt (toolbench/inference, FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION). */
export const TOOLBENCH_SYSTEM = `You are AutoGPT, you can use many tools(functions) to do the following task.
First I will give you the task description, and your task start.
At each step, you need to give your thought to analyze the status now and what to do next, with a function call to actually excute your step.
After the call, you will get the call result, and you are now in a new state.
Then you will analyze your status now, then decide what to do next...
After many (Thought-call) pairs, you finally perform the task, then you can give your finial answer.
Remember: 
1.the state change is irreversible, you can't go back to one of the former state, if you want to restart the task, say "I give up and restart".
2.All the thought is short, at most in 5 sentence.
3.You can do more then one trys, so if your plan is to continusly try some conditions, you can do one of the conditions per try.
Let's Begin!
Task description: You should use functions to help handle the real time user querys. Remember:
1.ALWAYS call "Finish" function at the end of the task. And the final answer should contain enough information to show to the user,If you can't handle the task, or you find that function calls always fail(the function is not valid now), use function Finish->give_up_and_restart.
2.Do not use origin tool names, use only subfunctions' names.
You have access of the following tools:
`;

/** ToolBench's `Finish` function. */
export const FINISH_FUNCTION = {
  name: 'Finish',
  description:
    "If you think you get the result which can answer the task, call this function to give the final answer. Or, if you think you can't handle the task from this status, call this function to restart. Remember: you should ALWAYS call this function at the end of your try, and the final answer is the ONLY part that will be showed to user, so final answer should contain enough information.",
  parameters: {
    type: 'object',
    properties: {
      return_type: { type: 'string', enum: ['give_answer', 'give_up_and_restart'] },
      final_answer: {
        type: 'string',
        description:
          'The final answer you want to give the user. You should have this field if "return_type"=="give_answer"',
      },
    },
    required: ['return_type'],
  },
};

export function toolBenchSystem(example: SftExample): string {
  const base =
    example.toolbenchSystem ??
    TOOLBENCH_SYSTEM +
      example.tools
        .map((tool, i) => `${i + 1}.${tool}: ${example.toolDescriptions[tool] ?? ''}`.trimEnd())
        .join('\n') +
      '\n';
  const apis = [
    ...example.functions.map((fn) => ({
      name: fn.name,
      description: fn.description,
      parameters: fn.parameters,
    })),
    FINISH_FUNCTION,
  ];
  // The released ToolLLaMA data appends the API documents this way (process_system_message).
  return `${base}\nSpecifically, you have access to the following APIs: ${JSON.stringify(apis)}`;
}

function finishInput(turn: SftTurn): string {
  return JSON.stringify({ return_type: 'give_answer', final_answer: turn.finalAnswer });
}

/** The conversation; a multi-turn instance's follow-up is a user turn after the previous Finish. */
export function toolBenchTurns(example: SftExample): ChatTurn[] {
  const turns: ChatTurn[] = [{ role: 'system', content: toolBenchSystem(example) }];
  for (const turn of conversationTurns(example)) {
    turns.push({ role: 'user', content: `\n${turn.instruction}\nBegin!\n` });
    for (const step of turn.steps) {
      turns.push({
        role: 'assistant',
        content: `\nThought: ${step.thought}\nAction: ${step.action}\nAction Input: ${step.actionInput}`,
      });
      turns.push({ role: 'tool', content: step.observation });
    }
    turns.push({
      role: 'assistant',
      content: `\nThought: ${turn.finalThought}\nAction: Finish\nAction Input: ${finishInput(turn)}`,
    });
  }
  return turns;
}

const FROM: Record<ChatTurn['role'], ToolBenchRecord['conversations'][number]['from']> = {
  system: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'function',
};

export const toolBenchLayout: SftLayout = {
  name: 'toolbench',
  fileFormat: 'json',
  schema: ToolBenchRecordSchema,
  render: (example): ToolBenchRecord => ({
    id: example.id,
    conversations: toolBenchTurns(example).map((t) => ({ from: FROM[t.role], value: t.content })),
  }),
  // Templates trim or keep surrounding newlines differently; the spans are the text itself.
  chatTurns: (example) => toolBenchTurns(example).map((t) => ({ role: t.role, content: t.content.trim() })),
};
