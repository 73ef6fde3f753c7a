/**
 * Replay executor: answers from recorded observations, keyed by the canonical (tool, function, args).
 *
 * File format (JSONL, one record a line): `{"tool": "...", "function": "...", "args": {...},
 * "observation": {...}}`. When a key appears more than once, the last line wins. Lookups use the checked
 * (coerced) arguments, then the arguments as given.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import {
  elapsedMs,
  callKey,
  type ExecutionContext,
  type Observation,
  type ToolExecutor,
} from './executor.js';
import { prepareCall, type CheckOptions } from './arguments.js';
import { isRecord } from '../core/json-text.js';

export interface ReplayRecord {
  tool: string;
  function: string;
  args: Record<string, unknown>;
  observation: Observation;
}

export interface ReplayExecutorOptions extends CheckOptions {
  /** JSONL file of recorded observations; read on first use. */
  file?: string;
  /** Records given directly (added after the file's, so they win on equal keys). */
  records?: readonly ReplayRecord[];
  /**
   * On a miss: answer a 404 observation whose `error` says "no recorded observation for ..." (default), or
   * throw an `InputError`.
   */
  onMiss?: 'observe' | 'throw';
}

function parseRecord(line: string, where: string): ReplayRecord {
  let value: unknown;
  try {
    value = JSON.parse(line) as unknown;
  } catch (error) {
    throw new InputError(oneLine(`${where}: invalid JSON: ${messageOf(error)}`), { cause: error });
  }
  if (
    !isRecord(value) ||
    typeof value.tool !== 'string' ||
    typeof value.function !== 'string' ||
    !isRecord(value.args) ||
    !isRecord(value.observation) ||
    typeof value.observation.status !== 'number'
  ) {
    throw new InputError(
      `${where}: expected {"tool", "function", "args": {...}, "observation": {"status", ...}}`,
    );
  }
  return value as unknown as ReplayRecord;
}

/** Records of a replay JSONL file; a missing file reads as no records when `missingOk`. */
export async function loadReplayRecords(
  path: string,
  options: { missingOk?: boolean } = {},
): Promise<ReplayRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.missingOk === true) return [];
    const why = code === 'ENOENT' ? 'no such file' : `cannot read: ${messageOf(error)}`;
    throw new InputError(oneLine(`${path}: ${why}`), { cause: error });
  }
  const records: ReplayRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    records.push(parseRecord(line, `${path}: line ${i + 1}`));
  }
  return records;
}

/** Append records to a replay JSONL file (created with its folder when missing), one line each. */
export async function recordObservations(path: string, records: readonly ReplayRecord[]): Promise<void> {
  if (records.length === 0) return;
  const text = records
    .map((r) =>
      JSON.stringify({ tool: r.tool, function: r.function, args: r.args, observation: r.observation }),
    )
    .join('\n');
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, `${text}\n`, 'utf8');
}

/** A replay key for a record or a call. */
export function replayKey(tool: string, functionName: string, args: Record<string, unknown>): string {
  return callKey(tool, functionName, args);
}

export interface ReplayExecutor extends ToolExecutor {
  /** Recorded keys (after the file is loaded). */
  size(): Promise<number>;
}

/** The replay executor (`kind` and observation `source` are `replay`). */
export function createReplayExecutor(options: ReplayExecutorOptions = {}): ReplayExecutor {
  let loading: Promise<Map<string, Observation>> | undefined;
  const load = (): Promise<Map<string, Observation>> => {
    loading ??= (async () => {
      const map = new Map<string, Observation>();
      const fromFile = options.file !== undefined ? await loadReplayRecords(options.file) : [];
      for (const record of [...fromFile, ...(options.records ?? [])]) {
        map.set(replayKey(record.tool, record.function, record.args), record.observation);
      }
      return map;
    })();
    return loading;
  };

  return {
    kind: 'replay',
    async size() {
      return (await load()).size;
    },
    async execute(tool, functionName, args, _context?: ExecutionContext): Promise<Observation> {
      const start = performance.now();
      const prepared = prepareCall(tool, functionName, args, 'replay', options);
      if (!prepared.ok) return prepared.observation;
      const map = await load();
      const found =
        map.get(replayKey(tool.name, prepared.fn.name, prepared.args)) ??
        map.get(replayKey(tool.name, prepared.fn.name, args));
      if (found === undefined) {
        const what = `no recorded observation for ${tool.name}.${prepared.fn.name} ${oneLine(JSON.stringify(prepared.args), 200)}`;
        if (options.onMiss === 'throw') throw new InputError(what);
        return {
          status: 404,
          body: { error: what },
          headers: { 'content-type': 'application/json' },
          source: 'replay',
          latencyMs: elapsedMs(start),
          error: what,
        };
      }
      return {
        ...structuredClone(found),
        source: 'replay',
        latencyMs: elapsedMs(start),
        ...(prepared.warnings.length > 0 ? { warnings: prepared.warnings } : {}),
      };
    },
  };
}
