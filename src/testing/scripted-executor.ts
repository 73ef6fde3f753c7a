/**
 * An in-memory `ToolExecutor` that answers from a script and records every call. Like every executor,
 * it finds the function and checks the arguments first (404 for an unknown function, 400 with
 * `validationErrors` for invalid arguments; neither consumes a scripted answer), unless `checkArguments`
 * is false. Answers are queued with `script(...)` and consumed in order; per-function answers
 * (`answers`) serve when the queue is empty; anything else is a 404 saying nothing was scripted.
 */
import type { Tool } from '../core/tool.js';
import { prepareCall } from '../executors/arguments.js';
import type {
  ExecutionContext,
  Observation,
  ObservationSource,
  ToolExecutor,
} from '../executors/executor.js';

/** A recorded call. */
export interface RecordedToolCall {
  tool: string;
  functionName: string;
  args: Record<string, unknown>;
  instanceId?: string;
}

/** An answer: the observation's fields (status 200, JSON headers and the executor's source by default). */
export type ScriptedObservation = Partial<Observation> & { body: unknown };

export type ScriptedAnswer =
  ScriptedObservation | ((call: RecordedToolCall) => ScriptedObservation | Promise<ScriptedObservation>);

export interface ScriptedExecutorOptions {
  /** The executor's kind (default `scripted`). */
  kind?: string;
  /** Source written into observations (default `simulated`). */
  source?: ObservationSource;
  /** Answers by function name, used when the queue is empty. */
  answers?: Record<string, ScriptedAnswer>;
  /** Answers queued from the start. */
  observations?: readonly ScriptedAnswer[];
  /** Check the function and its arguments first, as every executor does (default true). */
  checkArguments?: boolean;
}

export interface ScriptedExecutor extends ToolExecutor {
  readonly calls: RecordedToolCall[];
  script(...answers: ScriptedAnswer[]): void;
  pending(): number;
  reset(): void;
}

/** A scripted executor (see the module comment). */
export function createScriptedExecutor(options: ScriptedExecutorOptions = {}): ScriptedExecutor {
  const kind = options.kind ?? 'scripted';
  const source = options.source ?? 'simulated';
  const answers = options.answers ?? {};
  const queue: ScriptedAnswer[] = [...(options.observations ?? [])];
  const calls: RecordedToolCall[] = [];

  const observe = (fields: ScriptedObservation): Observation => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    source,
    latencyMs: 0,
    ...fields,
  });

  return {
    kind,
    calls,
    script: (...more) => void queue.push(...more),
    pending: () => queue.length,
    reset() {
      calls.length = 0;
      queue.length = 0;
    },
    async execute(
      tool: Tool,
      functionName: string,
      args: Record<string, unknown>,
      context: ExecutionContext = {},
    ): Promise<Observation> {
      const call: RecordedToolCall = {
        tool: tool.name,
        functionName,
        args: structuredClone(args),
        ...(context.instanceId !== undefined ? { instanceId: context.instanceId } : {}),
      };
      calls.push(call);
      if (options.checkArguments !== false) {
        const prepared = prepareCall(tool, functionName, args, source);
        if (!prepared.ok) return prepared.observation;
      }
      const answer = queue.length > 0 ? queue.shift() : answers[functionName];
      if (answer === undefined) {
        return observe({ status: 404, body: { error: `nothing scripted for ${functionName}` } });
      }
      return observe(typeof answer === 'function' ? await answer(call) : answer);
    },
  };
}
