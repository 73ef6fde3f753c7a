/**
 * The rule-based checks of the three verification stages, on one instance and its tool (no model, no
 * executor): format (calls, inputs, well-formed steps, ToolAlpaca's dataset filters, the instance
 * kind's expectation), execution as the recorded observations tell it, and the deterministic part of
 * the semantic stage. Each returns the reasons it found (empty: the stage passes).
 *
 * A call that names no function, whose input does not parse or whose arguments break the schema is a
 * format defect when its recorded observation treats it as a success (the simulator played along: the
 * corpus would teach a wrong call). When the observation records the rejection (`Parameter type error…`,
 * `… is not a valid tool`), the step is an attempt the environment refused, as ToolAlpaca's own
 * environment answers; the execution stage then asks that it be followed by a correction or an honest
 * answer (`strictCalls` makes any such step a format defect instead).
 */
import type { Tool } from '../core/tool.js';
import type { Instance, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import type { GoldenAnswerStep, RunStep } from '../core/run.js';
import { GET_DETAILS, RETRIEVAL } from '../agents/builtin-tools.js';
import { parseActionArgs } from '../agents/react-parser.js';
import { findFunction } from '../executors/executor.js';
import { validateArguments } from '../executors/arguments.js';
import { checkProcess, functionKey } from '../eval/deterministic/index.js';
import { exampleOfInstance, thoughtOf } from '../export/read-toolalpaca.js';
import { toolAlpacaFilterFinding, type DropReason } from '../export/filters.js';
import { reason, type VerificationReason } from './reasons.js';
import { stepLabel, type Trajectory, type TrajectoryStep } from './trajectory.js';

export interface CheckOptions {
  /** ToolAlpaca's dataset filters as format checks (default true). */
  toolalpacaFilters?: boolean;
  /** Refused calls (unknown function, bad input) are format defects even when the observation records the refusal. */
  strictCalls?: boolean;
}

export const KNOWN_KINDS = ['single', 'multi-step', 'parallel', 'irrelevance', 'missing-info', 'multi-turn'];

function isBuiltinAction(action: string): boolean {
  return action === GET_DETAILS || action === RETRIEVAL;
}

/** Steps that call a function of the tool (not a built-in, not an unknown name). */
function toolCalls(tool: Tool, steps: readonly TrajectoryStep[]): TrajectoryStep[] {
  return steps.filter((s) => !isBuiltinAction(s.action) && findFunction(tool, s.action) !== undefined);
}

function allSteps(trajectory: Trajectory): TrajectoryStep[] {
  return trajectory.turns.flatMap((turn) => turn.steps);
}

// The function-calling episode writes each call of a turn as ` Action: NAME\nAction Input: ARGS`, the
// turn's text (if any) before the first: a call without a thought is how that layout looks.
const FUNCTION_CALL_TEXT = /^ Action: [^\n]*\nAction Input: /;

function callReasons(tool: Tool, step: TrajectoryStep, options: CheckOptions): VerificationReason[] {
  const where = stepLabel(step);
  const refused = step.outcome === 'rejected' && options.strictCalls !== true;
  const found: VerificationReason[] = [];
  const thought = thoughtOf(step.text);
  if (step.text.trim() !== '' && thought === '' && !FUNCTION_CALL_TEXT.test(step.text)) {
    found.push(reason('empty-thought', `${where}: the step has no thought before its action`));
  }
  const actionAt = step.text.search(/\n\s*Action\s*:/);
  const finalAt = step.text.search(/Final Answer\s*:/i);
  if (finalAt >= 0 && (actionAt < 0 || finalAt < actionAt)) {
    found.push(reason('action-after-final-answer', `${where}: an action follows a final answer`));
  }
  if (isBuiltinAction(step.action)) return found;
  const fn = findFunction(tool, step.action);
  if (fn === undefined) {
    if (!refused) {
      found.push(
        reason(
          'unknown-function',
          `${where}: "${step.action}" is not a function of ${tool.name} nor a built-in`,
        ),
      );
    }
    return found;
  }
  const parsed = parseActionArgs(step.actionInput);
  if (!parsed.ok) {
    if (!refused) found.push(reason('unparseable-input', `${where} ${step.action}: ${parsed.error}`));
    return found;
  }
  const errors = validateArguments(fn, parsed.args);
  if (errors.length > 0 && !refused) {
    found.push(reason('invalid-arguments', `${where} ${step.action}: ${errors.join('; ')}`));
  }
  return found;
}

const FILTER_REASONS: Partial<Record<DropReason, VerificationReason['code']>> = {
  zeroSteps: 'zero-steps',
  overFiveSteps: 'over-five-steps',
  onlyGetDetails: 'only-get-details',
};

/** Does `step` pass a value for `argument` (at the top level of its arguments)? */
function passesArgument(step: TrajectoryStep, argument: string): boolean {
  const parsed = parseActionArgs(step.actionInput);
  if (!parsed.ok) return false;
  const value = parsed.args[argument];
  return value !== undefined && value !== null && value !== '';
}

/** What each kind expects of the trajectory (a missing kind: ToolAlpaca's instance, nothing more). */
export function kindReasons(tool: Tool, trajectory: Trajectory): VerificationReason[] {
  const kind = trajectory.kind;
  if (kind === undefined) return [];
  const first = trajectory.turns[0]?.steps ?? [];
  const calls = toolCalls(tool, allSteps(trajectory));
  switch (kind) {
    case 'single':
      return calls.length === 0 ? [reason('single-no-call', 'a single-call instance calls no function')] : [];
    case 'multi-step':
      return calls.length < 2
        ? [reason('multi-step-single-call', `a multi-step instance makes ${calls.length} call(s)`)]
        : [];
    case 'parallel': {
      const ok = toolCalls(tool, first).filter((s) => s.outcome === 'ok');
      return ok.length < 2
        ? [
            reason(
              'parallel-single-call',
              `a parallel instance makes ${ok.length} successful call(s), not several`,
            ),
          ]
        : [];
    }
    case 'irrelevance':
      return calls.length > 0
        ? [
            reason(
              'irrelevance-called-tool',
              `no function serves the request, but ${stepLabel(calls[0] as TrajectoryStep)} calls ${(calls[0] as TrajectoryStep).action}`,
            ),
          ]
        : [];
    case 'missing-info':
      return missingInfoReasons(tool, trajectory, first);
    case 'multi-turn': {
      if (!trajectory.hasFollowUps) {
        return [reason('multi-turn-no-follow-up', 'a multi-turn instance has no follow-up turn')];
      }
      const unanswered = trajectory.turns.findIndex((turn) => turn.output.trim() === '');
      return unanswered >= 0 ? [reason('multi-turn-unanswered', `turn ${unanswered + 1} has no answer`)] : [];
    }
    default:
      return [
        reason('unknown-kind', `unknown instance kind "${kind}" (expected one of ${KNOWN_KINDS.join(', ')})`),
      ];
  }
}

/**
 * A missing-info instance must ask (getDetails) before a call passes the missing argument: a call that
 * passes it first invented it.
 */
function missingInfoReasons(
  tool: Tool,
  trajectory: Trajectory,
  steps: readonly TrajectoryStep[],
): VerificationReason[] {
  const asked = steps.findIndex((s) => s.action === GET_DETAILS);
  const argument = trajectory.missing?.argument;
  if (argument !== undefined) {
    const wanted = trajectory.missing?.function;
    const invented = steps.find(
      (s, i) =>
        (asked < 0 || i < asked) &&
        !isBuiltinAction(s.action) &&
        (wanted === undefined || functionKey(wanted) === functionKey(s.action)) &&
        passesArgument(s, argument),
    );
    if (invented !== undefined) {
      return [
        reason(
          'missing-info-invented',
          `${stepLabel(invented)} passes "${argument}", which the request leaves out, without asking the user`,
        ),
      ];
    }
  }
  if (asked < 0) {
    return [
      reason(
        'missing-info-not-asked',
        `the request leaves out ${argument !== undefined ? `"${argument}"` : 'a required argument'} and the assistant never asks (getDetails)`,
      ),
    ];
  }
  void tool;
  return [];
}

/** The format stage: every reason found (empty: passed). */
export function formatReasons(
  record: ToolAlpacaRecord,
  tool: Tool,
  instance: Instance,
  index: number,
  trajectory: Trajectory,
  options: CheckOptions = {},
): VerificationReason[] {
  const found: VerificationReason[] = [];
  if (trajectory.failed) {
    const failure = (instance as { failure?: { reason?: unknown } }).failure;
    const why = typeof failure?.reason === 'string' ? ` (${failure.reason})` : '';
    found.push(reason('not-completed', `the episode did not finish${why}`));
  }
  for (const [i, turn] of trajectory.turns.entries()) {
    // A later turn without an answer is the multi-turn kind's finding.
    if (i === 0 && turn.output.trim() === '' && !trajectory.failed) {
      found.push(reason('no-final-answer', 'the instance has no final answer'));
    }
    if (/\n\s*Action\s*:[^\n]*\n\s*Action Input\s*:/.test(`\n${turn.output}`)) {
      found.push(
        reason(
          'action-after-final-answer',
          `${i === 0 ? 'the' : `turn ${i + 1}'s`} final answer holds an action`,
        ),
      );
    }
    for (const step of turn.steps) found.push(...callReasons(tool, step, options));
  }
  if (options.toolalpacaFilters !== false) {
    const filter = toolAlpacaFilterFinding(exampleOfInstance(record, instance, index));
    const code = filter !== undefined ? FILTER_REASONS[filter.reason] : undefined;
    if (code !== undefined && !(code === 'zero-steps' && trajectory.failed)) {
      const where = filter !== undefined && filter.turn > 0 ? ` (turn ${filter.turn + 1})` : '';
      found.push(reason(code, `ToolAlpaca's dataset filter: ${filterText(code)}${where}`));
    }
  }
  found.push(...kindReasons(tool, trajectory));
  return found;
}

function filterText(code: VerificationReason['code']): string {
  if (code === 'zero-steps') return 'no step';
  if (code === 'over-five-steps') return 'more than five steps';
  return 'its only action is getDetails';
}

// Words of an answer that says a call did not work, or that it found nothing (an honest answer after
// an error): failure words and plain negations ("no images of large axolotls were found").
const HONEST =
  /\b(no|not|none|nothing|never|error|errors|unable|couldn'?t|can'?t|cannot|didn'?t|doesn'?t|isn'?t|wasn'?t|aren'?t|weren'?t|failed|fails|failure|sorry|unfortunately|apolog\w*|invalid|issue|problem|wrong|incorrect|retry|unsuccessful|denied|unauthori[sz]ed|forbidden)\b/i;

/** Does the answer say that something did not work? */
export function admitsFailure(answer: string): boolean {
  return HONEST.test(answer);
}

/**
 * The execution stage from the recorded observations: a call of a tool function must have an
 * observation; a refused or failed call must be followed by a correction (a later call of the tool that
 * succeeded) or an answer that says it did not work — not a claim of success.
 */
export function recordedExecutionReasons(tool: Tool, trajectory: Trajectory): VerificationReason[] {
  const found: VerificationReason[] = [];
  for (const turn of trajectory.turns) {
    for (const [i, step] of turn.steps.entries()) {
      if (isBuiltinAction(step.action)) continue;
      if (step.observation.trim() === '') {
        found.push(reason('empty-observation', `${stepLabel(step)} ${step.action}: no observation recorded`));
        continue;
      }
      if (step.outcome === 'ok') continue;
      const corrected = turn.steps
        .slice(i + 1)
        .some((later) => later.outcome === 'ok' && findFunction(tool, later.action) !== undefined);
      if (corrected || turn.output.trim() === '' || admitsFailure(turn.output)) continue;
      found.push(
        reason(
          'confident-answer-after-error',
          `${stepLabel(step)} ${step.action} ${step.outcome === 'rejected' ? 'was refused' : 'failed'} and nothing corrected it, yet the answer does not say so`,
        ),
      );
    }
  }
  return found;
}

/** The standard answer of instance `index` of `record`, when the record has one for the same instruction. */
export function goldenAnswersOf(
  record: ToolAlpacaRecord,
  instance: Instance,
  index: number,
): GoldenAnswerStep[] | undefined {
  const instructions = record.Instructions ?? [];
  const input = instance.input.trim();
  // The same position when it holds the same instruction, else the instruction's own position.
  const at =
    instructions[index]?.trim() === input ? index : instructions.findIndex((i) => i.trim() === input);
  const golden = at >= 0 ? record.Golden_Answers?.[at] : undefined;
  return golden !== undefined && golden.length > 0 ? golden : undefined;
}

// Numbers an answer states: three digits at least, or a decimal (short numbers are too often general
// knowledge — "1 Corinthians 13" — to prove that a figure was made up).
const NUMBER = /(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])/g;

function numbersIn(text: string): string[] {
  return [...text.matchAll(NUMBER)]
    .map((m) => m[0].replace(/,/g, '').replace(/^-/, ''))
    .map((n) => (n.includes('.') ? n.replace(/\.?0+$/, '') : n).replace(/^0+(?=\d)/, ''))
    .filter((n) => n.includes('.') || n.length >= 3);
}

/**
 * The deterministic semantic stage: with a standard answer, the checker's process verdict
 * (src/eval/deterministic); always, every number the answers state must come from the instruction, an
 * observation or the user's replies (a number found nowhere was made up).
 */
export function deterministicSemanticReasons(
  record: ToolAlpacaRecord,
  tool: Tool,
  instance: Instance,
  index: number,
  trajectory: Trajectory,
): VerificationReason[] {
  const found: VerificationReason[] = [];
  const golden = goldenAnswersOf(record, instance, index);
  if (golden !== undefined) {
    const steps: RunStep[] = (trajectory.turns[0]?.steps ?? []).map((s) => ({
      action: s.action,
      actionInput: s.actionInput,
      observation: s.observation,
    }));
    const result = checkProcess({ instruction: instance.input, goldenAnswers: golden, steps }, tool);
    if (!result.correct) {
      found.push(reason('process-incorrect', `against the standard answer: ${result.reasons.join('; ')}`));
    }
  }
  const known = new Set(
    numbersIn(
      trajectory.turns
        .flatMap((turn) => [turn.input, ...turn.steps.flatMap((s) => [s.observation, s.actionInput])])
        .join('\n'),
    ),
  );
  for (const [i, turn] of trajectory.turns.entries()) {
    const invented = numbersIn(turn.output).filter((n) => !known.has(n));
    if (invented.length > 0) {
      found.push(
        reason(
          'ungrounded-number',
          `${i === 0 ? 'the answer' : `turn ${i + 1}'s answer`} states ${invented.slice(0, 3).join(', ')}, found in no observation nor the request`,
        ),
      );
    }
  }
  return found;
}
