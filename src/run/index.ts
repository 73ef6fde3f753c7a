/**
 * The durable-run engine: plan tasks → run one task (plain JSON in and out) → journal → scheduler →
 * graceful stop → assemble. Generation runs, toolset builds, evaluation runs, judge runs and `solve`
 * are built on it; see docs/architecture.md for the seams and the task contract.
 */
export {
  DEFAULT_BREAKER_THRESHOLD,
  DEFAULT_GRACE_MS,
  executeTasks,
  runStatusOf,
  type CircuitOpen,
  type ExecuteOptions,
  type ExecutionOutcome,
  type ExecutionProgress,
  type RunStatus,
} from './engine.js';
export {
  checkRunOutput,
  executionOptionsOf,
  runFiles,
  startOptionsOf,
  withDurableRun,
  type DurableRun,
  type DurableRunOptions,
  type RunFiles,
  type StartRunOptions,
} from './durable-run.js';
export {
  formatParameterChanges,
  RunError,
  runErrorMessage,
  type ParameterChange,
  type RunErrorDetails,
  type RunErrorReason,
} from './errors.js';
export {
  JOURNAL_VERSION,
  memoryJournal,
  openJournal,
  parameterChanges,
  readJournal,
  streamJournal,
  type Journal,
  type JournalContents,
  type JournalEnd,
  type JournalHeader,
  type JournalLine,
  type JournalNote,
  type JournalTask,
  type OpenJournalOptions,
} from './journal.js';
export {
  openJsonlLog,
  readJsonlLog,
  streamJsonlLog,
  type JsonlLogContents,
  type JsonlLogWriter,
} from './jsonl.js';
export { acquireRunLock, ownerAlive, processStartTime, type LockOwner, type RunLock } from './lock.js';
export { writeRunMeta, type RunMetaContent } from './meta.js';
export {
  createInProcessScheduler,
  thrownResult,
  type Scheduler,
  type SchedulerContext,
  type SchedulerFactory,
} from './scheduler.js';
export {
  failureOf,
  RETRY_POLICIES,
  shouldRetry,
  type RetryPolicy,
  type TaskContext,
  type TaskFailure,
  type TaskResult,
  type TaskRunner,
  type TaskSpec,
  type TaskStatus,
} from './task.js';
