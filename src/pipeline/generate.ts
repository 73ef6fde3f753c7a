/**
 * A generation run: tools (ToolAlpaca JSON or OpenAPI) → instructions for tools that have none → one
 * episode per (tool, instruction) run concurrently → ToolAlpaca JSON with every tool's `Instances`.
 *
 * Durability: each finished instance is appended (one fsynced line) to `OUT.json.log.jsonl` before it
 * counts as done; the final JSON is written atomically from the log's contents. After a kill -9,
 * `resume: true` reads the log, skips the instances already there and runs the rest, so a crash loses at
 * most the instances in flight and never duplicates one. A log made with other parameters (model,
 * executor, prompt, mode, seed, tools input) is refused.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import PQueue from 'p-queue';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import type { Instance, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import {
  runEpisode as defaultRunEpisode,
  type AgentMode,
  type EpisodeInput,
  type EpisodeOptions,
  type EpisodeResult,
  type PromptLayoutName,
} from '../agents/episode.js';
import type { ToolExecutor } from '../executors/executor.js';
import type { ChatModel } from '../models/chat-model.js';
import type { CostLedger } from '../models/ledger.js';
import {
  readToolSource,
  recomputeDerivedFields,
  toolToRecord,
  toolsOfSource,
  writeToolAlpacaFile,
} from '../formats/toolalpaca-json.js';
import { generateInstructions, type ToolInstructionReport } from './instructions.js';
import { writeRunMeta } from './run-meta.js';
import {
  describeDifferingParameters,
  openRunLog,
  readRunLog,
  RUN_LOG_VERSION,
  type RunLogInstance,
  type RunParameters,
} from './run-log.js';

export interface GenerationProgress {
  /** Instances finished, those read from the log on resume included. */
  done: number;
  total: number;
  failed: number;
  /** Instances finished by this process (the rate is computed from these). */
  doneThisRun: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface GenerationOptions {
  /** ToolAlpaca JSON file, or an OpenAPI file or folder. */
  toolsPath: string;
  /** Output ToolAlpaca JSON; the log and metadata are written beside it (`.log.jsonl`, `.meta.json`). */
  out: string;
  assistant: ChatModel;
  /** The user agent's model (answers getDetails); default none. */
  user?: ChatModel;
  /** Model for instructions of tools that have none; default `assistant`. */
  instructionModel?: ChatModel;
  executor: ToolExecutor;
  /** Spec of the simulated executor's model, recorded in the run parameters. */
  executorModel?: string;
  prompt?: PromptLayoutName;
  mode?: AgentMode;
  /** Episodes at once. Default 4. */
  concurrency?: number;
  /** Run at most this many instances (taken round-robin over tools: every tool's first instruction first). */
  limit?: number;
  /** Instructions generated for a tool without any (default 10); also caps the instructions used per tool. */
  perTool?: number;
  maxSteps?: number;
  seed?: number;
  temperature?: number;
  retrievalThreshold?: number;
  authValues?: Record<string, string>;
  /** Continue the run in the existing log. */
  resume?: boolean;
  /** Discard an existing log and start over. */
  force?: boolean;
  /** Aborting it stops the run: no new instance starts, the ones in flight get `graceMs` to finish. */
  signal?: AbortSignal;
  /** Default 30 s. */
  graceMs?: number;
  ledger?: CostLedger;
  /** Cache hits of the models used (summed by the caller). */
  cacheHits?: () => number;
  onProgress?: (progress: GenerationProgress) => void;
  /** Called once per tool whose instructions were generated. */
  onInstructions?: (report: ToolInstructionReport) => void;
  /** Called for every tool that could not be read (skipped). */
  onWarning?: (message: string) => void;
  /** The episode runner (tests may replace it). */
  runEpisode?: (input: EpisodeInput, options: EpisodeOptions) => Promise<EpisodeResult>;
}

export interface GenerationSummary {
  out: string;
  log: string;
  meta: string;
  tools: number;
  /** Instances in the task list (after `limit`). */
  total: number;
  /** Finished (logged) instances: completed + failed. Aborted ones are counted apart. */
  done: number;
  completed: number;
  failed: number;
  failedByReason: Record<string, number>;
  /** Instances read back from the log (resume). */
  resumed: number;
  /** In-flight instances cut by an interruption (in the output as failed, not in the log: a resume reruns them). */
  aborted: number;
  /** Instances never started because the run was interrupted. */
  notStarted: number;
  interrupted: boolean;
  meanSteps: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  cacheHits: number;
  instructionReports: ToolInstructionReport[];
  skippedTools: { tool: string; error: string }[];
  durationMs: number;
}

/** sha256 of a tools input: the file's bytes, or every file under a folder (sorted by relative path). */
export async function hashToolsInput(path: string): Promise<string> {
  const hash = createHash('sha256');
  const info = await stat(path);
  if (!info.isDirectory()) {
    hash.update(await readFile(path));
    return `sha256:${hash.digest('hex')}`;
  }
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(full);
    }
  };
  await walk(path);
  files.sort();
  for (const file of files) {
    hash
      .update(relative(path, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return `sha256:${hash.digest('hex')}`;
}

interface LoadedTool {
  record: ToolAlpacaRecord;
  tool: Tool;
}

/** The tools of a ToolAlpaca or OpenAPI input as records with NL documentation, plus the unreadable ones. */
export async function loadGenerationTools(
  path: string,
): Promise<{ tools: LoadedTool[]; skipped: { tool: string; error: string }[] }> {
  const source = await readToolSource(path);
  const sourced = await toolsOfSource(source);
  const tools: LoadedTool[] = [];
  const skipped: { tool: string; error: string }[] = [];
  for (const item of sourced) {
    if (item.tool === undefined) {
      skipped.push({ tool: item.name, error: item.error ?? 'cannot be read' });
      continue;
    }
    let record = item.record ?? toolToRecord(item.tool);
    if (record.NLDocumentation === undefined || record.NLDocumentation.trim() === '') {
      record = recomputeDerivedFields(record);
    }
    tools.push({ record, tool: item.tool });
  }
  const seen = new Set<string>();
  for (const { record } of tools) {
    if (seen.has(record.Name)) {
      throw new InputError(
        `${path}: two tools are named "${record.Name}"; tool names must be unique in a run`,
      );
    }
    seen.add(record.Name);
  }
  return { tools, skipped };
}

interface Task {
  instanceId: string;
  toolIndex: number;
  index: number;
  instruction: string;
  order: number;
}

/** The file names a run writes beside `out`. */
export function runFiles(out: string): { log: string; meta: string } {
  return { log: `${out}.log.jsonl`, meta: `${out}.meta.json` };
}

function instanceOf(entry: Pick<RunLogInstance, 'instance' | 'status' | 'failure'>): Instance {
  if (entry.status === 'completed') return entry.instance;
  return { ...entry.instance, status: 'failed', failure: entry.failure };
}

export async function runGeneration(options: GenerationOptions): Promise<GenerationSummary> {
  const started = performance.now();
  const prompt = options.prompt ?? 'train_v1';
  const mode = options.mode ?? 'react';
  const runEpisode = options.runEpisode ?? defaultRunEpisode;
  const files = runFiles(options.out);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new InputError(`limit must be a positive integer, got ${options.limit}`);
  }

  const toolsHash = await hashToolsInput(options.toolsPath).catch((error: unknown) => {
    throw new InputError(oneLine(`${options.toolsPath}: cannot read: ${messageOf(error)}`), { cause: error });
  });
  const { tools, skipped } = await loadGenerationTools(options.toolsPath);
  for (const item of skipped) options.onWarning?.(`skipping tool "${item.tool}": ${item.error}`);
  if (tools.length === 0) throw new InputError(`${options.toolsPath}: no usable tools`);

  const parameters: RunParameters = {
    model: options.assistant.id,
    executor: options.executor.kind,
    ...(options.executorModel !== undefined ? { executorModel: options.executorModel } : {}),
    ...(options.user !== undefined ? { userModel: options.user.id } : {}),
    prompt,
    mode,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    toolsHash,
  };

  // The log decides what is already done.
  let existing = await readRunLog(files.log);
  const hasContent = existing.header !== undefined || existing.validBytes > 0 || existing.tornBytes > 0;
  if (hasContent && options.force === true) {
    await rm(files.log, { force: true });
    existing = await readRunLog(files.log);
  } else if (hasContent && options.resume !== true) {
    throw new InputError(
      `${files.log} already holds a run (${existing.instances.size} instances): pass --resume to continue it or --force to start over`,
    );
  }
  if (existing.header !== undefined) {
    const detail = describeDifferingParameters(existing.header.parameters, parameters);
    if (detail !== undefined) {
      throw new InputError(
        oneLine(
          `cannot resume ${files.log}: it was made with other parameters (${detail}); use the same ones or --force to start over`,
        ),
      );
    }
  }
  const log = await openRunLog(files.log, { validBytes: existing.validBytes });
  try {
    if (existing.header === undefined) {
      await log.append({
        type: 'header',
        version: RUN_LOG_VERSION,
        parameters,
        startedAt: new Date().toISOString(),
      });
    }

    // Instructions: the record's own, else those generated earlier in this run (log), else new ones.
    const perTool = options.perTool ?? 10;
    const instructionReports: ToolInstructionReport[] = [];
    const missing = tools.filter(
      ({ record }) => (record.Instructions ?? []).length === 0 && !existing.instructions.has(record.Name),
    );
    for (const item of tools) {
      const logged = existing.instructions.get(item.record.Name);
      if ((item.record.Instructions ?? []).length === 0 && logged !== undefined) {
        item.record = { ...item.record, Instructions: logged };
      }
    }
    if (missing.length > 0) {
      const generated = await generateInstructions(
        missing.map((t) => t.record),
        {
          model: options.instructionModel ?? options.assistant,
          perTool,
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          concurrency: Math.max(1, options.concurrency ?? 4),
          onProgress: (report) => options.onInstructions?.(report),
        },
      );
      for (let i = 0; i < missing.length; i++) {
        const item = missing[i] as LoadedTool;
        const record = generated.records[i] as ToolAlpacaRecord;
        item.record = record;
        await log.append({
          type: 'instructions',
          tool: record.Name,
          instructions: record.Instructions ?? [],
        });
      }
      instructionReports.push(...generated.reports);
    }

    // Tasks, round-robin over tools so that a limit covers every tool first.
    const lists = tools.map(({ record }) => {
      const all = record.Instructions ?? [];
      return options.perTool !== undefined ? all.slice(0, options.perTool) : all;
    });
    const tasks: Task[] = [];
    const longest = Math.max(0, ...lists.map((l) => l.length));
    for (let index = 0; index < longest; index++) {
      tools.forEach(({ record }, toolIndex) => {
        const instruction = lists[toolIndex]?.[index];
        if (instruction === undefined) return;
        tasks.push({
          instanceId: `${record.Name}#${index}`,
          toolIndex,
          index,
          instruction,
          order: tasks.length,
        });
      });
    }
    const selected = options.limit !== undefined ? tasks.slice(0, options.limit) : tasks;
    const finished = new Map<string, RunLogInstance>();
    let resumed = 0;
    for (const task of selected) {
      const entry = existing.instances.get(task.instanceId);
      if (entry !== undefined) {
        finished.set(task.instanceId, entry);
        resumed++;
      }
    }
    const todo = selected.filter((task) => !finished.has(task.instanceId));

    // Progress bookkeeping.
    let promptTokens = 0;
    let completionTokens = 0;
    let doneThisRun = 0;
    let failedCount = [...finished.values()].filter((e) => e.status === 'failed').length;
    const report = (): void => {
      const totals = options.ledger?.totals();
      options.onProgress?.({
        done: finished.size,
        total: selected.length,
        failed: failedCount,
        doneThisRun,
        promptTokens: totals?.promptTokens ?? promptTokens,
        completionTokens: totals?.completionTokens ?? completionTokens,
        costUsd: totals?.costUsd ?? 0,
      });
    };
    report();

    // Episodes.
    const hardStop = new AbortController();
    // Every episode in flight listens to it.
    setMaxListeners(0, hardStop.signal);
    const aborted = new Map<string, RunLogInstance>();
    const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
    let interrupted = false;
    let fatal: unknown;
    let graceTimer: NodeJS.Timeout | undefined;
    const onStop = (): void => {
      if (interrupted) return;
      interrupted = true;
      queue.clear();
      graceTimer = setTimeout(() => hardStop.abort(new Error('interrupted')), options.graceMs ?? 30_000);
      graceTimer.unref?.();
    };
    if (options.signal?.aborted === true) onStop();
    options.signal?.addEventListener('abort', onStop, { once: true });

    const runTask = async (task: Task): Promise<void> => {
      if (interrupted || fatal !== undefined) return;
      const { record, tool } = tools[task.toolIndex] as LoadedTool;
      const episodeOptions: EpisodeOptions = {
        assistant: options.assistant,
        executor: options.executor,
        prompt,
        mode,
        signal: hardStop.signal,
        ...(options.user !== undefined ? { user: options.user } : {}),
        ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
        ...(options.retrievalThreshold !== undefined
          ? { retrievalThreshold: options.retrievalThreshold }
          : {}),
        ...(options.authValues !== undefined ? { authValues: options.authValues } : {}),
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.seed !== undefined ? { seed: options.seed + task.order } : {}),
      };
      let result: EpisodeResult;
      try {
        result = await runEpisode(
          { instanceId: task.instanceId, record, tool, instruction: task.instruction },
          episodeOptions,
        );
      } catch (error) {
        // runEpisode reports failures in its result; a throw is unexpected but must not stop the run.
        result = {
          instance: { input: task.instruction, output: '', 'Final Thought': '', intermediate_steps: [] },
          status: 'failed',
          failure: {
            reason: hardStop.signal.aborted ? 'aborted' : 'model_error',
            message: oneLine(messageOf(error), 300),
          },
          steps: 0,
          usage: { promptTokens: 0, completionTokens: 0, calls: 0 },
        };
      }
      const entry: RunLogInstance = {
        type: 'instance',
        instanceId: task.instanceId,
        tool: record.Name,
        index: task.index,
        status: result.status,
        ...(result.failure !== undefined ? { failure: result.failure } : {}),
        steps: result.steps,
        usage: result.usage,
        instance: result.instance,
        finishedAt: new Date().toISOString(),
      };
      promptTokens += result.usage.promptTokens;
      completionTokens += result.usage.completionTokens;
      if (hardStop.signal.aborted && result.status === 'failed') {
        // Cut by the interruption: shown in the output, left out of the log so that a resume reruns it.
        const cut: RunLogInstance = {
          ...entry,
          failure: { reason: 'aborted', message: result.failure?.message ?? 'interrupted' },
        };
        aborted.set(task.instanceId, cut);
        return;
      }
      // The slot is free for the next instance while this one's line is written and fsynced (group
      // commit); the instance counts as done only once its line is durable.
      const write = log.append(entry).then(
        () => {
          finished.set(task.instanceId, entry);
          doneThisRun++;
          if (entry.status === 'failed') failedCount++;
          report();
        },
        (error: unknown) => {
          fatal ??= new InputError(oneLine(`cannot write run log ${files.log}: ${messageOf(error)}`), {
            cause: error,
          });
          queue.clear();
          hardStop.abort(fatal);
        },
      );
      writes.add(write);
      void write.finally(() => writes.delete(write));
    };
    const writes = new Set<Promise<void>>();
    for (const task of todo) void queue.add(() => runTask(task));
    await queue.onIdle();
    await Promise.all(writes);
    if (graceTimer !== undefined) clearTimeout(graceTimer);
    options.signal?.removeEventListener('abort', onStop);
    if (fatal !== undefined) throw fatal;

    // The final corpus: every tool, its finished instances in instruction order.
    const byTool = new Map<string, RunLogInstance[]>();
    for (const entry of [...finished.values(), ...aborted.values()]) {
      const list = byTool.get(entry.tool) ?? [];
      list.push(entry);
      byTool.set(entry.tool, list);
    }
    const output = tools.map(({ record }) => {
      const entries = (byTool.get(record.Name) ?? []).sort((a, b) => a.index - b.index);
      const { Instances: previous, ...rest } = record;
      void previous;
      return { ...rest, Instances: entries.map(instanceOf) } as ToolAlpacaRecord;
    });
    await writeToolAlpacaFile(options.out, output);

    const all = [...finished.values()];
    const failedByReason: Record<string, number> = {};
    for (const entry of all) {
      if (entry.status !== 'failed') continue;
      const reason = entry.failure?.reason ?? 'unknown';
      failedByReason[reason] = (failedByReason[reason] ?? 0) + 1;
    }
    const totals = options.ledger?.totals();
    const summary: GenerationSummary = {
      out: options.out,
      log: files.log,
      meta: files.meta,
      tools: tools.length,
      total: selected.length,
      done: all.length,
      completed: all.filter((e) => e.status === 'completed').length,
      failed: all.filter((e) => e.status === 'failed').length,
      failedByReason,
      resumed,
      aborted: aborted.size,
      notStarted: selected.length - finished.size - aborted.size,
      interrupted,
      meanSteps: all.length === 0 ? 0 : all.reduce((sum, e) => sum + e.steps, 0) / all.length,
      promptTokens: totals?.promptTokens ?? promptTokens,
      completionTokens: totals?.completionTokens ?? completionTokens,
      costUsd: totals?.costUsd ?? 0,
      cacheHits: options.cacheHits?.() ?? totals?.cachedCalls ?? 0,
      instructionReports,
      skippedTools: skipped,
      durationMs: Math.round(performance.now() - started),
    };
    await writeRunMeta(files.meta, {
      parameters,
      options: {
        concurrency: options.concurrency ?? 4,
        limit: options.limit ?? null,
        perTool: options.perTool ?? null,
        maxSteps: options.maxSteps ?? null,
        temperature: options.temperature ?? null,
      },
      summary,
      ledger: options.ledger,
    });
    return summary;
  } finally {
    await log.close();
  }
}

/** The summary as a few human lines (done, failures by reason, steps, tokens, cost, cache hits). */
export function formatGenerationSummary(summary: GenerationSummary): string {
  const lines: string[] = [];
  const reasons = Object.entries(summary.failedByReason)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  lines.push(
    `${summary.interrupted ? 'interrupted: ' : ''}${summary.done}/${summary.total} instances over ${summary.tools} tools: ${summary.completed} completed, ${summary.failed} failed${reasons !== '' ? ` (${reasons})` : ''}`,
  );
  if (summary.resumed > 0) lines.push(`resumed: ${summary.resumed} instances read from ${summary.log}`);
  if (summary.interrupted) {
    lines.push(
      `not finished: ${summary.notStarted} not started, ${summary.aborted} aborted in flight (rerun with --resume)`,
    );
  }
  lines.push(
    `steps per instance: ${summary.meanSteps.toFixed(2)}; tokens in ${summary.promptTokens}, out ${summary.completionTokens}; cost $${summary.costUsd.toFixed(4)}; cache hits ${summary.cacheHits}`,
  );
  for (const report of summary.instructionReports) {
    lines.push(
      `instructions for "${report.tool}": kept ${report.kept}, dropped ${report.dropped}${report.error !== undefined ? ` (${report.error})` : ''}`,
    );
  }
  lines.push(`wrote ${summary.out} (log ${summary.log}, metadata ${summary.meta})`);
  return `${lines.join('\n')}\n`;
}
