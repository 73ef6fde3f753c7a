/**
 * The embedded llama.cpp backend (node-llama-cpp 3.x) behind the ChatModel interface: one context
 * with `sequences` parallel sequences shared by concurrent calls, the model's own chat wrapper for
 * prompts and native function calling (calls are returned, never executed), JSON-schema grammars
 * with re-validation, and explicit thread counts.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  LlamaChat,
  LlamaJsonSchemaValidationError,
  LlamaText,
  TokenBias,
  resolveChatWrapper,
  type ChatWrapper,
  type ChatWrapperGeneratedContextState,
  type LlamaChatResponse,
  type ChatModelFunctions,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type TokenMeterState,
  type Llama,
} from 'node-llama-cpp';
import { InputError, ServiceError, messageOf, oneLine } from '../../core/errors.js';
import type {
  ChatCallOptions,
  ChatModel,
  ChatRequest,
  ChatResponse,
  FinishReason,
  TokenUsage,
  ToolCall,
} from '../chat-model.js';
import { ModelCallError, abortedError } from '../model-errors.js';
import { toGbnfJsonSchema } from './gbnf-schema.js';
import { toLlamaFunctions, toLlamaHistory } from './history.js';
import {
  assertGgufFile,
  llamaSpecOf,
  resolveLlamaModelFile,
  type DownloadProgress,
  type LlamaModelSource,
} from './model-file.js';
import { defaultLlamaThreads, engineErrorSince, getLlamaRuntime, logMark } from './runtime.js';
import { Pool } from './sequence-pool.js';

export interface LlamaChatModelOptions {
  /**
   * CPU threads for evaluation. Default: the cores available to the process (`defaultLlamaThreads`:
   * `os.availableParallelism()` less the cores other work keeps busy); node-llama-cpp shares its budget
   * (the process's cores) between the contexts evaluating at once, so the process never runs more
   * threads than cores (more than cores was ~1,000x slower).
   */
  threads?: number;
  /** Tokens per sequence. Default min(4096, the model's training context). */
  contextSize?: number;
  /** Parallel sequences = calls served at once; further calls wait. Default 1. */
  sequences?: number;
  /** A LoRA adapter (GGUF) applied to the context. */
  lora?: string;
  /** Cache folder for hub models. Default `~/.cache/toolalpaca/models`. */
  modelsDir?: string;
  onDownloadProgress?: (progress: DownloadProgress) => void;
  /** Time allowed to reach the hub before a download is declared impossible. Default 30 s. */
  resolveTimeoutMs?: number;
  /**
   * Never sample the byte-fallback tokens 0x80-0xFF. Meant for random-weight test models, whose raw
   * bytes form invalid UTF-8 (and break `maxLength` checks); real models rarely need it.
   */
  asciiOnly?: boolean;
}

/** What the engine actually runs with, read back from the context. */
export interface LlamaRuntimeInfo {
  modelPath: string;
  /** The LoRA adapter applied, if any (absolute path). */
  loraPath?: string;
  /** The context's ideal thread count (the engine may run fewer while other contexts evaluate). */
  threads: number;
  contextSize: number;
  sequences: number;
  chatWrapper: string;
  trainContextSize: number;
}

export interface LlamaChatModel extends ChatModel {
  readonly backend: 'llama';
  readonly info: LlamaRuntimeInfo;
  close(): Promise<void>;
}

const DEFAULT_CONTEXT_SIZE = 4096;
const MAX_CACHED_GRAMMARS = 64;

/** Ids of the byte tokens <0x80>..<0xFF> (SentencePiece byte fallback), from the model's vocabulary. */
function highByteTokens(model: LlamaModel): number[] {
  const metadata = model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown } } };
  const tokens = metadata.tokenizer?.ggml?.tokens;
  if (!Array.isArray(tokens)) return [];
  const ids: number[] = [];
  tokens.forEach((token, id) => {
    if (typeof token === 'string' && /^<0x[89A-F][0-9A-F]>$/i.test(token)) ids.push(id);
  });
  return ids;
}

function newCallId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

/** Token usage of the call just made on `sequence`, from the engine's own token meter. */
function usageOf(sequence: LlamaContextSequence, before: TokenMeterState): TokenUsage {
  const used = sequence.tokenMeter.diff(before);
  const completionTokens = used.usedOutputTokens;
  // The meter counts only tokens evaluated now; a prefix kept from the previous call on this
  // sequence is part of the prompt too.
  const promptTokens = Math.max(used.usedInputTokens, sequence.contextTokens.length - completionTokens);
  return { promptTokens, completionTokens };
}

function finishReasonOf(
  stopReason: LlamaChatResponse['metadata']['stopReason'],
  toolCalls: number,
): FinishReason {
  if (toolCalls > 0) return 'tool_calls';
  switch (stopReason) {
    case 'maxTokens':
      return 'length';
    case 'eogToken':
    case 'stopGenerationTrigger':
    case 'customStopTrigger':
      return 'stop';
    case 'functionCalls':
      return 'tool_calls';
    default:
      return 'other';
  }
}

/**
 * A view of `base` that starts every reply in function-calling mode (node-llama-cpp then picks one
 * of the given functions and generates its arguments under their grammar). Used for toolChoice
 * 'required' or a named tool; it relies on the wrapper's own call syntax, so it works for any wrapper.
 */
function forcedCallWrapper(base: ChatWrapper): ChatWrapper {
  const callPrefix = base.settings.functions.call.prefix;
  const forced = Object.create(base) as ChatWrapper;
  forced.generateContextState = (options): ChatWrapperGeneratedContextState => {
    const state = base.generateContextState(options);
    return {
      ...state,
      prefixTriggers: undefined,
      noPrefixTrigger: { type: 'functionCall', inject: LlamaText(callPrefix) },
    } as ChatWrapperGeneratedContextState;
  };
  return forced;
}

class LlamaCppChatModel implements LlamaChatModel {
  readonly backend = 'llama' as const;
  /** `llama:<absolute path of the GGUF file>` (a hub model's downloaded file too). */
  readonly endpoint: string;
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private readonly pool: Pool<LlamaContextSequence>;
  private readonly tokenBias: TokenBias | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly info: LlamaRuntimeInfo,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
    sequences: LlamaContextSequence[],
    asciiOnly: boolean,
  ) {
    this.endpoint = `llama:${info.modelPath}`;
    this.pool = new Pool(sequences);
    if (asciiOnly) {
      const bias = new TokenBias(model.tokenizer);
      for (const token of highByteTokens(model)) bias.set(token as never, 'never');
      this.tokenBias = bias;
    }
  }

  /** The GGUF file is still there and still a GGUF file (a run may start long after the load). */
  async probe(): Promise<void> {
    try {
      await assertGgufFile(this.info.modelPath, this.id);
    } catch (error) {
      throw new ServiceError(
        oneLine(`${this.endpoint}: the model file cannot be opened: ${messageOf(error)}`),
        { cause: error },
      );
    }
  }

  private fail(message: string, kind: ModelCallError['kind'], cause?: unknown): ModelCallError {
    return new ModelCallError(oneLine(`${this.id}: ${message}`), { kind, cause });
  }

  private grammarFor(schema: ChatRequest['jsonSchema'] & object): Promise<LlamaGrammar> {
    const simplified = toGbnfJsonSchema(schema.schema);
    const key = JSON.stringify(simplified);
    let grammar = this.grammars.get(key);
    if (grammar === undefined) {
      if (this.grammars.size >= MAX_CACHED_GRAMMARS) this.grammars.clear();
      // The simplified schema is plain data; its exact literal type cannot be known statically.
      grammar = this.llama.createGrammarForJsonSchema(simplified as never).catch((error: unknown) => {
        this.grammars.delete(key);
        throw this.fail(
          `cannot build a grammar for the JSON schema ${schema.name ?? ''}: ${messageOf(error)}`,
          'client_error',
          error,
        );
      });
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  async chat(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResponse> {
    const { signal } = options;
    if (signal?.aborted) throw abortedError(signal.reason);
    if (this.closing !== undefined) throw this.fail('the model is closed', 'client_error');
    const started = performance.now();

    const tools = request.toolChoice === 'none' ? [] : (request.tools ?? []);
    if (request.jsonSchema !== undefined && tools.length > 0) {
      throw this.fail('a JSON schema and tools cannot be combined in one llama call', 'client_error');
    }
    let functions: ChatModelFunctions | undefined;
    let forced = false;
    if (tools.length > 0) {
      const choice = request.toolChoice;
      if (typeof choice === 'object') {
        const named = tools.filter((tool) => tool.name === choice.name);
        if (named.length === 0)
          throw this.fail(`toolChoice names "${choice.name}", which is not among the tools`, 'client_error');
        functions = toLlamaFunctions(named);
        forced = true;
      } else {
        functions = toLlamaFunctions(tools);
        forced = choice === 'required';
      }
    }
    const grammar = request.jsonSchema !== undefined ? await this.grammarFor(request.jsonSchema) : undefined;
    const history = toLlamaHistory(request.messages);

    const sequence = await this.pool.acquire(signal);
    const chat = new LlamaChat({
      contextSequence: sequence,
      chatWrapper: forced ? forcedCallWrapper(this.chatWrapper) : this.chatWrapper,
    });
    const meterBefore = sequence.tokenMeter.getState();
    // Raw argument text per call, kept in case node-llama-cpp rejects the parsed arguments.
    const rawCalls: { name: string; params: string }[] = [];
    try {
      const common = {
        signal,
        maxTokens: request.maxTokens ?? sequence.contextSize,
        temperature: request.temperature,
        topP: request.topP,
        seed: request.seed,
        customStopTriggers: request.stop,
        tokenBias: this.tokenBias,
      };
      let response: LlamaChatResponse<ChatModelFunctions>;
      if (grammar !== undefined) response = await chat.generateResponse(history, { ...common, grammar });
      else if (functions !== undefined) {
        response = await chat.generateResponse<ChatModelFunctions>(history, {
          ...common,
          functions,
          ...(forced ? { maxParallelFunctionCalls: 1 } : {}),
          onFunctionCallParamsChunk: ({ callIndex, functionName, paramsChunk }) => {
            const call = (rawCalls[callIndex] ??= { name: functionName, params: '' });
            call.params += paramsChunk;
          },
        });
      } else response = await chat.generateResponse(history, common);

      const toolCalls: ToolCall[] = (response.functionCalls ?? []).map((call) => ({
        id: newCallId(),
        name: call.functionName,
        arguments: JSON.stringify(call.params ?? {}),
      }));
      const result: ChatResponse = {
        text: response.response,
        toolCalls,
        finishReason: finishReasonOf(response.metadata.stopReason, toolCalls.length),
        usage: usageOf(sequence, meterBefore),
        latencyMs: performance.now() - started,
        cached: false,
        model: this.id,
      };
      // The grammar constrains the reply; whether it validates is checked for every backend alike
      // (reply-checks.ts).
      return result;
    } catch (error) {
      if (error instanceof ModelCallError) throw error;
      if (signal?.aborted) throw abortedError(signal.reason);
      if (error instanceof LlamaJsonSchemaValidationError && rawCalls.length > 0) {
        // node-llama-cpp rejects arguments that parse but miss the schema (e.g. 1e999 for an
        // integer). Callers validate tool arguments anyway: return them as generated.
        return {
          text: '',
          toolCalls: rawCalls.map((call) => ({
            id: newCallId(),
            name: call.name,
            arguments: call.params.trim(),
          })),
          finishReason: 'tool_calls',
          usage: usageOf(sequence, meterBefore),
          latencyMs: performance.now() - started,
          cached: false,
          model: this.id,
        };
      }
      if (this.closing !== undefined)
        throw this.fail('the model was closed during the call', 'aborted', error);
      throw this.fail(`generation failed: ${messageOf(error)}`, 'server_error', error);
    } finally {
      chat.dispose({ disposeSequence: false });
      this.pool.release(sequence);
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.pool.close();
      await this.context.dispose();
      await this.model.dispose();
    })();
    return this.closing;
  }
}

/**
 * Loads a GGUF model (a local file, or a hub reference downloaded on first use) into the shared
 * llama.cpp runtime and returns it as a ChatModel.
 */
export async function createLlamaChatModel(
  spec: LlamaModelSource,
  options: LlamaChatModelOptions = {},
): Promise<LlamaChatModel> {
  const id = llamaSpecOf(spec);
  const threads = options.threads;
  const sequences = options.sequences ?? 1;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1))
    throw new InputError(`${id}: threads must be a whole number >= 1, got ${threads}`);
  if (!Number.isInteger(sequences) || sequences < 1) {
    throw new InputError(`${id}: sequences must be a whole number >= 1, got ${sequences}`);
  }
  let lora: string | undefined;
  if (options.lora !== undefined) {
    lora = resolve(options.lora);
    const isFile = await stat(lora).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) {
      throw new InputError(`LoRA adapter ${options.lora} (\`lora\`): no such file`, {
        details: { reason: 'no-lora-file', path: options.lora },
      });
    }
  }

  const modelPath = await resolveLlamaModelFile(spec, {
    modelsDir: options.modelsDir,
    onDownloadProgress: options.onDownloadProgress,
    resolveTimeoutMs: options.resolveTimeoutMs,
  });
  await assertGgufFile(modelPath, id);
  const llama = await getLlamaRuntime();
  let model: LlamaModel;
  const mark = logMark();
  try {
    model = await llama.loadModel({ modelPath });
  } catch (error) {
    const reason = engineErrorSince(mark) ?? messageOf(error);
    throw new InputError(oneLine(`${id}: cannot load the model: ${reason}`), { cause: error });
  }
  let context: LlamaContext;
  const contextMark = logMark();
  try {
    context = await model.createContext({
      contextSize: Math.min(options.contextSize ?? DEFAULT_CONTEXT_SIZE, model.trainContextSize),
      sequences,
      // A number is a hint within the runtime's budget (node-llama-cpp shares it between contexts
      // evaluating at once); by default the cores not already busy, within that budget.
      threads: threads ?? { ideal: Math.min(defaultLlamaThreads(), llama.maxThreads), min: 1 },
      ...(lora !== undefined ? { lora: { adapters: [{ filePath: lora }] } } : {}),
    });
  } catch (error) {
    await model.dispose();
    const what = lora !== undefined ? ` with the LoRA adapter ${options.lora}` : '';
    const reason = engineErrorSince(contextMark) ?? messageOf(error);
    throw new InputError(oneLine(`${id}: cannot create a context${what}: ${reason}`), {
      cause: error,
    });
  }
  const chatWrapper = resolveChatWrapper(model);
  const all: LlamaContextSequence[] = [];
  for (let i = 0; i < sequences; i++) all.push(context.getSequence());
  const info: LlamaRuntimeInfo = {
    modelPath,
    ...(lora !== undefined ? { loraPath: lora } : {}),
    threads: context.idealThreads,
    contextSize: context.contextSize,
    sequences: context.totalSequences,
    chatWrapper: chatWrapper.wrapperName,
    trainContextSize: model.trainContextSize,
  };
  return new LlamaCppChatModel(id, info, llama, model, context, chatWrapper, all, options.asciiOnly ?? false);
}
