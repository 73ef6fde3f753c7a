/**
 * `toolalpaca/agents`: one episode (an instruction → a ToolAlpaca instance: the assistant acting with
 * ReAct text or function calls, the executor answering, the user agent answering `getDetails`), the
 * prompt layouts, the ReAct parser and the built-in tools.
 */
export {
  DEFAULT_MAX_STEPS,
  DEFAULT_MAX_TOKENS,
  functionCallingSystemPrompt,
  runEpisode,
  toolDefinitions,
  type AgentMode,
  type EpisodeInput,
  type EpisodeOptions,
  type EpisodeResult,
  type FailureReason,
} from './episode.js';
export { parseActionArgs, parseReactOutput, repairJson, type ParsedTurn } from './react-parser.js';
export {
  NO_FURTHER_DETAILS,
  UserAgent,
  userAgentMessages,
  type UserAgentOptions,
  type UserAnswer,
  type UserTurn,
} from './user-agent.js';
export {
  BUILTIN_TOOL_DEFINITIONS,
  DEFAULT_RETRIEVAL_THRESHOLD,
  GET_DETAILS,
  RETRIEVAL,
  RetrievalStore,
  type BuiltinName,
} from './builtin-tools.js';
export { getPromptLayout, isPromptLayoutName, toolPromptFunctions } from './prompts/index.js';
export {
  PROMPT_LAYOUT_NAMES,
  zeroShotPrompt,
  type PromptContext,
  type PromptFunction,
  type PromptLayout,
  type PromptLayoutName,
  type PromptParameter,
  type ScratchpadStep,
} from './prompts/layout.js';
