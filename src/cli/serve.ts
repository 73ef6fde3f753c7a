/**
 * `toolalpaca serve`: the virtual API server. Every tool of a ToolAlpaca JSON file or OpenAPI spec is
 * served over HTTP, its calls answered by the chosen executor (schema: offline fake data; simulated: a
 * language model plays the API; replay: recorded observations; real: the real API). Stops cleanly on
 * SIGTERM or SIGINT, letting requests in flight finish.
 */
import { Option, type Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import { createExecutor, type CreateExecutorOptions } from '../executors/create-executor.js';
import type { ToolExecutor } from '../executors/executor.js';
import { loadReplayRecords } from '../executors/replay-executor.js';
import { createToolServer, DEFAULT_BODY_LIMIT, type ToolServer } from '../serve/index.js';
import { readToolSource, toolsOfSource } from '../formats/toolalpaca-json.js';
import { loadConfig } from '../models/config.js';
import { MODEL_SPEC_HELP, parseModelSpec } from '../models/model-spec.js';
import { modelOptionsFrom, type ModelFlagValues } from './model-options.js';

export const SERVE_EXECUTORS = ['schema', 'simulated', 'replay', 'real'] as const;
export type ServeExecutorKind = (typeof SERVE_EXECUTORS)[number];

/** Flag values as commander hands them over. */
export interface ServeFlags extends Omit<ModelFlagValues, 'model' | 'baseUrl'> {
  tools: string[];
  executor: ServeExecutorKind;
  executorModel?: string;
  executorBaseUrl?: string;
  replay?: string;
  secrets?: string;
  baseUrl?: string;
  port: string;
  host: string;
  publicUrl?: string;
  bodyLimit?: string;
  quiet?: boolean;
}

export interface ServeIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Folder holding toolalpaca.config.json (default: the working directory). */
  cwd?: string;
}

export interface RunningServe {
  server: ToolServer;
  executor: ToolExecutor;
  tools: Tool[];
  /** Close the server (in-flight requests finish first), then the executor. Idempotent. */
  stop(): Promise<void>;
}

function parseIntegerFlag(flag: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < min || number > max) {
    throw new InputError(`${flag}: expected an integer from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

async function loadServeTools(files: readonly string[], stderr: ServeIo['stderr']): Promise<Tool[]> {
  const tools: Tool[] = [];
  for (const file of files) {
    for (const entry of await toolsOfSource(await readToolSource(file))) {
      if (entry.tool === undefined) {
        stderr.write(
          `toolalpaca: skipping tool "${entry.name}" of ${entry.source}: ${entry.error ?? 'unreadable'}\n`,
        );
      } else {
        tools.push(entry.tool);
      }
    }
  }
  if (tools.length === 0) throw new InputError(`no servable tool in ${files.join(', ')}`);
  return tools;
}

async function executorOptions(flags: ServeFlags, cwd: string | undefined): Promise<CreateExecutorOptions> {
  switch (flags.executor) {
    case 'schema':
      return {};
    case 'replay': {
      if (flags.replay === undefined) {
        throw new InputError('--executor replay needs --replay FILE (JSONL of recorded observations)');
      }
      return { replay: { records: await loadReplayRecords(flags.replay) } };
    }
    case 'real':
      return {
        real: {
          ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
          ...(flags.secrets !== undefined ? { secretsFile: flags.secrets } : {}),
        },
      };
    case 'simulated': {
      const config = await loadConfig(cwd);
      const { executorModel, executorBaseUrl, ...rest } = flags;
      const model = executorModel ?? config.stageModels?.executor;
      if (model === undefined && config.model === undefined) {
        throw new InputError(`--executor simulated needs --executor-model SPEC (${MODEL_SPEC_HELP})`);
      }
      const resolved = modelOptionsFrom(
        {
          ...rest,
          ...(model !== undefined ? { model } : {}),
          ...(executorBaseUrl !== undefined ? { baseUrl: executorBaseUrl } : {}),
        },
        config,
      );
      parseModelSpec(resolved.spec); // a bad spec fails now, not on the first request
      return { simulated: { modelSpec: resolved.spec, modelOptions: resolved.options } };
    }
  }
}

/** Read the tools, build the executor and start listening; prints the ready line on stdout. */
export async function startServe(flags: ServeFlags, io: ServeIo): Promise<RunningServe> {
  if (!(SERVE_EXECUTORS as readonly string[]).includes(flags.executor)) {
    throw new InputError(
      `--executor: expected one of ${SERVE_EXECUTORS.join(', ')}, got "${flags.executor}"`,
    );
  }
  const port = parseIntegerFlag('--port', flags.port, 0, 65535);
  const bodyLimit =
    flags.bodyLimit !== undefined
      ? parseIntegerFlag('--body-limit', flags.bodyLimit, 1, 2 ** 31 - 1)
      : DEFAULT_BODY_LIMIT;
  if (flags.tools.length === 0) throw new InputError('--tools FILE is required');
  const tools = await loadServeTools(flags.tools, io.stderr);
  const executor = await createExecutor(flags.executor, await executorOptions(flags, io.cwd));
  let server: ToolServer;
  try {
    server = await createToolServer(tools, executor, {
      host: flags.host,
      port,
      bodyLimit,
      ...(flags.publicUrl !== undefined ? { publicUrl: flags.publicUrl } : {}),
      ...(flags.quiet === true ? {} : { log: (line: string) => void io.stderr.write(`${line}\n`) }),
    });
  } catch (error) {
    await executor.close?.();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new InputError(`cannot listen on ${flags.host}:${port}: ${code}`, { cause: error });
    }
    throw error;
  }
  io.stdout.write(`serving ${tools.length} tools at ${server.url}\n`);
  let stopping: Promise<void> | undefined;
  return {
    server,
    executor,
    tools,
    stop() {
      stopping ??= (async () => {
        await server.close();
        await executor.close?.();
      })();
      return stopping;
    },
  };
}

/** Resolves after SIGTERM or SIGINT once the server is closed. */
function untilSignal(running: RunningServe, stderr: ServeIo['stderr']): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      stderr.write(`toolalpaca: ${signal}: closing the server\n`);
      running.stop().then(resolve, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve every tool as a virtual HTTP API under /{tool}/, answered by an executor; also /{tool}/openapi.json, /{tool}/.well-known/ai-plugin.json and /healthz.',
    )
    .requiredOption(
      '--tools <file>',
      'ToolAlpaca JSON file, OpenAPI spec or folder of specs (repeatable)',
      collect,
    )
    .addOption(
      new Option('--executor <kind>', 'who answers the calls')
        .choices([...SERVE_EXECUTORS])
        .default('schema'),
    )
    .option('--executor-model <spec>', `simulated: the model playing the API (${MODEL_SPEC_HELP})`)
    .option('--executor-base-url <url>', 'simulated: OpenAI-compatible server URL ending in /v1')
    .option('--replay <file>', 'replay: JSONL of recorded observations')
    .option('--secrets <file>', 'real: JSON secrets file keyed by tool name')
    .option('--base-url <url>', "real: call this URL instead of the tool's server")
    .option('--port <port>', 'port to listen on (0: any free port)', '8000')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option(
      '--public-url <url>',
      'base URL written into openapi.json and ai-plugin.json (default: the listen URL)',
    )
    .option('--body-limit <bytes>', `largest request body accepted (default ${DEFAULT_BODY_LIMIT})`)
    .option('--quiet', 'no per-request log lines on stderr')
    .option('--no-cache', 'simulated: neither read nor write the model response cache')
    .option('--cache-dir <dir>', 'simulated: model response cache folder (default .toolalpaca-cache)')
    .option('--timeout <seconds>', 'simulated: per-request model timeout in seconds (default 120)')
    .option('--max-retries <n>', 'simulated: model retries on 429, 5xx and timeouts (default 3)')
    .option('--concurrency <n>', 'simulated: model requests in flight at once')
    .option('--rpm <n>', 'simulated: model requests per minute')
    .option('--tpm <n>', 'simulated: model tokens per minute')
    .option('--threads <n>', 'simulated, llama: CPU threads')
    .option('--lora <file>', 'simulated, llama: LoRA adapter (.gguf)')
    .action(async (flags: ServeFlags) => {
      const io: ServeIo = { stdout: process.stdout, stderr: process.stderr };
      const running = await startServe(flags, io);
      await untilSignal(running, io.stderr);
    });
}
