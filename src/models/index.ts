/**
 * `toolalpaca/models`: create a model from a spec (`createChatModel`), the `ChatModel` port, the backend
 * registry, the wrappers, pre-flight and the error kinds. Importing it loads no native module:
 * node-llama-cpp and better-sqlite3 load only when a llama model or the response cache is used.
 */
export {
  identityOf,
  type BackendName,
  type ChatCallOptions,
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
  type FinishReason,
  type ProbeOptions,
  type TokenUsage,
  type ToolCall,
  type ToolDefinition,
} from './chat-model.js';
export { createChatModel, type CreatedChatModel } from './create-model.js';
export {
  backendOptionsOf,
  type CommonModelOptions,
  type LlamaBackendOptions,
  type ModelOptions,
  type OpenAIBackendOptions,
  type TextBackendOptions,
} from './options.js';
export {
  modelBackend,
  modelBackends,
  modelSpecHelp,
  registerModelBackend,
  resolveModelSpec,
  type BackendCreateContext,
  type BackendKind,
  type CacheIdentityContext,
  type ModelBackend,
  type ParsedModelSpec,
  type SpecParseContext,
} from './registry.js';
export { formatModelSpec, parseModelSpec, type ModelSpec } from './model-spec.js';
export { ModelCallError, isInfrastructureFailure, type ModelFailureKind } from './model-errors.js';
export { endpointOf, probeModel } from './preflight.js';
export { DEFAULT_MAX_REPLY_BYTES, withReplyChecks } from './reply-checks.js';
export { withRetries, type RetryOptions } from './retry.js';
export { withRateLimit, type RateLimitOptions } from './rate-limit.js';
export {
  withCache,
  openResponseCache,
  sqliteResponseStore,
  redisResponseStore,
  REDIS_CACHE_PREFIX,
  type CacheEntry,
  type CacheModelStats,
  type CacheStats,
  type PruneOptions,
  type RedisResponseStoreOptions,
  type ResponseCache,
  type InspectableResponseStore,
  type ResponseStore,
  type StorePruneResult,
  type StoreStats,
} from './cache.js';
export {
  CostLedger,
  formatTotalUsd,
  formatUsd,
  withLedger,
  type LedgerRow,
  type LedgerTotals,
} from './ledger.js';
export { chatJson, checkJsonReply, type ChatJsonOptions, type ChatJsonResult } from './structured.js';
