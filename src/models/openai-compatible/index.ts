export {
  DEFAULT_OPENAI_BASE_URL,
  createOpenAIChatModel,
  resolveOpenAIEndpoint,
  type OpenAIChatModelOptions,
} from './openai-model.js';
export { classifyOpenAIError, parseRetryAfter, redactSecrets, errorCodeOf } from './errors.js';
export {
  StreamAccumulator,
  fromOpenAICompletion,
  mapFinishReason,
  toOpenAIMessage,
  toOpenAIRequest,
  toOpenAITools,
  toOpenAIToolChoice,
  type BackendReply,
  type OpenAIRequestBody,
} from './convert.js';
