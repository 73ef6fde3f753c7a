/** Tool executors: the `ToolExecutor` port, the built-in kinds, caches and chains, and the registry. */
export {
  bodyText,
  callHash,
  callKey,
  observationText,
  type ExecutionContext,
  type Observation,
  type ObservationSource,
  type ToolExecutor,
} from './executor.js';
export {
  createExecutor,
  executorNames,
  findExecutor,
  registerExecutor,
  unregisterExecutor,
  type CreateExecutorOptions,
  type ExecutorCreateContext,
  type ExecutorFactory,
} from './registry.js';
export type {
  BuiltinExecutorName,
  BuiltinExecutorOptions,
  ChainExecutorOptions,
} from './builtin-executors.js';
export {
  checkArguments,
  prepareCall,
  validateArguments,
  type ArgumentCheck,
  type CheckOptions,
  type PreparedCall,
} from './arguments.js';
export {
  argumentSlots,
  buildHttpRequest,
  toCurl,
  type ArgumentSlot,
  type HttpRequest,
} from './http-request.js';
export { createSchemaExecutor, type SchemaExecutorOptions } from './schema-executor.js';
export { createSimulatedExecutor, type SimulatedExecutorOptions } from './simulated-executor.js';
export {
  createReplayExecutor,
  loadReplayRecords,
  recordObservations,
  type ReplayExecutorOptions,
  type ReplayRecord,
} from './replay-executor.js';
export { createRealExecutor, type RealExecutorOptions } from './real-executor.js';
export {
  createExecutorChain,
  createJsonlCache,
  createMemoryCache,
  withCache,
  type ChainOptions,
  type ObservationCache,
} from './chain.js';
