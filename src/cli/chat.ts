/**
 * `toolalpaca chat MESSAGE`: one request to any backend, a quick check that a model spec, server, key
 * and cache work. Prints the reply (or, with --json, `{text, toolCalls, usage, latencyMs, cached}`) and
 * the cost ledger on stderr.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { JsonSchema } from '../core/tool.js';
import type { ChatMessage, ChatRequest } from '../models/chat-model.js';
import { loadConfig } from '../models/config.js';
import { createChatModel } from '../models/create-model.js';
import { CostLedger } from '../models/ledger.js';
import { loadPriceTable } from '../models/prices.js';
import { ADD_PRICE_HINT } from './flag-wording.js';
import {
  addModelOptions,
  downloadProgressPrinter,
  modelOptionsFrom,
  type ModelFlagValues,
  parseIntegerFlag,
  parseTemperatureFlag,
} from './model-options.js';

export interface ChatCommandFlags extends ModelFlagValues {
  system?: string;
  jsonSchema?: string;
  temperature?: string;
  maxTokens?: string;
  json?: boolean;
}

export interface ChatCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /** Folder holding toolalpaca.config.json (default: the working directory). */
  cwd?: string;
  /** Text read for MESSAGE "-" (default: process stdin). */
  readStdin?: () => Promise<string>;
  signal?: AbortSignal;
}

async function readSchemaFile(file: string): Promise<JsonSchema> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(oneLine(`cannot read JSON Schema ${file}: ${messageOf(error)}`), { cause: error });
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new InputError(oneLine(`JSON Schema ${file} is not valid JSON: ${messageOf(error)}`), {
      cause: error,
    });
  }
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new InputError(`JSON Schema ${file} must be a JSON object`);
  }
  return schema as JsonSchema;
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The `chat` action, callable without commander (tests, scripts). */
export async function runChatCommand(
  message: string,
  flags: ChatCommandFlags,
  io: ChatCommandIo,
): Promise<void> {
  const content = message === '-' ? (await (io.readStdin ?? readAllStdin)()).trim() : message;
  if (content.trim() === '') throw new InputError('MESSAGE is empty');
  const temperature = parseTemperatureFlag(flags.temperature);
  const maxTokens = parseIntegerFlag('--max-tokens', flags.maxTokens);
  const schema = flags.jsonSchema !== undefined ? await readSchemaFile(flags.jsonSchema) : undefined;
  const config = await loadConfig(io.cwd);
  const resolved = modelOptionsFrom(flags, config);
  const ledger = new CostLedger({ prices: await loadPriceTable(resolved.pricesFile) });

  const messages: ChatMessage[] = [];
  if (flags.system !== undefined) messages.push({ role: 'system', content: flags.system });
  messages.push({ role: 'user', content });
  const request: ChatRequest = {
    messages,
    ...(temperature !== undefined ? { temperature } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(schema !== undefined ? { jsonSchema: { name: 'response', schema } } : {}),
  };

  // A quick check of a live server: the cache answers only when asked to (--cache).
  const model = await createChatModel(resolved.spec, {
    ...resolved.options,
    noCache: flags.cache !== true,
    ledger,
    onDownloadProgress: downloadProgressPrinter(io.stderr),
  });
  try {
    const response = await model.chat(request, {
      stage: 'chat',
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
    });
    if (flags.json === true) {
      const out: Record<string, unknown> = {
        text: response.text,
        toolCalls: response.toolCalls,
        usage: response.usage,
        latencyMs: Math.round(response.latencyMs * 1000) / 1000,
        cached: response.cached,
      };
      if (schema !== undefined) out.json = response.json ?? null;
      io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      let text = response.text;
      for (const call of response.toolCalls)
        text += `${text === '' ? '' : '\n'}tool call: ${call.name}(${call.arguments})`;
      io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
    if (schema !== undefined && response.json === undefined) {
      io.stderr.write('warning: the reply does not match the JSON Schema\n');
    }
  } finally {
    await model.close();
    io.stderr.write(ledger.format({ addPrice: ADD_PRICE_HINT }));
  }
}

export function registerChatCommand(program: Command): void {
  const command = program
    .command('chat')
    .description('Send one message to a model and print the reply: a quick check of any backend.')
    .argument('<message>', 'the user message ("-" reads it from stdin)')
    .option('--system <text>', 'system prompt')
    .option('--json-schema <file>', 'JSON Schema file the reply must match')
    .option('--temperature <t>', "sampling temperature (0 to 2; default the server's)")
    .option('--max-tokens <n>', "longest reply in tokens (default the server's)")
    .option('--json', 'print {text, toolCalls, usage, latencyMs, cached} as JSON');
  addModelOptions(command, { cacheOptIn: true });
  command
    .addHelpText(
      'after',
      `
Examples:
  toolalpaca chat --model openai:gpt-4o-mini "Say hello"
  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 toolalpaca chat --model openai:local --json "2+2?"
  toolalpaca chat --model llama:./models/qwen.gguf --threads 2 --json-schema answer.schema.json "Name a colour"

The reply always comes from the model itself unless --cache is given (then a cached answer may be
shown, and the reply is stored). The cost ledger (tokens and USD per model) is printed on stderr.
`,
    )
    .action(async (message: string, flags: ChatCommandFlags) => {
      await runChatCommand(message, flags, { stdout: process.stdout, stderr: process.stderr });
    });
}
