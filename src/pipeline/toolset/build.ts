/**
 * The toolset build: catalogue entries → (Introduction → Functions → Documentation, each checked and
 * repaired up to K rounds) → ToolAlpaca JSON records with NL documentation and provenance.
 *
 * Durability follows the generation run: every finished tool (built or failed) is one fsynced line of
 * `OUT.log.jsonl` before it counts as done; the final files (OUT, `OUT.failed.json`, `OUT.meta.json`)
 * are written atomically from the log. After a kill -9, `resume: true` skips the tools already logged,
 * so a crash loses at most the tools in flight and never builds one twice. A log made with other
 * parameters (model, catalogue, selection, repair rounds) is refused.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import PQueue from 'p-queue';
import { describeFsError, writeFileAtomic } from '../../core/atomic-write.js';
import {
  BUILD_STAGES,
  type BuildStage,
  type CatalogEntry,
  type StageUsage,
  type ToolProvenance,
} from '../../core/catalog.js';
import { InputError, messageOf, oneLine } from '../../core/errors.js';
import type { ToolAlpacaRecord } from '../../core/toolalpaca-record.js';
import { writeRunMeta } from '../run-meta.js';
import { recordToTool, writeToolAlpacaFile } from '../../formats/toolalpaca-json.js';
import { checkTool, formatProblem } from '../../formats/tool-checks.js';
import type { ChatMessage, ChatModel, ChatResponse } from '../../models/chat-model.js';
import type { CostLedger } from '../../models/ledger.js';
import { ModelCallError } from '../../models/model-errors.js';
import { buildRecord, checkDocumentation, checkIntroduction } from './checks.js';
import { parseFunctionsText, renderFunctionsText, type FunctionSpec } from './functions-text.js';
import { openJsonlLog, readJsonlLog } from '../jsonl-log.js';
import { describeDifferingParameters } from '../run-log.js';
import { documentationPrompt, functionsPrompt, introductionPrompt, repairPrompt } from './prompts.js';
import { readCatalog } from './catalog-readers.js';
import { selectEntries, type CatalogSelection } from './select.js';

export const BUILD_LOG_VERSION = 1;
/** Default repair rounds per stage. */
export const DEFAULT_MAX_REPAIRS = 3;

/** Sampling temperature per stage (ToolAlpaca samples the introduction freely, the rest conservatively). */
const STAGE_TEMPERATURE: Record<BuildStage, number> = { introduction: 1, functions: 0.3, documentation: 0.3 };

export interface BuildParameters {
  model: string;
  /** sha256 of the catalogue file. */
  catalogHash: string;
  selection: CatalogSelection;
  maxRepairs: number;
}

/** Why a tool could not be built: the stage, its last error(s), the rounds it took. */
export interface BuildFailure {
  id: string;
  name: string;
  category: string;
  stage: BuildStage;
  /** `model_error` when the model could not be reached; `checks` when the replies never passed. */
  reason: 'checks' | 'model_error';
  error: string;
  errors: string[];
  /** The kind of the last reply (empty, prose, truncated, yaml, json, wrong-api...). */
  lastReplyKind?: string;
  repairRounds: number;
  stages: Partial<Record<BuildStage, StageUsage>>;
}

interface BuiltLine {
  type: 'tool';
  id: string;
  status: 'built';
  record: ToolAlpacaRecord;
  finishedAt: string;
}
interface FailedLine {
  type: 'tool';
  id: string;
  status: 'failed';
  failure: BuildFailure;
  finishedAt: string;
}
type ToolLine = BuiltLine | FailedLine;

export interface BuildProgress {
  done: number;
  total: number;
  built: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface BuildOptions {
  /** Catalogue file (ToolAlpaca public_apis.json, README markdown, CSV or JSON list). */
  catalogPath: string;
  /** Already read entries (skip reading `catalogPath`; it is still hashed when it exists). */
  entries?: readonly CatalogEntry[];
  out: string;
  model: ChatModel;
  selection?: CatalogSelection;
  /** Repair rounds per stage after a failed check (default 3). */
  maxRepairs?: number;
  /** Tools built at once (default 4). */
  concurrency?: number;
  seed?: number;
  /** Upper bound on reply tokens per call (default: the backend's). */
  maxTokens?: number;
  resume?: boolean;
  force?: boolean;
  signal?: AbortSignal;
  /** After `signal` aborts, how long tools in flight may finish (default 30 s). */
  graceMs?: number;
  ledger?: CostLedger;
  onProgress?: (progress: BuildProgress) => void;
  /** One line per finished tool (built, or failed with its error). */
  onTool?: (line: { name: string; status: 'built' | 'failed'; repairRounds: number; error?: string }) => void;
}

export interface BuildSummary {
  out: string;
  failedFile: string;
  log: string;
  meta: string;
  selected: number;
  built: number;
  failed: number;
  /** Tools read back from the log (resume). */
  resumed: number;
  interrupted: boolean;
  /** Tools not finished because of an interruption (rerun with resume). */
  notFinished: number;
  /** Built tools that needed at least one repair round. */
  repaired: number;
  repairRounds: number;
  failedByStage: Record<string, number>;
  /** Local fixes applied (yaml-to-json, servers-from-link, ...) → count. */
  localFixes: Record<string, number>;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  durationMs: number;
}

/** The files a build writes beside `out`. */
export function buildFiles(out: string): { log: string; failed: string; meta: string } {
  const base = out.replace(/\.json$/i, '');
  return { log: `${out}.log.jsonl`, failed: `${base}.failed.json`, meta: `${out}.meta.json` };
}

/** A stable id of a catalogue entry (names repeat in public-apis; name + link do not). */
export function entryId(entry: CatalogEntry): string {
  return `${entry.category}/${entry.name}/${entry.link}`;
}

/** Unique tool names in selection order: a repeated name gets its category, then a number. */
export function assignToolNames(entries: readonly CatalogEntry[]): string[] {
  const used = new Set<string>();
  return entries.map((entry) => {
    let name = entry.name;
    if (used.has(name)) name = `${entry.name} (${entry.category})`;
    for (let n = 2; used.has(name); n++) name = `${entry.name} (${n})`;
    used.add(name);
    return name;
  });
}

function emptyUsage(): StageUsage {
  return { calls: 0, promptTokens: 0, completionTokens: 0, repairs: 0 };
}

class StageFailure extends Error {
  constructor(
    readonly stage: BuildStage,
    readonly reason: 'checks' | 'model_error',
    readonly errors: string[],
    readonly lastReplyKind?: string,
  ) {
    super(errors[0] ?? 'failed');
  }
}

/** Errors that no other tool would survive either: stop the run instead of failing every tool. */
function isFatal(error: unknown): boolean {
  return (
    error instanceof ModelCallError &&
    error.kind === 'client_error' &&
    (error.status === 401 || error.status === 403 || error.status === 404)
  );
}

interface StageResult<T> {
  value: T;
  usage: StageUsage;
}

type StageVerdict<T> =
  | { ok: true; value: T; localFixes?: string[] }
  | { ok: false; errors: string[]; truncated: boolean; kind?: string };

/** Asks, checks, and repairs up to `maxRepairs` rounds (the last bad reply and its errors go back). */
async function runStage<T>(
  stage: BuildStage,
  prompt: string,
  check: (response: ChatResponse) => Promise<StageVerdict<T>>,
  context: { model: ChatModel; maxRepairs: number; signal: AbortSignal; seed?: number; maxTokens?: number },
  usages: Partial<Record<BuildStage, StageUsage>>,
  localFixes: string[],
): Promise<StageResult<T>> {
  const usage = emptyUsage();
  usages[stage] = usage;
  let messages: ChatMessage[] = [{ role: 'user', content: prompt }];
  let lastErrors: string[] = [];
  let lastKind: string | undefined;
  for (let round = 0; round <= context.maxRepairs; round++) {
    let response: ChatResponse;
    try {
      response = await context.model.chat(
        {
          messages,
          temperature: STAGE_TEMPERATURE[stage],
          ...(context.seed !== undefined ? { seed: context.seed } : {}),
          ...(context.maxTokens !== undefined ? { maxTokens: context.maxTokens } : {}),
        },
        { stage: `toolset.${stage}`, signal: context.signal },
      );
    } catch (error) {
      if (context.signal.aborted || isFatal(error)) throw error;
      throw new StageFailure(stage, 'model_error', [oneLine(`model error: ${messageOf(error)}`, 300)]);
    }
    usage.calls++;
    usage.promptTokens += response.usage.promptTokens;
    usage.completionTokens += response.usage.completionTokens;
    if (round > 0) usage.repairs++;
    const verdict = await check(response);
    if (verdict.ok) {
      localFixes.push(...(verdict.localFixes ?? []));
      return { value: verdict.value, usage };
    }
    lastErrors = verdict.errors;
    lastKind = verdict.kind;
    messages = [
      { role: 'user', content: prompt },
      { role: 'assistant', content: response.text },
      { role: 'user', content: repairPrompt(stage, verdict.errors, verdict.truncated) },
    ];
  }
  throw new StageFailure(stage, 'checks', lastErrors, lastKind);
}

interface BuildContext {
  model: ChatModel;
  maxRepairs: number;
  signal: AbortSignal;
  seed?: number;
  maxTokens?: number;
}

/** Builds one tool through the three stages; a failure comes back as a value, never thrown. */
export async function buildTool(
  entry: CatalogEntry,
  name: string,
  context: BuildContext,
): Promise<{ status: 'built'; record: ToolAlpacaRecord } | { status: 'failed'; failure: BuildFailure }> {
  const usages: Partial<Record<BuildStage, StageUsage>> = {};
  const localFixes: string[] = [];
  const id = entryId(entry);
  try {
    const introduction = await runStage(
      'introduction',
      introductionPrompt(entry),
      (response) => {
        const result = checkIntroduction(response.text, response.finishReason === 'length');
        return Promise.resolve(
          result.ok
            ? { ok: true as const, value: result.text }
            : { ok: false as const, errors: result.errors, truncated: response.finishReason === 'length' },
        );
      },
      context,
      usages,
      localFixes,
    );
    const functions = await runStage<FunctionSpec[]>(
      'functions',
      functionsPrompt(entry, introduction.value),
      (response) => {
        const parsed = parseFunctionsText(response.text);
        if (parsed.errors.length === 0) {
          return Promise.resolve({
            ok: true as const,
            value: parsed.functions,
            localFixes: parsed.fromJson ? ['functions-json-to-text'] : [],
          });
        }
        return Promise.resolve({
          ok: false as const,
          errors: parsed.errors,
          truncated: response.finishReason === 'length',
        });
      },
      context,
      usages,
      localFixes,
    );
    const functionsText = renderFunctionsText(functions.value);
    const documentation = await runStage<string>(
      'documentation',
      documentationPrompt(entry, functionsText),
      async (response) => {
        const result = await checkDocumentation(
          response.text,
          response.finishReason === 'length',
          entry,
          functions.value,
        );
        if (result.ok && result.documentation !== undefined) {
          return { ok: true as const, value: result.documentation, localFixes: result.localFixes };
        }
        return {
          ok: false as const,
          errors: result.errors,
          truncated: result.kind === 'truncated',
          kind: result.kind,
        };
      },
      context,
      usages,
      localFixes,
    );
    const stages = Object.fromEntries(BUILD_STAGES.map((s) => [s, usages[s] ?? emptyUsage()])) as Record<
      BuildStage,
      StageUsage
    >;
    const provenance: ToolProvenance = {
      builder: 'toolalpaca toolset build',
      model: context.model.id,
      builtAt: new Date().toISOString(),
      stages,
      repairRounds: BUILD_STAGES.reduce((sum, s) => sum + stages[s].repairs, 0),
      localFixes: [...new Set(localFixes)],
      catalog: {
        auth: entry.auth,
        ...(entry.https !== undefined ? { https: entry.https } : {}),
        ...(entry.cors !== undefined ? { cors: entry.cors } : {}),
      },
    };
    const record = buildRecord(
      entry,
      name,
      introduction.value,
      functionsText,
      documentation.value,
      provenance,
    );
    // The record as `tools validate` and `generate` will read it must pass the same checks.
    const problems = checkTool(await recordToTool(record));
    if (problems.length > 0) {
      throw new StageFailure('documentation', 'checks', problems.map(formatProblem));
    }
    return { status: 'built', record };
  } catch (error) {
    if (!(error instanceof StageFailure)) throw error;
    const repairRounds = Object.values(usages).reduce((sum, u) => sum + u.repairs, 0);
    return {
      status: 'failed',
      failure: {
        id,
        name,
        category: entry.category,
        stage: error.stage,
        reason: error.reason,
        error: error.errors[0] ?? 'failed',
        errors: error.errors,
        ...(error.lastReplyKind !== undefined ? { lastReplyKind: error.lastReplyKind } : {}),
        repairRounds,
        stages: usages,
      },
    };
  }
}

async function hashFile(path: string): Promise<string> {
  try {
    return `sha256:${createHash('sha256')
      .update(await readFile(path))
      .digest('hex')}`;
  } catch (error) {
    throw new InputError(`${path}: ${describeFsError(error)}`, { cause: error });
  }
}

/** Builds a toolset from a catalogue; see the module comment for the files and the resume rules. */
export async function buildToolset(options: BuildOptions): Promise<BuildSummary> {
  const started = performance.now();
  const files = buildFiles(options.out);
  const maxRepairs = options.maxRepairs ?? DEFAULT_MAX_REPAIRS;
  if (!Number.isInteger(maxRepairs) || maxRepairs < 0) {
    throw new InputError(`max repairs must be a non-negative integer, got ${maxRepairs}`);
  }
  if (options.resume === true && options.force === true) {
    throw new InputError('--resume and --force exclude each other');
  }
  const catalogHash = await hashFile(options.catalogPath);
  const entries = options.entries ?? (await readCatalog(options.catalogPath));
  const selection = options.selection ?? {};
  const selected = selectEntries(entries, selection);
  if (selected.length === 0)
    throw new InputError(`${options.catalogPath}: no catalogue entries match the selection`);
  const names = assignToolNames(selected);
  const parameters: BuildParameters = { model: options.model.id, catalogHash, selection, maxRepairs };

  // The log decides what is already done.
  let existing = await readJsonlLog(files.log);
  const hasContent = existing.validBytes > 0 || existing.tornBytes > 0;
  if (hasContent && options.force === true) {
    await rm(files.log, { force: true });
    existing = await readJsonlLog(files.log);
  } else if (hasContent && options.resume !== true) {
    throw new InputError(
      `${files.log} already holds a build: pass --resume to continue it or --force to start over`,
    );
  }
  const header = existing.lines[0] as { type?: string; parameters?: BuildParameters } | undefined;
  if (existing.lines.length > 0) {
    if (header?.type !== 'header' || header.parameters === undefined) {
      throw new InputError(`${files.log} was not written by toolalpaca toolset build (no header line)`);
    }
    const detail = describeDifferingParameters(header.parameters, parameters);
    if (detail !== undefined) {
      throw new InputError(
        oneLine(
          `cannot resume ${files.log}: it was made with other parameters (${detail}); use the same ones or --force`,
        ),
      );
    }
  }
  const finished = new Map<string, ToolLine>();
  for (const line of existing.lines.slice(1)) {
    const entry = line as Partial<ToolLine> | null;
    if (entry?.type === 'tool' && typeof entry.id === 'string' && !finished.has(entry.id)) {
      finished.set(entry.id, entry as ToolLine);
    }
  }
  const ids = selected.map(entryId);
  const resumed = ids.filter((id) => finished.has(id)).length;

  const log = await openJsonlLog(files.log, { validBytes: existing.validBytes });
  try {
    if (existing.lines.length === 0) {
      await log.append({
        type: 'header',
        version: BUILD_LOG_VERSION,
        parameters,
        startedAt: new Date().toISOString(),
      });
    }

    let promptTokens = 0;
    let completionTokens = 0;
    const counts = (): { built: number; failed: number } => {
      let built = 0;
      let failed = 0;
      for (const id of ids) {
        const line = finished.get(id);
        if (line?.status === 'built') built++;
        else if (line?.status === 'failed') failed++;
      }
      return { built, failed };
    };
    const report = (): void => {
      const totals = options.ledger?.totals();
      const { built, failed } = counts();
      options.onProgress?.({
        done: built + failed,
        total: selected.length,
        built,
        failed,
        promptTokens: totals?.promptTokens ?? promptTokens,
        completionTokens: totals?.completionTokens ?? completionTokens,
        costUsd: totals?.costUsd ?? 0,
      });
    };
    report();

    const hardStop = new AbortController();
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

    const context: BuildContext = {
      model: options.model,
      maxRepairs,
      signal: hardStop.signal,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    };
    const runOne = async (index: number): Promise<void> => {
      if (interrupted || fatal !== undefined) return;
      const entry = selected[index] as CatalogEntry;
      const name = names[index] as string;
      let result: Awaited<ReturnType<typeof buildTool>>;
      try {
        result = await buildTool(entry, name, context);
      } catch (error) {
        // Aborted in flight: not logged, so a resume builds it again.
        if (hardStop.signal.aborted) return;
        fatal ??= error;
        queue.clear();
        hardStop.abort(error);
        return;
      }
      const line: ToolLine =
        result.status === 'built'
          ? {
              type: 'tool',
              id: ids[index] as string,
              status: 'built',
              record: result.record,
              finishedAt: new Date().toISOString(),
            }
          : {
              type: 'tool',
              id: ids[index] as string,
              status: 'failed',
              failure: result.failure,
              finishedAt: new Date().toISOString(),
            };
      const spent =
        result.status === 'built'
          ? Object.values((result.record.Provenance as ToolProvenance).stages)
          : Object.values(result.failure.stages);
      for (const usage of spent) {
        promptTokens += usage.promptTokens;
        completionTokens += usage.completionTokens;
      }
      try {
        await log.append(line);
      } catch (error) {
        fatal ??= new InputError(oneLine(`cannot write log ${files.log}: ${messageOf(error)}`), {
          cause: error,
        });
        queue.clear();
        hardStop.abort(fatal);
        return;
      }
      finished.set(line.id, line);
      options.onTool?.(
        result.status === 'built'
          ? { name, status: 'built', repairRounds: (result.record.Provenance as ToolProvenance).repairRounds }
          : {
              name,
              status: 'failed',
              repairRounds: result.failure.repairRounds,
              error: `${result.failure.stage}: ${result.failure.error}`,
            },
      );
      report();
    };
    ids.forEach((id, index) => {
      if (!finished.has(id)) void queue.add(() => runOne(index));
    });
    await queue.onIdle();
    if (graceTimer !== undefined) clearTimeout(graceTimer);
    options.signal?.removeEventListener('abort', onStop);
    if (fatal !== undefined) throw fatal;

    // Final files, in selection order, from the log.
    const records: ToolAlpacaRecord[] = [];
    const failures: BuildFailure[] = [];
    const localFixes: Record<string, number> = {};
    const failedByStage: Record<string, number> = {};
    let repaired = 0;
    let repairRounds = 0;
    for (const id of ids) {
      const line = finished.get(id);
      if (line === undefined) continue;
      if (line.status === 'built') {
        records.push(line.record);
        const provenance = line.record.Provenance as ToolProvenance;
        repairRounds += provenance.repairRounds;
        if (provenance.repairRounds > 0) repaired++;
        for (const fix of provenance.localFixes) localFixes[fix] = (localFixes[fix] ?? 0) + 1;
      } else {
        failures.push(line.failure);
        repairRounds += line.failure.repairRounds;
        failedByStage[line.failure.stage] = (failedByStage[line.failure.stage] ?? 0) + 1;
      }
    }
    await writeToolAlpacaFile(options.out, records);
    await writeFileAtomic(files.failed, `${JSON.stringify(failures, null, 2)}\n`);
    const totals = options.ledger?.totals();
    const summary: BuildSummary = {
      out: options.out,
      failedFile: files.failed,
      log: files.log,
      meta: files.meta,
      selected: selected.length,
      built: records.length,
      failed: failures.length,
      resumed,
      interrupted,
      notFinished: selected.length - records.length - failures.length,
      repaired,
      repairRounds,
      failedByStage,
      localFixes,
      promptTokens: totals?.promptTokens ?? promptTokens,
      completionTokens: totals?.completionTokens ?? completionTokens,
      costUsd: totals?.costUsd ?? 0,
      durationMs: Math.round(performance.now() - started),
    };
    await writeRunMeta(files.meta, {
      parameters,
      options: {
        concurrency: options.concurrency ?? 4,
        seed: options.seed ?? null,
        maxTokens: options.maxTokens ?? null,
      },
      summary,
      ledger: options.ledger,
    });
    return summary;
  } finally {
    await log.close();
  }
}

/** The summary as a few human lines. */
export function formatBuildSummary(summary: BuildSummary): string {
  const lines: string[] = [];
  const stages = Object.entries(summary.failedByStage)
    .map(([stage, n]) => `${stage} ${n}`)
    .join(', ');
  lines.push(
    `${summary.interrupted ? 'interrupted: ' : ''}${summary.built + summary.failed}/${summary.selected} APIs: ${summary.built} built, ${summary.failed} failed${stages !== '' ? ` (at ${stages})` : ''}`,
  );
  if (summary.resumed > 0) lines.push(`resumed: ${summary.resumed} tools read from ${summary.log}`);
  if (summary.notFinished > 0) lines.push(`not finished: ${summary.notFinished} (rerun with --resume)`);
  const fixes = Object.entries(summary.localFixes)
    .map(([fix, n]) => `${fix} ${n}`)
    .join(', ');
  lines.push(
    `repairs: ${summary.repaired} tools repaired, ${summary.repairRounds} repair rounds${fixes !== '' ? `; local fixes: ${fixes}` : ''}`,
  );
  lines.push(
    `tokens in ${summary.promptTokens}, out ${summary.completionTokens}; cost $${summary.costUsd.toFixed(4)}`,
  );
  lines.push(`wrote ${summary.out} (failed tools ${summary.failedFile}, log ${summary.log})`);
  return `${lines.join('\n')}\n`;
}
