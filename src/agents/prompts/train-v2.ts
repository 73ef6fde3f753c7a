/** ToolAlpaca's `train_v2` layout (its default for generation), reproduced word for word. */
import { parseReactOutput } from '../react-parser.js';
import { stopSequencesFor, zeroShotPrompt, type PromptLayout } from './layout.js';
import { QUESTION_SUFFIX } from './train-v1.js';

export const TRAIN_V2_PREFIX = `Your task is to answer the user's question using available tools. The user cannot see or use the tools themselves, nor can they see the process of your tool usage. Provide all necessary information in the "Final Answer" field. Do not make up any information. If required parameters are missing, use the "getDetails" tool to ask the user for them.
You have access to the following tools:`;

export const TRAIN_V2_FORMAT = `Use the following format:
Question: the input question you must answer
Thought: you should always think about what to do
Action: the action to take, should be one of [{tool_names}].
Action Input: the input to the action, must be JSON format. All of the action input must be realistic and from the user.
Observation: the result of the action
... (this Thought/Action/Action Input/Observation can repeat N times)
Thought: Summarize the information gathered and the reasoning behind your final answer.
Final Answer: Provide a user-friendly and detailed answer to the original input question that summarizes all relevant information from the Thought/Action/Action Input/Observation sequences.`;

const OBSERVATION = 'Observation: ';

export const trainV2: PromptLayout = {
  name: 'train_v2',
  render: (ctx) =>
    zeroShotPrompt(
      { prefix: TRAIN_V2_PREFIX, formatInstructions: TRAIN_V2_FORMAT, suffix: QUESTION_SUFFIX },
      ctx,
      {
        observation: OBSERVATION,
        llm: 'Thought:',
      },
    ),
  stopSequences: stopSequencesFor(OBSERVATION),
  parse: parseReactOutput,
};
