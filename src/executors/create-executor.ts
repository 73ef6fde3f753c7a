/**
 * One entry point for every executor kind, as the CLI's `--executor` option names them.
 *
 * The simulated executor is imported lazily, so that the model layer is only loaded when a simulated
 * executor is asked for.
 */
import { InputError } from '../core/errors.js';
import { createExecutorChain, createJsonlCache, createMemoryCache, type ChainOptions } from './chain.js';
import type { ToolExecutor } from './executor.js';
import { createRealExecutor, type RealExecutorOptions } from './real-executor.js';
import { createReplayExecutor, type ReplayExecutorOptions } from './replay-executor.js';
import { createSchemaExecutor, type SchemaExecutorOptions } from './schema-executor.js';
import type { SimulatedExecutorOptions } from './simulated-executor.js';

export type ExecutorKind = 'schema' | 'simulated' | 'replay' | 'real' | 'chain';
export type ChainMember = Exclude<ExecutorKind, 'chain'>;

export const EXECUTOR_KINDS: readonly ExecutorKind[] = ['schema', 'simulated', 'replay', 'real', 'chain'];

export interface CreateExecutorOptions {
  schema?: SchemaExecutorOptions;
  replay?: ReplayExecutorOptions;
  real?: RealExecutorOptions;
  /** Options of `createSimulatedExecutor` (it needs a model or a model spec). */
  simulated?: SimulatedExecutorOptions;
  chain?: {
    /** Executors to try, in order. Default `['real', 'simulated']`. */
    order?: readonly ChainMember[];
    /** Replay JSONL used as the cache in front (read, and appended to with new answers). */
    cacheFile?: string;
    /** An in-memory cache in front instead (ignored when `cacheFile` is set). */
    memoryCache?: boolean | { maxEntries?: number };
  } & Omit<ChainOptions, 'cache'>;
}

async function createSimulated(options: SimulatedExecutorOptions | undefined): Promise<ToolExecutor> {
  const { createSimulatedExecutor } = await import('./simulated-executor.js');
  // Without options it throws its one-line "needs a model" InputError.
  return createSimulatedExecutor(options as SimulatedExecutorOptions);
}

function isKind(value: string): value is ExecutorKind {
  return (EXECUTOR_KINDS as readonly string[]).includes(value);
}

/** An executor of the given kind; `InputError` for an unknown kind. */
export async function createExecutor(
  kind: ExecutorKind | string,
  options: CreateExecutorOptions = {},
): Promise<ToolExecutor> {
  if (!isKind(kind)) {
    throw new InputError(`unknown executor '${kind}'; expected one of: ${EXECUTOR_KINDS.join(', ')}`);
  }
  switch (kind) {
    case 'schema':
      return createSchemaExecutor(options.schema);
    case 'replay':
      return createReplayExecutor(options.replay);
    case 'real':
      return createRealExecutor(options.real);
    case 'simulated':
      return createSimulated(options.simulated);
    case 'chain': {
      const { order = ['real', 'simulated'], cacheFile, memoryCache, ...chainOptions } = options.chain ?? {};
      const members: ToolExecutor[] = [];
      for (const member of order) {
        if ((member as string) === 'chain') throw new InputError('an executor chain cannot contain a chain');
        members.push(await createExecutor(member, options));
      }
      const cache =
        cacheFile !== undefined
          ? createJsonlCache(cacheFile)
          : memoryCache
            ? createMemoryCache(typeof memoryCache === 'object' ? memoryCache : {})
            : undefined;
      return createExecutorChain(members, { ...chainOptions, ...(cache ? { cache } : {}) });
    }
  }
}
