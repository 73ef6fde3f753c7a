/**
 * `toolalpaca generate`: a ToolAlpaca corpus from a toolset. Parses flags, builds the models and the
 * executor (`./episode-command.ts`), and calls `runGeneration`; Ctrl-C stops starting new instances,
 * lets the ones in flight finish (a second Ctrl-C, or the grace period, cuts them), writes what is done
 * and exits 130. By default the executor is the LLM-simulated one (ToolAlpaca's method) played by
 * `--model`, the prompt ToolAlpaca's `train_v2`.
 */
import type { Command } from 'commander';
import {
  DEFAULT_GENERATION_PROMPT,
  DEFAULT_INSTRUCTIONS_PER_TOOL,
  runGeneration,
  type GenerationSummary,
} from '../pipeline/generate.js';
import type { ToolInstructionReport } from '../pipeline/instructions.js';
import type { CommandIo } from './context.js';
import {
  addEpisodeOptions,
  parseEpisodeFlags,
  withEpisodeResources,
  type EpisodeCommandDefaults,
  type EpisodeFlags,
} from './episode-command.js';
import { parseIntegerFlag } from './model-options.js';
import { formatVerificationSummary } from '../verify/report.js';
import { runVerification, type VerificationSummary } from '../verify/verify-run.js';
import {
  addVerifyOptions,
  openVerifyResources,
  parseVerifySettings,
  type VerifyFlags,
  type VerifySettings,
} from './verify.js';
import {
  exitCodeOf,
  parseRunFlags,
  printRunSummary,
  reportRunStatus,
  runInterruptible,
  summaryCost,
  withRunErrors,
} from './run-helpers.js';
import { InputError } from '../core/errors.js';
import type { CostLedger } from '../models/ledger.js';
import { addKindsOption, formatReportKinds, parseKindsFlag } from './kinds-option.js';

export interface GenerateFlags extends EpisodeFlags {
  perTool?: string;
  /** Instance kinds of the instructions written for tools without any (as `instructions --kinds`). */
  kinds?: string;
  /** Verify the generated corpus in place (`verify`'s stages; run files `OUT.verify.*`). */
  verify?: boolean;
  judge?: string;
  judgeModel?: string;
  runs?: string;
  strictCalls?: boolean;
  toolalpacaFilters?: boolean;
}

/** A generation's summary, with its verification's when `--verify` ran. */
export type GenerateCommandSummary = GenerationSummary & { verification?: VerificationSummary };

export const GENERATE_DEFAULTS: EpisodeCommandDefaults = {
  label: 'generate',
  prompt: DEFAULT_GENERATION_PROMPT,
  executor: 'simulated',
  user: 'model',
};

/** The summary as a few human lines (done, failures by reason, steps, tokens, cost, cache hits). */
export function formatGenerationSummary(summary: GenerateCommandSummary, ledger?: CostLedger): string {
  const lines: string[] = [];
  const reasons = Object.entries(summary.failedByReason)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  lines.push(
    `${summary.interrupted ? 'interrupted: ' : ''}${summary.done}/${summary.total} instances over ${summary.tools} tools: ${summary.completed} completed, ${summary.failed} failed${reasons !== '' ? ` (${reasons})` : ''}`,
  );
  if (summary.resumed > 0 || summary.retried > 0) {
    lines.push(
      `resumed: ${summary.resumed} instances read from ${summary.log}${summary.retried > 0 ? `, ${summary.retried} failed ones run again` : ''}`,
    );
  }
  if (summary.notStarted > 0 || summary.aborted > 0) {
    lines.push(
      `not finished: ${summary.notStarted} not started, ${summary.aborted} aborted in flight (rerun with --resume)`,
    );
  }
  if (summary.kinds !== undefined) lines.push(formatKindCounts(summary.kinds));
  lines.push(
    `steps per instance: ${summary.meanSteps.toFixed(2)}; tokens in ${summary.promptTokens}, out ${summary.completionTokens}; cost ${summaryCost(summary.costUsd, ledger)}; cache hits ${summary.cacheHits}`,
  );
  for (const report of summary.instructionReports) lines.push(formatInstructionReport(report));
  if (summary.instructionShortfall.length > 0) {
    lines.push(formatShortfall(summary.instructionShortfall));
  }
  lines.push(`wrote ${summary.out} (log ${summary.log}, metadata ${summary.meta})`);
  const verification =
    summary.verification !== undefined ? formatVerificationSummary(summary.verification) : '';
  return `${lines.join('\n')}\n${verification}`;
}

/** `instructions for "TOOL": kept 4 (single 2, parallel 2), dropped 1`. */
function formatInstructionReport(report: ToolInstructionReport): string {
  return `instructions for "${report.tool}": kept ${report.kept}${formatReportKinds(report)}, dropped ${report.dropped}${report.error !== undefined ? ` (${report.error})` : ''}`;
}

/** `kinds: single 2, parallel 1 (1 failed), …` (instances per kind). */
export function formatKindCounts(kinds: Record<string, { completed: number; failed: number }>): string {
  const parts = Object.entries(kinds).map(
    ([kind, n]) => `${kind} ${n.completed + n.failed}${n.failed > 0 ? ` (${n.failed} failed)` : ''}`,
  );
  return `kinds: ${parts.join(', ')}`;
}

/** `shortfall: 2 tools below their target (A 7/10, B 9/10)`. */
export function formatShortfall(
  shortfall: readonly { tool: string; have: number; target: number }[],
): string {
  const list = shortfall.map((s) => `${s.tool} ${s.have}/${s.target}`).join(', ');
  return `shortfall: ${shortfall.length} tool${shortfall.length === 1 ? '' : 's'} below the instruction target (${list})`;
}

/** The `generate` action, callable without commander (tests, scripts). Resolves to the summary. */
export async function runGenerateCommand(
  flags: GenerateFlags,
  io: CommandIo,
): Promise<GenerateCommandSummary> {
  const settings = parseEpisodeFlags(flags, GENERATE_DEFAULTS);
  const perTool = parseIntegerFlag('--per-tool', flags.perTool);
  const kinds = parseKindsFlag(flags.kinds);
  const verify = flags.verify === true ? parseVerifySettings(verifyFlagsOf(flags)) : undefined;
  if (verify === undefined && (flags.judge !== undefined || flags.judgeModel !== undefined)) {
    throw new InputError('--judge and --judge-model apply with --verify');
  }
  return withEpisodeResources(
    flags,
    settings,
    GENERATE_DEFAULTS,
    io,
    async ({ pool, ledger, progress, options }) => {
      const summary: GenerateCommandSummary = await runGeneration({
        ...options,
        ...(perTool !== undefined ? { perTool } : {}),
        ...(kinds !== undefined ? { kinds } : {}),
        onInstructions: (report) => io.stderr.write(`${formatInstructionReport(report)}\n`),
      });
      progress.finish();
      if (verify !== undefined && !summary.interrupted && summary.circuitOpen === undefined) {
        summary.verification = await verifyGenerated(summary.out, flags, verify, io);
      }
      printRunSummary(io, flags.json === true || io.json === true, summary, formatGenerationSummary, ledger);
      reportRunStatus(io, summary, pool.endpoints(), 'instances');
      if (summary.verification !== undefined) reportRunStatus(io, summary.verification, [], 'instances');
      return summary;
    },
  );
}

/** The verification flags of `generate --verify` (its own executor flags are the generation's). */
function verifyFlagsOf(flags: GenerateFlags): VerifyFlags {
  return {
    ...(flags.judge !== undefined ? { judge: flags.judge } : {}),
    ...(flags.judgeModel !== undefined ? { judgeModel: flags.judgeModel } : {}),
    ...(flags.runs !== undefined ? { runs: flags.runs } : {}),
    ...(flags.strictCalls === true ? { strictCalls: true } : {}),
    ...(flags.toolalpacaFilters === false ? { toolalpacaFilters: false } : {}),
    ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.cache === false ? { cache: false } : {}),
    ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
  };
}

/** `generate --verify`: the generated corpus verified in place, its run files `OUT.verify.*`. */
async function verifyGenerated(
  out: string,
  flags: GenerateFlags,
  settings: VerifySettings,
  io: CommandIo,
): Promise<VerificationSummary> {
  const resources = await openVerifyResources(verifyFlagsOf(flags), settings, io);
  try {
    return await withRunErrors(() =>
      runVerification({
        ...resources.options,
        // The corpus changes whenever the generation does, so the verification starts over each time.
        ...parseRunFlags({ ...flags, resume: false, force: true }),
        corpus: out,
        out,
        runOut: `${out}.verify`,
      }),
    );
  } finally {
    await resources.close();
  }
}

export function registerGenerateCommand(program: Command): void {
  const command = program
    .command('generate')
    .description(
      'Simulate tool-use episodes (assistant, user, executor) for every instruction of every tool and write a ToolAlpaca corpus; resumable.',
    )
    .requiredOption('--tools <file>', 'tools: ToolAlpaca JSON, or an OpenAPI file or folder')
    .requiredOption(
      '--out <file>',
      'output ToolAlpaca JSON (the journal OUT.log.jsonl, OUT.meta.json and the lock OUT.lock go beside it)',
    )
    .option(
      '--per-tool <n>',
      `instructions per tool: generated for tools without any (default ${DEFAULT_INSTRUCTIONS_PER_TOOL}), and the most used`,
    );
  // The same flag as `instructions --kinds`, for the instructions written for tools without any.
  addKindsOption(command);
  addEpisodeOptions(command, GENERATE_DEFAULTS);
  command.option(
    '--verify',
    'verify the generated corpus in place (as `verify` does; run files OUT.verify.*)',
  );
  addVerifyOptions(command);
  command.action(async (flags: GenerateFlags) => {
    await runInterruptible(
      (io) => runGenerateCommand(flags, io),
      (summary) => exitCodeOf(summary) || (summary.verification ? exitCodeOf(summary.verification) : 0),
    );
  });
}
