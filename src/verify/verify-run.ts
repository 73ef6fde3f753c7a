/**
 * A verification run: every instance of a corpus (ToolAlpaca JSON, or a generation journal) goes through
 * the three stages — format, execution, semantic — and the corpus is written again with
 * `verification: {passed, stage, reasons[]}` on each instance (other fields unchanged), beside a drop
 * report `OUT.verification.md`.
 *
 * It is a durable run (`src/run`): one task per instance (`R/TOOL#INDEX`, R the tool's position in the
 * corpus), its verification journaled in `OUT.log.jsonl` before it counts, so a kill -9 and `resume`
 * verifies only what is left, with the same parameters (the corpus's hash, the judge, the executor...).
 * The corpus is streamed: tasks are planned and run a batch at a time, and the output is written in a
 * second streaming pass; memory holds one batch of instances and one small verification per instance.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import type { Instance, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import type { ToolExecutor } from '../executors/executor.js';
import { findFunction } from '../executors/executor.js';
import { parseActionArgs } from '../agents/react-parser.js';
import {
  corpusFileKind,
  hashKey,
  openToolAlpacaWriter,
  readJournalStream,
  readToolAlpacaEntriesStream,
} from '../formats/corpus-stream.js';
import { recordToTool } from '../formats/toolalpaca-json.js';
import type { ChatModel } from '../models/chat-model.js';
import type { CostLedger } from '../models/ledger.js';
import { endpointOf } from '../models/preflight.js';
import {
  executionOptionsOf,
  failureOf,
  startOptionsOf,
  withDurableRun,
  writeRunMeta,
  type DurableRunOptions,
  type JournalTask,
  type RunStatus,
  type TaskRunner,
  type TaskSpec,
} from '../run/index.js';
import {
  deterministicSemanticReasons,
  formatReasons,
  recordedExecutionReasons,
  type CheckOptions,
} from './checks.js';
import { judgeInstance } from './judge.js';
import { reason, VERIFICATION_STAGES, type Verification, type VerificationReason } from './reasons.js';
import { stepLabel, trajectoryOf, type Trajectory } from './trajectory.js';
import { formatVerificationReport } from './report.js';

export type VerifyJudgeKind = 'deterministic' | 'llm' | 'both';
export const VERIFY_JUDGES: readonly VerifyJudgeKind[] = ['deterministic', 'llm', 'both'];
export const DEFAULT_VERIFY_TEMPERATURE = 0.2;
const BATCH = 256;

export interface VerifyOptions extends DurableRunOptions, CheckOptions {
  /** ToolAlpaca JSON, or a generation journal (`.log.jsonl`). */
  corpus: string;
  /** The verified corpus (ToolAlpaca JSON). */
  out: string;
  /** Where the journal, lock and metadata go (`RUN.log.jsonl`...); default `out`. */
  runOut?: string;
  /** The semantic stage's judge (default deterministic; `llm` and `both` need `judgeModel`). */
  judge?: VerifyJudgeKind;
  judgeModel?: ChatModel;
  /** K verdicts per instance from the LLM judge (default 1). */
  runs?: number;
  seed?: number;
  temperature?: number;
  /** Re-executes every call that succeeded in the corpus; without one, recorded observations are checked. */
  executor?: ToolExecutor;
  /** Executor settings that change observations, recorded in the parameters. */
  executorOptions?: Record<string, unknown>;
  ledger?: CostLedger;
  onProgress?: (progress: VerifyProgress) => void;
}

export interface VerifyProgress {
  done: number;
  total: number;
  failed: number;
  doneThisRun: number;
}

/** One instance to verify (plain JSON): where it is and the instance itself. */
export interface VerifyTaskInput {
  /** The tool's position in the corpus and its name. */
  record: number;
  tool: string;
  index: number;
  instance: Instance;
}

export interface VerifyTaskOutput {
  verification?: Verification;
  kind?: string;
}

export interface VerificationSummary extends RunStatus {
  corpus: string;
  out: string;
  report: string;
  log: string;
  meta: string;
  total: number;
  verified: number;
  passed: number;
  failed: number;
  /** Instances whose verification could not run (judge or executor failures). */
  notVerified: number;
  /** Failed instances by the stage that failed them. */
  byStage: Record<string, number>;
  /** Reasons found on failed instances (an instance counts once per distinct reason). */
  byReason: Record<string, number>;
  /** Instances and passed ones per kind (`original` for instances without a kind). */
  byKind: Record<string, { total: number; passed: number }>;
  resumed: number;
  durationMs: number;
}

function taskId(record: number, tool: string, index: number): string {
  return `${record}/${tool}#${index}`;
}

/** sha256 of a file, read as a stream (a corpus may be larger than memory). */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new InputError(oneLine(`cannot read corpus ${path}: ${messageOf(error)}`), { cause: error });
  }
  return `sha256:${hash.digest('hex')}`;
}

interface CorpusEntry {
  /** The tool's position in the corpus. */
  record: number;
  tool: ToolAlpacaRecord;
  instance?: Instance;
  index: number;
}

/**
 * The corpus's entries in order, each with its tool's position: the order in which tool records first
 * appear (items of one tool share its record object). A journal yields instances in the order they
 * finished, so one tool's instances may come in several runs.
 */
async function* corpusEntries(path: string): AsyncGenerator<CorpusEntry> {
  const kind = await corpusFileKind(path);
  const source = kind === 'journal' ? readJournalStream(path) : readToolAlpacaEntriesStream(path);
  const positions = new Map<ToolAlpacaRecord, number>();
  for await (const entry of source) {
    let position = positions.get(entry.tool);
    if (position === undefined) {
      position = positions.size;
      positions.set(entry.tool, position);
    }
    yield { record: position, ...entry };
  }
}

/** The tools of the corpus, built once per record (`recordToTool`), by position. */
class ToolCache {
  private readonly tools = new Map<number, { record: ToolAlpacaRecord; tool: Promise<Tool> }>();

  remember(position: number, record: ToolAlpacaRecord): void {
    if (!this.tools.has(position)) this.tools.set(position, { record, tool: recordToTool(record) });
  }

  get(position: number): { record: ToolAlpacaRecord; tool: Promise<Tool> } {
    const entry = this.tools.get(position);
    if (entry === undefined) throw new Error(`verify: no tool record at position ${position}`);
    return entry;
  }
}

/** Re-executes every call of a tool function that the corpus records as a success. */
async function reexecutionReasons(
  tool: Tool,
  trajectory: Trajectory,
  executor: ToolExecutor,
  instanceId: string,
  signal: AbortSignal,
): Promise<VerificationReason[]> {
  const found: VerificationReason[] = [];
  for (const step of trajectory.turns.flatMap((turn) => turn.steps)) {
    if (step.outcome !== 'ok' || findFunction(tool, step.action) === undefined) continue;
    const parsed = parseActionArgs(step.actionInput);
    if (!parsed.ok) continue;
    const observation = await executor.execute(tool, step.action, parsed.args, { instanceId, signal });
    if (observation.error !== undefined) throw new Error(`executor ${executor.kind}: ${observation.error}`);
    if (observation.status >= 400) {
      found.push(
        reason(
          'reexecution-failed',
          `${stepLabel(step)} ${step.action}: the ${executor.kind} executor answers ${observation.status}`,
        ),
      );
    }
  }
  return found;
}

function verdict(stage: Verification['stage'], reasons: VerificationReason[]): Verification {
  return { passed: reasons.length === 0, stage, reasons };
}

/** Verifies one instance: the stages in order, stopping at the first that fails. */
export async function verifyInstance(
  record: ToolAlpacaRecord,
  tool: Tool,
  instance: Instance,
  index: number,
  options: Pick<
    VerifyOptions,
    | 'judge'
    | 'judgeModel'
    | 'runs'
    | 'seed'
    | 'temperature'
    | 'executor'
    | 'strictCalls'
    | 'toolalpacaFilters'
  > & { instanceId?: string; signal?: AbortSignal } = {},
): Promise<Verification> {
  const trajectory = trajectoryOf(instance);
  const format = formatReasons(record, tool, instance, index, trajectory, options);
  if (format.length > 0) return verdict('format', format);
  const execution = recordedExecutionReasons(tool, trajectory);
  if (execution.length === 0 && options.executor !== undefined) {
    execution.push(
      ...(await reexecutionReasons(
        tool,
        trajectory,
        options.executor,
        options.instanceId ?? `${record.Name}#${index}`,
        options.signal ?? new AbortController().signal,
      )),
    );
  }
  if (execution.length > 0) return verdict('execution', execution);
  const judge = options.judge ?? 'deterministic';
  const semantic: VerificationReason[] =
    judge === 'llm' ? [] : deterministicSemanticReasons(record, tool, instance, index, trajectory);
  if (judge === 'deterministic') return verdict('semantic', semantic);
  if (options.judgeModel === undefined) throw new InputError(`the ${judge} judge needs a judge model`);
  const judged = await judgeInstance(record.NLDocumentation ?? record.Description ?? '', trajectory, {
    model: options.judgeModel,
    runs: Math.max(1, options.runs ?? 1),
    seed: options.seed ?? 0,
    temperature: options.temperature ?? DEFAULT_VERIFY_TEMPERATURE,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  if (judged.majority === 'No') {
    semantic.push(
      reason(
        'judge-rejected',
        `${judged.model}: ${judged.verdicts.join(', ')} (agreement ${judged.agreement})`,
      ),
    );
  } else if (judged.majority !== 'Yes') {
    semantic.push(
      reason('judge-undecided', `${judged.model}: ${judged.verdicts.join(', ')} (no majority for Yes)`),
    );
  }
  return { ...verdict('semantic', semantic), judge: judged };
}

/** Every parameter that changes a verification, for the journal's header (compared on resume). */
function verifyParameters(options: VerifyOptions, corpusHash: string): Record<string, unknown> {
  const judge = options.judge ?? 'deterministic';
  const llm = judge !== 'deterministic' && options.judgeModel !== undefined;
  return {
    corpus: corpusHash,
    judge,
    judgeModel: llm ? (options.judgeModel as ChatModel).id : null,
    judgeEndpoint: llm ? endpointOf(options.judgeModel as ChatModel) : null,
    runs: llm ? Math.max(1, options.runs ?? 1) : null,
    seed: llm ? (options.seed ?? 0) : null,
    temperature: llm ? (options.temperature ?? DEFAULT_VERIFY_TEMPERATURE) : null,
    executor: options.executor?.kind ?? null,
    executorOptions: options.executorOptions ?? {},
    strictCalls: options.strictCalls === true,
    toolalpacaFilters: options.toolalpacaFilters !== false,
  };
}

function taskRunner(tools: ToolCache, options: VerifyOptions): TaskRunner<VerifyTaskInput, VerifyTaskOutput> {
  return async (input, { signal }) => {
    const kind = (input.instance as { kind?: unknown }).kind;
    const base: VerifyTaskOutput = typeof kind === 'string' ? { kind } : {};
    try {
      const { record, tool } = tools.get(input.record);
      const verification = await verifyInstance(record, await tool, input.instance, input.index, {
        ...options,
        instanceId: taskId(input.record, input.tool, input.index),
        signal,
      });
      return { status: 'completed', output: { ...base, verification } };
    } catch (error) {
      return { status: 'failed', output: base, failure: failureOf(error, 'verify_error') };
    }
  };
}

/**
 * What the run keeps of a finished task until the output is written: its verification (one shared
 * object for the common "passed, nothing to say"), its kind, and whether it failed and why. Keyed by a
 * 53-bit hash of the task id, so that memory per instance stays a few dozen bytes.
 */
interface Finished {
  verification?: Verification;
  kind?: string;
  failed?: 'behaviour' | 'infrastructure';
}

const PASSED_PLAIN: Finished = Object.freeze({
  verification: Object.freeze({ passed: true, stage: 'semantic', reasons: [] }) as Verification,
});

function finishedOf(record: JournalTask<VerifyTaskOutput>): Finished {
  const { verification, kind } = record.output;
  if (record.status === 'failed') {
    return {
      ...(kind !== undefined ? { kind } : {}),
      failed: record.failure?.infrastructure === true ? 'infrastructure' : 'behaviour',
    };
  }
  if (
    kind === undefined &&
    verification?.passed === true &&
    verification.reasons.length === 0 &&
    verification.judge === undefined
  ) {
    return PASSED_PLAIN;
  }
  return { ...(verification !== undefined ? { verification } : {}), ...(kind !== undefined ? { kind } : {}) };
}

interface Tally {
  summary: VerificationSummary;
  count(finished: Finished): void;
}

function createTally(
  base: Omit<
    VerificationSummary,
    | 'total'
    | 'verified'
    | 'passed'
    | 'failed'
    | 'notVerified'
    | 'byStage'
    | 'byReason'
    | 'byKind'
    | 'resumed'
    | 'durationMs'
    | keyof RunStatus
  >,
): Tally {
  const summary: VerificationSummary = {
    ...base,
    total: 0,
    verified: 0,
    passed: 0,
    failed: 0,
    notVerified: 0,
    byStage: Object.fromEntries(VERIFICATION_STAGES.map((stage) => [stage, 0])),
    byReason: {},
    byKind: {},
    resumed: 0,
    durationMs: 0,
    interrupted: false,
    infrastructureFailed: 0,
  };
  return {
    summary,
    count(finished) {
      summary.total++;
      const kind = finished.kind ?? 'original';
      const perKind = (summary.byKind[kind] ??= { total: 0, passed: 0 });
      perKind.total++;
      const verification = finished.verification;
      if (verification === undefined) {
        summary.notVerified++;
        if (finished.failed === 'infrastructure') summary.infrastructureFailed++;
        return;
      }
      summary.verified++;
      if (verification.passed) {
        summary.passed++;
        perKind.passed++;
        return;
      }
      summary.failed++;
      summary.byStage[verification.stage] = (summary.byStage[verification.stage] ?? 0) + 1;
      for (const code of new Set(verification.reasons.map((r) => r.code))) {
        summary.byReason[code] = (summary.byReason[code] ?? 0) + 1;
      }
    },
  };
}

/**
 * Instances verified at once by default: 4 with a model or an executor (their own limits apply), 64
 * for the rules alone, whose tasks take well under a millisecond: more results share each fsync of the
 * journal (group commit), which is what a rule-based run waits on.
 */
export function defaultConcurrency(options: Pick<VerifyOptions, 'judge' | 'executor'>): number {
  return (options.judge ?? 'deterministic') === 'deterministic' && options.executor === undefined ? 64 : 4;
}

/** Runs a verification; see the module comment for the files and the resume rules. */
export async function runVerification(options: VerifyOptions): Promise<VerificationSummary> {
  const started = performance.now();
  if ((options.judge ?? 'deterministic') !== 'deterministic' && options.judgeModel === undefined) {
    throw new InputError(`the ${options.judge} judge needs a judge model`);
  }
  const corpusHash = await hashFile(options.corpus);
  const parameters = verifyParameters(options, corpusHash);
  const runOut = options.runOut ?? options.out;
  let total = 0;
  for await (const entry of corpusEntries(options.corpus)) if (entry.instance !== undefined) total++;
  return withDurableRun<VerifyTaskOutput, Record<string, unknown>, VerificationSummary>(
    {
      kind: 'verify',
      out: runOut,
      parameters,
      context: { corpus: options.corpus, out: options.out },
      ...startOptionsOf(options),
    },
    async (run) => {
      const files = run.files;
      const tally = createTally({
        corpus: options.corpus,
        out: options.out,
        report: `${options.out}.verification.md`,
        log: files?.journal ?? '',
        meta: files?.meta ?? '',
      });
      const results = new Map<number, Finished>();
      const tools = new ToolCache();
      const runTask = taskRunner(tools, options);
      let done = 0;
      let failed = 0;
      let ranThisRun = 0;
      let status: RunStatus = { interrupted: false, infrastructureFailed: 0 };
      let batch: TaskSpec<VerifyTaskInput>[] = [];
      const flush = async (): Promise<boolean> => {
        if (batch.length === 0) return true;
        const outcome = await run.execute({
          tasks: batch,
          runTask,
          ...executionOptionsOf(options, defaultConcurrency(options)),
          onFinished: (record) => {
            ranThisRun++;
            if (record.status === 'failed') failed++;
            options.onProgress?.({ done: done + ranThisRun, total, failed, doneThisRun: ranThisRun });
          },
        });
        for (const record of outcome.finished) results.set(hashKey(record.id), finishedOf(record));
        tally.summary.resumed += outcome.resumed;
        done += outcome.finished.length;
        ranThisRun = 0;
        batch = [];
        status = {
          interrupted: status.interrupted || outcome.interrupted,
          infrastructureFailed: 0,
          ...(outcome.circuitOpen !== undefined ? { circuitOpen: outcome.circuitOpen } : {}),
        };
        return !outcome.interrupted && outcome.circuitOpen === undefined;
      };
      for await (const entry of corpusEntries(options.corpus)) {
        tools.remember(entry.record, entry.tool);
        if (entry.instance === undefined) continue;
        batch.push({
          id: taskId(entry.record, entry.tool.Name, entry.index),
          input: {
            record: entry.record,
            tool: entry.tool.Name,
            index: entry.index,
            instance: entry.instance,
          },
        });
        if (batch.length >= BATCH && !(await flush())) break;
      }
      if (!status.interrupted && status.circuitOpen === undefined) await flush();
      const cases = await writeVerifiedCorpus(options, results, tally);
      tally.summary.total = total;
      tally.summary.interrupted = status.interrupted;
      if (status.circuitOpen !== undefined) tally.summary.circuitOpen = status.circuitOpen;
      tally.summary.durationMs = Math.round(performance.now() - started);
      await writeFileAtomic(tally.summary.report, formatVerificationReport(tally.summary, cases));
      if (files !== undefined) {
        await writeRunMeta(files.meta, {
          parameters,
          options: {
            concurrency: options.concurrency ?? 4,
            retryFailed: options.retryFailed ?? 'infrastructure',
          },
          summary: tally.summary,
          ledger: options.ledger,
        });
      }
      // The end line records how many tasks finished (the records themselves are in the journal).
      await run.end({ finished: new Array<JournalTask<VerifyTaskOutput>>(results.size), total });
      return tally.summary;
    },
  );
}

/** Failed instances shown in the drop report: a few of each reason. */
export type ReportCases = Map<string, { id: string; message: string }[]>;
const CASES_PER_REASON = 20;

/**
 * The corpus again, each instance with its verification (instances not verified are left as they were);
 * counts every verification into `tally` and returns the drop report's cases.
 */
async function writeVerifiedCorpus(
  options: VerifyOptions,
  results: ReadonlyMap<number, Finished>,
  tally: Tally,
): Promise<ReportCases> {
  const reportCases: ReportCases = new Map();
  const writer = await openToolAlpacaWriter(options.out);
  try {
    let last: ToolAlpacaRecord | undefined;
    for await (const entry of corpusEntries(options.corpus)) {
      if (entry.tool !== last) {
        await writer.tool(entry.tool);
        last = entry.tool;
      }
      if (entry.instance === undefined) continue;
      const id = taskId(entry.record, entry.tool.Name, entry.index);
      const finished = results.get(hashKey(id));
      if (finished === undefined) {
        await writer.instance(entry.instance);
        continue;
      }
      tally.count(finished);
      const verification = finished.verification;
      if (verification !== undefined && !verification.passed) {
        for (const found of verification.reasons) {
          const list = reportCases.get(found.code) ?? [];
          if (list.length < CASES_PER_REASON)
            list.push({ id: `${entry.tool.Name}#${entry.index}`, message: found.message });
          reportCases.set(found.code, list);
        }
      }
      const { verification: _old, ...rest } = entry.instance as Instance & { verification?: unknown };
      await writer.instance(verification !== undefined ? { ...rest, verification } : entry.instance);
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return reportCases;
}
