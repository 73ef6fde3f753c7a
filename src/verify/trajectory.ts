/**
 * An instance as verification reads it: its kind and its turns (the first turn is the instance's own
 * `input` … `intermediate_steps`; a multi-turn instance adds `follow_ups`), each step with its action,
 * input, the assistant's text and the observation. `kind`, `missing` and `follow_ups` are read as
 * optional fields, so corpora written before instance kinds existed verify as they are.
 */
import type { Instance } from '../core/toolalpaca-record.js';
import { callOutcome, type CallOutcome } from '../eval/deterministic/index.js';

export interface TrajectoryStep {
  /** Turn and step position, for messages: `turn 2 step 1` (1-based). */
  turn: number;
  index: number;
  action: string;
  actionInput: string;
  /** The assistant's full text for the step (thought and action), when recorded. */
  text: string;
  observation: string;
  /** How the call ended as its observation tells (rejected, HTTP error, ok). */
  outcome: CallOutcome;
}

export interface Turn {
  input: string;
  output: string;
  steps: TrajectoryStep[];
}

export interface MissingArgument {
  function?: string;
  argument: string;
  value?: string;
}

export interface Trajectory {
  /** The instance's kind when it records one (any string: unknown kinds are a format finding). */
  kind?: string;
  missing?: MissingArgument;
  /** The instance records `follow_ups` (a multi-turn instance). */
  hasFollowUps: boolean;
  turns: Turn[];
  /** `status: 'failed'` (a generation run that did not finish the episode). */
  failed: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stepsOf(value: unknown, turn: number): TrajectoryStep[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry: unknown, index) => {
    const [call, observation] = Array.isArray(entry) ? (entry as unknown[]) : [];
    const parts = Array.isArray(call) ? (call as unknown[]) : [];
    const text = (k: number): string => (typeof parts[k] === 'string' ? (parts[k] as string) : '');
    const obs = typeof observation === 'string' ? observation : '';
    return {
      turn,
      index: index + 1,
      action: text(0).trim(),
      actionInput: text(1),
      text: text(2),
      observation: obs,
      outcome: callOutcome(obs),
    };
  });
}

function turnOf(value: Record<string, unknown>, turn: number): Turn {
  return {
    input: typeof value.input === 'string' ? value.input : '',
    output: typeof value.output === 'string' ? value.output : '',
    steps: stepsOf(value.intermediate_steps, turn),
  };
}

export function trajectoryOf(instance: Instance): Trajectory {
  const raw = instance as Record<string, unknown>;
  const followUps = Array.isArray(raw.follow_ups) ? raw.follow_ups.filter(isRecord) : undefined;
  const missing = isRecord(raw.missing) && typeof raw.missing.argument === 'string' ? raw.missing : undefined;
  return {
    ...(typeof raw.kind === 'string' ? { kind: raw.kind } : {}),
    ...(missing !== undefined
      ? {
          missing: {
            argument: missing.argument as string,
            ...(typeof missing.function === 'string' ? { function: missing.function } : {}),
            ...(typeof missing.value === 'string' ? { value: missing.value } : {}),
          },
        }
      : {}),
    hasFollowUps: followUps !== undefined && followUps.length > 0,
    turns: [turnOf(raw, 1), ...(followUps ?? []).map((turn, i) => turnOf(turn, i + 2))],
    failed: raw.status === 'failed',
  };
}

/** `step 2` for the first turn, `turn 2 step 1` after it. */
export function stepLabel(step: Pick<TrajectoryStep, 'turn' | 'index'>): string {
  return step.turn === 1 ? `step ${step.index}` : `turn ${step.turn} step ${step.index}`;
}
