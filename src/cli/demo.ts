/**
 * `toolalpaca demo`: the whole main job in one command, on the project's own small OpenAPI specs
 * (examples/specs): specs → NL documentation → instructions (2 per tool) → generation with the offline
 * schema executor → a short report. Files land in `--out` (default ./demo-output).
 */
import { writeFileAtomic } from '../core/atomic-write.js';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ToolalpacaError, oneLine } from '../core/errors.js';
import type { Instance, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import { readToolAlpacaFile, writeToolAlpacaFile } from '../formats/toolalpaca-json.js';
import { createExecutor } from '../executors/create-executor.js';
import { loadConfig } from '../models/config.js';
import { loadGenerationTools, runGeneration, type GenerationSummary } from '../pipeline/generate.js';
import { generateInstructions } from '../pipeline/instructions.js';
import { createModelPool, type CommandIo } from './context.js';
import {
  addModelOptions,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
} from './model-options.js';
import type { CostLedger } from '../models/ledger.js';
import {
  createRunProgress,
  exitCodeOf,
  runInterruptible,
  summaryCost,
  withRunErrors,
} from './run-helpers.js';
import { ADD_PRICE_HINT, cliMessageOf } from './flag-wording.js';

/** The embedded engine's default model: a small instruct model, downloaded on first use. */
export const DEMO_DEFAULT_MODEL = 'llama:hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M';

/** What the demo's tool calls are answered by, said in its output and report. */
export const DEMO_EXECUTOR_NOTE =
  'tool calls are answered by the offline schema executor (fake data shaped by each response schema); `generate` uses the LLM-simulated executor by default';

/** The project's example specs (examples/specs beside src/ or dist/). */
export const DEMO_SPECS_DIR: string = fileURLToPath(new URL('../../examples/specs', import.meta.url));

export interface DemoFlags extends ModelFlagValues {
  out?: string;
  specs?: string;
  perTool?: string;
  maxSteps?: string;
  json?: boolean;
}

export interface DemoResult {
  outDir: string;
  model: string;
  files: { tools: string; instructions: string; corpus: string; report: string };
  instructions: number;
  summary: GenerationSummary;
  report: string;
}

/** A short trajectory for the report: instruction, each action with its input and observation, the answer. */
export function describeInstance(tool: string, instance: Instance): string {
  const lines = [`Tool: ${tool}`, `Instruction: ${instance.input}`];
  for (const [step, observation] of instance.intermediate_steps ?? []) {
    lines.push(`  Action: ${step[0] ?? ''}  Input: ${oneLine(step[1] ?? '', 160)}`);
    lines.push(`  Observation: ${oneLine(observation, 200)}`);
  }
  const failure = (instance as { failure?: { reason?: string; message?: string } }).failure;
  if (failure !== undefined)
    lines.push(`Failed: ${failure.reason ?? '?'}: ${oneLine(failure.message ?? '', 200)}`);
  else lines.push(`Final answer: ${oneLine(instance.output ?? '', 300)}`);
  return lines.join('\n');
}

function buildReport(
  model: string,
  summary: GenerationSummary,
  corpus: ToolAlpacaRecord[],
  ledger: CostLedger,
): string {
  const reasons = Object.entries(summary.failedByReason)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  const lines = [
    '# toolalpaca demo',
    '',
    `- model: ${model}`,
    '- executor: schema (offline fake data shaped by each response schema; `generate` uses the LLM-simulated executor by default)',
    `- tools: ${summary.tools}`,
    `- instances: ${summary.done}/${summary.total} done, ${summary.completed} completed, ${summary.failed} failed${reasons !== '' ? ` (${reasons})` : ''}`,
    `- steps per instance: ${summary.meanSteps.toFixed(2)}`,
    `- tokens: ${summary.promptTokens} in, ${summary.completionTokens} out; cost ${summaryCost(summary.costUsd, ledger)}; cache hits ${summary.cacheHits}`,
    '',
  ];
  let sample: { tool: string; instance: Instance } | undefined;
  for (const record of corpus) {
    for (const instance of record.Instances ?? []) {
      const failed = (instance as { status?: string }).status === 'failed';
      if (sample === undefined || (!failed && (sample.instance as { status?: string }).status === 'failed')) {
        sample = { tool: record.Name, instance };
      }
    }
  }
  if (sample !== undefined)
    lines.push('## Sample trajectory', '', describeInstance(sample.tool, sample.instance), '');
  return `${lines.join('\n')}\n`;
}

export async function runDemoCommand(flags: DemoFlags, io: CommandIo): Promise<DemoResult> {
  const outDir = resolve(io.cwd ?? process.cwd(), flags.out ?? 'demo-output');
  const specs = flags.specs ?? DEMO_SPECS_DIR;
  const perTool = parseIntegerFlag('--per-tool', flags.perTool) ?? 2;
  const maxSteps = parseIntegerFlag('--max-steps', flags.maxSteps) ?? 6;
  const config = await loadConfig(io.cwd);
  const usingDefault = flags.model === undefined && config.model === undefined;
  const resolved = modelOptionsFrom(
    { ...flags, model: flags.model ?? config.model ?? DEMO_DEFAULT_MODEL },
    config,
  );
  const files = {
    tools: join(outDir, 'tools.json'),
    instructions: join(outDir, 'instructions.json'),
    corpus: join(outDir, 'corpus.json'),
    report: join(outDir, 'report.md'),
  };
  // The folder is created by the first atomic write, after the model loaded: a failed start leaves nothing.

  const { ledger, pool } = await createModelPool(resolved, io);
  try {
    let model;
    try {
      model = await pool.get(resolved.spec);
      await pool.probe(io.signal);
    } catch (error) {
      if (!usingDefault) throw error;
      throw new ToolalpacaError(
        `${cliMessageOf(error)} — or run the demo with another model: --model openai:MODEL --base-url URL (any OpenAI-compatible server)`,
        { exitCode: error instanceof ToolalpacaError ? error.exitCode : 1, cause: error },
      );
    }
    // 1. Specs → ToolAlpaca records with NL documentation.
    const { tools } = await loadGenerationTools(specs);
    await writeToolAlpacaFile(
      files.tools,
      tools.map((t) => t.record),
    );
    io.stderr.write(`demo: ${tools.length} tools from ${specs}\n`);

    // 2. Instructions.
    const generated = await generateInstructions(
      tools.map((t) => t.record),
      {
        model,
        perTool,
        replace: true,
        seed: 1,
        ...(io.signal !== undefined ? { signal: io.signal } : {}),
        onProgress: (report) =>
          io.stderr.write(
            `demo: instructions for "${report.tool}": kept ${report.kept}, dropped ${report.dropped}\n`,
          ),
      },
    );
    await writeToolAlpacaFile(files.instructions, generated.records);
    const instructionCount = generated.records.reduce((sum, r) => sum + (r.Instructions?.length ?? 0), 0);

    // 3. Generation with the offline schema executor (generate's default is the simulated one).
    io.stderr.write(`demo: ${DEMO_EXECUTOR_NOTE}\n`);
    const executor = await createExecutor('schema');
    const progress = createRunProgress('demo', io, { ledger });
    let summary: GenerationSummary;
    try {
      summary = await withRunErrors(() =>
        runGeneration({
          toolsPath: files.instructions,
          out: files.corpus,
          assistant: model,
          user: model,
          executor,
          prompt: 'train_v1',
          mode: 'react',
          perTool,
          maxSteps,
          seed: 1,
          concurrency: resolved.options.concurrency ?? 2,
          force: true,
          ledger,
          cacheHits: () => pool.cacheHits(),
          ...(io.signal !== undefined ? { signal: io.signal } : {}),
          onProgress: progress.report,
        }),
      );
    } finally {
      progress.finish();
      await executor.close?.();
    }

    // 4. Report.
    const corpus = await readToolAlpacaFile(files.corpus);
    const report = buildReport(resolved.spec, summary, corpus, ledger);
    await writeFileAtomic(files.report, report);
    const result: DemoResult = {
      outDir,
      model: resolved.spec,
      files,
      instructions: instructionCount,
      summary,
      report,
    };
    if (flags.json === true) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      io.stdout.write(report);
      io.stdout.write(`files: ${Object.values(files).join(', ')}\n`);
      io.stderr.write(ledger.format({ addPrice: ADD_PRICE_HINT }));
    }
    return result;
  } finally {
    await pool.close();
  }
}

export function registerDemoCommand(program: Command): void {
  const command = program
    .command('demo')
    .description(
      "The main job in one command: the project's example OpenAPI specs → NL docs → instructions → episodes with the offline schema executor (generate defaults to the LLM-simulated one) → a short report.",
    )
    .option('--out <dir>', 'output folder (default ./demo-output)')
    .option('--specs <dir>', 'OpenAPI specs to use instead of the bundled examples')
    .option('--per-tool <n>', 'instructions per tool (default 2)')
    .option('--max-steps <n>', 'steps per episode (default 6)')
    .option('--json', 'print the result as JSON');
  addModelOptions(command, { concurrency: 2 });
  command.action(async (flags: DemoFlags) => {
    await runInterruptible(
      (io) => runDemoCommand(flags, io),
      (result) => exitCodeOf(result.summary),
    );
  });
}
