/**
 * The executor registry: every executor kind the CLI's `--executor` names, and any a library user adds, is
 * a factory `{name, create(options)}` registered here. `createExecutor(name, options)` looks the name up
 * and passes the factory its own group of options (`options[name]`); options are grouped per executor, so
 * one object can configure every kind a chain may build.
 *
 * The built-in kinds (schema, simulated, replay, real, chain) are registered when this module loads.
 */
import { InputError } from '../core/errors.js';
import { BUILTIN_EXECUTORS, type BuiltinExecutorOptions } from './builtin-executors.js';
import type { ToolExecutor } from './executor.js';

/** What a factory gets besides its own options. */
export interface ExecutorCreateContext {
  /** Every executor's options, as given to `createExecutor` (a chain builds its members from them). */
  readonly all: CreateExecutorOptions;
  /** Create another registered executor from the same options (how a chain builds its members). */
  create(name: string): Promise<ToolExecutor>;
}

/** A registered executor kind. */
export interface ExecutorFactory<Options = unknown> {
  /** The name `createExecutor` and `--executor` use. */
  readonly name: string;
  /** One line for listings. */
  readonly description?: string;
  /** The executor, from this kind's group of options (undefined when none were given). */
  create(options: Options | undefined, context: ExecutorCreateContext): ToolExecutor | Promise<ToolExecutor>;
}

/**
 * Options of `createExecutor`, one group per executor name: the built-ins' groups are typed, others are
 * whatever their factory accepts.
 */
export type CreateExecutorOptions = BuiltinExecutorOptions & { readonly [name: string]: unknown };

const factories = new Map<string, ExecutorFactory>();

/**
 * Register an executor kind. A name already taken is an error unless `replace` is set (a library user may
 * replace a built-in on purpose).
 */
export function registerExecutor<Options>(
  factory: ExecutorFactory<Options>,
  options: { replace?: boolean } = {},
): void {
  const name = factory.name;
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new InputError(`executor name '${name}': use lower-case letters, digits and dashes`);
  }
  if (factories.has(name) && options.replace !== true) {
    throw new InputError(`an executor named '${name}' is already registered`);
  }
  factories.set(name, factory as ExecutorFactory);
}

/** Remove a registered kind; true when it was registered. */
export function unregisterExecutor(name: string): boolean {
  return factories.delete(name);
}

/** The factory registered under `name`, or undefined. */
export function findExecutor(name: string): ExecutorFactory | undefined {
  return factories.get(name);
}

/** Registered names, in registration order (the built-ins first). */
export function executorNames(): string[] {
  return [...factories.keys()];
}

/** An executor of the registered kind `name`; `InputError` for a name nobody registered. */
export async function createExecutor(
  name: string,
  options: CreateExecutorOptions = {},
): Promise<ToolExecutor> {
  const factory = factories.get(name);
  if (factory === undefined) {
    throw new InputError(`unknown executor '${name}'; expected one of: ${executorNames().join(', ')}`);
  }
  const context: ExecutorCreateContext = {
    all: options,
    create: (member) => createExecutor(member, options),
  };
  return factory.create(options[name], context);
}

for (const factory of BUILTIN_EXECUTORS) registerExecutor(factory);
