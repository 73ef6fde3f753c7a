/**
 * The one llama.cpp runtime of the process (loading the native binding takes ~1-2 s, and
 * node-llama-cpp expects a single instance). CPU only; threads are always set explicitly because the
 * library's default (4 on a 2-core machine) is about 1,000 times slower.
 */
import { availableParallelism, loadavg } from 'node:os';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { ServiceError, messageOf, oneLine } from '../../core/errors.js';

let runtime: Promise<Llama> | undefined;
/** The last error lines llama.cpp logged, numbered. */
const recentErrors: { n: number; message: string }[] = [];
let errorCount = 0;

/**
 * Process-wide thread budget: the cores available to the process. node-llama-cpp divides it between the
 * contexts evaluating at once; each context asks for its `threads` (default: the whole budget) within it.
 */
export function maxRuntimeThreads(): number {
  return Math.max(1, availableParallelism());
}

/**
 * llama.cpp's logs are kept, not printed, so that a failure surfaces as one line quoting the
 * engine's own reason; TOOLALPACA_LLAMA_LOGS=1 prints them all.
 */
function log(level: LlamaLogLevel, message: string): void {
  if (process.env.TOOLALPACA_LLAMA_LOGS === '1')
    process.stderr.write(`[llama.cpp ${level}] ${message.trimEnd()}\n`);
  if (level !== LlamaLogLevel.error && level !== LlamaLogLevel.fatal) return;
  errorCount++;
  recentErrors.push({ n: errorCount, message: oneLine(message, 300) });
  if (recentErrors.length > 8) recentErrors.shift();
}

/** A position in the engine's error log, to read later what an operation logged. */
export function logMark(): number {
  return errorCount;
}

/** The first error llama.cpp logged after `mark`, e.g. why a model failed to load. */
export function engineErrorSince(mark: number): string | undefined {
  return recentErrors.find((entry) => entry.n > mark)?.message;
}

/**
 * The default threads of a context ("auto"): the cores available to the process, i.e. the cores it may
 * run on (`os.availableParallelism()`) less those other work keeps busy (the 1-minute load average,
 * rounded down), at least 1. llama.cpp's threads wait for each other at every step of a token, so a
 * thread whose core is taken stalls them all: on a 2-core machine at load 17, 2 threads generated ~200x
 * fewer tokens per second than 1 (docs/benchmarks.md, "Embedded engine threads").
 */
export function defaultLlamaThreads(
  cores: number = availableParallelism(),
  load: number = loadavg()[0] ?? 0,
): number {
  return Math.max(1, Math.min(cores, cores - Math.floor(Math.max(0, load))));
}

/** The shared runtime, created on first use. */
export function getLlamaRuntime(): Promise<Llama> {
  runtime ??= getLlama({
    gpu: false,
    maxThreads: maxRuntimeThreads(),
    // Use the prebuilt binary only: never compile or download at run time.
    build: 'never',
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: log,
  }).catch((error: unknown) => {
    runtime = undefined;
    throw new ServiceError(
      oneLine(`cannot start the llama.cpp engine (node-llama-cpp): ${messageOf(error)}`),
    );
  });
  return runtime;
}
