/**
 * `toolalpaca train`: read an export's manifest, write the engine's configs and a `launch.sh` with the
 * single-GPU and multi-GPU (DeepSpeed) commands, and with `run` start the single-GPU command as a
 * subprocess whose log is streamed — or say in one line that the engine is not installed.
 */
import { spawn } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import { delimiter, join, relative, resolve } from 'node:path';
import { readJsonFile, writeFileAtomic } from '../core/atomic-write.js';
import { InputError, ToolalpacaError } from '../core/errors.js';
import { ExportManifestSchema, type ExportManifest } from '../core/sft.js';
import {
  commandLine,
  planTraining,
  shellLine,
  type Command,
  type TrainOptions,
  type TrainingPlan,
} from './engines.js';

export async function readExportManifest(dataDir: string): Promise<ExportManifest> {
  const path = join(dataDir, 'export.json');
  const data = await readJsonFile(path).catch((error: unknown) => {
    if (error instanceof InputError) {
      throw new InputError(
        `${dataDir}: not an export folder (no readable export.json; run toolalpaca export first)`,
      );
    }
    throw error;
  });
  const parsed = ExportManifestSchema.safeParse(data);
  if (!parsed.success) {
    throw new InputError(
      `${path}: not an export manifest (${parsed.error.issues[0]?.message ?? 'bad shape'})`,
    );
  }
  return parsed.data;
}

/** The absolute path of `program` on PATH, if any. */
export async function findOnPath(
  program: string,
  pathVar = process.env.PATH ?? '',
): Promise<string | undefined> {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface TrainResult {
  plan: TrainingPlan;
  out: string;
  files: string[];
  /** Exit code of the engine when `run` started it. */
  exitCode?: number;
}

export interface RunOptions {
  run?: boolean;
  /** Receives the engine's output as it comes (default: this process's stdout/stderr). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
}

function runCommand(command: Command, onOutput: NonNullable<RunOptions['onOutput']>): Promise<number> {
  const [program, ...args] = command.argv;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program as string, args, {
      cwd: command.cwd,
      env: { ...process.env, ...command.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8'), 'stdout'));
    child.stderr.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8'), 'stderr'));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(code ?? (signal === null ? 1 : 128)));
  });
}

export async function runTrain(options: TrainOptions, runOptions: RunOptions = {}): Promise<TrainResult> {
  const dataDir = resolve(options.data);
  const out = resolve(options.out);
  const manifest = await readExportManifest(dataDir);
  const plan = planTraining(manifest, { ...options, out }, dataDir);
  await mkdir(out, { recursive: true });
  const files: string[] = [];
  for (const [name, content] of Object.entries(plan.files)) {
    await writeFileAtomic(join(out, name), content);
    files.push(name);
  }
  const launch = `#!/bin/sh
# ${plan.engine} fine-tuning of ${options.base} on ${relative(out, dataDir) || '.'} (${manifest.layout} layout)
# The configs' paths are relative to this folder: run from here, wherever the folders are copied.
set -e
cd "$(dirname "$0")"
# One GPU:
${commandLine(plan.single)}
# Several GPUs with DeepSpeed ZeRO-2 (edit the GPU count as needed):
# ${commandLine(plan.multi)}
`;
  await writeFileAtomic(join(out, 'launch.sh'), launch, { mode: 0o755 });
  files.push('launch.sh');
  const result: TrainResult = { plan, out, files };
  if (runOptions.run !== true) return result;
  const found = await findOnPath(plan.binary);
  if (found === undefined) {
    throw new ToolalpacaError(
      `${plan.engine} is not installed (${plan.binary} not found on PATH); configs are in ${out}, run: ${shellLine(plan.single)}`,
    );
  }
  const onOutput =
    runOptions.onOutput ??
    ((chunk: string, stream: 'stdout' | 'stderr') =>
      (stream === 'stdout' ? process.stdout : process.stderr).write(chunk));
  result.exitCode = await runCommand(plan.single, onOutput);
  return result;
}
