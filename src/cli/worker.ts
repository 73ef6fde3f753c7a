/**
 * `toolalpaca worker --queue URL`: runs the tasks of any run on the queue (see
 * src/run/queue/queue-worker.ts). A run's task runner is built the way its command builds it, from the
 * flags in the run's spec, with the worker's own settings on top: where its model lives (`--model`,
 * `--base-url`), its keys (environment, `--secrets`), its cache folder, its concurrency. Inputs
 * (tools...) come bundled in the spec and are written to a temporary folder of the worker.
 *
 * SIGTERM or Ctrl-C: no new job, jobs in flight finish, exit 0; a second one cuts them (the queue
 * gives them to another worker once their lock expires).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { prepareSchemaCompiler } from '../core/json-schema.js';
import { loadConfig } from '../models/config.js';
import { lookupRunTools } from '../pipeline/generate.js';
import { buildTaskRunner, DEFAULT_MAX_REPAIRS } from '../pipeline/toolset/build.js';
import { episodeTaskRunner } from '../pipeline/episode-run.js';
import type { TaskRunner } from '../run/task.js';
import type { QueueRunRecord } from '../run/queue/queue-scheduler.js';
import { DEFAULT_LOCK_DURATION_MS, startQueueWorker, type OpenedRunner } from '../run/queue/queue-worker.js';
import { checkRedis, parseQueueUrl } from '../run/queue/queue-url.js';
import { materializeInput } from '../run/queue/run-inputs.js';
import { openSharedStores, parseCacheStoreChoice } from '../run/queue/shared-stores.js';
import { createModelPool, type CommandIo } from './context.js';
import {
  parseEpisodeFlags,
  withEpisodeResources,
  type EpisodeCommandDefaults,
  type EpisodeFlags,
} from './episode-command.js';
import {
  EVAL_RUN_DEFAULTS,
  judgeTaskOptionsOf,
  openJudgeModel,
  parseJudgeSampling,
  type EvalJudgeFlags,
} from './eval.js';
import { DETERMINISTIC_JUDGE, judgeTaskRunner } from '../eval/judge/judge-run.js';
import { openSolveTaskRunner, type SolveFlags, type SolveQueueExtra } from './solve.js';
import { GENERATE_DEFAULTS } from './generate.js';
import { modelOptionsFrom, parseIntegerFlag, parseNumberFlag } from './model-options.js';
import { selectionFromFlags, type BuildFlags } from './toolset.js';
import type { QueueRunSpec } from './queue-producer.js';

export interface WorkerFlags {
  queue?: string;
  concurrency?: string;
  model?: string;
  baseUrl?: string;
  cache?: boolean;
  cacheDir?: string;
  timeout?: string;
  maxRetries?: string;
  rpm?: string;
  tpm?: string;
  threads?: string;
  secrets?: string;
  lockDuration?: string;
  cacheStore?: string;
  cacheTtl?: string;
}

/** The worker's own settings laid over a run's flags. */
function overridesOf(flags: WorkerFlags): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of [
    'model',
    'baseUrl',
    'cacheDir',
    'timeout',
    'maxRetries',
    'rpm',
    'tpm',
    'threads',
    'secrets',
    'concurrency',
  ] as const) {
    if (flags[key] !== undefined) picked[key] = flags[key];
  }
  if (flags.cache === false) picked.cache = false;
  return picked;
}

/**
 * Holds resources opened by a `with...` function (which closes them when its body returns) open until
 * `close` is called: resolves with what the body was given.
 */
function holdOpen<T>(
  use: (body: (value: T) => Promise<void>) => Promise<unknown>,
): Promise<{ value: T; close(): Promise<void> }> {
  return new Promise((resolveOpen, rejectOpen) => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let opened = false;
    const finished: Promise<unknown> = use(async (value) => {
      opened = true;
      resolveOpen({
        value,
        close: async () => {
          release();
          await finished.catch(() => undefined);
        },
      });
      await released;
    });
    finished.catch((error: unknown) => {
      if (!opened) rejectOpen(error as Error);
    });
  });
}

/** A sink for the progress and warnings of runners built inside the worker. */
function quietIo(io: CommandIo): CommandIo {
  return {
    stdout: { write: () => true },
    stderr: { write: () => true, isTTY: false },
    ...(io.cwd !== undefined ? { cwd: io.cwd } : {}),
    ...(io.env !== undefined ? { env: io.env } : {}),
  };
}

/** Opens the task runner of a run of episodes (generate, eval run). */
async function openEpisodeRunner(
  spec: QueueRunSpec,
  defaults: EpisodeCommandDefaults,
  dir: string,
  overrides: Record<string, unknown>,
  io: CommandIo,
): Promise<OpenedRunner> {
  const tools = spec.inputs.tools;
  if (tools === undefined) throw new Error('the run carries no tools');
  const flags = {
    ...spec.flags,
    tools: await materializeInput(tools, dir),
    out: join(dir, 'unused-output'),
    ...(spec.inputs.replayFile !== undefined
      ? { replayFile: await materializeInput(spec.inputs.replayFile, dir) }
      : {}),
    ...overrides,
  } as EpisodeFlags;
  const settings = parseEpisodeFlags(flags, defaults);
  const held = await holdOpen<TaskRunner<unknown, unknown>>((body) =>
    withEpisodeResources(flags, settings, defaults, quietIo(io), async ({ options }) => {
      // Each record becomes a tool when a task first names it: this worker may run few of them.
      const lookup = await lookupRunTools(options.toolsPath);
      await body(episodeTaskRunner(lookup, options, settings.prompt) as TaskRunner<unknown, unknown>);
    }),
  );
  return { runTask: held.value, close: held.close };
}

/** Opens the task runner of a toolset build (one model; the catalogue entry travels in the task). */
async function openBuildRunner(
  spec: QueueRunSpec,
  overrides: Record<string, unknown>,
  io: CommandIo,
): Promise<OpenedRunner> {
  const flags = { ...spec.flags, ...overrides } as BuildFlags;
  const maxRepairs = parseIntegerFlag('--max-repairs', flags.maxRepairs, 0) ?? DEFAULT_MAX_REPAIRS;
  const maxTokens = parseIntegerFlag('--max-tokens', flags.maxTokens);
  const { seed } = selectionFromFlags(flags);
  const resolved = modelOptionsFrom(flags, await loadConfig(io.cwd));
  const { pool } = await createModelPool(resolved, quietIo(io));
  try {
    const model = await pool.get(resolved.spec);
    await pool.probe();
    const runTask = buildTaskRunner(
      {
        model,
        ...(seed !== undefined ? { seed } : {}),
        ...(maxTokens !== undefined ? { maxTokens } : {}),
      },
      maxRepairs,
    );
    return { runTask: runTask as TaskRunner<unknown, unknown>, close: () => pool.close() };
  } catch (error) {
    await pool.close();
    throw error;
  }
}

/**
 * Opens the task runner of a judge run: the run's judge flags, with the worker's `--model` as the
 * judge model (it replaces the run's `--judge-model`); the deterministic judge needs no model.
 */
async function openJudgeRunner(
  spec: QueueRunSpec,
  overrides: Record<string, unknown>,
  io: CommandIo,
): Promise<OpenedRunner> {
  const flags = {
    ...spec.flags,
    ...overrides,
    ...(overrides.model !== undefined ? { judgeModel: overrides.model } : {}),
  } as EvalJudgeFlags;
  const sampling = parseJudgeSampling(flags);
  if (sampling.deterministic) {
    const runTask = judgeTaskRunner(judgeTaskOptionsOf(DETERMINISTIC_JUDGE, sampling));
    return { runTask: runTask as TaskRunner<unknown, unknown>, close: () => Promise.resolve() };
  }
  const { pool, options } = await openJudgeModel(flags, quietIo(io));
  const runTask = judgeTaskRunner(judgeTaskOptionsOf(options.judge, sampling));
  return { runTask: runTask as TaskRunner<unknown, unknown>, close: () => pool.close() };
}

/** Opens the task runner of a solve run: the worker's `--model` is the solver's model. */
async function openSolveRunner(
  spec: QueueRunSpec,
  dir: string,
  overrides: Record<string, unknown>,
  io: CommandIo,
): Promise<OpenedRunner> {
  const replayFile = spec.inputs.replayFile;
  const flags = {
    ...spec.flags,
    ...(replayFile !== undefined ? { replayFile: await materializeInput(replayFile, dir) } : {}),
    ...overrides,
  } as SolveFlags;
  const extra: SolveQueueExtra =
    spec.promptTexts !== undefined ? { promptTexts: spec.promptTexts as SolveQueueExtra['promptTexts'] } : {};
  return openSolveTaskRunner(flags, extra, quietIo(io));
}

type KindOpener = (
  spec: QueueRunSpec,
  dir: string,
  overrides: Record<string, unknown>,
  io: CommandIo,
) => Promise<OpenedRunner>;

/** How a worker opens the task runner of each run command. */
const OPENERS: Record<string, KindOpener> = {
  generate: (spec, dir, overrides, io) => openEpisodeRunner(spec, GENERATE_DEFAULTS, dir, overrides, io),
  'eval-run': (spec, dir, overrides, io) => openEpisodeRunner(spec, EVAL_RUN_DEFAULTS, dir, overrides, io),
  'toolset-build': (spec, _dir, overrides, io) => openBuildRunner(spec, overrides, io),
  judge: (spec, _dir, overrides, io) => openJudgeRunner(spec, overrides, io),
  solve: (spec, dir, overrides, io) => openSolveRunner(spec, dir, overrides, io),
};

/** The `worker` action, callable without commander; resolves when the worker has stopped. */
export async function runWorkerCommand(
  flags: WorkerFlags,
  io: CommandIo,
  cut?: AbortSignal,
): Promise<{ processed: number }> {
  const location = parseQueueUrl(
    flags.queue === '' ? undefined : flags.queue,
    io.env ?? process.env,
    '--queue',
  );
  const concurrency = parseIntegerFlag('--concurrency', flags.concurrency, 1) ?? 4;
  const lockSeconds = parseIntegerFlag('--lock-duration', flags.lockDuration, 1);
  const cacheTtlDays = parseNumberFlag('--cache-ttl', flags.cacheTtl, {
    integer: false,
    min: Number.MIN_VALUE,
  });
  const cacheStore = parseCacheStoreChoice(flags.cacheStore);
  // A cache store URL is checked here, so that a bad one is worded with its flag.
  if (typeof cacheStore === 'object') parseQueueUrl(cacheStore.url, io.env ?? process.env, '--cache-store');
  await checkRedis(location);
  // The response cache and the rate limits are shared with the queue's other workers (through Redis).
  const stores = await openSharedStores(location, {
    cache: cacheStore,
    ...(cacheTtlDays !== undefined ? { cacheTtlSeconds: cacheTtlDays * 86_400 } : {}),
    env: io.env ?? process.env,
  });
  const overrides = {
    ...overridesOf(flags),
    sharedRateLimits: stores.limits,
    ...(stores.cache !== undefined ? { sharedCache: stores.cache } : {}),
  };
  const root = await mkdtemp(join(tmpdir(), 'toolalpaca-worker-'));
  const log = (line: string): void => void io.stderr.write(`worker: ${line}\n`);
  // Process-wide set-up that every run's first task would otherwise pay for while all workers start at once.
  prepareSchemaCompiler();
  const worker = startQueueWorker({
    location,
    concurrency,
    ...(lockSeconds !== undefined ? { lockDurationMs: lockSeconds * 1000 } : {}),
    onEvent: log,
    open: async (record: QueueRunRecord) => {
      const spec = record.spec as QueueRunSpec;
      const opener = OPENERS[spec.command];
      if (opener === undefined) {
        throw new InputError(`run ${record.id}: this worker cannot run "${spec.command}" tasks`);
      }
      const dir = await mkdtemp(join(root, `${record.id}-`));
      const opened = await opener(spec, dir, overrides, io);
      return {
        runTask: opened.runTask,
        close: async () => {
          await opened.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  });
  const onAbort = (): void => {
    log('stopping: jobs in flight finish (again to cut them)');
    void worker.stop();
  };
  const onCut = (): void => {
    log('cutting the jobs in flight (the queue gives them to another worker)');
    void worker.stop({ now: true });
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  cut?.addEventListener('abort', onCut, { once: true });
  try {
    await worker.ready;
    log(`taking jobs from ${location.display} (concurrency ${concurrency})`);
    await worker.stopped;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    cut?.removeEventListener('abort', onCut);
    await rm(root, { recursive: true, force: true });
    stores.close();
  }
  log(`stopped after ${worker.processed} jobs`);
  return { processed: worker.processed };
}

/** SIGTERM and SIGINT: the first aborts `stop` (graceful), the second `cut`. */
async function withStopSignals<T>(run: (stop: AbortSignal, cut: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const cut = new AbortController();
  const onSignal = (): void => {
    if (!stop.signal.aborted) stop.abort(new Error('stopped'));
    else cut.abort(new Error('cut'));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await run(stop.signal, cut.signal);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'Run the tasks of runs started with --queue (generate, eval run, eval judge, solve, toolset build): take jobs from the Redis queue until SIGTERM.',
    )
    .option('--queue <url>', 'the queue: redis://HOST:PORT/DB or rediss://... (default REDIS_URL)')
    .option('--concurrency <n>', 'jobs at once (default 4)')
    .option('--model <spec>', "this worker's model, instead of the run's (e.g. its own llama: GGUF)")
    .option('--base-url <url>', "this worker's OpenAI-compatible server, instead of the run's")
    .option('--no-cache', 'neither read nor write the response cache')
    .option(
      '--cache-store <where>',
      "where the response cache lives: redis (the queue's, shared by its workers), local (this worker's file in --cache-dir), or a redis:// URL (default redis)",
    )
    .option(
      '--cache-ttl <days>',
      'with a Redis cache: entries expire this many days after they were written (default never)',
    )
    .option('--cache-dir <dir>', 'response cache folder with --cache-store local (default .toolalpaca-cache)')
    .option('--timeout <seconds>', "per-request timeout in seconds (default the run's own)")
    .option(
      '--max-retries <n>',
      "retries on 429, 5xx, timeouts and dropped connections (default the run's own)",
    )
    .option(
      '--rpm <n>',
      "requests per minute, held across the queue's workers per endpoint and model (default the run's own)",
    )
    .option(
      '--tpm <n>',
      "tokens per minute, held across the queue's workers per endpoint and model (default the run's own)",
    )
    .option('--threads <n>', "llama: CPU threads (default the run's own)")
    .option('--secrets <file>', 'secrets file (API keys per tool) for runs with --executor real')
    .option(
      '--lock-duration <seconds>',
      `how long a job stays locked without renewal; a killed worker's jobs run again after it (default ${DEFAULT_LOCK_DURATION_MS / 1000})`,
    )
    .action(async (flags: WorkerFlags) => {
      await withStopSignals((signal, cut) =>
        runWorkerCommand(flags, { stdout: process.stdout, stderr: process.stderr, signal }, cut),
      );
    });
}
