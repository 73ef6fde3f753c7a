/**
 * The append-only log of a generation run (`OUT.json.log.jsonl`): a header line with the run's
 * parameters, the instructions generated for tools that had none, then one line per finished instance.
 * Every line is written with one `write` on a file opened for appending and then fsynced, so after a
 * crash (kill -9, power loss) each line is whole except possibly the last, which readers ignore and
 * `openRunLog` cuts off before appending again.
 */
import { open, readFile, truncate } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../core/errors.js';
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
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { instructions: new Map(), instances: new Map(), validBytes: 0, tornBytes: 0, badLines: 0 };
    }
    throw new InputError(oneLine(`cannot read run log ${path}: ${messageOf(error)}`), { cause: error });
  }
  const lastNewline = buffer.lastIndexOf(0x0a);
  const validBytes = lastNewline + 1;
  const contents: RunLogContents = {
    instructions: new Map(),
    instances: new Map(),
    validBytes,
    tornBytes: buffer.length - validBytes,
    badLines: 0,
  };
  const text = buffer.subarray(0, validBytes).toString('utf8');
  let first = true;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      contents.badLines++;
      continue;
    }
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

/** Parameter names whose values differ between a log's header and the run asking to resume it. */
export function differingParameters(
  logged: RunParameters,
  requested: RunParameters,
): (keyof RunParameters)[] {
  const keys = new Set([...Object.keys(logged), ...Object.keys(requested)]) as Set<keyof RunParameters>;
  const out: (keyof RunParameters)[] = [];
  for (const key of keys) {
    if (JSON.stringify(logged[key]) !== JSON.stringify(requested[key])) out.push(key);
  }
  return out;
}

/** An open log: `append` resolves once its line is written whole and fsynced. */
export interface RunLogWriter {
  readonly path: string;
  append(line: RunLogLine): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens `path` for appending. `validBytes` (from `readRunLog`) cuts a torn last line first, so the
 * next line starts on a line of its own.
 */
export async function openRunLog(path: string, options: { validBytes?: number } = {}): Promise<RunLogWriter> {
  if (options.validBytes !== undefined) {
    try {
      await truncate(path, options.validBytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const handle = await open(path, 'a');
  // Group commit: lines that arrive while a write+fsync is in progress go out together in the next one.
  // Each append still resolves only after the fsync that covers its line.
  let pending: { data: Buffer; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const data =
          batch.length === 1
            ? (batch[0] as (typeof batch)[number]).data
            : Buffer.concat(batch.map((b) => b.data));
        // One write call per batch: with O_APPEND the lines land whole at the end of the file.
        let offset = 0;
        while (offset < data.length) {
          const { bytesWritten } = await handle.write(data, offset, data.length - offset);
          offset += bytesWritten;
        }
        await handle.datasync();
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    flushing = undefined;
  };
  return {
    path,
    append(line) {
      if (closed) return Promise.reject(new Error(`run log ${path} is closed`));
      const data = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
      return new Promise<void>((resolve, reject) => {
        pending.push({ data, resolve, reject });
        flushing ??= flush();
      });
    },
    async close() {
      if (flushing !== undefined) await flushing;
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
