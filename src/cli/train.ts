/** `toolalpaca train`: engine configs and launch commands for an export (flags only; logic in src/train). */
import { Option, type Command } from 'commander';
import { InputError } from '../core/errors.js';
import { ENGINE_NAMES, shellLine, type EngineName, type TrainOptions } from '../train/engines.js';
import { runTrain } from '../train/train.js';

export interface TrainCommandOptions {
  engine: EngineName;
  base: string;
  data: string;
  out: string;
  lora?: boolean;
  run?: boolean;
  gpus: string;
  template?: string;
  epochs?: string;
  lr?: string;
  json?: boolean;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InputError(`${flag} must be a positive number, got '${value}'`);
  return n;
}

function gpuCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2)
    throw new InputError(`--gpus must be an integer of at least 2, got ${value}`);
  return n;
}

export function trainOptionsFrom(flags: TrainCommandOptions): TrainOptions {
  return {
    engine: flags.engine,
    base: flags.base,
    data: flags.data,
    out: flags.out,
    lora: flags.lora === true,
    gpus: gpuCount(flags.gpus),
    ...(flags.template !== undefined ? { template: flags.template } : {}),
    ...(flags.epochs !== undefined ? { epochs: positive(flags.epochs, '--epochs') } : {}),
    ...(flags.lr !== undefined ? { learningRate: positive(flags.lr, '--lr') } : {}),
  };
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .summary('Write a training engine config for an export, and optionally launch it.')
    .description(
      'Write the configuration LLaMA-Factory, TRL or axolotl reads for an export folder (from `toolalpaca export`), with the commands that launch it on one GPU and on several with DeepSpeed; --run starts the one-GPU command and streams its log.',
    )
    .addOption(
      new Option('--engine <name>', 'training engine').choices([...ENGINE_NAMES]).makeOptionMandatory(),
    )
    .requiredOption('--base <model>', 'base model: Hugging Face id or local folder')
    .requiredOption('--data <dir>', 'export folder (contains export.json)')
    .requiredOption('--out <dir>', 'folder for the configs and the trained model')
    .option('--lora', 'train a LoRA adapter instead of all weights')
    .option('--run', 'start the one-GPU command now and stream its log')
    .option('--gpus <n>', 'GPU count of the multi-GPU command', '2')
    .option('--template <name>', 'LLaMA-Factory template (default: from the base model name)')
    .option('--epochs <n>', 'training epochs (default 3)')
    .option('--lr <rate>', 'learning rate (default 1e-4 with --lora, 2e-5 otherwise)')
    .option('--json', 'print files and commands as JSON')
    .action(async (flags: TrainCommandOptions) => {
      const result = await runTrain(trainOptionsFrom(flags), { run: flags.run === true });
      const single = shellLine(result.plan.single);
      const multi = shellLine(result.plan.multi);
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ engine: result.plan.engine, out: result.out, files: result.files, single, multi, exitCode: result.exitCode }, null, 2)}\n`,
        );
      } else if (!flags.run) {
        process.stdout.write(
          `${result.plan.engine} configs written to ${result.out}: ${result.files.join(', ')}\none GPU:    ${single}\nmulti-GPU:  ${multi}\n`,
        );
      }
      if (result.exitCode !== undefined && result.exitCode !== 0) process.exitCode = result.exitCode;
    });
}
