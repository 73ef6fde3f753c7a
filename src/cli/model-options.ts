/**
 * The model flags every command that calls a language model shares (`--model SPEC` and friends), and
 * their merge with `toolalpaca.config.json` (flags win over the config file).
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { ToolalpacaConfig } from '../core/config.js';
import type { ResponseStore } from '../models/cache-store.js';
import type { ModelOptions } from '../models/create-model.js';
import type { RateLimitStore } from '../models/rate-limit.js';
import { MODEL_SPEC_HELP } from '../models/model-spec.js';
import { BUILTIN_TEMPLATE_NAMES } from '../models/text-completions/templates.js';

/** Flag values as commander hands them over (strings, or `cache: false` for --no-cache). */
export interface ModelFlagValues {
  model?: string;
  baseUrl?: string;
  cache?: boolean;
  cacheDir?: string;
  timeout?: string;
  maxRetries?: string;
  concurrency?: string;
  rpm?: string;
  tpm?: string;
  threads?: string;
  lora?: string;
  template?: string;
  templateSource?: string;
  prices?: string;
  /** Not flags: set by `toolalpaca worker` to the stores its queue's workers share (ModelOptions). */
  sharedCache?: ResponseStore;
  sharedRateLimits?: RateLimitStore;
}

/**
 * Adds the model flags. With `cacheOptIn` (for `chat`, a quick check of a live server) the response
 * cache is off unless `--cache` is given; elsewhere it is on unless `--no-cache` is. `concurrency` is
 * the command's own default for --concurrency, shown in its help (none: no limit).
 */
export function addModelOptions(
  command: Command,
  options: { cacheOptIn?: boolean; concurrency?: number } = {},
): Command {
  command
    .option('--model <spec>', `model to call: ${MODEL_SPEC_HELP}`)
    .option('--base-url <url>', 'OpenAI-compatible server URL ending in /v1 (default OPENAI_BASE_URL)');
  if (options.cacheOptIn === true) {
    command.option(
      '--cache',
      'read and write the response cache (off by default here: ask the model itself)',
    );
  }
  command.option('--no-cache', 'neither read nor write the response cache');
  return command
    .option('--cache-dir <dir>', 'response cache folder (default .toolalpaca-cache)')
    .option('--timeout <seconds>', 'per-request timeout in seconds (default 120)')
    .option('--max-retries <n>', 'retries on 429, 5xx, timeouts and dropped connections (default 3)')
    .option('--concurrency <n>', `requests in flight at once (default ${options.concurrency ?? 'no limit'})`)
    .option('--rpm <n>', 'requests per minute (default no limit)')
    .option('--tpm <n>', 'tokens per minute (default no limit)')
    .option(
      '--threads <n>',
      'llama: CPU threads, or auto (default: the cores available, shared by the models in use)',
    )
    .option('--lora <file>', 'llama: LoRA adapter (.gguf)')
    .option(
      '--template <name|file>',
      `text: conversation template: ${BUILTIN_TEMPLATE_NAMES.join(', ')}, or a JSON template file`,
    )
    .option(
      '--template-source <file>',
      "text: the original file the template reads its texts from (ToolBench's toolbench/utils.py for toolllama, FastChat's fastchat/conversation.py for vicuna)",
    )

    .option('--prices <file>', 'JSON price table overriding the built-in USD prices per 1M tokens');
}

/** A numeric flag (an integer when `integer`), at least `min`; one-line InputError otherwise. */
export function parseNumberFlag(
  flag: string,
  value: string | undefined,
  options: { integer: boolean; min: number },
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  const ok =
    value.trim() !== '' &&
    Number.isFinite(number) &&
    number >= options.min &&
    (!options.integer || Number.isInteger(number));
  if (!ok) {
    const what = options.integer
      ? options.min > 0
        ? 'a positive integer'
        : 'a non-negative integer'
      : 'a positive number';
    throw new InputError(`${flag}: expected ${what}, got "${value}"`);
  }
  return number;
}

/** A positive (or, with min 0, non-negative) integer flag; one-line InputError otherwise. */
export function parseIntegerFlag(flag: string, value: string | undefined, min = 1): number | undefined {
  return parseNumberFlag(flag, value, { integer: true, min });
}

/** `--temperature`: a number from 0 to 2; one-line InputError otherwise. */
export function parseTemperatureFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0 || number > 2) {
    throw new InputError(`--temperature: expected a number from 0 to 2, got "${value}"`);
  }
  return number;
}

/** A fraction in (0, 1] (e.g. `--threshold`); one-line InputError otherwise. */
export function parseFractionFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !(number > 0 && number <= 1)) {
    throw new InputError(`${flag}: expected a number in (0, 1], got "${value}"`);
  }
  return number;
}

export interface ResolvedModelOptions {
  /** The model spec from --model, else the config's `model`. */
  spec: string;
  options: ModelOptions;
  /** Price table file (from --prices or the config), for the cost ledger. */
  pricesFile?: string;
}

/** Merges the flags over the config file. Throws a one-line InputError for a bad value or no model at all. */
export function modelOptionsFrom(
  flags: ModelFlagValues,
  config: ToolalpacaConfig = {},
): ResolvedModelOptions {
  const spec = flags.model ?? config.model;
  if (spec === undefined || spec.trim() === '') {
    throw new InputError(
      `no model given: pass --model SPEC (${MODEL_SPEC_HELP}) or set "model" in toolalpaca.config.json`,
    );
  }
  const timeoutSeconds = parseNumberFlag('--timeout', flags.timeout, {
    integer: false,
    min: Number.MIN_VALUE,
  });
  const entries: ModelOptions = {
    timeoutMs: timeoutSeconds !== undefined ? Math.round(timeoutSeconds * 1000) : config.timeoutMs,
    maxRetries:
      parseNumberFlag('--max-retries', flags.maxRetries, { integer: true, min: 0 }) ?? config.maxRetries,
    concurrency:
      parseNumberFlag('--concurrency', flags.concurrency, { integer: true, min: 1 }) ?? config.concurrency,
    requestsPerMinute:
      parseNumberFlag('--rpm', flags.rpm, { integer: true, min: 1 }) ?? config.requestsPerMinute,
    tokensPerMinute: parseNumberFlag('--tpm', flags.tpm, { integer: true, min: 1 }) ?? config.tokensPerMinute,
    cacheDir: flags.cacheDir ?? config.cacheDir,
    noCache: flags.cache === false || config.cache === false ? true : undefined,
    sharedCache: flags.sharedCache,
    sharedRateLimits: flags.sharedRateLimits,
    openai: defined({ baseUrl: flags.baseUrl ?? config.baseUrl }),
    llama: defined({
      threads:
        flags.threads === 'auto'
          ? undefined
          : (parseNumberFlag('--threads', flags.threads, { integer: true, min: 1 }) ?? config.threads),
      lora: flags.lora ?? config.lora,
      contextSize: config.contextSize,
      sequences: config.sequences,
      modelsDir: config.modelsDir,
    }),
    text: defined({ template: flags.template, templateSource: flags.templateSource }),
  };
  const options = defined(entries) ?? {};
  const pricesFile = flags.prices ?? config.prices;
  return pricesFile !== undefined
    ? { spec: spec.trim(), options, pricesFile }
    : { spec: spec.trim(), options };
}

/** `record` without its undefined members, or undefined when none is left (so library defaults apply). */
function defined<T extends object>(record: T): T | undefined {
  const entries = Object.entries(record).filter(([, value]) => value !== undefined);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as T);
}

/**
 * Draws a model download's progress on `stream`: one updating line on a terminal, a plain line every
 * 10% when piped. Returns the callback for `ModelOptions.onDownloadProgress`.
 */
export function downloadProgressPrinter(
  stream: { write(text: string): unknown; isTTY?: boolean } = process.stderr,
): (progress: { downloadedBytes: number; totalBytes: number }) => void {
  let lastDecile = -1;
  let done = false;
  const mb = (bytes: number): string => (bytes / 1_048_576).toFixed(1);
  return ({ downloadedBytes, totalBytes }) => {
    if (done) return;
    const fraction = totalBytes > 0 ? Math.min(1, downloadedBytes / totalBytes) : 0;
    const text = `downloading model: ${mb(downloadedBytes)}/${totalBytes > 0 ? mb(totalBytes) : '?'} MB (${Math.floor(fraction * 100)}%)`;
    const finished = totalBytes > 0 && downloadedBytes >= totalBytes;
    if (stream.isTTY === true) {
      const width = 30;
      const filled = Math.round(fraction * width);
      stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}${finished ? '\n' : ''}`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${text}\n`);
      }
    }
    done = finished;
  };
}
