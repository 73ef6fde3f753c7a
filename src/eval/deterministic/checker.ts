/**
 * The deterministic process checker: is the assistant's sequence of calls a correct process for the
 * instruction, judged against the standard answer (`Golden_Answers`) with ToolAlpaca's judging
 * guidelines, without an LLM?
 *
 * Rules (docs/evaluation-agreement.md explains each one and how it was measured):
 * 1. Every standard step must be performed by a call of the same function whose necessary parameters
 *    agree; steps marked `[Optional]` may be skipped.
 * 2. A call rejected for its input (type error, invalid JSON, unknown action) performs nothing; a call the
 *    API answered with an HTTP error still counts as performed.
 * 3. Necessary parameters are the standard values the instruction mentions; they are compared after
 *    normalisation (case, accents, punctuation, "3" = 3, lists as sets). Values the instruction does not
 *    mention, empty/null values and `${…}` placeholders may differ.
 * 4. Order matters only between dependent steps: a step whose parameters hold `${x from f}` must come
 *    after the step calling `f`.
 * 5. Other calls are allowed when they are built-ins (getDetails, retrievalDataFromFile), failed calls
 *    followed by another call of the same function (retries), or calls of a function the standard answer
 *    uses; a call of any other function is a random call to an unrelated function and makes the process
 *    wrong.
 */
import type { CheckableItem, GoldenAnswerStep, RunStep } from '../../core/run.js';
import type { Tool } from '../../core/tool.js';
import { canonicalJson } from '../../executors/executor.js';
import {
  isMentioned,
  isPlaceholder,
  parseSolutionParameters,
  parseStandardParameters,
  prepareInstruction,
  valueMismatch,
  type InstructionText,
  type ParsedParameters,
} from './values.js';

/** ToolAlpaca's built-in functions, always allowed. */
export const BUILTIN_FUNCTIONS: readonly string[] = ['getDetails', 'retrievalDataFromFile'];

const OPTIONAL_MARK = /^\s*\[optional\]\s*/i;

export interface StandardStep {
  /** 0-based position in the standard answer. */
  index: number;
  action: string;
  optional: boolean;
  params: ParsedParameters;
  /** Indexes of earlier standard steps whose returns this step's placeholders use. */
  dependsOn: number[];
}

/** How a call ended, as far as the process is concerned. */
export type CallOutcome = 'ok' | 'http-error' | 'rejected';

export interface SolutionCall {
  index: number;
  action: string;
  params: ParsedParameters;
  outcome: CallOutcome;
  /**
   * For a rejected call: the index of the next call of the same function that went through (the call
   * adjusted after the rejection), if any.
   */
  retry?: number;
  observation: string;
}

export interface CheckResult {
  correct: boolean;
  /** Why the process is wrong; when it is correct, notes on what was allowed (skipped optional steps...). */
  reasons: string[];
  /** For each standard step, the 0-based index of the call that performs it (undefined: not performed). */
  matches: (number | undefined)[];
}

/** Function names compare without case, spaces, backticks or a trailing `()`. */
export function functionKey(name: string): string {
  return name
    .replace(OPTIONAL_MARK, '')
    .replace(/[`'"\s]/g, '')
    .replace(/\(\)$/, '')
    .toLowerCase();
}

const BUILTIN_KEYS = new Set(BUILTIN_FUNCTIONS.map(functionKey));

export function isBuiltin(name: string): boolean {
  return BUILTIN_KEYS.has(functionKey(name));
}

/** Reads the standard answer: optional marks, parameters, and dependencies through placeholders. */
export function readStandardSteps(golden: readonly GoldenAnswerStep[]): StandardStep[] {
  const steps: StandardStep[] = [];
  for (const [index, step] of golden.entries()) {
    const optional = OPTIONAL_MARK.test(step.Action) || OPTIONAL_MARK.test(step.Action_Input);
    const params = parseStandardParameters(step.Action_Input.replace(OPTIONAL_MARK, ''));
    const dependsOn = new Set<number>();
    if (params.ok) {
      for (const source of placeholderSources(params.params)) {
        const key = functionKey(source);
        for (let i = index - 1; i >= 0; i--) {
          if (functionKey(steps[i]?.action ?? '') === key) {
            dependsOn.add(i);
            break;
          }
        }
      }
    }
    steps.push({
      index,
      action: step.Action.replace(OPTIONAL_MARK, '').trim(),
      optional,
      params,
      dependsOn: [...dependsOn],
    });
  }
  return steps;
}

function placeholderSources(value: unknown): string[] {
  if (isPlaceholder(value)) return value.from === undefined ? [] : [value.from];
  if (Array.isArray(value)) return value.flatMap(placeholderSources);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(placeholderSources);
  return [];
}

/**
 * The outcome of a call from its observation text. `rejected`: the call did not reach the API as written
 * (argument type errors, invalid JSON, an action that is not a function); `http-error`: the API answered
 * with a 4xx/5xx status.
 */
export function callOutcome(observation: string): CallOutcome {
  const text = observation.trim();
  if (
    /you need to change the input and try again/i.test(text) ||
    /^parameter type error/i.test(text) ||
    /^invalid json format/i.test(text) ||
    /is not a valid (action|tool)/i.test(text) ||
    /^missing required parameter/i.test(text)
  ) {
    return 'rejected';
  }
  if (/^status code:\s*[45]\d\d\b/i.test(text)) return 'http-error';
  return 'ok';
}

export function readSolutionCalls(steps: readonly RunStep[]): SolutionCall[] {
  const calls = steps.map((step, index) => ({
    index,
    action: step.action.trim(),
    params: parseSolutionParameters(step.actionInput),
    outcome: callOutcome(step.observation),
    observation: step.observation,
  }));
  markRetries(calls);
  return calls;
}

function markRetries(calls: SolutionCall[]): void {
  for (const call of calls) {
    delete call.retry;
    if (call.outcome !== 'rejected') continue;
    const retry = calls.find(
      (later) =>
        later.index > call.index &&
        later.outcome !== 'rejected' &&
        functionKey(later.action) === functionKey(call.action),
    );
    if (retry !== undefined) call.retry = retry.index;
  }
}

/** Why `call` does not perform `step`, or undefined when it does. */
export function stepMismatch(
  step: StandardStep,
  call: SolutionCall,
  instruction: InstructionText,
): string | undefined {
  if (functionKey(step.action) !== functionKey(call.action)) return `calls ${call.action}`;
  if (call.outcome === 'rejected' && call.retry === undefined) return 'the call was rejected';
  if (!step.params.ok) return undefined; // unreadable standard parameters: the function name decides
  const given: Record<string, unknown> = call.params.ok ? call.params.params : {};
  for (const [name, value] of Object.entries(step.params.params)) {
    const why = valueMismatch(value, given[name], instruction);
    if (why !== undefined) return `${name}: ${why}`;
  }
  return undefined;
}

function describe(step: StandardStep): string {
  return `step ${step.index + 1} ${step.action}`;
}

/**
 * Checks the process of one solution against its standard answer. `tool`, when given, tells which
 * actions are functions of the tool (a call of anything else is a rejected call).
 */
export function checkProcess(
  item: Pick<CheckableItem, 'steps' | 'goldenAnswers' | 'instruction'>,
  tool?: Tool,
): CheckResult {
  const instruction = prepareInstruction(item.instruction);
  const standard = readStandardSteps(item.goldenAnswers);
  const calls = readSolutionCalls(item.steps);
  if (tool !== undefined) {
    const known = new Set(tool.functions.map((fn) => functionKey(fn.name)));
    for (const call of calls) {
      if (!known.has(functionKey(call.action)) && !isBuiltin(call.action)) call.outcome = 'rejected';
    }
    markRetries(calls);
  }
  const reasons: string[] = [];
  const notes: string[] = [];

  // Candidate calls per standard step, then one call per step with dependencies in order. A rejected
  // call with the standard's parameters that the assistant then adjusted to what the API accepts
  // performs the step through its retry (ToolAlpaca's guideline: adjusting calls to their returns, such
  // as retrying when a function errors, is acceptable).
  const candidates = standard.map((step) => [
    ...new Set(
      calls
        .filter((call) => stepMismatch(step, call, instruction) === undefined)
        .map((call) => (call.outcome === 'rejected' ? (call.retry as number) : call.index)),
    ),
  ]);
  const matches = assign(standard, candidates);
  if (matches === undefined) {
    for (const step of standard) {
      if (step.optional) continue;
      if ((candidates[step.index] ?? []).length > 0) continue;
      reasons.push(`${describe(step)}: ${missingReason(step, calls, instruction)}`);
    }
    if (reasons.length === 0) {
      reasons.push(
        'the calls cannot perform every standard step in an order that respects the dependencies between steps',
      );
    }
    return { correct: false, reasons, matches: standard.map(() => undefined) };
  }
  for (const step of standard) {
    if (step.optional && matches[step.index] === undefined) notes.push(`optional ${describe(step)} skipped`);
  }

  // Every other call must be allowed.
  const used = new Set(matches.filter((m): m is number => m !== undefined));
  const standardFunctions = new Set(standard.map((step) => functionKey(step.action)));
  for (const call of calls) {
    if (used.has(call.index)) continue;
    const label = `call ${call.index + 1} ${call.action}`;
    if (isBuiltin(call.action)) continue;
    const failed = call.outcome !== 'ok';
    const retried = calls.some(
      (later) => later.index > call.index && functionKey(later.action) === functionKey(call.action),
    );
    if (failed && retried) {
      notes.push(`${label}: failed and retried`);
      continue;
    }
    if (call.outcome === 'rejected' && call.index < calls.length - 1) {
      notes.push(`${label}: rejected, then corrected`);
      continue;
    }
    const repeated = calls.find(
      (earlier) =>
        earlier.index < call.index &&
        earlier.outcome === 'ok' &&
        functionKey(earlier.action) === functionKey(call.action) &&
        sameArguments(earlier, call),
    );
    if (repeated !== undefined) {
      reasons.push(`${label}: repeats call ${repeated.index + 1}, which had already succeeded`);
      continue;
    }
    if (standardFunctions.has(functionKey(call.action))) {
      notes.push(`${label}: extra call of a standard function`);
      continue;
    }
    if (call.outcome !== 'rejected' && isGrounded(call, calls, instruction)) {
      notes.push(
        `${label}: extra call of a related function (its arguments come from the instruction or earlier returns)`,
      );
      continue;
    }
    reasons.push(
      `${label}: a function the standard answer does not use, with arguments unrelated to the task`,
    );
  }
  if (reasons.length > 0) return { correct: false, reasons, matches };
  return { correct: true, reasons: notes, matches };
}

/**
 * A call is related to the task when at least one of its argument values is something the user said or
 * an earlier call returned; a call whose arguments are all invented (or that has none) is random.
 */
export function isGrounded(
  call: SolutionCall,
  calls: readonly SolutionCall[],
  instruction: InstructionText,
): boolean {
  if (!call.params.ok) return false;
  const earlier = calls
    .filter((other) => other.index < call.index)
    .map((other) => other.observation)
    .join('\n');
  const seen = prepareInstruction(earlier);
  return scalars(call.params.params).some(
    (value) => isMentioned(value, instruction) || isMentioned(value, seen),
  );
}

function sameArguments(a: SolutionCall, b: SolutionCall): boolean {
  if (a.params.ok && b.params.ok) return canonicalJson(a.params.params) === canonicalJson(b.params.params);
  return !a.params.ok && !b.params.ok && a.params.raw.trim() === b.params.raw.trim();
}

function scalars(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(scalars);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(scalars);
  return [value];
}

function missingReason(
  step: StandardStep,
  calls: readonly SolutionCall[],
  instruction: InstructionText,
): string {
  const same = calls.filter((call) => functionKey(call.action) === functionKey(step.action));
  if (same.length === 0) return 'never called';
  const why = same.map((call) => `call ${call.index + 1}: ${stepMismatch(step, call, instruction) ?? '?'}`);
  return `no call with the necessary parameters (${why.join('; ')})`;
}

/**
 * One distinct call per required step (optional steps take one when they can), with each step's call
 * after the calls of the steps it depends on. Backtracking: standard answers have a handful of steps.
 */
function assign(
  standard: readonly StandardStep[],
  candidates: readonly number[][],
): (number | undefined)[] | undefined {
  const chosen: (number | undefined)[] = standard.map(() => undefined);
  const taken = new Set<number>();
  const visit = (k: number): boolean => {
    const step = standard[k];
    if (step === undefined) return true;
    const earliest = Math.max(-1, ...step.dependsOn.map((d) => chosen[d] ?? -1));
    for (const call of candidates[k] ?? []) {
      if (taken.has(call) || call <= earliest) continue;
      chosen[k] = call;
      taken.add(call);
      if (visit(k + 1)) return true;
      taken.delete(call);
      chosen[k] = undefined;
    }
    if (step.optional) return visit(k + 1);
    return false;
  };
  return visit(0) ? chosen : undefined;
}
