/**
 * One episode: the assistant agent works on one instruction with one tool, until it gives a final answer,
 * fails, or reaches the step limit. Two modes:
 *
 * - `react`: ToolAlpaca's text protocol. Each turn renders the whole prompt (layout + scratchpad of
 *   earlier steps), asks the assistant with stop sequences before `Observation:`, parses the reply, runs
 *   the action (a function of the tool through the executor, or a built-in) and appends the step.
 * - `function-calling`: the backend's native tool calls; a text reply is the final answer.
 *
 * Both record ToolAlpaca's instance shape: `input`, `output`, `Final Thought` and `intermediate_steps` as
 * `[[action, action_input, full assistant text], observation]`.
 *
 * An instruction of a kind (`EpisodeInput.kind`) adds the kind's guidance to the assistant's prompt
 * (`./kinds.ts`), gives a missing-info instruction's left-out value to the user agent, and for a
 * multi-turn one lets the user agent ask its follow-up after the first answer, the episode going on
 * (`follow_ups`); the instance records `kind` (and `missing`). Without a kind nothing changes.
 *
 * Beside its steps, an instance records where each observation came from: `observation_sources`, a list
 * parallel to `intermediate_steps` (and to each follow-up turn's), holding the `source` of the observation
 * that answered (`real`, `simulated`, `schema`, `cache`, `replay`, `mcp`: for a chain, the member that
 * answered or the cache) or `null` when no executor did (a built-in action, an unknown action, an input
 * that is not JSON). An extra key, as `kind` is: ToolAlpaca's readers and the exports ignore it.
 */
import { messageOf, oneLine } from '../core/errors.js';
import { isInfrastructureFailure } from '../models/model-errors.js';
import type { Tool } from '../core/tool.js';
import type {
  FollowUpTurn,
  Instance,
  InstructionKindSpec,
  IntermediateStep,
  ToolAlpacaRecord,
} from '../core/toolalpaca-record.js';
import {
  observationText,
  type Observation,
  type ObservationSource,
  type ToolExecutor,
} from '../executors/executor.js';
import type { ChatMessage, ChatModel, ChatResponse, ToolDefinition } from '../models/chat-model.js';
import {
  BUILTIN_PROMPT_FUNCTIONS,
  BUILTIN_TOOL_DEFINITIONS,
  DEFAULT_RETRIEVAL_THRESHOLD,
  GET_DETAILS,
  INVALID_JSON_OBSERVATION,
  RETRIEVAL,
  RetrievalStore,
  retrievalNotice,
  runGetDetails,
  runRetrieval,
} from './builtin-tools.js';
import {
  getPromptLayout,
  toolPromptFunctions,
  type PromptFunction,
  type ScratchpadStep,
} from './prompts/index.js';
import type { PromptLayoutName } from './prompts/layout.js';
import { followUpQuestion, kindGuidance } from './kinds.js';
import { parseActionArgs, parseReactOutput, stripThoughtLabel } from './react-parser.js';
import { UserAgent } from './user-agent.js';

export type { PromptLayoutName } from './prompts/layout.js';
export type AgentMode = 'react' | 'function-calling';

export interface EpisodeInput {
  /** Stable id: `${toolName}#${instructionIndex}`. */
  instanceId: string;
  /** The tool's record (NLDocumentation, Function_Description, Name...). */
  record: ToolAlpacaRecord;
  /** The same tool in the project's model (for executors). */
  tool: Tool;
  instruction: string;
  /** The instruction's kind and what it needs (from the record's `Instruction_Kinds`); absent: none. */
  kind?: InstructionKindSpec;
}

export interface EpisodeOptions {
  assistant: ChatModel;
  /** The user agent's model (answers getDetails); without one, answers are deterministic. */
  user?: ChatModel;
  executor: ToolExecutor;
  prompt: PromptLayoutName;
  mode: AgentMode;
  /** Most actions (intermediate steps) per episode; one more action request ends it as `step_limit`. Default 15 (ToolAlpaca's). */
  maxSteps?: number;
  /**
   * Observations longer than this (characters) are stored and replaced by a notice naming the file for
   * `retrievalDataFromFile`. Default 3000 (ToolAlpaca's `max_output_len`). 0 or less disables retrieval:
   * observations are then cut at 3000 characters, as ToolAlpaca does without its retrieval tool.
   */
  retrievalThreshold?: number;
  /** Given by the user agent when the assistant asks for keys. */
  authValues?: Record<string, string>;
  /** Default 0, as ToolAlpaca. */
  temperature?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Additive: a model for `retrievalDataFromFile` (ToolAlpaca's LLM retrieval); default keyword extraction. */
  retrievalModel?: ChatModel;
  /** Additive: most tokens per assistant turn. Default 1024 (ToolAlpaca's `max_new_tokens`). */
  maxTokens?: number;
}

export type FailureReason =
  'step_limit' | 'parse_error' | 'model_error' | 'executor_error' | 'aborted' | 'empty_reply';

export interface EpisodeResult {
  /** ToolAlpaca's shape: input, output, 'Final Thought', intermediate_steps. */
  instance: Instance;
  status: 'completed' | 'failed';
  /** `infrastructure`: a model call failed for the service (connection, auth, 5xx after retries). */
  failure?: { reason: FailureReason; message: string; infrastructure?: boolean };
  /** Number of intermediate steps recorded. */
  steps: number;
  /** Every model call of the episode: assistant, user agent, retrieval model. */
  usage: { promptTokens: number; completionTokens: number; calls: number };
}

/** ToolAlpaca's step limit. */
export const DEFAULT_MAX_STEPS = 15;
export const DEFAULT_MAX_TOKENS = 1024;
/** Observation length without retrieval (ToolAlpaca's `max_output_len`). */
const CUT_WITHOUT_RETRIEVAL = 3000;
/** Calls of a function while it answers 5xx (ToolAlpaca's agent: `while retry_times < 3`). */
export const SERVER_ERROR_ATTEMPTS = 3;

/** True when the tool record lists ToolAlpaca's retrieval tool among its `external_tools` (the real APIs do). */
function listsRetrieval(record: ToolAlpacaRecord): boolean {
  const external = (record as { external_tools?: unknown }).external_tools;
  return Array.isArray(external) && external.includes('retrieval');
}

/** The system prompt of function-calling mode (written for this project). */
export function functionCallingSystemPrompt(tool: Tool): string {
  const about = tool.description.trim() ? ` (${oneLine(tool.description, 300)})` : '';
  return [
    `You answer the user's request with the help of the tools of ${tool.name}${about}.`,
    'The user cannot see tool calls or their results, so your final reply must give them all the information they need.',
    'Do not make up information or arguments. If required information is missing, call getDetails to ask the user.',
    'When you have what you need, reply to the user in text, without calling a tool.',
  ].join(' ');
}

/**
 * Function names as function-calling APIs accept them (`^[A-Za-z0-9_-]{1,64}$`), by real name. Names
 * that already fit are kept; others are rewritten, with a numeric suffix on a clash.
 */
export function wireNames(names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set(names.filter((n) => /^[A-Za-z0-9_-]{1,64}$/.test(n)));
  for (const name of names) {
    if (/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
      out.set(name, name);
      continue;
    }
    const base = name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60) || 'function';
    let wire = base;
    for (let i = 2; used.has(wire); i++) wire = `${base}_${i}`;
    used.add(wire);
    out.set(name, wire);
  }
  return out;
}

/** Function-calling definitions of a tool's functions (named with `wireNames`). */
export function toolDefinitions(tool: Tool): ToolDefinition[] {
  const wire = wireNames(tool.functions.map((fn) => fn.name));
  return tool.functions.map((fn) => {
    const description = fn.description ?? fn.summary;
    return {
      name: wire.get(fn.name) ?? fn.name,
      ...(description !== undefined && description.trim() !== ''
        ? { description: oneLine(description, 1000) }
        : {}),
      parameters: fn.inputSchema,
    };
  });
}

/** `text` cut at the first stop sequence (for backends or scripted replies that ignore `stop`). */
export function cutAtStop(text: string, stops: readonly string[]): string {
  let end = text.length;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}

/**
 * The assistant text as ToolAlpaca logs it: what the model wrote after the prompt's `Thought:`, starting
 * with one space (ToolAlpaca's build_dataset.py drops the first character). A repeated leading `Thought:`
 * label is dropped, so that the scratchpad does not read `Thought: Thought:`.
 */
export function logText(text: string): string {
  const body = text.replace(/^\s*(?:ASSISTANT[ \t]*)?Thought[ \t]*:/, '').trim();
  return ` ${body}`;
}

/** ToolAlpaca's observation for an unknown action (Python list formatting of the names). */
export function invalidActionObservation(action: string, names: readonly string[]): string {
  return `\`${action}\` is not a valid action. The action must be one of [${names.map((n) => `'${n}'`).join(', ')}].`;
}

class EpisodeFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    /** Set when a model call failed for the service rather than for the model's answer. */
    readonly infrastructure = false,
  ) {
    super(message);
  }
}

interface Counters {
  promptTokens: number;
  completionTokens: number;
  calls: number;
}

/** State and actions shared by both modes. */
class EpisodeRun {
  /** The current turn's steps (a multi-turn episode starts a new list for each follow-up). */
  steps: IntermediateStep[] = [];
  /** The current turn's observation sources, parallel to `steps`. */
  sources: (ObservationSource | null)[] = [];
  readonly usage: Counters = { promptTokens: 0, completionTokens: 0, calls: 0 };
  readonly store = new RetrievalStore();
  readonly user: UserAgent;
  readonly maxSteps: number;
  readonly threshold: number;
  readonly toolFunctions: PromptFunction[];

  constructor(
    readonly input: EpisodeInput,
    readonly options: EpisodeOptions,
  ) {
    this.user = new UserAgent(input.instruction, {
      ...(options.user ? { model: options.user } : {}),
      ...(options.authValues ? { authValues: options.authValues } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(input.kind?.missing !== undefined ? { withheld: input.kind.missing } : {}),
      ...(input.kind?.followUp !== undefined ? { followUp: input.kind.followUp } : {}),
    });
    this.maxSteps = Math.max(0, options.maxSteps ?? DEFAULT_MAX_STEPS);
    this.threshold = options.retrievalThreshold ?? DEFAULT_RETRIEVAL_THRESHOLD;
    this.toolFunctions = options.mode === 'react' ? toolPromptFunctions(input.tool, input.record) : [];
  }

  /**
   * Built-ins available now: getDetails always; retrievalDataFromFile from the start when the record
   * lists it in `external_tools` (ToolAlpaca's real tools, whose agent gets the tool up front), else once
   * an output was stored. A function of the tool with a built-in's name shadows the built-in.
   */
  builtins(): (typeof GET_DETAILS | typeof RETRIEVAL)[] {
    const retrieval = this.store.size > 0 || listsRetrieval(this.input.record);
    const names = retrieval ? [GET_DETAILS, RETRIEVAL] : [GET_DETAILS];
    return names.filter((name) => !this.isFunction(name)) as (typeof GET_DETAILS | typeof RETRIEVAL)[];
  }

  isFunction(name: string): boolean {
    return this.input.tool.functions.some((fn) => fn.name === name);
  }

  actionNames(): string[] {
    return [...this.builtins(), ...this.input.tool.functions.map((fn) => fn.name)];
  }

  checkAborted(): void {
    if (this.options.signal?.aborted === true) throw new EpisodeFailure('aborted', 'the episode was aborted');
  }

  count(response: Pick<ChatResponse, 'usage'>, calls = 1): void {
    this.usage.promptTokens += response.usage.promptTokens;
    this.usage.completionTokens += response.usage.completionTokens;
    this.usage.calls += calls;
  }

  async chat(
    messages: ChatMessage[],
    extra: { stop?: string[]; tools?: ToolDefinition[] },
  ): Promise<ChatResponse> {
    this.checkAborted();
    const { temperature = 0, seed, maxTokens = DEFAULT_MAX_TOKENS, signal } = this.options;
    try {
      const response = await this.options.assistant.chat(
        {
          messages,
          temperature,
          maxTokens,
          ...(seed !== undefined ? { seed } : {}),
          ...(extra.stop ? { stop: extra.stop } : {}),
          ...(extra.tools ? { tools: extra.tools, toolChoice: 'auto' as const } : {}),
        },
        { stage: 'assistant', ...(signal ? { signal } : {}) },
      );
      this.count(response);
      return response;
    } catch (error) {
      this.checkAborted();
      throw new EpisodeFailure(
        'model_error',
        `assistant model: ${oneLine(messageOf(error))}`,
        isInfrastructureFailure(error),
      );
    }
  }

  /** Appends a step of the current turn with its observation's source. */
  record(call: string[], observed: Observed): void {
    this.steps.push([call, observed.text]);
    this.sources.push(observed.source);
  }

  /** The observation for one action with its parsed arguments (or the reason they could not be parsed). */
  async act(
    action: string,
    args: Record<string, unknown> | undefined,
    argsError?: string,
  ): Promise<Observed> {
    this.checkAborted();
    const names = this.actionNames();
    if (!names.includes(action)) return { text: invalidActionObservation(action, names), source: null };
    if (args === undefined) {
      const text =
        argsError?.startsWith("'Action Input' cannot be a list") === true
          ? argsError
          : INVALID_JSON_OBSERVATION;
      return { text, source: null };
    }
    const { signal } = this.options;
    if (!this.isFunction(action) && (action === GET_DETAILS || action === RETRIEVAL)) {
      try {
        const result =
          action === GET_DETAILS
            ? await runGetDetails(args, this.user, signal)
            : await runRetrieval(args, this.store, {
                ...(this.options.retrievalModel ? { model: this.options.retrievalModel } : {}),
                ...(signal ? { signal } : {}),
              });
        if (result.calls > 0) this.count(result, result.calls);
        return { text: result.observation, source: null };
      } catch (error) {
        this.checkAborted();
        const who = action === GET_DETAILS ? 'user model' : 'retrieval model';
        throw new EpisodeFailure(
          'model_error',
          `${who}: ${oneLine(messageOf(error))}`,
          isInfrastructureFailure(error),
        );
      }
    }
    let text: string;
    let source: ObservationSource;
    try {
      // A 5xx answer is asked again, up to SERVER_ERROR_ATTEMPTS calls in all, as ToolAlpaca's agent does.
      let observation: Observation;
      for (let attempt = 1; ; attempt++) {
        observation = await this.options.executor.execute(this.input.tool, action, args, {
          instanceId: this.input.instanceId,
          ...(signal ? { signal } : {}),
        });
        if (observation.status < 500 || attempt >= SERVER_ERROR_ATTEMPTS) break;
        this.checkAborted();
      }
      text = observationText(observation, { maxChars: Number.POSITIVE_INFINITY });
      source = observation.source;
    } catch (error) {
      this.checkAborted();
      throw new EpisodeFailure(
        'executor_error',
        `executor ${this.options.executor.kind}, tool "${this.input.tool.name}", function ${action}: ${oneLine(messageOf(error))}`,
      );
    }
    if (this.threshold <= 0)
      return {
        text: text.length > CUT_WITHOUT_RETRIEVAL ? text.slice(0, CUT_WITHOUT_RETRIEVAL) : text,
        source,
      };
    if (text.length > this.threshold) return { text: retrievalNotice(this.store.put(text)), source };
    return { text, source };
  }

  stepLimit(): EpisodeFailure {
    return new EpisodeFailure('step_limit', `no final answer after ${this.maxSteps} steps`);
  }
}

/** An observation as the assistant reads it, and its source (null when no executor answered). */
interface Observed {
  text: string;
  source: ObservationSource | null;
}

/** `observation_sources` for a turn's steps (nothing for a turn without steps). */
function sourcesField(sources: readonly (string | null)[]): { observation_sources?: (string | null)[] } {
  return sources.length > 0 ? { observation_sources: [...sources] } : {};
}

/** What a turn ends with: the final answer and thought. */
type TurnAnswer = Pick<Instance, 'output' | 'Final Thought'>;

/** The system message of a ReAct turn: the layout's, with a kind's guidance after it. */
function reactSystem(layoutSystem: string | undefined, guidance: string | undefined): string | undefined {
  if (guidance === undefined) return layoutSystem;
  return layoutSystem !== undefined ? `${layoutSystem}\n\n${guidance}` : guidance;
}

async function runReact(run: EpisodeRun, instance: TurnAnswer, question: string): Promise<void> {
  const layout = getPromptLayout(run.options.prompt);
  const guidance = kindGuidance(run.input.kind?.kind);
  const scratch: ScratchpadStep[] = [];
  for (;;) {
    const ctx = {
      functions: [...run.builtins().map((name) => BUILTIN_PROMPT_FUNCTIONS[name]), ...run.toolFunctions],
      input: question,
      steps: scratch,
    };
    const messages: ChatMessage[] = [];
    const system = reactSystem(layout.system?.(ctx), guidance);
    if (system !== undefined) messages.push({ role: 'system', content: system });
    messages.push({ role: 'user', content: layout.render(ctx) });
    const response = await run.chat(messages, { stop: [...layout.stopSequences] });
    const text = cutAtStop(response.text, layout.stopSequences);
    if (text.trim() === '') {
      throw new EpisodeFailure(
        'empty_reply',
        `the assistant's reply was empty (finish reason ${response.finishReason})`,
      );
    }
    const parsed = layout.parse(text);
    if (parsed.kind === 'final') {
      instance.output = parsed.answer;
      instance['Final Thought'] = parsed.thought;
      return;
    }
    if (parsed.kind === 'invalid') {
      const cut = response.finishReason === 'length' ? ' (the reply was cut by the token limit)' : '';
      throw new EpisodeFailure('parse_error', `${parsed.reason}${cut}: ${oneLine(text, 200)}`);
    }
    if (run.steps.length >= run.maxSteps) throw run.stepLimit();
    const full = logText(text);
    const observed = await run.act(parsed.action, parsed.args, parsed.parseError);
    run.record([parsed.action, parsed.argsText ?? parsed.actionInput, full], observed);
    scratch.push({ text: full, observation: observed.text });
  }
}

/** The opening messages of function-calling mode (a kind's guidance closes the system prompt). */
function functionCallingMessages(run: EpisodeRun): ChatMessage[] {
  const guidance = kindGuidance(run.input.kind?.kind);
  const system = functionCallingSystemPrompt(run.input.tool);
  return [
    { role: 'system', content: guidance !== undefined ? `${system} ${guidance}` : system },
    { role: 'user', content: run.input.instruction },
  ];
}

/** One turn in function-calling mode over `messages` (the conversation so far, kept for later turns). */
async function runFunctionCalling(
  run: EpisodeRun,
  instance: TurnAnswer,
  messages: ChatMessage[],
): Promise<void> {
  const functions = toolDefinitions(run.input.tool);
  // Wire name → real function name (they differ only for names the APIs would reject).
  const realName = new Map(
    [...wireNames(run.input.tool.functions.map((fn) => fn.name))].map(([real, wire]) => [wire, real]),
  );
  for (;;) {
    const tools = [...run.builtins().map((name) => BUILTIN_TOOL_DEFINITIONS[name]), ...functions];
    const response = await run.chat(messages, { tools });
    if (response.toolCalls.length === 0) {
      const text = response.text.trim();
      if (text === '') {
        throw new EpisodeFailure(
          'empty_reply',
          `the assistant's reply was empty (finish reason ${response.finishReason})`,
        );
      }
      const parsed = parseReactOutput(text);
      instance.output = parsed.kind === 'final' ? parsed.answer : text;
      instance['Final Thought'] = parsed.kind === 'final' ? parsed.thought : '';
      messages.push({ role: 'assistant', content: text });
      return;
    }
    if (run.steps.length >= run.maxSteps) throw run.stepLimit();
    messages.push({ role: 'assistant', content: response.text, toolCalls: response.toolCalls });
    const thought = stripThoughtLabel(response.text);
    for (const [i, call] of response.toolCalls.entries()) {
      if (run.steps.length >= run.maxSteps) throw run.stepLimit();
      const name = realName.get(call.name) ?? call.name;
      const parsed = parseActionArgs(call.arguments);
      const argsText = parsed.ok ? parsed.argsText : call.arguments;
      const full = `${i === 0 && thought !== '' ? ` ${thought}\n` : ' '}Action: ${name}\nAction Input: ${argsText}`;
      const observed = parsed.ok
        ? await run.act(name, parsed.args)
        : await run.act(name, undefined, parsed.error);
      run.record([name, argsText, full], observed);
      messages.push({ role: 'tool', content: observed.text, toolCallId: call.id, name: call.name });
    }
  }
}

/** The kind's fields of an instance (none without a kind): `kind`, `missing`, `follow_ups`. */
function kindFields(
  spec: InstructionKindSpec | undefined,
  followUps: readonly FollowUpTurn[],
): Partial<Instance> {
  if (spec === undefined) return {};
  return {
    kind: spec.kind,
    ...(spec.missing !== undefined ? { missing: spec.missing } : {}),
    ...(spec.kind === 'multi-turn'
      ? {
          follow_ups: followUps.map(({ observation_sources: sources, ...turn }) => ({
            ...turn,
            ...sourcesField(sources ?? []),
          })),
        }
      : {}),
  };
}

/**
 * Runs one episode. Never throws for model, executor or parse problems: they end the episode as a failed
 * result that keeps the steps taken so far.
 */
export async function runEpisode(input: EpisodeInput, options: EpisodeOptions): Promise<EpisodeResult> {
  const run = new EpisodeRun(input, options);
  // Key order as ToolAlpaca's JSON has it: input, output, Final Thought, intermediate_steps.
  const instance: Instance = { input: input.instruction };
  // A multi-turn episode: the first turn's steps once it is over, and the later turns.
  let firstSteps: IntermediateStep[] | undefined;
  let firstSources: (ObservationSource | null)[] | undefined;
  const followUps: FollowUpTurn[] = [];
  const result = (status: EpisodeResult['status'], failure?: EpisodeResult['failure']): EpisodeResult => {
    const first = firstSteps ?? run.steps;
    const laterSteps = followUps.reduce((sum, turn) => sum + (turn.intermediate_steps?.length ?? 0), 0);
    return {
      instance: {
        ...instance,
        intermediate_steps: first,
        ...sourcesField(firstSources ?? run.sources),
        ...kindFields(input.kind, followUps),
      },
      status,
      ...(failure ? { failure } : {}),
      steps: first.length + laterSteps,
      usage: { ...run.usage },
    };
  };
  try {
    const messages = options.mode === 'function-calling' ? functionCallingMessages(run) : [];
    const turn = (answer: TurnAnswer, question: string): Promise<void> =>
      options.mode === 'function-calling'
        ? runFunctionCalling(run, answer, messages)
        : runReact(run, answer, question);
    await turn(instance, input.instruction);
    const followUp = run.user.followUp(instance.output ?? '');
    if (followUp !== undefined) {
      firstSteps = run.steps;
      firstSources = run.sources;
      run.steps = [];
      run.sources = [];
      // In the instance while it runs (the same arrays), so that a failure keeps the turn's steps.
      followUps.push({ input: followUp, intermediate_steps: run.steps, observation_sources: run.sources });
      if (options.mode === 'function-calling') messages.push({ role: 'user', content: followUp });
      const answer: TurnAnswer = {};
      const earlier = [{ input: input.instruction, output: instance.output ?? '' }];
      await turn(answer, followUpQuestion(earlier, followUp));
      followUps[0] = {
        input: followUp,
        ...answer,
        intermediate_steps: run.steps,
        ...sourcesField(run.sources),
      };
    }
    return result('completed');
  } catch (error) {
    if (error instanceof EpisodeFailure)
      return result('failed', {
        reason: error.reason,
        message: error.message,
        ...(error.infrastructure ? { infrastructure: true } : {}),
      });
    if (options.signal?.aborted === true)
      return result('failed', { reason: 'aborted', message: messageOf(error) });
    throw error;
  } finally {
    // State kept for this instance (a per-instance MCP server and its folder) goes with it.
    await options.executor.endInstance?.(input.instanceId).catch(() => undefined);
  }
}
