/**
 * The one interface every language-model backend implements. Nothing outside src/models knows which
 * backend runs: adapters (openai-compatible, llama-cpp, replay) translate to and from these types, and
 * wrappers (retry, rate limit, cache, ledger) compose around any of them.
 */
import type { JsonSchema } from '../core/tool.js';

export interface ToolCall {
  id: string;
  name: string;
  /** Arguments as the JSON text the model produced (may be invalid JSON: callers validate). */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; content: string; toolCallId: string; name?: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: JsonSchema;
}

export interface ChatRequest {
  messages: ChatMessage[];
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  /** The reply's text must be JSON matching this schema (constrained where the backend can, always re-validated). */
  jsonSchema?: { name?: string; schema: JsonSchema };
  /** Tools for native function calling. */
  tools?: ToolDefinition[];
  toolChoice?: 'auto' | 'none' | 'required' | { name: string };
}

export interface ChatCallOptions {
  signal?: AbortSignal;
  /** Pipeline stage the call belongs to (for the cost ledger), e.g. "instructions", "assistant". */
  stage?: string;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

export interface ChatResponse {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: TokenUsage;
  /** Wall time of the call as the caller saw it (0 for a cache hit is fine; the original is kept in `originalLatencyMs`). */
  latencyMs: number;
  /** True when the answer came from the cache (or a replay) rather than the backend. */
  cached: boolean;
  /** The model spec that answered, e.g. "openai:gpt-4o-mini". */
  model: string;
  /** Parsed JSON when the request had `jsonSchema` and the text validated. */
  json?: unknown;
  originalLatencyMs?: number;
}

/** The prefix of the backend a model runs on ("openai", "llama", "replay", "text", or a registered one). */
export type BackendName = string;

export interface ProbeOptions {
  signal?: AbortSignal;
  /** Longest wait for the probe, ms (default 10 s). */
  timeoutMs?: number;
}

export interface ChatModel {
  /** The model spec string, e.g. "openai:gpt-4o-mini", "llama:/models/x.gguf". */
  readonly id: string;
  readonly backend: BackendName;
  /**
   * Where the answers come from, without secrets: the normalised base URL of a server, `llama:<file>`
   * for a local GGUF file, `replay:<cache file>`. Used in messages and in cache keys.
   */
  readonly endpoint?: string;
  /**
   * A cheap check that the endpoint answers (see `probeModel` in preflight.ts): throws a one-line
   * ServiceError naming the endpoint when it is dead. Absent when there is nothing to check.
   */
  probe?(options?: ProbeOptions): Promise<void>;
  chat(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResponse>;
  /** Release native resources, sockets, database handles. Idempotent. */
  close?(): Promise<void>;
}

/**
 * The identity members of `model` (id, backend, endpoint, probe), for wrappers that add behaviour
 * around `chat` and must look like the model they wrap.
 */
export function identityOf(model: ChatModel): Pick<ChatModel, 'id' | 'backend' | 'endpoint' | 'probe'> {
  return {
    id: model.id,
    backend: model.backend,
    ...(model.endpoint !== undefined ? { endpoint: model.endpoint } : {}),
    ...(model.probe !== undefined ? { probe: model.probe.bind(model) } : {}),
  };
}
