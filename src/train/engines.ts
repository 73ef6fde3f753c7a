/**
 * Training hand-off: for an export folder and a base model, the configuration each engine reads (in its
 * documented keys) and the commands that launch it on one GPU and on several with DeepSpeed. This project
 * does not train; the engines do. Paths in the configs are relative to the folder the configs are in,
 * and the commands run there (launch.sh changes into it), so the two folders can move to a GPU machine.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { stringify } from 'yaml';
import { InputError } from '../core/errors.js';
import type { ExportManifest } from '../core/sft.js';
import { deepSpeedConfig } from './deepspeed.js';

export const ENGINE_NAMES = ['llamafactory', 'trl', 'axolotl'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export interface TrainOptions {
  engine: EngineName;
  /** Base model: a Hugging Face id or a local folder. */
  base: string;
  /** Export folder (with export.json). */
  data: string;
  /** Where configs, commands and the trained model go. */
  out: string;
  lora?: boolean;
  /** GPUs of the multi-GPU command (default 2). */
  gpus?: number;
  /** LLaMA-Factory chat template name (default: guessed from the base model, else `default`). */
  template?: string;
  epochs?: number;
  learningRate?: number;
}

export interface Command {
  env: Record<string, string>;
  argv: string[];
  /** The folder the command runs in (the configs' folder: their paths are relative to it). */
  cwd: string;
}

export interface TrainingPlan {
  engine: EngineName;
  /** The program that must be on PATH. */
  binary: string;
  /** Files to write into `out`, by name. */
  files: Record<string, string>;
  single: Command;
  multi: Command;
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command as one shell line (values quoted when needed), to run in its folder (as launch.sh does). */
export function commandLine(command: Command): string {
  return [
    ...Object.entries(command.env).map(([k, v]) => `${k}=${quote(v)}`),
    ...command.argv.map(quote),
  ].join(' ');
}

/** The command as one shell line that runs from anywhere: `cd FOLDER && …`. */
export function shellLine(command: Command): string {
  return `cd ${quote(command.cwd)} && ${commandLine(command)}`;
}

/** `file` of the export folder `dataDir`, as a path relative to the configs' folder `out`. */
function dataPath(out: string, dataDir: string, file: string): string {
  const target = isAbsolute(file) ? file : resolve(dataDir, file);
  const rel = relative(out, target);
  return (rel === '' ? '.' : rel).split(sep).join('/');
}

/** LLaMA-Factory's template for well-known model families. */
export function guessLlamaFactoryTemplate(base: string): string {
  const b = base.toLowerCase();
  if (b.includes('qwen3')) return 'qwen3';
  if (b.includes('qwen')) return 'qwen';
  if (/llama-?3/.test(b)) return 'llama3';
  if (b.includes('mistral')) return 'mistral';
  if (b.includes('gemma')) return 'gemma';
  return 'default';
}

/** The export's per-example token limit (older manifests call it `maxTokens`). */
function maxExampleTokens(manifest: ExportManifest): number | undefined {
  return manifest.maxExampleTokens ?? manifest.maxTokens;
}

function yaml(value: Record<string, unknown>): string {
  return stringify(value, { lineWidth: 0 });
}

function common(options: TrainOptions): { epochs: number; lr: number } {
  return { epochs: options.epochs ?? 3, lr: options.learningRate ?? (options.lora ? 1e-4 : 2e-5) };
}

/**
 * A plan from an engine's configuration: `ENGINE.yaml` for one GPU, `ENGINE-deepspeed.yaml` (the same
 * with DeepSpeed ZeRO-2, `ds_z2.json`) for several; `single` and `multi` get the path of their config.
 */
function planWithDeepSpeed(
  engine: EngineName,
  binary: string,
  out: string,
  config: Record<string, unknown>,
  single: (configFile: string) => string[],
  multi: { env: Record<string, string>; argv: (configFile: string) => string[] },
): TrainingPlan {
  const withDeepSpeed = { ...config, deepspeed: 'ds_z2.json' };
  return {
    engine,
    binary,
    files: {
      [`${engine}.yaml`]: yaml(config),
      [`${engine}-deepspeed.yaml`]: yaml(withDeepSpeed),
      'ds_z2.json': `${JSON.stringify(deepSpeedConfig(2), null, 2)}\n`,
    },
    single: { env: { CUDA_VISIBLE_DEVICES: '0' }, argv: single(`${engine}.yaml`), cwd: out },
    multi: { env: multi.env, argv: multi.argv(`${engine}-deepspeed.yaml`), cwd: out },
  };
}

function llamaFactoryPlan(
  manifest: ExportManifest,
  options: TrainOptions,
  dataDir: string,
  gpus: number,
): TrainingPlan {
  if (manifest.datasetInfo === undefined) {
    throw new InputError(
      `${dataDir}: LLaMA-Factory reads dataset_info.json; export in the llamafactory format (this export is ${manifest.layout})`,
      {
        details: { reason: 'engine-needs-layout', engine: 'llamafactory', dataDir, layout: manifest.layout },
      },
    );
  }
  const { epochs, lr } = common(options);
  const config: Record<string, unknown> = {
    model_name_or_path: options.base,
    stage: 'sft',
    do_train: true,
    finetuning_type: options.lora ? 'lora' : 'full',
    ...(options.lora ? { lora_target: 'all', lora_rank: 8, lora_alpha: 16, lora_dropout: 0.05 } : {}),
    dataset_dir: dataPath(options.out, dataDir, '.'),
    dataset: 'toolalpaca_train',
    ...(manifest.files.validation ? { eval_dataset: 'toolalpaca_validation' } : {}),
    template: options.template ?? guessLlamaFactoryTemplate(options.base),
    cutoff_len: maxExampleTokens(manifest) ?? 4096,
    overwrite_cache: true,
    preprocessing_num_workers: 4,
    output_dir: 'model',
    logging_steps: 10,
    save_steps: 500,
    plot_loss: true,
    overwrite_output_dir: true,
    per_device_train_batch_size: 1,
    gradient_accumulation_steps: 8,
    learning_rate: lr,
    num_train_epochs: epochs,
    lr_scheduler_type: 'cosine',
    warmup_ratio: 0.1,
    bf16: true,
    ddp_timeout: 180000000,
    ...(manifest.files.validation
      ? { per_device_eval_batch_size: 1, eval_strategy: 'steps', eval_steps: 500 }
      : {}),
  };
  return planWithDeepSpeed(
    'llamafactory',
    'llamafactory-cli',
    options.out,
    config,
    (file) => ['llamafactory-cli', 'train', file],
    {
      env: { FORCE_TORCHRUN: '1', NPROC_PER_NODE: String(gpus) },
      argv: (file) => ['llamafactory-cli', 'train', file],
    },
  );
}

function trlPlan(
  manifest: ExportManifest,
  options: TrainOptions,
  dataDir: string,
  gpus: number,
): TrainingPlan {
  const { epochs, lr } = common(options);
  let dataset: Record<string, unknown>;
  let loss: Record<string, unknown>;
  if (manifest.tokens !== undefined) {
    // Pre-tokenised: SFTTrainer skips tokenisation and trains where assistant_masks is 1.
    dataset = {
      path: 'json',
      data_files: dataPath(options.out, dataDir, manifest.tokens.train),
      split: 'train',
    };
    loss = { assistant_only_loss: true };
  } else if (manifest.layout === 'openai') {
    dataset = {
      path: 'json',
      data_files: dataPath(options.out, dataDir, manifest.files.train),
      split: 'train',
    };
    // Loss on assistant turns only, as the dataset card says; TRL finds them through the chat template's
    // {% generation %} markers and refuses to start with a template that has none.
    loss = { assistant_only_loss: true };
  } else {
    throw new InputError(
      `${dataDir}: TRL reads chat messages (the openai format) or token files (an export with a template and a tokenizer); this export is ${manifest.layout} without tokens`,
      { details: { reason: 'engine-needs-layout', engine: 'trl', dataDir, layout: manifest.layout } },
    );
  }
  const config: Record<string, unknown> = {
    model_name_or_path: options.base,
    datasets: [dataset],
    output_dir: 'model',
    max_length: maxExampleTokens(manifest) ?? 4096,
    ...loss,
    learning_rate: lr,
    num_train_epochs: epochs,
    per_device_train_batch_size: 1,
    gradient_accumulation_steps: 8,
    gradient_checkpointing: true,
    lr_scheduler_type: 'cosine',
    warmup_ratio: 0.1,
    logging_steps: 10,
    save_steps: 500,
    bf16: true,
    report_to: 'none',
    ...(options.lora
      ? { use_peft: true, lora_r: 16, lora_alpha: 32, lora_dropout: 0.05, lora_target_modules: 'all-linear' }
      : {}),
  };
  return planWithDeepSpeed('trl', 'trl', options.out, config, (file) => ['trl', 'sft', '--config', file], {
    env: {},
    argv: (file) => [
      'accelerate',
      'launch',
      '--num_processes',
      String(gpus),
      '-m',
      'trl.scripts.sft',
      '--config',
      file,
    ],
  });
}

function axolotlPlan(
  manifest: ExportManifest,
  options: TrainOptions,
  dataDir: string,
  gpus: number,
): TrainingPlan {
  const { epochs, lr } = common(options);
  const datasets: Record<string, unknown>[] = [];
  const test: Record<string, unknown>[] = [];
  if (manifest.tokens !== undefined) {
    // Axolotl's pre-tokenised datasets: no `type`, columns input_ids / attention_mask / labels.
    datasets.push({ path: dataPath(options.out, dataDir, manifest.tokens.train), ds_type: 'json' });
    if (manifest.tokens.validation)
      test.push({
        path: dataPath(options.out, dataDir, manifest.tokens.validation),
        ds_type: 'json',
        split: 'train',
      });
  } else if (manifest.layout === 'openai' || manifest.layout === 'sharegpt') {
    const sharegpt = manifest.layout === 'sharegpt';
    const entry = (file: string): Record<string, unknown> => ({
      path: dataPath(options.out, dataDir, file),
      ds_type: 'json',
      type: 'chat_template',
      field_messages: sharegpt ? 'conversations' : 'messages',
      ...(sharegpt
        ? {
            message_property_mappings: { role: 'from', content: 'value' },
            roles: { system: ['system'], user: ['human'], assistant: ['gpt'], tool: ['observation'] },
          }
        : {}),
      roles_to_train: ['assistant'],
      train_on_eos: 'turn',
    });
    datasets.push(entry(manifest.files.train));
    if (manifest.files.validation) test.push({ ...entry(manifest.files.validation), split: 'train' });
  } else {
    throw new InputError(
      `${dataDir}: axolotl reads chat messages (the openai or sharegpt format) or token files (an export with a template and a tokenizer); this export is ${manifest.layout} without tokens`,
      { details: { reason: 'engine-needs-layout', engine: 'axolotl', dataDir, layout: manifest.layout } },
    );
  }
  const config: Record<string, unknown> = {
    base_model: options.base,
    ...(manifest.tokens === undefined ? { chat_template: 'tokenizer_default' } : {}),
    datasets,
    ...(test.length > 0 ? { test_datasets: test } : { val_set_size: 0 }),
    dataset_prepared_path: 'prepared',
    output_dir: 'model',
    sequence_len: maxExampleTokens(manifest) ?? 4096,
    sample_packing: false,
    ...(options.lora
      ? { adapter: 'lora', lora_r: 16, lora_alpha: 32, lora_dropout: 0.05, lora_target_linear: true }
      : {}),
    micro_batch_size: 1,
    gradient_accumulation_steps: 8,
    num_epochs: epochs,
    optimizer: 'adamw_torch',
    lr_scheduler: 'cosine',
    learning_rate: lr,
    warmup_ratio: 0.1,
    bf16: 'auto',
    gradient_checkpointing: true,
    logging_steps: 10,
    saves_per_epoch: 1,
  };
  return planWithDeepSpeed('axolotl', 'axolotl', options.out, config, (file) => ['axolotl', 'train', file], {
    env: {},
    argv: (file) => [
      'accelerate',
      'launch',
      '--num_processes',
      String(gpus),
      '-m',
      'axolotl.cli.train',
      file,
    ],
  });
}

/** The configuration files and launch commands for `options.engine`. */
export function planTraining(manifest: ExportManifest, options: TrainOptions, dataDir: string): TrainingPlan {
  const gpus = options.gpus ?? 2;
  if (!Number.isInteger(gpus) || gpus < 2)
    throw new InputError(`gpus must be an integer of at least 2, got ${gpus}`);
  switch (options.engine) {
    case 'llamafactory':
      return llamaFactoryPlan(manifest, options, dataDir, gpus);
    case 'trl':
      return trlPlan(manifest, options, dataDir, gpus);
    case 'axolotl':
      return axolotlPlan(manifest, options, dataDir, gpus);
  }
}
