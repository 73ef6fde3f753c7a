/**
 * ToolAlpaca's `test_v1` layout: the chat form its released models were trained on (build_dataset.py),
 * with `ASSISTANT Thought:` / `ASSISTANT Action:` / `ASSISTANT Observation:` / `ASSISTANT Response:` turns.
 */
import { parseReactOutput } from '../react-parser.js';
import { stopSequencesFor, zeroShotPrompt, type PromptLayout } from './layout.js';

export const TEST_V1_PREFIX = `A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions with the help of some tools.
You have access to the following tools:`;

export const TEST_V1_SUFFIX = `Begin!

USER: {input}
ASSISTANT Thought:{agent_scratchpad}`;

export const TEST_V1_FORMAT = `The chat follows this format:
USER: the user's question
ASSISTANT Thought: the assistant's inner thought about what to do next 
ASSISTANT Action: the action to take, must be one of [{tool_names}].
ASSISTANT Action Input: the input for the action, in JSON format.
ASSISTANT Observation: the result of the action
... (this Thought/Action/Action Input/Observation can repeat N times)
ASSISTANT Thought: summarize the information gathered
ASSISTANT Response: the final response to the user
USER: user's next question
...`;

const OBSERVATION = 'ASSISTANT Observation: ';

export const testV1: PromptLayout = {
  name: 'test_v1',
  render: (ctx) =>
    zeroShotPrompt(
      { prefix: TEST_V1_PREFIX, formatInstructions: TEST_V1_FORMAT, suffix: TEST_V1_SUFFIX },
      ctx,
      {
        observation: OBSERVATION,
        llm: 'ASSISTANT Thought:',
      },
    ),
  stopSequences: stopSequencesFor(OBSERVATION),
  parse: parseReactOutput,
};
