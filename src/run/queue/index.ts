/**
 * Runs spread over workers through a BullMQ queue on Redis: the producer side (`createQueueScheduler`, a
 * scheduler for the run engine), the worker side (`startQueueWorker`, which builds each run's task
 * runner from the run's spec), the operations (`queueStatus`, `drainQueue`, `cleanQueue`), the stores
 * workers share (response cache, rate limits) and the input files a run carries to its workers.
 * `toolalpaca worker` and `--queue` are this module with the CLI's run specs; docs/scale-out.md.
 */
export { cleanQueue, drainQueue, queueStatus, type QueueStatus, type RunStatusLine } from './queue-admin.js';
export {
  createQueueScheduler,
  DEFAULT_JOB_ATTEMPTS,
  type QueueRunRecord,
  type QueueSchedulerOptions,
} from './queue-scheduler.js';
export {
  checkRedis,
  DEFAULT_QUEUE_NAME,
  parseQueueUrl,
  redisClient,
  type QueueLocation,
} from './queue-url.js';
export {
  DEFAULT_LOCK_DURATION_MS,
  startQueueWorker,
  type OpenedRunner,
  type QueueWorker,
  type QueueWorkerOptions,
  type RunnerOpener,
} from './queue-worker.js';
export { bundleInput, materializeInput, type InputBundle } from './run-inputs.js';
export {
  openSharedStores,
  parseCacheStoreChoice,
  type CacheStoreChoice,
  type SharedStores,
  type SharedStoresOptions,
} from './shared-stores.js';
