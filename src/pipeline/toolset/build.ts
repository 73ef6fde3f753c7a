/**
 * The toolset build: catalogue entries → (Introduction → Functions → Documentation, each checked and
 * repaired up to K rounds) → ToolAlpaca JSON records with NL documentation and provenance.
 *
 * It runs on the durable-run engine (`src/run`), one task per catalogue entry: every finished tool
 * (built or failed) is one fsynced line of the journal `OUT.log.jsonl` before it counts as done; the
 * final files (OUT, `OUT.failed.json`, `OUT.meta.json`) are written atomically from the journal. After
 * a kill -9, `resume: true` skips the tools already journaled (and builds again those that failed for
 * an infrastructure reason), so a crash loses at most the tools in flight and never builds one twice.
 * A journal made with other parameters (model, endpoint, catalogue, selection, repair rounds, seed,
 * reply limit) is refused.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
import { recordToTool, writeToolAlpacaFile } from '../../formats/toolalpaca-json.js';
import { checkTool, formatProblem } from '../../formats/tool-checks.js';
import type { ChatMessage, ChatModel, ChatResponse } from '../../models/chat-model.js';
import type { CostLedger } from '../../models/ledger.js';
import { isInfrastructureFailure } from '../../models/model-errors.js';
import { endpointOf } from '../../models/preflight.js';
import {
  executionOptionsOf,
  runFiles,
  startOptionsOf,
  withDurableRun,
  writeRunMeta,
  type DurableRunOptions,
  type ExecuteOptions,
  type ExecutionOutcome,
  type JournalTask,
  type TaskRunner,
  type TaskSpec,
  type CircuitOpen,
} from '../../run/index.js';
import { buildRecord, checkDocumentation, checkIntroduction } from './checks.js';
import { parseFunctionsText, renderFunctionsText, type FunctionSpec } from './functions-text.js';
import { documentationPrompt, functionsPrompt, introductionPrompt, repairPrompt } from './prompts.js';
import { readCatalog } from './catalog-readers.js';
import { selectEntries, type CatalogSelection } from './select.js';

/** Default repair rounds per stage. */
export const DEFAULT_MAX_REPAIRS = 3;

/** Sampling temperature per stage (ToolAlpaca samples the introduction freely, the rest conservatively). */
const STAGE_TEMPERATURE: Record<BuildStage, number> = { introduction: 1, functions: 0.3, documentation: 0.3 };

/** What changes a built tool: compared when a build is resumed. */
export interface BuildParameters {
  model: string;
  endpoint: string;
  /** sha256 of the catalogue file. */
  catalogHash: string;
  selection: CatalogSelection;
  maxRepairs: number;
  seed: number | null;
  maxTokens: number | null;
}

/** Why a tool could not be built: the stage, its last error(s), the rounds it took. */
export interface BuildFailure {
  id: string;
  name: string;
  category: string;
  stage: BuildStage;
  /** `model_error` when the model could not be reached; `checks` when the replies never passed. */
  reason: 'checks' | 'model_error';
  /** A model error of the service (connection, auth, 5xx after retries): a resume builds the tool again. */
  infrastructure?: boolean;
  error: string;
  errors: string[];
  /** The kind of the last reply (empty, prose, truncated, yaml, json, wrong-api...). */
  lastReplyKind?: string;
  repairRounds: number;
  stages: Partial<Record<BuildStage, StageUsage>>;
}

/** A build task's input: one catalogue entry and the tool name it gets (plain JSON). */
export interface BuildTaskInput {
  entry: CatalogEntry;
  name: string;
}

/** A build task's output: the record, or why the tool could not be built (plain JSON). */
export type BuildTaskOutput = { record: ToolAlpacaRecord } | { failure: BuildFailure };

type BuildRecord = JournalTask<BuildTaskOutput>;

export interface BuildProgress {
  done: number;
  total: number;
  built: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** A build's options; `concurrency` (tools built at once) defaults to 4. */
export interface BuildOptions extends DurableRunOptions {
  /** Catalogue file (ToolAlpaca public_apis.json, README markdown, CSV or JSON list). */
  catalogPath: string;
  /** Already read entries (skip reading `catalogPath`; it is still hashed when it exists). */
  entries?: readonly CatalogEntry[];
  out: string;
  model: ChatModel;
  selection?: CatalogSelection;
  /** Repair rounds per stage after a failed check (default 3). */
  maxRepairs?: number;
  seed?: number;
  /** Upper bound on reply tokens per call (default: the backend's). */
  maxTokens?: number;
  ledger?: CostLedger;
  /** Cache hits of the model (default the ledger's cached calls). */
  cacheHits?: () => number;
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
  /** Tools read back from the journal (resume). */
  resumed: number;
  /** Failed tools from the journal built again (resume). */
  retried: number;
  interrupted: boolean;
  /** Set when the circuit breaker stopped the build. */
  circuitOpen?: CircuitOpen;
  /** Tools that failed for an infrastructure reason (a resume builds them again). */
  infrastructureFailed: number;
  /** Tools not finished because the build stopped (rerun with resume). */
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
  cacheHits: number;
  durationMs: number;
}

/** The files a build writes beside `out`. */
export function buildFiles(out: string): { log: string; failed: string; meta: string; lock: string } {
  const base = out.replace(/\.json$/i, '');
  const files = runFiles(out);
  return { log: files.journal, failed: `${base}.failed.json`, meta: files.meta, lock: files.lock };
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
    readonly infrastructure = false,
  ) {
    super(errors[0] ?? 'failed');
  }
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
      if (context.signal.aborted) throw error;
      throw new StageFailure(
        stage,
        'model_error',
        [oneLine(`model error: ${messageOf(error)}`, 300)],
        undefined,
        isInfrastructureFailure(error),
      );
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
        ...(error.infrastructure ? { infrastructure: true } : {}),
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

/** The parameters and tasks of a build: one task per selected catalogue entry. */
async function planBuild(
  options: BuildOptions,
): Promise<{ parameters: BuildParameters; tasks: TaskSpec<BuildTaskInput>[] }> {
  const maxRepairs = options.maxRepairs ?? DEFAULT_MAX_REPAIRS;
  if (!Number.isInteger(maxRepairs) || maxRepairs < 0) {
    throw new InputError(`max repairs must be a non-negative integer, got ${maxRepairs}`);
  }
  const catalogHash = await hashFile(options.catalogPath);
  const entries = options.entries ?? (await readCatalog(options.catalogPath));
  const selection = options.selection ?? {};
  const selected = selectEntries(entries, selection);
  if (selected.length === 0)
    throw new InputError(`${options.catalogPath}: no catalogue entries match the selection`);
  const names = assignToolNames(selected);
  const parameters: BuildParameters = {
    model: options.model.id,
    endpoint: endpointOf(options.model),
    catalogHash,
    selection,
    maxRepairs,
    seed: options.seed ?? null,
    maxTokens: options.maxTokens ?? null,
  };
  const tasks = selected.map((entry, index) => ({
    id: entryId(entry),
    input: { entry, name: names[index] as string },
  }));
  return { parameters, tasks };
}

/** The task runner: builds one tool; a tool that cannot be built is a failed result, never a throw. */
/** The task runner of a toolset build: one tool per catalogue entry (a queue worker builds it too). */
export function buildTaskRunner(
  options: Pick<BuildOptions, 'model' | 'seed' | 'maxTokens'>,
  maxRepairs: number,
): TaskRunner<BuildTaskInput, BuildTaskOutput> {
  return async ({ entry, name }, { signal }) => {
    const result = await buildTool(entry, name, {
      model: options.model,
      maxRepairs,
      signal,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    });
    if (result.status === 'built') return { status: 'completed', output: { record: result.record } };
    const { failure } = result;
    return {
      status: 'failed',
      output: { failure },
      failure: {
        reason: failure.reason,
        message: `${failure.stage}: ${failure.error}`,
        ...(failure.infrastructure === true ? { infrastructure: true } : {}),
      },
    };
  };
}

function tokensOf(output: BuildTaskOutput): { promptTokens: number; completionTokens: number } {
  const stages =
    'record' in output
      ? Object.values((output.record.Provenance as ToolProvenance).stages)
      : Object.values(output.failure.stages);
  return {
    promptTokens: stages.reduce((sum, usage) => sum + (usage?.promptTokens ?? 0), 0),
    completionTokens: stages.reduce((sum, usage) => sum + (usage?.completionTokens ?? 0), 0),
  };
}

/** `onTool` and `onProgress` of a build, fed from the engine. */
function buildReporter(
  options: BuildOptions,
): Pick<ExecuteOptions<BuildTaskInput, BuildTaskOutput>, 'onProgress' | 'onFinished'> {
  let promptTokens = 0;
  let completionTokens = 0;
  return {
    onFinished: (record) => {
      const tokens = tokensOf(record.output);
      promptTokens += tokens.promptTokens;
      completionTokens += tokens.completionTokens;
      const { output } = record;
      options.onTool?.(
        'record' in output
          ? {
              name: output.record.Name,
              status: 'built',
              repairRounds: (output.record.Provenance as ToolProvenance).repairRounds,
            }
          : {
              name: output.failure.name,
              status: 'failed',
              repairRounds: output.failure.repairRounds,
              error: `${output.failure.stage}: ${output.failure.error}`,
            },
      );
    },
    onProgress: (progress) => {
      const totals = options.ledger?.totals();
      options.onProgress?.({
        done: progress.done,
        total: progress.total,
        built: progress.done - progress.failed,
        failed: progress.failed,
        promptTokens: totals?.promptTokens ?? promptTokens,
        completionTokens: totals?.completionTokens ?? completionTokens,
        costUsd: totals?.costUsd ?? 0,
      });
    },
  };
}

/** What the final files hold, counted for the summary. */
interface BuildTally {
  built: number;
  failed: number;
  repaired: number;
  repairRounds: number;
  failedByStage: Record<string, number>;
  localFixes: Record<string, number>;
}

/** Writes OUT (built tools, selection order) and the side file of failures; returns their counts. */
async function writeBuildFiles(
  out: string,
  failedFile: string,
  records: readonly BuildRecord[],
): Promise<BuildTally> {
  const built: ToolAlpacaRecord[] = [];
  const failures: BuildFailure[] = [];
  const tally: BuildTally = {
    built: 0,
    failed: 0,
    repaired: 0,
    repairRounds: 0,
    failedByStage: {},
    localFixes: {},
  };
  for (const { output } of records) {
    if ('record' in output) {
      built.push(output.record);
      const provenance = output.record.Provenance as ToolProvenance;
      tally.repairRounds += provenance.repairRounds;
      if (provenance.repairRounds > 0) tally.repaired++;
      for (const fix of provenance.localFixes) tally.localFixes[fix] = (tally.localFixes[fix] ?? 0) + 1;
    } else {
      failures.push(output.failure);
      tally.repairRounds += output.failure.repairRounds;
      tally.failedByStage[output.failure.stage] = (tally.failedByStage[output.failure.stage] ?? 0) + 1;
    }
  }
  await writeToolAlpacaFile(out, built);
  await writeFileAtomic(failedFile, `${JSON.stringify(failures, null, 2)}\n`);
  return { ...tally, built: built.length, failed: failures.length };
}

function buildSummary(
  options: BuildOptions,
  outcome: ExecutionOutcome<BuildTaskInput, BuildTaskOutput>,
  tally: BuildTally,
  started: number,
): BuildSummary {
  const files = buildFiles(options.out);
  const totals = options.ledger?.totals();
  const tokens = outcome.finished.map((record) => tokensOf(record.output));
  return {
    out: options.out,
    failedFile: files.failed,
    log: files.log,
    meta: files.meta,
    selected: outcome.total,
    ...tally,
    resumed: outcome.resumed,
    retried: outcome.retried,
    interrupted: outcome.interrupted,
    ...(outcome.circuitOpen !== undefined ? { circuitOpen: outcome.circuitOpen } : {}),
    infrastructureFailed: outcome.infrastructureFailed,
    notFinished: outcome.total - tally.built - tally.failed,
    promptTokens: totals?.promptTokens ?? tokens.reduce((sum, t) => sum + t.promptTokens, 0),
    completionTokens: totals?.completionTokens ?? tokens.reduce((sum, t) => sum + t.completionTokens, 0),
    costUsd: totals?.costUsd ?? 0,
    cacheHits: options.cacheHits?.() ?? totals?.cachedCalls ?? 0,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Builds a toolset from a catalogue; see the module comment for the files and the resume rules. */
export async function buildToolset(options: BuildOptions): Promise<BuildSummary> {
  const started = performance.now();
  const { parameters, tasks } = await planBuild(options);
  return withDurableRun<BuildTaskOutput, BuildParameters, BuildSummary>(
    {
      kind: 'toolset-build',
      out: options.out,
      parameters,
      context: { catalog: options.catalogPath, out: options.out },
      ...startOptionsOf(options),
    },
    async (run) => {
      const outcome = await run.execute({
        tasks,
        runTask: buildTaskRunner(options, parameters.maxRepairs),
        ...executionOptionsOf(options, 4),
        ...buildReporter(options),
      });
      const files = buildFiles(options.out);
      const tally = await writeBuildFiles(options.out, files.failed, outcome.finished);
      const summary = buildSummary(options, outcome, tally, started);
      await writeRunMeta(files.meta, {
        parameters,
        options: { concurrency: options.concurrency ?? 4 },
        summary,
        ledger: options.ledger,
      });
      await run.end(outcome);
      return summary;
    },
  );
}
