/**
 * The shapes every trajectory file uses (ToolAlpaca instances, run and judged items, generation-log
 * lines), turned into the viewer's views and facets. Fields added by later stages — `verification`,
 * instance `kind`, per-step observation `source` — are read wherever they are present.
 */
import type { JudgedItem, RunItem, RunStep } from '../core/run.js';
import { isRecord } from '../core/json-text.js';
import type { StepView, TrajectoryView, VerificationView } from './api.js';

/** Observation sources the executors write (kept as plain strings; unknown ones are shown as they are). */
export const OBSERVATION_SOURCES = ['real', 'simulated', 'schema', 'cache', 'replay', 'mcp'] as const;

/** Built-in actions of ToolAlpaca's agent: their observations come from the agent, not from a tool. */
const BUILTINS = new Set(['getDetails', 'retrievalDataFromFile']);

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** An executor kind that names one observation source (a chain or an import names none). */
export function sourceOfExecutor(executor: unknown): string | undefined {
  return typeof executor === 'string' && (OBSERVATION_SOURCES as readonly string[]).includes(executor)
    ? executor
    : undefined;
}

/**
 * The recorded source of step `i`: on the step itself (`source`, `observation_source`: a run file's
 * steps), or in a list on the instance parallel to its steps (`observation_sources`, `sources`). A `null`
 * (a step's `source: null`, or an entry of the list) records that no executor answered (an invalid
 * action, input that is not JSON): such a step has no source, and the run's executor is not assumed for
 * it.
 */
function recordedSource(
  holder: Record<string, unknown>,
  step: unknown,
  i: number,
): string | null | undefined {
  if (isRecord(step)) {
    const own = str(step.source) ?? str(step.observation_source) ?? str(step.observationSource);
    if (own !== undefined) return own;
    if (step.source === null || step.observation_source === null || step.observationSource === null)
      return null;
  }
  if (Array.isArray(step)) {
    const extra = step[2];
    if (isRecord(extra)) return str(extra.source);
  }
  for (const key of ['observation_sources', 'observationSources', 'sources']) {
    const list = holder[key];
    if (Array.isArray(list)) return list[i] === null ? null : str(list[i]);
  }
  return undefined;
}

/** The recorded source; the run's executor only where nothing was recorded (older corpora). */
function sourceOrDefault(
  recorded: string | null | undefined,
  defaultSource: string | undefined,
): string | undefined {
  if (recorded === null) return undefined;
  return recorded ?? defaultSource;
}

/** The thought part of ToolAlpaca's full assistant text (before its `Action:` line). */
export function thoughtOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const at = text.search(/(^|\n)\s*Action\s*\d*\s*:/);
  const thought = (at >= 0 ? text.slice(0, at) : text).replace(/^\s*Thought\s*:\s*/i, '').trim();
  return thought === '' ? undefined : thought;
}

function stepView(
  action: string,
  actionInput: string,
  observation: string,
  thought: string | undefined,
  source: string | undefined,
): StepView {
  const view: StepView = { action, actionInput, observation };
  if (thought !== undefined) view.thought = thought;
  if (source !== undefined && !BUILTINS.has(action)) view.source = source;
  return view;
}

/** Steps of a ToolAlpaca instance (`[[action, input, text], observation]`). */
export function instanceSteps(instance: Record<string, unknown>, defaultSource?: string): StepView[] {
  const steps = Array.isArray(instance.intermediate_steps) ? instance.intermediate_steps : [];
  return steps.map((step: unknown, i) => {
    const call = Array.isArray(step) && Array.isArray(step[0]) ? (step[0] as unknown[]) : [];
    const observation = Array.isArray(step) ? step[1] : undefined;
    return stepView(
      str(call[0]) ?? '',
      str(call[1]) ?? '',
      typeof observation === 'string' ? observation : JSON.stringify(observation ?? ''),
      thoughtOf(str(call[2])),
      sourceOrDefault(recordedSource(instance, step, i), defaultSource),
    );
  });
}

/** Steps of a run item. */
export function runSteps(item: Record<string, unknown>, defaultSource?: string): StepView[] {
  const steps = Array.isArray(item.steps) ? (item.steps as RunStep[]) : [];
  return steps.map((step, i) =>
    stepView(
      step.action,
      step.actionInput,
      step.observation,
      step.thought !== undefined ? (thoughtOf(step.thought) ?? undefined) : undefined,
      sourceOrDefault(recordedSource(item, step, i), defaultSource),
    ),
  );
}

/** Sources of a list of steps, for the facet. */
export function stepSources(steps: readonly StepView[]): string[] {
  return steps.map((s) => s.source).filter((s): s is string => s !== undefined);
}

/** The failure of an instance or item, when it failed. */
export function failureOf(holder: Record<string, unknown>): { reason: string; message: string } | undefined {
  const failure = holder.failure;
  if (!isRecord(failure)) return undefined;
  return { reason: str(failure.reason) ?? 'unknown', message: str(failure.message) ?? '' };
}

/** A ToolAlpaca instance as a trajectory. */
export function instanceTrajectory(
  instance: Record<string, unknown>,
  options: { status?: string; failure?: { reason: string; message: string }; defaultSource?: string } = {},
): TrajectoryView {
  const view: TrajectoryView = {
    instruction: str(instance.input) ?? '',
    steps: instanceSteps(instance, options.defaultSource),
  };
  const output = str(instance.output);
  if (output !== undefined && output !== '') view.finalAnswer = output;
  const finalThought = str(instance['Final Thought']);
  if (finalThought !== undefined && finalThought !== '') view.finalThought = finalThought;
  const failure = options.failure ?? failureOf(instance);
  view.status = options.status ?? str(instance.status) ?? (failure !== undefined ? 'failed' : 'completed');
  if (failure !== undefined) view.failure = failure;
  const missing = instance.missing;
  if (isRecord(missing) && typeof missing.argument === 'string') {
    view.missing = { argument: missing.argument };
    const fn = str(missing.function);
    const value = str(missing.value);
    if (fn !== undefined) view.missing.function = fn;
    if (value !== undefined) view.missing.value = value;
  }
  if (Array.isArray(instance.follow_ups)) {
    const turns = instance.follow_ups.filter(isRecord).map((turn) => {
      const { status: _status, ...rest } = instanceTrajectory(
        turn,
        options.defaultSource !== undefined ? { defaultSource: options.defaultSource } : {},
      );
      return rest;
    });
    if (turns.length > 0) view.followUps = turns;
  }
  return view;
}

/** A run or judged item as a trajectory. */
export function itemTrajectory(item: RunItem | JudgedItem, defaultSource?: string): TrajectoryView {
  const view: TrajectoryView = {
    instruction: item.instruction,
    steps: runSteps(item as Record<string, unknown>, defaultSource),
    status: item.status,
  };
  if (item.finalAnswer !== undefined && item.finalAnswer !== '') view.finalAnswer = item.finalAnswer;
  if (item.finalThought !== undefined && item.finalThought !== '') view.finalThought = item.finalThought;
  if (item.failure !== undefined)
    view.failure = { reason: item.failure.reason, message: item.failure.message };
  if (item.goldenAnswers.length > 0) {
    view.golden = item.goldenAnswers.map((g) => ({ action: g.Action, actionInput: g.Action_Input }));
  }
  return view;
}

/** A verification reason as written: a string, or `{code, message}` (the `verify` command's). */
function reasonOf(reason: unknown): { text: string; code?: string } {
  if (typeof reason === 'string') return { text: reason };
  if (isRecord(reason) && typeof reason.code === 'string') {
    const message = str(reason.message);
    return {
      text: message !== undefined && message !== '' ? `${reason.code}: ${message}` : reason.code,
      code: reason.code,
    };
  }
  return { text: JSON.stringify(reason) };
}

/**
 * `verification: {passed, stage, reasons, judge?}` (or a bare `verified` flag) when the item has one.
 * Reasons are strings or `{code, message}`; a judge record (`{model, runs, verdicts, majority,
 * agreement}`) is summarised in one line.
 */
export function verificationOf(holder: Record<string, unknown>): VerificationView | undefined {
  const v = holder.verification;
  if (isRecord(v) && typeof v.passed === 'boolean') {
    const reasons = Array.isArray(v.reasons) ? v.reasons.map(reasonOf) : [];
    const view: VerificationView = { passed: v.passed, reasons: reasons.map((r) => r.text) };
    const codes = reasons.map((r) => r.code).filter((c): c is string => c !== undefined);
    if (codes.length > 0) view.codes = [...new Set(codes)];
    const stage = str(v.stage);
    if (stage !== undefined) view.stage = stage;
    const judge = v.judge;
    if (isRecord(judge) && typeof judge.model === 'string') {
      const verdicts = Array.isArray(judge.verdicts) ? judge.verdicts.map(String).join(', ') : '';
      const agreement =
        typeof judge.agreement === 'number' ? `, ${Math.round(judge.agreement * 100)} % agree` : '';
      view.judge = `${judge.model}: ${String(judge.majority ?? '?')}${verdicts !== '' ? ` (${verdicts}${agreement})` : ''}`;
    }
    return view;
  }
  if (typeof holder.verified === 'boolean') return { passed: holder.verified, reasons: [] };
  return undefined;
}

/** The verification facet value: `passed`, or the stage that rejected the item. */
export function verificationFacet(view: VerificationView | undefined): string | undefined {
  if (view === undefined) return undefined;
  if (view.passed) return 'passed';
  return view.stage !== undefined ? `failed: ${view.stage}` : 'failed';
}

/** The instance kind recorded on an item (single, parallel, irrelevance...), if any. */
export function recordedKindOf(holder: Record<string, unknown>): string | undefined {
  return str(holder.kind) ?? str(holder.instance_kind) ?? str(holder.instanceKind);
}

/**
 * The kind of a corpus instance: the recorded one, else — ToolAlpaca's original instances record none —
 * `single` or `multi-step` by the tool calls among its steps (built-in actions not counted).
 */
export function instanceKindOf(
  holder: Record<string, unknown>,
  steps: readonly StepView[],
): { kind: string; recorded: boolean } {
  const recorded = recordedKindOf(holder);
  if (recorded !== undefined) return { kind: recorded, recorded: true };
  const calls = steps.filter((s) => s.action !== '' && !BUILTINS.has(s.action)).length;
  return { kind: calls > 1 ? 'multi-step' : 'single', recorded: false };
}

/** How the item view names a kind (a derived one says so). */
export function kindLabel(kind: { kind: string; recorded: boolean }): string {
  return kind.recorded ? kind.kind : `${kind.kind} (no kind recorded: by its steps)`;
}
