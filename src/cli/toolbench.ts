/**
 * `toolalpaca toolbench import` (ToolBench / StableToolBench query files → tasks and tools) and
 * `toolalpaca toolbench instructions` (multi-tool instructions, I2 / I3, in ToolBench's query shape).
 */
import type { Command } from 'commander';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import { readSourceTools } from '../formats/task-tools.js';
import { importToolBenchFiles, readToolBenchTools, type ImportReport } from '../formats/toolbench.js';
import { isMcpConfigFile } from '../mcp/config.js';
import { loadConfig } from '../models/config.js';
import {
  generateMultiToolInstructions,
  type MultiToolMode,
  type MultiToolResult,
} from '../pipeline/multi-tool-instructions.js';
import { createModelPool, type CommandIo } from './context.js';
import { printLedger } from './run-helpers.js';
import {
  addModelOptions,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
} from './model-options.js';

export interface ToolbenchImportFlags {
  out?: string;
  json?: boolean;
}

/** The `toolbench import` action. */
export async function runToolbenchImport(
  files: string[],
  flags: ToolbenchImportFlags,
  io: CommandIo,
): Promise<ImportReport> {
  if (flags.out === undefined) throw new InputError('--out DIR is required');
  const report = await importToolBenchFiles(files, flags.out);
  if (flags.json === true) {
    io.stdout.write(
      `${JSON.stringify(
        {
          queries: report.queries,
          tools: report.tools,
          apis: report.apis,
          files: report.files.map((f) => ({
            file: f.file,
            group: f.group,
            queries: f.queries,
            tools: f.tools,
            apis: f.apis,
          })),
          out: report.out,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    for (const f of report.files) {
      io.stdout.write(`${f.file}: ${f.queries} queries, ${f.tools} tools, ${f.apis} APIs → ${f.tasksFile}\n`);
    }
    io.stdout.write(
      `imported ${report.queries} queries, ${report.tools} tools, ${report.apis} APIs into ${report.out}\n`,
    );
  }
  return report;
}

export interface ToolbenchInstructionsFlags extends ModelFlagValues {
  tools?: string;
  mode?: string;
  count?: string;
  perSample?: string;
  out?: string;
  seed?: string;
  json?: boolean;
}

/** The `toolbench instructions` action. */
export async function runToolbenchInstructions(
  flags: ToolbenchInstructionsFlags,
  io: CommandIo,
): Promise<MultiToolResult> {
  if (flags.tools === undefined) throw new InputError('--tools DIR is required');
  if (flags.out === undefined) throw new InputError('--out FILE is required');
  const mode = (flags.mode ?? 'I2').toUpperCase();
  if (mode !== 'I2' && mode !== 'I3')
    throw new InputError(`--mode: expected I2 or I3, got "${flags.mode ?? ''}"`);
  const count = parseIntegerFlag('--count', flags.count) ?? 10;
  const perSample = parseIntegerFlag('--per-sample', flags.perSample);
  const seed = parseIntegerFlag('--seed', flags.seed, 0);
  const tools = (await isMcpConfigFile(flags.tools))
    ? await readSourceTools(flags.tools)
    : await readToolBenchTools(flags.tools);
  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const { ledger, pool } = await createModelPool(resolved, io);
  try {
    const model = await pool.get(resolved.spec);
    const result = await generateMultiToolInstructions({
      tools,
      mode: mode as MultiToolMode,
      model,
      count,
      ...(perSample !== undefined ? { perSample } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      onSample: (r) =>
        io.stderr.write(
          `sample ${r.sample} (${r.group}: ${r.tools.join(', ')}): kept ${r.kept}, dropped ${r.dropped}${r.error !== undefined ? ` (${r.error})` : ''}\n`,
        ),
    });
    await writeFileAtomic(flags.out, `${JSON.stringify(result.queries, null, 2)}\n`);
    const summary = {
      queries: result.queries.length,
      samples: result.samples,
      dropped: result.dropped,
      out: flags.out,
    };
    if (flags.json === true) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else
      io.stdout.write(
        `wrote ${summary.queries} ${mode} instructions from ${summary.samples} samples (${summary.dropped} dropped) to ${flags.out}\n`,
      );
    if (result.queries.length < count)
      io.stderr.write(`warning: asked for ${count}, got ${result.queries.length}\n`);
    printLedger(io, ledger);
    return result;
  } finally {
    await pool.close();
  }
}

export function registerToolbenchCommands(program: Command): void {
  const group = program
    .command('toolbench')
    .description(
      'ToolBench / StableToolBench data: import queries and tools, generate multi-tool instructions',
    );
  group
    .command('import')
    .description(
      'Read ToolBench query files into tasks (OUT/tasks/*.json) and tools (OUT/tools/*.json, OpenAPI)',
    )
    .argument('<files...>', 'query files (G1_instruction.json, instruction/G1_query.json...)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--json', 'print {queries, tools, apis} as JSON')
    .action(async (files: string[], flags: ToolbenchImportFlags) => {
      await runToolbenchImport(files, flags, { stdout: process.stdout, stderr: process.stderr });
    });
  const instructions = group
    .command('instructions')
    .description(
      "Generate multi-tool instructions (I2: tools of one category, I3: of one collection) in ToolBench's query shape",
    )
    .requiredOption(
      '--tools <dir>',
      'tools folder from `toolbench import`, a ToolBench query file, or an MCP configuration (each server one tool, category MCP)',
    )
    .requiredOption('--out <file>', 'output query file (JSON array)')
    .option('--mode <mode>', 'I2 or I3 (default I2)')
    .option('--count <n>', 'instructions wanted (default 10)')
    .option('--per-sample <n>', 'instructions asked for per sample of tools (default 5)')
    .option('--seed <n>', 'sampling seed (default 0)')
    .option('--json', 'print the summary as JSON');
  addModelOptions(instructions);
  instructions.action(async (flags: ToolbenchInstructionsFlags) => {
    await runToolbenchInstructions(flags, { stdout: process.stdout, stderr: process.stderr });
  });
}
