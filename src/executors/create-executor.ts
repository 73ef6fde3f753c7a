/**
 * `createExecutor` and the built-in kinds' names, for the callers that import them from here; the kinds
 * themselves are registered in `registry.ts`.
 */
import type { BuiltinExecutorName } from './builtin-executors.js';

export { createExecutor, type CreateExecutorOptions } from './registry.js';
export type { BuiltinExecutorName, ChainExecutorOptions } from './builtin-executors.js';

/** An executor name: a built-in kind or any registered one. */
export type ExecutorKind = BuiltinExecutorName | (string & {});
/** The kinds a chain may contain by default. */
export type ChainMember = Exclude<BuiltinExecutorName, 'chain'>;

/** The built-in kinds, in the order help texts list them. */
export const EXECUTOR_KINDS: readonly BuiltinExecutorName[] = [
  'schema',
  'simulated',
  'replay',
  'real',
  'mcp',
  'chain',
];
