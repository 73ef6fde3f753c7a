/**
 * `--kinds`, shared by `instructions` and `generate` (which writes instructions for tools without any):
 * one help text, one parser, so that both commands mean the same by it.
 */
import type { Command } from 'commander';
import { INSTANCE_KINDS, type InstanceKind } from '../core/toolalpaca-record.js';
import { parseKinds } from '../pipeline/instruction-kinds.js';
import type { ToolInstructionReport } from '../pipeline/instructions.js';

export const KINDS_OPTION_HELP = `instance kinds to generate, comma-separated (${INSTANCE_KINDS.join(', ')}), each with its own request, recorded in Instruction_Kinds (default: ToolAlpaca's mix, requests over one or more functions, no kind recorded)`;

/** Adds `--kinds <list>` to `command`. */
export function addKindsOption(command: Command): Command {
  return command.option('--kinds <list>', KINDS_OPTION_HELP);
}

/** The kinds of `--kinds` (in the order given, repeats dropped), or undefined without the flag. */
export function parseKindsFlag(value: string | undefined): InstanceKind[] | undefined {
  return value !== undefined ? parseKinds(value, '--kinds') : undefined;
}

/** ` (single 2, parallel 1)`: a tool's new instructions per kind, when kinds were asked for; else ''. */
export function formatReportKinds(report: Pick<ToolInstructionReport, 'kinds'>): string {
  if (report.kinds === undefined) return '';
  return ` (${Object.entries(report.kinds)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ')})`;
}
