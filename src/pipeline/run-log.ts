/**
 * The append-only log of a generation run (`OUT.json.log.jsonl`): a header line with the run's
 * parameters, the instructions generated for tools that had none, then one line per finished instance.
 * It is a durable JSONL log (`./jsonl-log.ts`): after a crash (kill -9, power loss) each line is whole
 * except possibly the last, which readers ignore and `openRunLog` cuts off before appending again.
 */
import { InputError } from '../core/errors.js';
import { openJsonlLog, readJsonlLog, type JsonlLogWriter } from './jsonl-log.js';
import type { Instance } from '../core/toolalpaca-record.js';

export const RUN_LOG_VERSION = 1;

/** What a run must keep to be resumable; a resume with other values is refused. */
export interface RunParameters {
  model: string;
  executor: string;
  executorModel?: string;
  userModel?: string;
  prompt: string;
  mode: string;
  seed?: number;
  /** sha256 of the tools input (file bytes, or every file of a folder). */
  toolsHash: string;
}

export interface RunLogHeader {
  type: 'header';
  version: number;
  parameters: RunParameters;
  startedAt: string;
}

export interface RunLogInstructions {
  type: 'instructions';
  tool: string;
  instructions: string[];
}

export interface RunLogInstance {
  type: 'instance';
  /** `${toolName}#${instructionIndex}`. */
  instanceId: string;
  tool: string;
  index: number;
  status: 'completed' | 'failed';
  failure?: { reason: string; message: string };
  steps: number;
  usage: { promptTokens: number; completionTokens: number; calls: number };
  instance: Instance;
  finishedAt: string;
}

export type RunLogLine = RunLogHeader | RunLogInstructions | RunLogInstance;

export interface RunLogContents {
  header?: RunLogHeader;
  instructions: Map<string, string[]>;
  /** Finished instances by id (the first line wins should a file ever hold a repeat). */
  instances: Map<string, RunLogInstance>;
  /** Byte length of the whole lines; anything after it is a torn last line. */
  validBytes: number;
  tornBytes: number;
  /** Lines that are whole but not understood (skipped). */
  badLines: number;
}

/** Reads a run log; a missing file reads as empty. A torn (unterminated) last line is ignored. */
export async function readRunLog(path: string): Promise<RunLogContents> {
  const log = await readJsonlLog(path, { label: 'run log' });
  const contents: RunLogContents = {
    instructions: new Map(),
    instances: new Map(),
    validBytes: log.validBytes,
    tornBytes: log.tornBytes,
    badLines: log.badLines,
  };
  let first = true;
  for (const value of log.lines) {
    const entry = value as Partial<RunLogLine> | null;
    if (entry === null || typeof entry !== 'object') {
      contents.badLines++;
    } else if (entry.type === 'header' && first) {
      contents.header = entry as RunLogHeader;
    } else if (
      entry.type === 'instructions' &&
      typeof entry.tool === 'string' &&
      Array.isArray(entry.instructions)
    ) {
      if (!contents.instructions.has(entry.tool)) contents.instructions.set(entry.tool, entry.instructions);
    } else if (entry.type === 'instance' && typeof entry.instanceId === 'string') {
      if (!contents.instances.has(entry.instanceId))
        contents.instances.set(entry.instanceId, entry as RunLogInstance);
    } else {
      contents.badLines++;
    }
    first = false;
  }
  if (contents.header === undefined && (contents.instances.size > 0 || contents.instructions.size > 0)) {
    throw new InputError(`run log ${path} has no header line; it was not written by toolalpaca generate`);
  }
  return contents;
}

/**
 * Parameter names whose values differ between a log's header and the run asking to resume it (a
 * parameter only one side has counts). Shared by every resumable log (generation runs, toolset builds).
 */
export function differingParameters<P extends object>(logged: P, requested: P): (keyof P)[] {
  const keys = new Set([...Object.keys(logged), ...Object.keys(requested)]) as Set<keyof P>;
  const out: (keyof P)[] = [];
  for (const key of keys) {
    if (JSON.stringify(logged[key]) !== JSON.stringify(requested[key])) out.push(key);
  }
  return out;
}

/**
 * The differing parameters as `name old → new, …` (absent values as null); undefined when the run
 * may resume the log.
 */
export function describeDifferingParameters<P extends object>(logged: P, requested: P): string | undefined {
  const keys = differingParameters(logged, requested);
  if (keys.length === 0) return undefined;
  return keys
    .map(
      (key) =>
        `${String(key)} ${JSON.stringify(logged[key] ?? null)} → ${JSON.stringify(requested[key] ?? null)}`,
    )
    .join(', ');
}

/** An open run log: `append` resolves once its line is written whole and fsynced. */
export type RunLogWriter = JsonlLogWriter<RunLogLine>;

/**
 * Opens `path` for appending. `validBytes` (from `readRunLog`) cuts a torn last line first, so the
 * next line starts on a line of its own.
 */
export function openRunLog(path: string, options: { validBytes?: number } = {}): Promise<RunLogWriter> {
  return openJsonlLog<RunLogLine>(path, { ...options, label: 'run log' });
}
