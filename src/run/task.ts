/**
 * The task contract of the durable-run engine. A task is one unit of a run (an instance of a
 * generation run, a tool of a toolset build, an item of a judge run, a query of `solve`): its input
 * and its result are plain JSON, so that a scheduler may hand them to a worker in another process
 * (through a queue) and bring the result back. Whatever a runner needs besides its input (models, an
 * executor, the tools) it gets when it is created from the run's parameters, never through the input.
 */
import { messageOf, oneLine } from '../core/errors.js';
import type { LedgerRow } from '../models/ledger.js';
import { isInfrastructureFailure } from '../models/model-errors.js';

export type TaskStatus = 'completed' | 'failed';

/**
 * Why a task failed. `infrastructure` marks failures of the service rather than of the model's
 * behaviour (connection refused, auth, 5xx after retries): a resume retries them by default, and
 * consecutive ones open the circuit breaker. Reasons are plain strings (the viewer shows them).
 */
export interface TaskFailure {
  reason: string;
  message: string;
  infrastructure?: boolean;
}

/** One task to run: a stable id (unique in the run) and its plain-JSON input. */
export interface TaskSpec<I> {
  id: string;
  input: I;
}

/** Model calls counted per stage and model, unpriced (the run's ledger prices them). */
export type TaskCalls = Omit<LedgerRow, 'costUsd'>[];

/** What a task produced: plain JSON. A failed task still has an output (what was done before it failed). */
export interface TaskResult<O> {
  status: TaskStatus;
  output: O;
  failure?: TaskFailure;
  /**
   * The model calls the task made when they were counted outside the run's own ledger (a queue
   * worker's): journaled with the result and added to the run's ledger, also on resume.
   */
  calls?: TaskCalls;
}

export interface TaskContext {
  /** Aborted when the run stops hard (after the grace period): the task should end soon. */
  signal: AbortSignal;
}

/** Runs one task: plain JSON in, plain JSON out. A throw is turned into a failure (`failureOf`). */
export type TaskRunner<I, O> = (input: I, context: TaskContext) => Promise<TaskResult<O>>;

/** Which failed tasks a resumed run runs again. */
export type RetryPolicy = 'infrastructure' | 'all' | 'none';
export const RETRY_POLICIES: readonly RetryPolicy[] = ['infrastructure', 'all', 'none'];

/** Whether a task that finished with `failure` is run again under `policy`. */
export function shouldRetry(failure: TaskFailure | undefined, policy: RetryPolicy): boolean {
  if (failure === undefined) return false;
  if (policy === 'all') return true;
  if (policy === 'none') return false;
  return failure.infrastructure === true;
}

/**
 * The failure record of an error a task threw: `reason` (default `error`), the message on one line,
 * and `infrastructure` when the error is a model service failure.
 */
export function failureOf(error: unknown, reason = 'error'): TaskFailure {
  return {
    reason,
    message: oneLine(messageOf(error), 300),
    ...(isInfrastructureFailure(error) ? { infrastructure: true } : {}),
  };
}
