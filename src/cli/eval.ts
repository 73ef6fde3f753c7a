/**
 * `toolalpaca eval run` (the model under test as the assistant over an evaluation set → RUN.json) and
 * `toolalpaca eval judge` (RUN.json → JUDGED.json with ToolAlpaca's statistics). Flag parsing and wiring
 * only; the work is in src/eval. Ctrl-C: the first stops starting new items and writes what is done
 * (exit 130; `--resume` continues), a second quits at once.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { JudgedFile } from '../core/run.js';
import { createExecutor, EXECUTOR_KINDS } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { DETERMINISTIC_JUDGE, judgeRun } from '../eval/judge/judge-run.js';
import {
  formatEvaluationSummary,
  readRunFile,
  runEvaluation,
  type EvaluationSummary,
} from '../eval/run-eval.js';
import { formatStatistics } from '../eval/statistics.js';
import { loadConfig } from '../models/config.js';
import type { CostLedger } from '../models/ledger.js';
import { registerEvalAgreementCommand } from './eval-agreement.js';
import {
  checkReplayFile,
  executorModelSpec,
  executorOptionsFrom,
  parseExecutorFlag,
  type ExecutorFlagValues,
} from './executor-options.js';
import {
  createModelPool,
  parseModeFlag,
  parsePromptFlag,
  type CommandIo,
  type ModelPool,
} from './generate.js';
import {
  addModelOptions,
  modelOptionsFrom,
  parseIntegerFlag,
  parseTemperatureFlag,
  type ModelFlagValues,
} from './model-options.js';
import { createRunProgress, printLedger, runInterruptible } from './run-helpers.js';

export interface EvalRunFlags extends ModelFlagValues, ExecutorFlagValues {
  tools?: string;
  out?: string;
  userModel?: string;
  prompt?: string;
  mode?: string;
  limit?: string;
  maxSteps?: string;
  seed?: string;
  temperature?: string;
  resume?: boolean;
  force?: boolean;
  grace?: string;
  json?: boolean;
}

export interface EvalJudgeFlags extends ModelFlagValues {
  out?: string;
  judge?: string;
  judgeModel?: string;
  runs?: string;
  temperature?: string;
  reasks?: string;
  seed?: string;
  resume?: boolean;
  force?: boolean;
  json?: boolean;
}

/** The `eval run` action, callable without commander. */
export async function runEvalRunCommand(flags: EvalRunFlags, io: CommandIo): Promise<EvaluationSummary> {
  if (flags.tools === undefined) throw new InputError('--tools FILE is required');
  if (flags.out === undefined) throw new InputError('--out RUN.json is required');
  const prompt = parsePromptFlag(flags.prompt ?? 'test_v1');
  const mode = parseModeFlag(flags.mode);
  const limit = parseIntegerFlag('--limit', flags.limit);
  const maxSteps = parseIntegerFlag('--max-steps', flags.maxSteps);
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const graceSeconds = parseIntegerFlag('--grace', flags.grace, 0);
  const temperature = parseTemperatureFlag(flags.temperature);
  const executorKind = parseExecutorFlag(flags.executor, 'simulated');
  checkReplayFile(executorKind, flags.replayFile);
  if (flags.resume === true && flags.force === true)
    throw new InputError('--resume and --force exclude each other');

  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { ledger, pool } = await createModelPool(resolved, io);
  const executorSpec = executorModelSpec(executorKind, flags, config, resolved.spec);
  const userSpec = flags.userModel ?? config.stageModels?.user;
  const progress = createRunProgress('eval run', io);
  let executor: ToolExecutor | undefined;
  try {
    const assistant = await pool.get(resolved.spec);
    const user = userSpec !== undefined ? await pool.get(userSpec) : undefined;
    executor = await createExecutor(executorKind, await executorOptionsFrom(flags, pool, executorSpec));
    const summary = await runEvaluation({
      toolsPath: flags.tools,
      out: flags.out,
      assistant,
      ...(user !== undefined ? { user } : {}),
      executor,
      ...(executorSpec !== undefined ? { executorModel: executorSpec } : {}),
      prompt,
      mode,
      concurrency: resolved.options.concurrency ?? 4,
      ...(limit !== undefined ? { limit } : {}),
      ...(maxSteps !== undefined ? { maxSteps } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      resume: flags.resume === true,
      force: flags.force === true,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      ...(graceSeconds !== undefined ? { graceMs: graceSeconds * 1000 } : {}),
      ledger,
      cacheHits: () => pool.cacheHits(),
      onProgress: progress.report,
      onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
    });
    progress.finish();
    if (flags.json === true) {
      const { run, generation } = summary;
      io.stdout.write(
        `${JSON.stringify({ out: summary.out, items: run.items.length, total: generation.total, interrupted: generation.interrupted, meta: run.meta }, null, 2)}\n`,
      );
    } else {
      io.stdout.write(formatEvaluationSummary(summary));
    }
    printLedger(io, ledger);
    return summary;
  } finally {
    progress.finish();
    await executor?.close?.();
    await pool.close();
  }
}

/** The `eval judge` action, callable without commander. */
export async function runEvalJudgeCommand(
  runPath: string,
  flags: EvalJudgeFlags,
  io: CommandIo,
): Promise<JudgedFile> {
  if (flags.out === undefined) throw new InputError('--out JUDGED.json is required');
  const runs = parseIntegerFlag('--runs', flags.runs) ?? 1;
  const reasks = parseIntegerFlag('--reasks', flags.reasks, 0);
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const temperature = parseTemperatureFlag(flags.temperature);
  if (flags.resume === true && flags.force === true)
    throw new InputError('--resume and --force exclude each other');
  if (flags.judge !== undefined && flags.judge !== DETERMINISTIC_JUDGE && flags.judge !== 'llm') {
    throw new InputError(`--judge: expected "llm" or "${DETERMINISTIC_JUDGE}", got "${flags.judge}"`);
  }
  const run = await readRunFile(runPath);
  const deterministic = flags.judge === DETERMINISTIC_JUDGE;
  const progress = createRunProgress('eval judge', io);
  let pool: ModelPool | undefined;
  let ledger: CostLedger | undefined;
  try {
    const common = {
      runs,
      out: flags.out,
      resume: flags.resume === true,
      force: flags.force === true,
      ...(seed !== undefined ? { seed } : {}),
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      onProgress: (p: {
        done: number;
        total: number;
        errors: number;
        promptTokens: number;
        completionTokens: number;
        costUsd: number;
      }) => progress.report({ ...p, failed: p.errors }),
    };
    let judged: JudgedFile;
    if (deterministic) {
      judged = await judgeRun(run, { ...common, judge: DETERMINISTIC_JUDGE });
    } else {
      const config = await loadConfig(io.cwd);
      const spec = flags.judgeModel ?? flags.model ?? config.stageModels?.judge;
      if (spec === undefined) {
        throw new InputError(
          `--judge-model SPEC is required for the LLM judge (or --judge ${DETERMINISTIC_JUDGE})`,
        );
      }
      const resolved = modelOptionsFrom({ ...flags, model: spec }, config);
      const created = await createModelPool(resolved, io);
      ledger = created.ledger;
      pool = created.pool;
      const judge = await pool.get(resolved.spec);
      judged = await judgeRun(run, {
        ...common,
        judge,
        ledger,
        concurrency: resolved.options.concurrency ?? 4,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(reasks !== undefined ? { reasks } : {}),
      });
    }
    progress.finish();
    if (flags.json === true) {
      io.stdout.write(
        `${JSON.stringify({ out: flags.out, judge: judged.judge, statistics: judged.statistics, ...(judged.spread !== undefined ? { spread: judged.spread } : {}) }, null, 2)}\n`,
      );
    } else {
      const lines = [
        `${judged.judge.complete === false ? 'interrupted: ' : ''}judged ${judged.items.length}/${run.items.length} items with ${judged.judge.model} × ${judged.judge.runs}`,
        formatStatistics(judged.statistics),
      ];
      if (judged.spread !== undefined) {
        const s = judged.spread;
        lines.push(
          `spread over ${judged.judge.runs} runs (stdev, points): procedure ${s.procedure.stdev.toFixed(2)} [${s.procedure.min}-${s.procedure.max}], response ${s.response.stdev.toFixed(2)} [${s.response.min}-${s.response.max}], overall ${s.overall.stdev.toFixed(2)} [${s.overall.min}-${s.overall.max}]`,
        );
      }
      if (deterministic)
        lines.push('final responses are not judged by the deterministic judge (recorded as Uncertain)');
      if (judged.judge.complete === false)
        lines.push('not finished: rerun with --resume to complete the judging');
      lines.push(`wrote ${flags.out}`);
      io.stdout.write(`${lines.join('\n')}\n`);
    }
    printLedger(io, ledger);
    return judged;
  } finally {
    progress.finish();
    await pool?.close();
  }
}

export function registerEvalCommands(program: Command): Command {
  const evalCommand = program
    .command('eval')
    .description('Evaluate a model on unseen tools: run it as the assistant, judge the runs, compare.');

  const run = evalCommand
    .command('run')
    .description(
      'Run the model as the assistant on every instruction of every tool of an evaluation set; writes RUN.json (resumable).',
    )
    .requiredOption('--tools <file>', 'evaluation set: ToolAlpaca JSON with Instructions and Golden_Answers')
    .requiredOption('--out <file>', 'run file to write (the log RUN.json.log.jsonl goes beside it)')
    .option('--executor <kind>', `who answers tool calls: ${EXECUTOR_KINDS.join(', ')} (default simulated)`)
    .option('--executor-model <spec>', 'model of the simulated executor (default --model)')
    .option('--user-model <spec>', 'model of the user agent answering getDetails (default: fixed answers)')
    .option('--prompt <layout>', 'assistant prompt layout (default test_v1)')
    .option('--mode <mode>', 'react (text) or function-calling; default react')
    .option('--limit <n>', 'run at most N instructions (the first instruction of every tool first)')
    .option('--max-steps <n>', 'steps per episode (default 10)')
    .option('--seed <n>', 'sampling seed')
    .option('--temperature <t>', "assistant's sampling temperature (default 0)")
    .option('--resume', 'continue the run recorded in the log (same parameters)')
    .option('--force', 'discard an existing log and start over')
    .option('--replay-file <file>', 'recorded observations (JSONL) for --executor replay')
    .option('--secrets <file>', 'secrets file (API keys per tool) for --executor real')
    .option('--api-base-url <url>', "base URL used instead of the tools' servers for --executor real")
    .option('--grace <seconds>', 'after Ctrl-C, how long instructions in flight may finish (default 30)')
    .option('--json', 'print the summary as JSON');
  addModelOptions(run);
  run.action(async (flags: EvalRunFlags) => {
    await runInterruptible(
      (io) => runEvalRunCommand(flags, io),
      (summary) => summary.generation.interrupted,
    );
  });

  const judge = evalCommand
    .command('judge')
    .description(
      "Judge a run's trajectories (ToolAlpaca's protocol: process and final response, Yes/No/Uncertain); writes JUDGED.json with statistics.",
    )
    .argument('<run>', 'RUN.json written by eval run (or imported)')
    .requiredOption('--out <file>', 'judged file to write (the log JUDGED.json.log.jsonl goes beside it)')
    .option('--judge <kind>', `llm (default) or ${DETERMINISTIC_JUDGE} (rule-based process check, no model)`)
    .option('--judge-model <spec>', 'model of the LLM judge (default --model)')
    .option('--runs <k>', 'judge each item K times: majority and spread (default 1)')
    .option('--temperature <t>', "judge's sampling temperature (default 0.2, as ToolAlpaca)")
    .option('--reasks <n>', 're-asks after a reply without a readable Results block (default 2)')
    .option('--seed <n>', 'base seed; judge run k uses seed + k (default 0)')
    .option('--resume', 'continue the judgments recorded in the log')
    .option('--force', 'discard an existing log and start over')
    .option('--json', 'print the statistics as JSON');
  addModelOptions(judge);
  judge.action(async (runPath: string, flags: EvalJudgeFlags) => {
    await runInterruptible(
      (io) => runEvalJudgeCommand(runPath, flags, io),
      (judged) => judged.judge.complete === false,
    );
  });

  registerEvalAgreementCommand(evalCommand);
  return evalCommand;
}
