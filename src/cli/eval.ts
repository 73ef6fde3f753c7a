/**
 * `toolalpaca eval run` (the model under test as the assistant over an evaluation set → RUN.json) and
 * `toolalpaca eval judge` (RUN.json → JUDGED.json with ToolAlpaca's statistics). Flag parsing and wiring
 * only; the work is in src/eval. Ctrl-C: the first stops starting new items and writes what is done
 * (exit 130; `--resume` continues), a second quits at once.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import {
  DETERMINISTIC_JUDGE,
  emptyJudgeOutput,
  runJudge,
  type JudgeOptions,
  type JudgeRunResult,
  type JudgeTaskOptions,
} from '../eval/judge/judge-run.js';
import { DEFAULT_EVAL_PROMPT, readRunFile, runEvaluation, type EvaluationSummary } from '../eval/run-eval.js';
import { formatStatistics } from '../eval/statistics.js';
import { loadConfig } from '../models/config.js';
import type { CostLedger } from '../models/ledger.js';
import { createModelPool, type CommandIo, type ModelPool } from './context.js';
import { registerEvalAgreementCommand } from './eval-agreement.js';
import { addQueueOption, queueSchedulerOf, type QueueFlagValues } from './queue-producer.js';
import {
  addEpisodeOptions,
  parseEpisodeFlags,
  withEpisodeResources,
  type EpisodeCommandDefaults,
  type EpisodeFlags,
} from './episode-command.js';
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
  printLedger,
  reportRunStatus,
  runInterruptible,
  summaryCost,
  withRunErrors,
  type RunFlagValues,
} from './run-helpers.js';
import { checkRunOutput } from '../run/index.js';

export type EvalRunFlags = EpisodeFlags;

export interface EvalJudgeFlags extends ModelFlagValues, RunFlagValues, QueueFlagValues {
  out?: string;
  judge?: string;
  judgeModel?: string;
  runs?: string;
  temperature?: string;
  reasks?: string;
  seed?: string;
  json?: boolean;
}

export const EVAL_RUN_DEFAULTS: EpisodeCommandDefaults = {
  label: 'eval run',
  prompt: DEFAULT_EVAL_PROMPT,
  executor: 'simulated',
  user: 'none',
};

/** A few human lines: items, failures, steps, tokens, cost, files. */
export function formatEvaluationSummary(summary: EvaluationSummary, ledger?: CostLedger): string {
  const { run, generation } = summary;
  const failed = run.items.filter((item) => item.status === 'failed').length;
  const reasons = Object.entries(generation.failedByReason)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  const steps = run.items.reduce((sum, item) => sum + item.steps.length, 0);
  const lines = [
    `${generation.interrupted ? 'interrupted: ' : ''}${run.items.length}/${generation.total} instructions over ${generation.tools} tools: ${run.items.length - failed} completed, ${failed} failed${reasons !== '' ? ` (${reasons})` : ''}`,
    `steps per instruction: ${run.items.length === 0 ? '0.00' : (steps / run.items.length).toFixed(2)}; tokens in ${run.meta.tokens.prompt}, out ${run.meta.tokens.completion}; cost ${summaryCost(run.meta.costUsd, ledger)}; cache hits ${generation.cacheHits}`,
  ];
  if (generation.resumed > 0 || generation.retried > 0) {
    lines.push(
      `resumed: ${generation.resumed} items read from ${generation.log}${generation.retried > 0 ? `, ${generation.retried} failed ones run again` : ''}`,
    );
  }
  if (run.meta.complete === false) lines.push('not finished: rerun with --resume to complete the run');
  lines.push(`wrote ${summary.out} (log ${generation.log})`);
  return `${lines.join('\n')}\n`;
}

/** The `eval run` action, callable without commander. */
export async function runEvalRunCommand(flags: EvalRunFlags, io: CommandIo): Promise<EvaluationSummary> {
  const settings = parseEpisodeFlags(flags, EVAL_RUN_DEFAULTS);
  return withEpisodeResources(
    flags,
    settings,
    EVAL_RUN_DEFAULTS,
    io,
    async ({ pool, ledger, progress, options }) => {
      const summary = await runEvaluation(options);
      progress.finish();
      if (flags.json === true || io.json === true) {
        const { run, generation } = summary;
        io.stdout.write(
          `${JSON.stringify({ out: summary.out, items: run.items.length, total: generation.total, interrupted: generation.interrupted, infrastructureFailed: generation.infrastructureFailed, cacheHits: generation.cacheHits, meta: run.meta }, null, 2)}\n`,
        );
      } else {
        io.stdout.write(formatEvaluationSummary(summary, ledger));
      }
      printLedger(io, ledger);
      reportRunStatus(io, summary.generation, pool.endpoints(), 'instructions');
      return summary;
    },
  );
}

/** The judge's sampling flags, checked (the command's, and a queue worker's from the run's spec). */
export interface JudgeSamplingSettings {
  deterministic: boolean;
  runs: number;
  reasks?: number;
  seed?: number;
  temperature?: number;
}

/** The `eval judge` flags, checked. */
interface JudgeSettings extends JudgeSamplingSettings {
  out: string;
  run: ReturnType<typeof parseRunFlags>;
}

export function parseJudgeSampling(flags: EvalJudgeFlags): JudgeSamplingSettings {
  if (flags.judge !== undefined && flags.judge !== DETERMINISTIC_JUDGE && flags.judge !== 'llm') {
    throw new InputError(`--judge: expected "llm" or "${DETERMINISTIC_JUDGE}", got "${flags.judge}"`);
  }
  const reasks = parseIntegerFlag('--reasks', flags.reasks, 0);
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const temperature = parseTemperatureFlag(flags.temperature);
  return {
    deterministic: flags.judge === DETERMINISTIC_JUDGE,
    runs: parseIntegerFlag('--runs', flags.runs) ?? 1,
    ...(reasks !== undefined ? { reasks } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
  };
}

function parseJudgeFlags(flags: EvalJudgeFlags): JudgeSettings {
  if (flags.out === undefined) throw new InputError('--out JUDGED.json is required');
  return { out: flags.out, ...parseJudgeSampling(flags), run: parseRunFlags(flags) };
}

/** What judging one item needs besides the judge: the sampling settings. */
export function judgeTaskOptionsOf(
  judge: JudgeTaskOptions['judge'],
  sampling: JudgeSamplingSettings,
): JudgeTaskOptions {
  return {
    judge,
    runs: sampling.runs,
    ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    ...(sampling.temperature !== undefined ? { temperature: sampling.temperature } : {}),
    ...(sampling.reasks !== undefined ? { reasks: sampling.reasks } : {}),
  };
}

/**
 * The LLM judge's model, its pool and ledger; pre-flight probed unless `probe` is false (a queue's
 * producer: the workers call the judge).
 */
export async function openJudgeModel(
  flags: EvalJudgeFlags,
  io: CommandIo,
  probe = true,
): Promise<{
  pool: ModelPool;
  ledger: CostLedger;
  options: Pick<JudgeOptions, 'judge' | 'ledger' | 'concurrency'>;
}> {
  const config = await loadConfig(io.cwd);
  const spec = flags.judgeModel ?? flags.model ?? config.stageModels?.judge;
  if (spec === undefined) {
    throw new InputError(
      `--judge-model SPEC is required for the LLM judge (or --judge ${DETERMINISTIC_JUDGE})`,
    );
  }
  const resolved = modelOptionsFrom({ ...flags, model: spec }, config);
  const { pool, ledger } = await createModelPool(resolved, io);
  try {
    const judge = await pool.get(resolved.spec);
    if (probe) await pool.probe(io.signal);
    return { pool, ledger, options: { judge, ledger, concurrency: resolved.options.concurrency ?? 4 } };
  } catch (error) {
    await pool.close();
    throw error;
  }
}

/** The judged file's figures as human lines. */
function formatJudgeSummary(
  result: JudgeRunResult,
  total: number,
  settings: JudgeSettings,
  cacheHits: number,
): string {
  const { judged } = result;
  const lines = [
    `${judged.judge.complete === false ? 'not finished: ' : ''}judged ${judged.items.length}/${total} items with ${judged.judge.model} × ${judged.judge.runs}; cache hits ${cacheHits}`,
    formatStatistics(judged.statistics),
  ];
  if (judged.spread !== undefined) {
    const s = judged.spread;
    lines.push(
      `spread over ${judged.judge.runs} runs (stdev, points): procedure ${s.procedure.stdev.toFixed(2)} [${s.procedure.min}-${s.procedure.max}], response ${s.response.stdev.toFixed(2)} [${s.response.min}-${s.response.max}], overall ${s.overall.stdev.toFixed(2)} [${s.overall.min}-${s.overall.max}]`,
    );
  }
  if (result.resumed > 0 || result.retried > 0) {
    lines.push(
      `resumed: ${result.resumed} items read from the journal, ${result.retried} failed ones judged again`,
    );
  }
  if (settings.deterministic)
    lines.push('final responses are not judged by the deterministic judge (recorded as Uncertain)');
  if (judged.judge.complete === false)
    lines.push('not finished: rerun with --resume to complete the judging');
  lines.push(`wrote ${settings.out}`);
  return `${lines.join('\n')}\n`;
}

/** The `eval judge` action, callable without commander. */
export async function runEvalJudgeCommand(
  runPath: string,
  flags: EvalJudgeFlags,
  io: CommandIo,
): Promise<JudgeRunResult> {
  const settings = parseJudgeFlags(flags);
  const run = await readRunFile(runPath);
  // With a queue the workers judge: the items travel in the tasks, the judge flags in the run's spec.
  const scheduler = await queueSchedulerOf(flags, io, {
    command: 'judge',
    flags,
    inputs: {},
    failedOutput: emptyJudgeOutput,
  });
  // A bad --out is a usage error (2) even when the server is down too (3): checked before the probe.
  await checkRunOutput(settings.out);
  const model = settings.deterministic ? undefined : await openJudgeModel(flags, io, scheduler === undefined);
  const progress = createRunProgress('eval judge', io, model !== undefined ? { ledger: model.ledger } : {});
  try {
    const result = await withRunErrors(() =>
      runJudge(run, {
        ...(model?.options ?? {}),
        ...judgeTaskOptionsOf(model?.options.judge ?? DETERMINISTIC_JUDGE, settings),
        out: settings.out,
        ...settings.run,
        ...(scheduler !== undefined ? { scheduler } : {}),
        ...(io.signal !== undefined ? { signal: io.signal } : {}),
        onProgress: (p) => progress.report({ ...p, failed: p.errors }),
      }),
    );
    progress.finish();
    const { judged } = result;
    const cacheHits =
      scheduler !== undefined ? (model?.ledger.totals().cachedCalls ?? 0) : (model?.pool.cacheHits() ?? 0);
    if (flags.json === true || io.json === true) {
      io.stdout.write(
        `${JSON.stringify({ out: settings.out, judge: judged.judge, statistics: judged.statistics, ...(judged.spread !== undefined ? { spread: judged.spread } : {}), infrastructureFailed: result.status.infrastructureFailed, cacheHits }, null, 2)}\n`,
      );
    } else {
      io.stdout.write(formatJudgeSummary(result, run.items.length, settings, cacheHits));
    }
    printLedger(io, model?.ledger);
    reportRunStatus(io, result.status, model?.pool.endpoints() ?? [], 'items');
    return result;
  } finally {
    progress.finish();
    await model?.pool.close();
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
    .requiredOption(
      '--out <file>',
      'run file to write (the journal RUN.json.log.jsonl and the lock RUN.json.lock go beside it)',
    );
  addEpisodeOptions(run, EVAL_RUN_DEFAULTS);
  run.action(async (flags: EvalRunFlags) => {
    await runInterruptible(
      (io) => runEvalRunCommand(flags, io),
      (summary) => exitCodeOf(summary.generation),
    );
  });

  const judge = evalCommand
    .command('judge')
    .description(
      "Judge a run's trajectories (ToolAlpaca's protocol: process and final response, Yes/No/Uncertain); writes JUDGED.json with statistics.",
    )
    .argument('<run>', 'RUN.json written by eval run (or imported)')
    .requiredOption(
      '--out <file>',
      'judged file to write (the journal JUDGED.json.log.jsonl and the lock go beside it)',
    )
    .option('--judge <kind>', `llm (default) or ${DETERMINISTIC_JUDGE} (rule-based process check, no model)`)
    .option('--judge-model <spec>', 'model of the LLM judge (default --model)')
    .option('--runs <k>', 'judge each item K times: majority and spread (default 1)')
    .option('--temperature <t>', "judge's sampling temperature (default 0.2, as ToolAlpaca)")
    .option('--reasks <n>', 're-asks after a reply without a readable Results block (default 2)')
    .option('--seed <n>', 'base seed; judge run k uses seed + k (default 0)');
  addRunOptions(judge, 'items');
  addQueueOption(judge);
  judge.option('--json', 'print the statistics as JSON');
  addModelOptions(judge, { concurrency: 4 });
  judge.action(async (runPath: string, flags: EvalJudgeFlags) => {
    await runInterruptible(
      (io) => runEvalJudgeCommand(runPath, flags, io),
      (result) => exitCodeOf(result.status),
    );
  });

  registerEvalAgreementCommand(evalCommand);
  return evalCommand;
}
