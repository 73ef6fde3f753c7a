/**
 * The built-in executor kinds as registry factories (registered by `registry.ts`): schema, simulated,
 * replay, real and chain. The simulated executor is imported lazily, so that the model layer is only loaded
 * when a simulated executor is asked for.
 */
import { InputError } from '../core/errors.js';
import { createExecutorChain, createJsonlCache, createMemoryCache, type ChainOptions } from './chain.js';
import type { ToolExecutor } from './executor.js';
import { createRealExecutor, type RealExecutorOptions } from './real-executor.js';
import type { ExecutorFactory } from './registry.js';
import { createReplayExecutor, type ReplayExecutorOptions } from './replay-executor.js';
import { createSchemaExecutor, type SchemaExecutorOptions } from './schema-executor.js';
import type { McpExecutorOptions } from './mcp-executor.js';
import type { SimulatedExecutorOptions } from './simulated-executor.js';
import { STABLETOOLBENCH_EXECUTOR } from './stabletoolbench-cache.js';

export type BuiltinExecutorName = 'schema' | 'simulated' | 'replay' | 'real' | 'mcp' | 'chain';

/** Options of the `chain` kind. */
export type ChainExecutorOptions = {
  /** Executors to try, in order (any registered kinds but `chain`). Default `['real', 'mcp', 'simulated']` (real and mcp each
   * pass the functions they cannot call, HTTP or MCP, to the next). */
  order?: readonly string[];
  /** Replay JSONL used as the cache in front (read, and appended to with new answers). */
  cacheFile?: string;
  /** An in-memory cache in front instead (ignored when `cacheFile` is set). */
  memoryCache?: boolean | { maxEntries?: number };
} & Omit<ChainOptions, 'cache'>;

/** The built-in kinds' groups of `createExecutor` options. */
export interface BuiltinExecutorOptions {
  schema?: SchemaExecutorOptions;
  replay?: ReplayExecutorOptions;
  real?: RealExecutorOptions;
  mcp?: McpExecutorOptions;
  /** Options of `createSimulatedExecutor` (it needs a model or a model spec). */
  simulated?: SimulatedExecutorOptions;
  chain?: ChainExecutorOptions;
  /** StableToolBench's real-response cache folder (misses go to the `simulated` group's model). */
  stabletoolbench?: { cacheDir: string; simulate?: boolean };
}

const schema: ExecutorFactory<SchemaExecutorOptions> = {
  name: 'schema',
  description: 'fake but schema-valid answers, offline',
  create: (options) => createSchemaExecutor(options),
};

const simulated: ExecutorFactory<SimulatedExecutorOptions> = {
  name: 'simulated',
  description: 'a language model plays the API (ToolAlpaca)',
  async create(options) {
    const { createSimulatedExecutor } = await import('./simulated-executor.js');
    // Without options it throws its one-line "needs a model" InputError.
    return createSimulatedExecutor(options as SimulatedExecutorOptions);
  },
};

const replay: ExecutorFactory<ReplayExecutorOptions> = {
  name: 'replay',
  description: 'recorded observations (JSONL)',
  create: (options) => createReplayExecutor(options),
};

const real: ExecutorFactory<RealExecutorOptions> = {
  name: 'real',
  description: "the tool's real API",
  create: (options) => createRealExecutor(options),
};

const mcp: ExecutorFactory<McpExecutorOptions> = {
  name: 'mcp',
  description: "the tool's live MCP server (tools/call)",
  async create(options) {
    // Loaded on demand: the MCP SDK is only needed when this kind is asked for.
    const { createMcpExecutor } = await import('./mcp-executor.js');
    return createMcpExecutor(options);
  },
};

const chain: ExecutorFactory<ChainExecutorOptions> = {
  name: 'chain',
  description: 'a cache in front of executors tried in order (default real, mcp, then simulated)',
  async create(options, context) {
    const { order = ['real', 'mcp', 'simulated'], cacheFile, memoryCache, ...chainOptions } = options ?? {};
    const members: ToolExecutor[] = [];
    for (const member of order) {
      if (member === 'chain') throw new InputError('an executor chain cannot contain a chain');
      members.push(await context.create(member));
    }
    const cache =
      cacheFile !== undefined
        ? createJsonlCache(cacheFile)
        : memoryCache
          ? createMemoryCache(typeof memoryCache === 'object' ? memoryCache : {})
          : undefined;
    return createExecutorChain(members, { ...chainOptions, ...(cache ? { cache } : {}) });
  },
};

/** The built-in factories, in the order listings show them. */
export const BUILTIN_EXECUTORS: readonly ExecutorFactory<never>[] = [
  schema,
  simulated,
  replay,
  real,
  mcp,
  chain,
  STABLETOOLBENCH_EXECUTOR,
];
