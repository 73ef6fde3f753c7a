/**
 * `toolalpaca instructions`: fills every tool's `Instructions` (up to `--per-tool`) with generated user
 * requests, drops near-duplicates, reports kept/dropped per tool and writes the records as ToolAlpaca JSON.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { mcpSecretsLeftOut } from '../formats/mcp.js';
import { writeToolAlpacaFile } from '../formats/toolalpaca-json.js';
import { loadConfig } from '../models/config.js';
import {
  instructionShortfall,
  loadGenerationTools,
  type InstructionShortfall,
} from '../pipeline/generate.js';
import { generateInstructions, type ToolInstructionReport } from '../pipeline/instructions.js';
import { createModelPool, type CommandIo } from './context.js';
import { addKindsOption, formatReportKinds, parseKindsFlag } from './kinds-option.js';
import {
  addModelOptions,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
  parseFractionFlag,
} from './model-options.js';
import { formatShortfall } from './generate.js';
import { createRunProgress, printRunSummary, withInterrupt } from './run-helpers.js';

export interface InstructionsFlags extends ModelFlagValues {
  tools?: string;
  out?: string;
  perTool?: string;
  seed?: string;
  threshold?: string;
  rounds?: string;
  replace?: boolean;
  kinds?: string;
  json?: boolean;
}

export interface InstructionsCommandResult {
  out: string;
  tools: ToolInstructionReport[];
  kept: number;
  dropped: number;
  /** Tools left below `--per-tool` (duplicates, model errors, too few rounds). */
  shortfall: InstructionShortfall[];
  cacheHits: number;
}

/** The per-tool report (kept, dropped, now) and the totals, as human lines. */
function formatInstructionsResult(result: InstructionsCommandResult): string {
  const lines = result.tools.map(
    (r) =>
      `${r.tool}: kept ${r.kept}${formatReportKinds(r)}, dropped ${r.dropped}, now ${r.total}${r.error !== undefined ? ` (error: ${r.error})` : ''}\n`,
  );
  if (result.shortfall.length > 0) lines.push(`${formatShortfall(result.shortfall)}\n`);
  lines.push(
    `kept ${result.kept}, dropped ${result.dropped} over ${result.tools.length} tools; cache hits ${result.cacheHits}; wrote ${result.out}\n`,
  );
  return lines.join('');
}

/** The `instructions` action, callable without commander. */
export async function runInstructionsCommand(
  flags: InstructionsFlags,
  io: CommandIo,
): Promise<InstructionsCommandResult> {
  if (flags.tools === undefined) throw new InputError('--tools FILE is required');
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  const perTool = parseIntegerFlag('--per-tool', flags.perTool) ?? 10;
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const rounds = parseIntegerFlag('--rounds', flags.rounds);
  const threshold = parseFractionFlag('--threshold', flags.threshold);
  const kinds = parseKindsFlag(flags.kinds);
  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { tools, skipped } = await loadGenerationTools(flags.tools);
  for (const item of skipped) io.stderr.write(`warning: skipping tool "${item.tool}": ${item.error}\n`);
  if (tools.length === 0) throw new InputError(`${flags.tools}: no usable tools`);
  for (const line of mcpSecretsLeftOut(tools.map((loaded) => loaded.tool)))
    io.stderr.write(`warning: ${line}\n`);

  const { ledger, pool } = await createModelPool(resolved, io);
  const progress = createRunProgress('instructions', io);
  try {
    const model = await pool.get(config.stageModels?.instructions ?? resolved.spec);
    await pool.probe(io.signal);
    const update = (finished: number): void => {
      const totals = ledger.totals();
      progress.update({
        done: finished,
        total: tools.length,
        tokensIn: totals.promptTokens,
        tokensOut: totals.completionTokens,
        costUsd: totals.costUsd,
        ...(ledger.costUnknown() ? { costUnknown: true } : {}),
      });
    };
    update(0);
    const result = await generateInstructions(
      tools.map((t) => t.record),
      {
        model,
        perTool,
        ...(seed !== undefined ? { seed } : {}),
        ...(threshold !== undefined ? { similarityThreshold: threshold } : {}),
        ...(rounds !== undefined ? { maxRounds: rounds } : {}),
        ...(resolved.options.concurrency !== undefined ? { concurrency: resolved.options.concurrency } : {}),
        ...(flags.replace === true ? { replace: true } : {}),
        ...(kinds !== undefined ? { kinds, tools: tools.map((t) => t.tool) } : {}),
        ...(io.signal !== undefined ? { signal: io.signal } : {}),
        onProgress: (_report, finished) => update(finished),
      },
    );
    progress.finish();
    await writeToolAlpacaFile(flags.out, result.records);
    const kept = result.reports.reduce((sum, r) => sum + r.kept, 0);
    const dropped = result.reports.reduce((sum, r) => sum + r.dropped, 0);
    const out: InstructionsCommandResult = {
      out: flags.out,
      tools: result.reports,
      kept,
      dropped,
      shortfall: instructionShortfall(result.reports, perTool),
      cacheHits: pool.cacheHits(),
    };
    printRunSummary(io, flags.json === true, out, formatInstructionsResult, ledger);
    return out;
  } finally {
    progress.finish();
    await pool.close();
  }
}

export function registerInstructionsCommand(program: Command): void {
  const command = program
    .command('instructions')
    .description(
      "Generate realistic user instructions for every tool (ToolAlpaca's rules), near-duplicates removed, and write the tools with Instructions filled.",
    )
    .requiredOption('--tools <file>', 'tools: ToolAlpaca JSON, or an OpenAPI file or folder')
    .requiredOption('--out <file>', 'output ToolAlpaca JSON')
    .option('--per-tool <n>', 'instructions each tool should have (default 10; existing ones count)')
    .option('--replace', "discard the tools' existing Instructions")
    .option(
      '--threshold <x>',
      'similarity (ROUGE-L, 0..1) at which an instruction is a near-duplicate (default 0.7)',
    )
    .option('--rounds <n>', 'requests per tool at most (default 3)');
  addKindsOption(command)
    .option('--seed <n>', 'sampling seed (default 0)')
    .option('--json', 'print the per-tool report as JSON');
  addModelOptions(command, { concurrency: 4 });
  command.action(async (flags: InstructionsFlags) => {
    await withInterrupt((signal) =>
      runInstructionsCommand(flags, { stdout: process.stdout, stderr: process.stderr, signal }),
    );
  });
}
