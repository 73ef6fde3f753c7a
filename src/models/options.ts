/**
 * Options of `createChatModel`: the ones every backend shares at the top level, and one group per
 * backend under its prefix (`openai`, `llama`, `text`; backends registered from outside read theirs
 * from `backends[prefix]`).
 */
import type { ResponseStore } from './cache-store.js';
import type { CostLedger } from './ledger.js';
import type { RateLimitStore } from './rate-limit.js';

/** Options every backend shares: timeouts, retries, load limits, the response cache and the ledger. */
export interface CommonModelOptions {
  /** Per-request timeout in ms (default 120 s for servers; none for the embedded engine). */
  timeoutMs?: number;
  /** Retries after a failed attempt on 429/5xx/timeouts/dropped connections (default 3). */
  maxRetries?: number;
  /** First backoff step in ms (default 500); the wait doubles per retry, with full jitter. */
  retryBaseDelayMs?: number;
  /** Longest backoff wait in ms (default 30 s). */
  retryMaxDelayMs?: number;
  /** Requests in flight at once (default unlimited). */
  concurrency?: number;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Length of the rate-limit "minute" in ms (default 60 000; for tests). */
  rateWindowMs?: number;
  /** Response cache folder (default `.toolalpaca-cache` in the working directory). */
  cacheDir?: string;
  /** Neither read nor write the response cache. */
  noCache?: boolean;
  /**
   * A response store to use instead of the SQLite file in `cacheDir` (e.g. Redis, shared by queue
   * workers); owned by the caller, not closed with the model.
   */
  sharedCache?: ResponseStore;
  /**
   * Where `requestsPerMinute` and `tokensPerMinute` are booked so that they hold across processes
   * (e.g. Redis, for queue workers), per endpoint and model; servers only (an embedded engine's limits
   * stay its process's). Owned by the caller.
   */
  sharedRateLimits?: RateLimitStore;
  /** When given, every call's tokens are recorded in it. */
  ledger?: CostLedger;
  /**
   * Largest reply accepted, in bytes: of the HTTP body, and of the reply's text and tool arguments
   * (default 8 MiB). A larger reply fails the call (a `bad_response` that is not retried).
   */
  maxReplyBytes?: number;
  /** Backends that download a model file on first use report progress here (the CLI draws a bar). */
  onDownloadProgress?: (progress: { downloadedBytes: number; totalBytes: number }) => void;
}

/** `openai:` (and `text:`, which talks to the same kind of server): where the server is and how to call it. */
export interface OpenAIBackendOptions {
  /** Base URL ending in /v1; default OPENAI_BASE_URL, else the OpenAI API. */
  baseUrl?: string;
  /** API key; default OPENAI_API_KEY (may be absent for local servers). */
  apiKey?: string;
  /** Stream answers (SSE). Chat completions only. */
  stream?: boolean;
  /** Extra HTTP headers sent with every request. */
  headers?: Record<string, string>;
}

/** `llama:`: the embedded llama.cpp engine. */
export interface LlamaBackendOptions {
  /**
   * CPU threads of this model's context. Default: every core available to the process
   * (`os.availableParallelism()`), shared with the other contexts of the process: the engine never
   * runs more threads in total than that.
   */
  threads?: number;
  contextSize?: number;
  /** Parallel sequences = calls served at once. Default 1. */
  sequences?: number;
  /** A LoRA adapter (GGUF) applied to the context. */
  lora?: string;
  /** Download folder of hub models. */
  modelsDir?: string;
  /** Never sample the byte tokens 0x80-0xFF (random-weight test models). */
  asciiOnly?: boolean;
}

/** `text:`: a completions endpoint fed through a conversation template (the server comes from `openai`). */
export interface TextBackendOptions {
  /** A built-in template name (`toolllama`, `vicuna`, `toolalpaca`) or the path of a JSON template file. */
  template?: string;
  /**
   * The original file a template reads its texts from at run time: ToolBench's `toolbench/utils.py`
   * for `toolllama`, FastChat's `fastchat/conversation.py` for `vicuna`'s default system message.
   */
  templateSource?: string;
}

export interface ModelOptions extends CommonModelOptions {
  openai?: OpenAIBackendOptions;
  llama?: LlamaBackendOptions;
  text?: TextBackendOptions;
  /** Options of backends registered with `registerModelBackend`, by prefix. */
  backends?: Readonly<Record<string, unknown>>;
}

/** The option group of a backend: `options[prefix]` for the built-in ones, else `options.backends[prefix]`. */
export function backendOptionsOf(options: ModelOptions, prefix: string): object {
  const builtin = (options as Record<string, unknown>)[prefix];
  const group =
    prefix === 'openai' || prefix === 'llama' || prefix === 'text' ? builtin : options.backends?.[prefix];
  return group !== null && typeof group === 'object' ? group : {};
}
