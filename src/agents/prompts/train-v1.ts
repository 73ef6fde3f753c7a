/**
 * ToolAlpaca's `train_v1` layout (agent/agent_prompts.py: prefix, format_instructions, suffix), reproduced
 * word for word, typos included, so that models trained on ToolAlpaca data see what they were trained on.
 */
import { parseReactOutput } from '../react-parser.js';
import { stopSequencesFor, zeroShotPrompt, type PromptLayout } from './layout.js';

export const TRAIN_V1_PREFIX = `Anser the user's question with the help of tools. The user cannot see the tool usage or use the tool themselves, you can use the tools. And the user cannot see the process of your tool use, so you must give all the infomation in Final Answer field to user. Your task is to answer the user's question, so DO NOT make up anything. If your required parameters are missing use tool "getDetails" to ask user provide them.
You have access to the following tools:`;

/** The suffix shared by train_v1, train_v2 and test_v2. */
export const QUESTION_SUFFIX = `Begin!

Question: {input}
Thought:{agent_scratchpad}`;

export const TRAIN_V1_FORMAT = `Use the following format:
Question: the input question you must answer
Thought: Answer the following three questions with one paragraph: 1) Check whether there are any general terms or pronouns that lack sufficient context or specific information. 2) Consider the question and potential approach to answer it. 3) Explain your reasoning and the steps needed to reach a solution. 
Action: the action to take, should be one of [{tool_names}].
Action Input: the input to the action, should be json format. All of the action input must be realistic and from the user. Never generate any action input by yourself or copy the input description.
Observation: the result of the action and how it contributes to the solution
... (this Thought/Action/Action Input/Observation can repeat N times)
Thought: Summarize the information gathered and the reasoning behind your final answer.
Final Answer: Provide a user-friendly and detailed answer to the original input question that summarizes all relevant information from the Thought/Action/Action Input/Observation sequences, without mentioning specific tool usage details or technical jargon. Ensure the answer is both informative and appropriate for the user.`;

const OBSERVATION = 'Observation: ';

export const trainV1: PromptLayout = {
  name: 'train_v1',
  render: (ctx) =>
    zeroShotPrompt(
      { prefix: TRAIN_V1_PREFIX, formatInstructions: TRAIN_V1_FORMAT, suffix: QUESTION_SUFFIX },
      ctx,
      {
        observation: OBSERVATION,
        llm: 'Thought:',
      },
    ),
  stopSequences: stopSequencesFor(OBSERVATION),
  parse: parseReactOutput,
};
