/**
 * ToolAlpaca's `test_v2` layout: langchain's classic ReAct instructions. As in ToolAlpaca's prompt table,
 * it uses the `Question:` suffix (not the `USER:` one) and the plain `Observation:` prefix.
 */
import { parseReactOutput } from '../react-parser.js';
import { stopSequencesFor, zeroShotPrompt, type PromptLayout } from './layout.js';
import { QUESTION_SUFFIX } from './train-v1.js';

export const TEST_V2_PREFIX = `Answer the following questions as best you can. You have access to the following tools:`;

export const TEST_V2_FORMAT = `Use the following format:

Question: the input question you must answer
Thought: you should always think about what to do
Action: the action to take, should be one of [{tool_names}]
Action Input: the input to the action, in JSON format.
Observation: the result of the action
... (this Thought/Action/Action Input/Observation can repeat N times)
Thought: I now know the final answer
Final Answer: the final answer to the original input question`;

const OBSERVATION = 'Observation: ';

export const testV2: PromptLayout = {
  name: 'test_v2',
  render: (ctx) =>
    zeroShotPrompt(
      { prefix: TEST_V2_PREFIX, formatInstructions: TEST_V2_FORMAT, suffix: QUESTION_SUFFIX },
      ctx,
      {
        observation: OBSERVATION,
        llm: 'Thought:',
      },
    ),
  stopSequences: stopSequencesFor(OBSERVATION),
  parse: parseReactOutput,
};
