/**
 * StableToolBench's environment: its real-response cache first, a simulator on a miss.
 *
 * The cache folder has StableToolBench's `tool_response_cache` layout, as its virtual server reads it:
 * `{category}/{tool}_for_{category}/{api}.json`, where `category` is the query's category name with
 * spaces, commas and slashes made `_`, `tool` the standardised tool name, `api` the standardised API name
 * (ToolBench's `change_name(standardize(...))`), and each file a JSON object mapping Python's `str()` of
 * the call's arguments (`{'city': 'Paris'}`) to the recorded response `{"error": "", "response": ...}`.
 *
 * A call found there is answered from the record (observation source `replay`). On a miss the simulator
 * answers (any model through the simulated executor, e.g. MirrorAPI served OpenAI-compatibly), shown as
 * examples the first records of that API — up to 5, fewer while their text is longer than 2,048
 * characters, as StableToolBench's virtual server picks them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';
import type { Tool } from '../core/tool.js';
import { changeName, functionToRawApi, originalToolName, standardize } from '../formats/toolbench.js';
import { pythonRepr } from '../formats/python-json.js';
import { elapsedMs, type ExecutionContext, type Observation, type ToolExecutor } from './executor.js';
import type { ExecutorFactory } from './registry.js';
import type { SimulatedExecutorOptions, SimulatorExample } from './simulated-executor.js';

/** Examples shown to the simulator at most, and the length their text is kept under (StableToolBench's). */
export const MAX_EXAMPLES = 5;
export const MAX_EXAMPLES_CHARS = 2048;

/** Where a call's record lives and its key in that file. */
export interface CacheLocation {
  category: string;
  tool: string;
  api: string;
  /** `{category}/{tool}/{api}.json` under the cache folder. */
  file: string;
  /** Python's `str()` of the arguments. */
  key: string;
}

/** The category folder name: spaces, commas and slashes become `_`, then `__` becomes `_` once over. */
export function standardCategory(category: string): string {
  let out = category.replace(/[ ,/]/g, '_');
  // StableToolBench replaces spaces and commas until none is left, then "__" once (not to a fixed point).
  out = out.split('__').join('_');
  return out;
}

/** The record location of a call of `functionName` of `tool` with `args`. */
export function cacheLocation(
  tool: Tool,
  functionName: string,
  args: Record<string, unknown>,
): CacheLocation | undefined {
  const fn = tool.functions.find((f) => f.name === functionName);
  if (fn === undefined) return undefined;
  const raw = functionToRawApi(tool, fn);
  const category = standardCategory(raw.category_name ?? tool.category ?? '');
  const toolDir = `${standardize(originalToolName(tool))}_for_${category}`;
  const api = changeName(standardize(raw.api_name));
  return {
    category,
    tool: toolDir,
    api,
    file: join(category, toolDir, `${api}.json`),
    key: pythonRepr(args),
  };
}

/** The recorded responses of one API, in file order. */
type ApiRecords = Map<string, unknown>;

export interface StableToolBenchCache {
  readonly dir: string;
  /** The record of a call, or undefined. */
  lookup(
    tool: Tool,
    functionName: string,
    args: Record<string, unknown>,
  ): Promise<{ location: CacheLocation; record: unknown } | undefined>;
  /** The examples of an API for the simulator (StableToolBench's choice of them). */
  examples(tool: Tool, functionName: string): Promise<SimulatorExample[]>;
}

/** Reads the cache folder lazily, one API file at a time, each once. */
export function openStableToolBenchCache(dir: string): StableToolBenchCache {
  const files = new Map<string, Promise<ApiRecords>>();
  const load = (file: string): Promise<ApiRecords> => {
    let pending = files.get(file);
    if (pending === undefined) {
      pending = (async () => {
        let text: string;
        try {
          text = await readFile(join(dir, file), 'utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
          throw new InputError(oneLine(`${join(dir, file)}: cannot read (${messageOf(error)})`));
        }
        let data: unknown;
        try {
          data = JSON.parse(text) as unknown;
        } catch (error) {
          throw new InputError(oneLine(`${join(dir, file)}: not valid JSON (${messageOf(error)})`));
        }
        if (!isRecord(data))
          throw new InputError(`${join(dir, file)}: expected an object of recorded responses`);
        return new Map(Object.entries(data));
      })();
      files.set(file, pending);
    }
    return pending;
  };
  return {
    dir,
    async lookup(tool, functionName, args) {
      const location = cacheLocation(tool, functionName, args);
      if (location === undefined) return undefined;
      const records = await load(location.file);
      return records.has(location.key) ? { location, record: records.get(location.key) } : undefined;
    },
    async examples(tool, functionName) {
      const location = cacheLocation(tool, functionName, {});
      if (location === undefined) return [];
      const entries = [...(await load(location.file))].map(([input, output]) => ({ input, output }));
      let count = Math.min(MAX_EXAMPLES, entries.length);
      const size = (n: number): number =>
        pythonRepr(entries.slice(0, n).map((e) => [e.input, e.output])).length;
      while (count > 1 && size(count) > MAX_EXAMPLES_CHARS) count--;
      return entries.slice(0, count);
    },
  };
}

/** A recorded response as an observation: its `response` as the body, a non-empty `error` as a failed answer. */
function recordObservation(record: unknown, start: number): Observation {
  const error = isRecord(record) && typeof record.error === 'string' ? record.error : '';
  const body = isRecord(record) && 'response' in record ? record.response : record;
  return {
    status: error === '' ? 200 : 502,
    body,
    headers: { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' },
    source: 'replay',
    latencyMs: elapsedMs(start),
    ...(error !== '' ? { error } : {}),
  };
}

export interface StableToolBenchExecutorOptions {
  /** StableToolBench's `tool_response_cache` folder. */
  cacheDir: string;
  /**
   * Answers misses. Default: a simulated executor from `simulated` (its model), shown the cached examples
   * of the API. Without either, a miss is a 404 observation saying so.
   */
  simulator?: ToolExecutor;
  simulated?: SimulatedExecutorOptions;
}

export interface StableToolBenchExecutor extends ToolExecutor {
  readonly kind: 'stabletoolbench';
  /** Calls answered from the cache and by the simulator so far. */
  readonly counts: { hits: number; misses: number };
}

export async function createStableToolBenchExecutor(
  options: StableToolBenchExecutorOptions,
): Promise<StableToolBenchExecutor> {
  if (typeof options.cacheDir !== 'string' || options.cacheDir === '')
    throw new InputError(
      "the stabletoolbench executor needs StableToolBench's tool_response_cache folder (option `cacheDir`)",
    );
  const cache = openStableToolBenchCache(options.cacheDir);
  let simulator = options.simulator;
  if (simulator === undefined && options.simulated !== undefined) {
    const { createSimulatedExecutor } = await import('./simulated-executor.js');
    simulator = createSimulatedExecutor({
      ...options.simulated,
      examples: (tool, fn) => cache.examples(tool, fn.name),
    });
  }
  const counts = { hits: 0, misses: 0 };
  return {
    kind: 'stabletoolbench',
    counts,
    async execute(
      tool: Tool,
      functionName: string,
      args: Record<string, unknown>,
      context?: ExecutionContext,
    ) {
      const start = performance.now();
      const found = await cache.lookup(tool, functionName, args);
      if (found !== undefined) {
        counts.hits++;
        return recordObservation(found.record, start);
      }
      counts.misses++;
      if (simulator !== undefined) return simulator.execute(tool, functionName, args, context);
      const where = cacheLocation(tool, functionName, args);
      const error = `no recorded response for ${where?.key ?? '{}'} in ${join(options.cacheDir, where?.file ?? '')}, and no simulator`;
      return {
        status: 404,
        body: { error },
        headers: {},
        source: 'replay',
        latencyMs: elapsedMs(start),
        error,
      };
    },
    async close() {
      await simulator?.close?.();
    },
  };
}

/** The `stabletoolbench` executor kind (options: `{cacheDir}`; the simulator from the `simulated` group). */
export const STABLETOOLBENCH_EXECUTOR: ExecutorFactory<{ cacheDir: string; simulate?: boolean }> = {
  name: 'stabletoolbench',
  description: "StableToolBench's real-response cache, the simulator on a miss",
  create(options, context) {
    if (options === undefined)
      throw new InputError(
        "the stabletoolbench executor needs StableToolBench's tool_response_cache folder (option `cacheDir`)",
      );
    const simulated = options.simulate === false ? undefined : context.all.simulated;
    return createStableToolBenchExecutor({
      cacheDir: options.cacheDir,
      ...(simulated !== undefined ? { simulated } : {}),
    });
  },
};
