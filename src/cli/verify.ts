/**
 * `toolalpaca verify CORPUS --out OUT`: every instance goes through the format, execution and semantic
 * stages and gets `verification: {passed, stage, reasons[]}`; prints counts per stage and reason, writes
 * the drop report `OUT.verification.md`; a durable run (resume, lock, pre-flight of the judge model).
 * Also what `generate --verify` runs on its output.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { createExecutor, EXECUTOR_KINDS } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { loadConfig } from '../models/config.js';
import type { CostLedger } from '../models/ledger.js';
import {
  runVerification,
  VERIFY_JUDGES,
  type VerificationSummary,
  type VerifyJudgeKind,
  type VerifyOptions,
} from '../verify/verify-run.js';
import { formatVerificationSummary } from '../verify/report.js';
import { createModelPool, type CommandIo, type ModelPool } from './context.js';
import {
  addMcpExecutorOptions,
  checkReplayFile,
  checkToolResponseCache,
  executorOptionsFrom,
  executorParameters,
  mcpExecutorOptionsFrom,
  parseExecutorFlag,
  type ExecutorFlagValues,
} from './executor-options.js';
import {
  addModelOptions,
  modelOptionsFrom,
  parseIntegerFlag,
  parseTemperatureFlag,
  type ModelFlagValues,
} from './model-options.js';
import {
  addRunOptions,
  createRunProgress,
  exitCodeOf,
  parseRunFlags,
  printRunSummary,
  reportRunStatus,
  runInterruptible,
  withRunErrors,
  type RunFlagValues,
} from './run-helpers.js';

export interface VerifyFlags extends ModelFlagValues, RunFlagValues, ExecutorFlagValues {
  out?: string;
  judge?: string;
  judgeModel?: string;
  runs?: string;
  seed?: string;
  temperature?: string;
  strictCalls?: boolean;
  toolalpacaFilters?: boolean;
  json?: boolean;
}

/** The verification settings of `verify` and `generate --verify`, checked (one-line errors). */
export interface VerifySettings {
  judge: VerifyJudgeKind;
  judgeModelSpec?: string;
  runs?: number;
  seed?: number;
  temperature?: number;
  executor?: string;
  strictCalls: boolean;
  toolalpacaFilters: boolean;
}

export function parseVerifySettings(flags: VerifyFlags): VerifySettings {
  const judgeModelSpec = flags.judgeModel;
  const judge = (flags.judge ?? (judgeModelSpec !== undefined ? 'both' : 'deterministic')) as VerifyJudgeKind;
  if (!VERIFY_JUDGES.includes(judge)) {
    throw new InputError(`--judge: expected one of ${VERIFY_JUDGES.join(', ')}, got "${flags.judge}"`);
  }
  if (judge !== 'deterministic' && judgeModelSpec === undefined) {
    throw new InputError(`--judge ${judge} needs --judge-model SPEC`);
  }
  const runs = parseIntegerFlag('--runs', flags.runs);
  if (runs !== undefined && judge === 'deterministic') {
    throw new InputError('--runs applies to an LLM judge: give --judge-model SPEC');
  }
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const temperature = parseTemperatureFlag(flags.temperature);
  let executor: string | undefined;
  if (flags.executor !== undefined) {
    executor = parseExecutorFlag(flags.executor, 'schema');
    checkReplayFile(executor, flags.replayFile);
    checkToolResponseCache(executor, flags.toolResponseCache);
  }
  mcpExecutorOptionsFrom(flags); // a bad limit fails before anything starts
  return {
    judge,
    ...(judgeModelSpec !== undefined ? { judgeModelSpec } : {}),
    ...(runs !== undefined ? { runs } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(executor !== undefined ? { executor } : {}),
    strictCalls: flags.strictCalls === true,
    toolalpacaFilters: flags.toolalpacaFilters !== false,
  };
}

/** What a verification needs besides its paths: the judge model and the executor, built and probed. */
export interface VerifyResources {
  options: Omit<VerifyOptions, 'corpus' | 'out'>;
  ledger?: CostLedger;
  pool?: ModelPool;
  close(): Promise<void>;
}

export async function openVerifyResources(
  flags: VerifyFlags,
  settings: VerifySettings,
  io: CommandIo,
): Promise<VerifyResources> {
  const config = await loadConfig(io.cwd);
  const needsSimulator = settings.executor === 'simulated' || settings.executor === 'chain';
  const executorSpec = needsSimulator
    ? (flags.executorModel ?? config.stageModels?.executor ?? flags.model ?? config.model)
    : undefined;
  if (needsSimulator && executorSpec === undefined) {
    throw new InputError(`--executor ${settings.executor} needs --executor-model SPEC`);
  }
  const spec = settings.judgeModelSpec ?? executorSpec;
  let pool: ModelPool | undefined;
  let ledger: CostLedger | undefined;
  let executor: ToolExecutor | undefined;
  try {
    if (spec !== undefined) {
      const resolved = modelOptionsFrom({ ...flags, model: spec }, config);
      ({ pool, ledger } = await createModelPool(resolved, io));
    }
    const judgeModel =
      settings.judgeModelSpec !== undefined ? await pool?.get(settings.judgeModelSpec) : undefined;
    if (settings.executor !== undefined) {
      executor = await createExecutor(
        settings.executor,
        await executorOptionsFrom(flags, pool as ModelPool, executorSpec),
      );
    }
    await pool?.probe(io.signal);
    const options: VerifyResources['options'] = {
      judge: settings.judge,
      ...(judgeModel !== undefined ? { judgeModel } : {}),
      ...(settings.runs !== undefined ? { runs: settings.runs } : {}),
      ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
      ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
      ...(executor !== undefined
        ? { executor, executorOptions: executorParameters(flags) as Record<string, unknown> }
        : {}),
      strictCalls: settings.strictCalls,
      toolalpacaFilters: settings.toolalpacaFilters,
      ...(ledger !== undefined ? { ledger } : {}),
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
    };
    const opened = { pool, executor };
    return {
      options,
      ...(ledger !== undefined ? { ledger } : {}),
      ...(pool !== undefined ? { pool } : {}),
      close: async () => {
        await opened.executor?.close?.();
        await opened.pool?.close();
      },
    };
  } catch (error) {
    await executor?.close?.();
    await pool?.close();
    throw error;
  }
}

/** The `verify` action, callable without commander. Resolves to the summary. */
export async function runVerifyCommand(
  corpus: string,
  flags: VerifyFlags,
  io: CommandIo,
): Promise<VerificationSummary> {
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  if (resolve(flags.out) === resolve(corpus)) {
    throw new InputError(
      `--out ${flags.out}: the corpus itself; write the verified corpus to another file (generate --verify verifies its output in place)`,
    );
  }
  const settings = parseVerifySettings(flags);
  const run = parseRunFlags(flags);
  const concurrency = parseIntegerFlag('--concurrency', flags.concurrency);
  const resources = await openVerifyResources(flags, settings, io);
  const progress = createRunProgress('verify', io, resources.ledger ? { ledger: resources.ledger } : {});
  try {
    const summary = await withRunErrors(() =>
      runVerification({
        ...resources.options,
        ...run,
        ...(concurrency !== undefined ? { concurrency } : {}),
        corpus,
        out: flags.out as string,
        onProgress: (p) => progress.report({ ...p, promptTokens: 0, completionTokens: 0, costUsd: 0 }),
      }),
    );
    progress.finish();
    printRunSummary(
      io,
      flags.json === true || io.json === true,
      summary,
      formatVerificationSummary,
      resources.ledger,
    );
    reportRunStatus(io, summary, resources.pool?.endpoints() ?? [], 'instances');
    return summary;
  } finally {
    progress.finish();
    await resources.close();
  }
}

/** The verification flags, shared with `generate --verify`. */
export function addVerifyOptions(command: Command): Command {
  return command
    .option(
      '--judge <kind>',
      `semantic stage: ${VERIFY_JUDGES.join(', ')} (default deterministic; llm or both with --judge-model)`,
    )
    .option('--judge-model <spec>', 'LLM judge of the semantic stage (implies --judge both)')
    .option('--runs <k>', 'verdicts per instance from the LLM judge: majority and agreement (default 1)')
    .option(
      '--strict-calls',
      'a refused call (unknown function, bad input) fails format even when its observation records the refusal',
    )
    .option('--no-toolalpaca-filters', "do not apply ToolAlpaca's dataset filters in the format stage");
}

export function registerVerifyCommand(program: Command): void {
  const command = program
    .command('verify')
    .description(
      'Verify every instance of a corpus in three stages (format, execution, semantic): writes the corpus with verification on each instance and a drop report; resumable.',
    )
    .argument('<corpus>', 'ToolAlpaca JSON corpus, or a generation journal (OUT.log.jsonl)')
    .requiredOption(
      '--out <file>',
      'verified corpus (ToolAlpaca JSON); OUT.verification.md, the journal OUT.log.jsonl, OUT.meta.json and the lock go beside it',
    );
  addVerifyOptions(command)
    .option('--seed <n>', "LLM judge's base seed; verdict k uses seed + k (default 0)")
    .option('--temperature <t>', "LLM judge's sampling temperature (default 0.2)")
    .option(
      '--executor <kind>',
      `re-execute every successful call with this executor (${EXECUTOR_KINDS.join(', ')}); default: check the recorded observations`,
    )
    .option('--executor-model <spec>', 'model of the simulated executor')
    .option('--replay-file <file>', 'recorded observations (JSONL) for --executor replay')
    .option('--secrets <file>', 'secrets file (API keys per tool) for --executor real')
    .option('--api-base-url <url>', "base URL used instead of the tools' servers for --executor real")
    .option('--allow-private', '--executor real: allow loopback, private and link-local addresses')
    .option('--json', 'print the summary as JSON');
  addMcpExecutorOptions(command);
  addRunOptions(command, 'instances');
  addModelOptions(command);
  command.action(async (corpus: string, flags: VerifyFlags) => {
    await runInterruptible((io) => runVerifyCommand(corpus, flags, io), exitCodeOf);
  });
}
