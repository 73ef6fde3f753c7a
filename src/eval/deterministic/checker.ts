/**
 * The deterministic process checker: is the assistant's sequence of calls a correct process for the
 * instruction, judged against the standard answer (`Golden_Answers`) with ToolAlpaca's judging
 * guidelines, without an LLM?
 *
 * Rules, numbered as in docs/evaluation-agreement.md (which explains each one and how it was measured):
 * 1. Every standard step must be performed by its own call of the same function; 2. `[Optional]` steps
 *    may be skipped; 3. order matters only between dependent steps (`${x from f}` after the call of f).
 * 4-5. Necessary parameters are the standard values the instruction mentions (never a bare pronoun such
 *    as "me"), compared after normalisation.
 * 6. A call rejected for its input performs nothing, unless the assistant adjusted it to what the API
 *    accepts; a call the API answered with an HTTP error was made as written.
 * 7. Other calls are allowed when they are built-ins, retries, calls of a standard function, or calls
 *    related to the task whose names all come from the instruction or earlier returns.
 * 8. No calls, or only rejected calls, fail a standard answer that has steps.
 * 9. A value the standard answer takes from an API function's return must be one a return gave.
 * 10. A value may take the form an earlier return gave it (the user's value inside it, nothing lost).
 */
import type { CheckableItem, GoldenAnswerStep, RunStep } from '../../core/run.js';
import type { Tool } from '../../core/tool.js';
import { canonicalJson } from '../../core/json-schema.js';
import {
  isMentioned,
  isPlaceholder,
  isPronoun,
  normalizeText,
  numberOf,
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

/**
 * Why `call` does not perform `step`, or undefined when it does. `earlier`, when given, is what the
 * returns before the call said: it lets a value taken from a return count (rules 9 and 10).
 */
export function stepMismatch(
  step: StandardStep,
  call: SolutionCall,
  instruction: InstructionText,
  earlier?: InstructionText,
): string | undefined {
  if (functionKey(step.action) !== functionKey(call.action)) return `calls ${call.action}`;
  if (call.outcome === 'rejected' && call.retry === undefined) return 'the call was rejected';
  if (!step.params.ok) return undefined; // unreadable standard parameters: the function name decides
  const given: Record<string, unknown> = call.params.ok ? call.params.params : {};
  const mismatches: { name: string; why: string }[] = [];
  for (const [name, value] of Object.entries(step.params.params)) {
    const why = valueMismatch(value, given[name], instruction);
    if (why !== undefined) mismatches.push({ name, why });
  }
  const first = mismatches[0];
  if (first !== undefined) {
    if (
      earlier === undefined ||
      !adjustedToReturns(step.params.params, given, mismatches, instruction, earlier)
    ) {
      return `${first.name}: ${first.why}`;
    }
  }
  if (earlier !== undefined) return unsourcedPlaceholder(step.params.params, given, instruction, earlier);
  return undefined;
}

/**
 * Rule 9: a value the standard answer takes from an API function's return (`${symbol from
 * getExchangeRates}`) must be one the returns (or the instruction) gave, not one the assistant made up.
 * Values taken from `getDetails` are the user's own words, which the assistant has to interpret, so they
 * are not held to a literal match.
 */
function unsourcedPlaceholder(
  standard: Record<string, unknown>,
  given: Record<string, unknown>,
  instruction: InstructionText,
  earlier: InstructionText,
): string | undefined {
  for (const [name, value] of Object.entries(standard)) {
    const got = given[name];
    if (isPlaceholder(value)) {
      if (value.from === undefined || isBuiltin(value.from)) continue;
      if (typeof got !== 'string' && typeof got !== 'number') continue;
      if (normalizeText(String(got)) === '') continue;
      if (!isMentioned(got, earlier) && !isMentioned(got, instruction)) {
        return `${name}: ${JSON.stringify(got)} is not the value ${value.from} returned`;
      }
    } else if (isObject(value) && isObject(got)) {
      const why = unsourcedPlaceholder(value, got, instruction, earlier);
      if (why !== undefined) return `${name}.${why}`;
    }
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Normalised text as whole words, padded so that `includes(' x ')` tests for a word sequence. */
function words(value: unknown): string {
  return ` ${normalizeText(String(value))} `;
}

/**
 * Rule 10: the call used the form an earlier return gave to the user's values (an address verified as
 * `321 MAPLE DR APT 12C`, for `321 Maple Dr` + `Apt 12C`). Each differing parameter either holds a value
 * seen in an earlier return that contains the standard value, or is left empty while its standard value
 * is inside one of those returned values: nothing the user gave is lost, it only took the API's form.
 */
function adjustedToReturns(
  standard: Record<string, unknown>,
  given: Record<string, unknown>,
  mismatches: readonly { name: string }[],
  instruction: InstructionText,
  earlier: InstructionText,
): boolean {
  const returned: string[] = [];
  const emptied: unknown[] = [];
  for (const { name } of mismatches) {
    const wanted = standard[name];
    const got = given[name];
    if (typeof wanted !== 'string' && typeof wanted !== 'number') return false;
    if (!isMentioned(wanted, instruction)) return false;
    if (got === undefined || got === null || (typeof got === 'string' && normalizeText(got) === '')) {
      emptied.push(wanted);
    } else if (typeof got === 'string' && isMentioned(got, earlier) && words(got).includes(words(wanted))) {
      returned.push(words(got));
    } else {
      return false;
    }
  }
  return (
    returned.length > 0 && emptied.every((wanted) => returned.some((got) => got.includes(words(wanted))))
  );
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
  const earlier = calls.map((call) => returnsBefore(calls, call.index));
  const candidates = standard.map((step) => [
    ...new Set(
      calls
        .filter((call) => stepMismatch(step, call, instruction, earlier[call.index]) === undefined)
        .map((call) => (call.outcome === 'rejected' ? (call.retry as number) : call.index)),
    ),
  ]);
  const matches = assign(standard, candidates);
  if (matches === undefined) {
    for (const step of standard) {
      if (step.optional) continue;
      if ((candidates[step.index] ?? []).length > 0) continue;
      reasons.push(`${describe(step)}: ${missingReason(step, calls, instruction, earlier)}`);
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
  const seen = returnsBefore(calls, call.index);
  const known = (value: unknown): boolean => isMentioned(value, instruction) || isMentioned(value, seen);
  const values = scalars(call.params.params);
  if (!values.some(known)) return false;
  // Rule 7: a name the user never gave and no return supplied is a guess, which makes the call random
  // even when another of its arguments is about the task (`{"country": "India", "keywords": "Diwali"}`).
  return values.filter(isName).every(known);
}

/**
 * A string argument that names something: not a number, a boolean word, a pronoun or a short code of
 * three characters or fewer (`en`, `png`, `USD`), which are formats and units more than subjects.
 */
function isName(value: unknown): boolean {
  if (typeof value !== 'string' || numberOf(value) !== undefined || isPronoun(value)) return false;
  const text = normalizeText(value);
  return text.replace(/ /g, '').length > 3 && !/^(true|false|yes|no|null|none)$/.test(text);
}

/** What the returns of the calls before `index` said, prepared for "is this value in them?" questions. */
function returnsBefore(calls: readonly SolutionCall[], index: number): InstructionText {
  return prepareInstruction(
    calls
      .filter((other) => other.index < index)
      .map((other) => other.observation)
      .join('\n'),
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
  earlier: readonly InstructionText[],
): string {
  const same = calls.filter((call) => functionKey(call.action) === functionKey(step.action));
  if (same.length === 0) return 'never called';
  const why = same.map(
    (call) => `call ${call.index + 1}: ${stepMismatch(step, call, instruction, earlier[call.index]) ?? '?'}`,
  );
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
