/**
 * Executor chains: cache → real → simulated (or any subset, in any order). The call is validated once; a
 * cache hit answers with `source: 'cache'`; otherwise executors are tried in order and the first answer that
 * is not a "cannot answer" (network error, refused host, 5xx, 429, replay miss...) wins and is cached.
 * Every observation keeps the `source` of whoever answered.
 */
import { InputError, messageOf } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import {
  elapsedMs,
  callKey,
  type ExecutionContext,
  type Observation,
  type ObservationSource,
  type ToolExecutor,
} from './executor.js';
import { loadReplayRecords, recordObservations, replayKey, type ReplayRecord } from './replay-executor.js';
import { prepareCall, type CheckOptions } from './arguments.js';

/** Observations stored by call (tool name, function name, checked arguments). */
export interface ObservationCache {
  get(tool: string, functionName: string, args: Record<string, unknown>): Promise<Observation | undefined>;
  set(
    tool: string,
    functionName: string,
    args: Record<string, unknown>,
    observation: Observation,
  ): Promise<void>;
}

/** An in-memory LRU cache of observations. */
export function createMemoryCache(
  options: { maxEntries?: number } = {},
): ObservationCache & { size(): number } {
  const maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  const map = new Map<string, Observation>();
  return {
    size: () => map.size,
    async get(tool, functionName, args) {
      const key = callKey(tool, functionName, args);
      const found = map.get(key);
      if (found !== undefined) {
        map.delete(key);
        map.set(key, found);
      }
      return found === undefined ? undefined : structuredClone(found);
    },
    async set(tool, functionName, args, observation) {
      const key = callKey(tool, functionName, args);
      map.delete(key);
      map.set(key, structuredClone(observation));
      if (map.size > maxEntries) {
        const oldest = map.keys().next().value;
        if (oldest !== undefined) map.delete(oldest);
      }
    },
  };
}

/**
 * A cache backed by a replay JSONL file: existing lines are read on first use (a missing file is empty) and
 * every new observation is appended, so the file can later drive the replay executor.
 */
export function createJsonlCache(file: string): ObservationCache {
  let loading: Promise<Map<string, Observation>> | undefined;
  let writing: Promise<void> = Promise.resolve();
  const load = (): Promise<Map<string, Observation>> => {
    loading ??= loadReplayRecords(file, { missingOk: true }).then((records) => {
      const map = new Map<string, Observation>();
      for (const r of records) map.set(replayKey(r.tool, r.function, r.args), r.observation);
      return map;
    });
    return loading;
  };
  return {
    async get(tool, functionName, args) {
      const found = (await load()).get(replayKey(tool, functionName, args));
      return found === undefined ? undefined : structuredClone(found);
    },
    async set(tool, functionName, args, observation) {
      const map = await load();
      map.set(replayKey(tool, functionName, args), structuredClone(observation));
      const record: ReplayRecord = { tool, function: functionName, args, observation };
      // Appends run one after another so that lines never interleave.
      writing = writing.then(() => recordObservations(file, [record]));
      await writing;
    },
  };
}

/** Default fall-through rule: the executor could not answer (error set, 5xx, 429); a rejected call is final. */
export function cannotAnswer(observation: Observation): boolean {
  if (observation.validationErrors !== undefined && observation.validationErrors.length > 0) return false;
  return observation.error !== undefined || observation.status >= 500 || observation.status === 429;
}

/** Default cache rule: a real answer (no executor error, not 5xx/429, not a rejected call). */
export function isCacheable(observation: Observation): boolean {
  return (
    observation.error === undefined &&
    observation.validationErrors === undefined &&
    observation.status < 500 &&
    observation.status !== 429
  );
}

export interface ChainOptions extends CheckOptions {
  /** Cache in front of the executors; hits answer with `source: 'cache'`, answers are stored. */
  cache?: ObservationCache;
  /** When to try the next executor. Default `cannotAnswer`. */
  shouldFallThrough?: (observation: Observation, executor: ToolExecutor) => boolean;
  /** Which answers to store in the cache. Default `isCacheable`. */
  shouldCache?: (observation: Observation) => boolean;
}

const SOURCES = new Set<string>(['real', 'simulated', 'schema', 'cache', 'replay', 'mcp']);

function sourceOf(kind: string | undefined, fallback: ObservationSource): ObservationSource {
  return kind !== undefined && SOURCES.has(kind) ? (kind as ObservationSource) : fallback;
}

/**
 * An executor trying `executors` in order behind an optional cache (`kind` is `chain`). An executor that
 * throws counts as "cannot answer" (an `InputError`, a setup problem, is rethrown); when every executor
 * fails, the last failure is returned as an observation.
 */
export function createExecutorChain(
  executors: readonly ToolExecutor[],
  options: ChainOptions = {},
): ToolExecutor {
  if (executors.length === 0 && options.cache === undefined) {
    throw new InputError('executor chain: give at least one executor or a cache');
  }
  const fallThrough = options.shouldFallThrough ?? cannotAnswer;
  const cacheable = options.shouldCache ?? isCacheable;
  const firstSource = sourceOf(executors[0]?.kind, 'cache');

  async function execute(
    tool: Tool,
    functionName: string,
    args: Record<string, unknown>,
    context?: ExecutionContext,
  ): Promise<Observation> {
    const start = performance.now();
    const prepared = prepareCall(tool, functionName, args, firstSource, options);
    if (!prepared.ok) return prepared.observation;
    const withWarnings = (o: Observation): Observation => {
      const warnings = [...new Set([...prepared.warnings, ...(o.warnings ?? [])])];
      return warnings.length > 0 ? { ...o, warnings } : o;
    };
    const name = prepared.fn.name;
    if (options.cache) {
      const hit = await options.cache.get(tool.name, name, prepared.args);
      if (hit !== undefined) return withWarnings({ ...hit, source: 'cache', latencyMs: elapsedMs(start) });
    }
    let last: Observation | undefined;
    for (const executor of executors) {
      let observation: Observation;
      try {
        observation = await executor.execute(tool, name, prepared.args, context);
      } catch (error) {
        if (error instanceof InputError) throw error;
        const message = `${executor.kind} executor failed: ${messageOf(error)}`;
        observation = {
          status: 502,
          body: { error: message },
          headers: {},
          source: sourceOf(executor.kind, firstSource),
          latencyMs: elapsedMs(start),
          error: message,
        };
      }
      last = observation;
      if (!fallThrough(observation, executor)) {
        if (options.cache && cacheable(observation)) {
          await options.cache.set(tool.name, name, prepared.args, observation);
        }
        return withWarnings(observation);
      }
    }
    // Only reachable with no executors (cache only) or when every executor fell through.
    return withWarnings(
      last ?? {
        status: 404,
        body: { error: `no cached observation for ${tool.name}.${name}` },
        headers: {},
        source: 'cache',
        latencyMs: elapsedMs(start),
        error: `no cached observation for ${tool.name}.${name}`,
      },
    );
  }

  return {
    kind: 'chain',
    execute,
    async endInstance(instanceId) {
      await Promise.all(executors.map((executor) => executor.endInstance?.(instanceId)));
    },
    async close() {
      await Promise.all(executors.map((executor) => executor.close?.()));
    },
  };
}

/** A cache in front of one executor: `createExecutorChain([executor], { cache })`. */
export function withCache(executor: ToolExecutor, cache: ObservationCache): ToolExecutor {
  return createExecutorChain([executor], { cache });
}
