/**
 * Conversation templates for checkpoints served without a chat template (`text:MODEL` on a completions
 * endpoint): how a conversation becomes one prompt, and how the continuation is read back.
 *
 * A template is structure only (role labels, separators, stop strings, the tool-call text format) and
 * is written here as data. Prose a checkpoint was trained with (a default system message, sentences its
 * trainers added to the system message) is never part of it: it comes from the conversation itself, or
 * is read at run time from the original file (`sources.ts`), named by `defaultSystem` / `functionsInSystem`.
 *
 * Built-in templates (which checkpoint each reproduces, and what is not verified offline: docs/models.md):
 * - `toolllama`: ToolBench's `tool-llama-single-round` as its vLLM completions client renders it
 *   (StableToolBench's `tool_llama_vllm_model.py`): `Role: content\n` per message with the roles System,
 *   User, Function, Assistant, then `Assistant:\n`; the system message processed as ToolBench's
 *   `process_system_message` does (texts read from `toolbench/utils.py`); replies in ReAct form
 *   (`Thought:` / `Action:` / `Action Input:`), stop `</s>`.
 * - `vicuna`: FastChat's `vicuna_v1.1` (`SeparatorStyle.ADD_COLON_TWO`): the system message, a space,
 *   then `USER: text ` and `ASSISTANT: text</s>` turns, and `ASSISTANT:` to reply; the default system
 *   message is read from FastChat's `fastchat/conversation.py` when the conversation has none.
 * - `toolalpaca`: ToolAlpaca's released 7B/13B models were trained and evaluated on raw text (LangChain's
 *   zero-shot agent prompt, continued after `ASSISTANT Thought:`; build_dataset.py and
 *   instance_generation/generation.py): the messages' texts concatenated, nothing added.
 */
import { readFile } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../../core/errors.js';

export type TemplateRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ConversationTemplate {
  name: string;
  /** The label written before each role's text ('' for none). */
  roles: Record<TemplateRole, string>;
  /** Between a label and the text, e.g. ": " (not written when the label is ''). */
  labelSeparator: string;
  /** Written after each role's text, e.g. "\n", or FastChat's " " and "</s>". */
  messageEnd: Record<TemplateRole, string>;
  /**
   * `turn`: the system message is a turn like the others (its label, separator, text, end); `prefix`:
   * FastChat's style, the system text alone followed by `messageEnd.system`, always present (empty
   * when there is none).
   */
  system: 'turn' | 'prefix';
  /** Opens the reply: the prompt ends with it and the model continues, e.g. "ASSISTANT:". */
  replyPrefix: string;
  /** Stop strings sent with every request (the request's own are added). */
  stop: string[];
  /**
   * How tool calls are written in assistant turns and read from the continuation: `react` (`Thought:`,
   * `Action:`, `Action Input:` lines) or `none` (the template carries no calls: requests with tools are
   * refused; a ReAct layout in the prompt text still works).
   */
  toolCalls: 'react' | 'none';
  /** Trim the continuation (ToolBench strips its predictions). */
  trimReply: boolean;
  /**
   * The system message used when the conversation has none: a text of the user's own (`text`), or the
   * default of a FastChat template, read from FastChat's conversation.py (`fastchat`: its name).
   */
  defaultSystem?: { text: string } | { fastchat: string };
  /**
   * `toolbench`: for requests with tools, the system message is processed as ToolBench's
   * `process_system_message` does (its texts read from toolbench/utils.py): the ReAct format note inserted
   * after its anchor sentence, then the functions appended as Python prints them.
   */
  functionsInSystem?: 'toolbench';
}

const LINE = { system: '\n', user: '\n', assistant: '\n', tool: '\n' };
const NOTHING = { system: '', user: '', assistant: '', tool: '' };

export const BUILTIN_TEMPLATES: Readonly<Record<string, ConversationTemplate>> = Object.freeze({
  toolllama: {
    name: 'toolllama',
    roles: { system: 'System', user: 'User', assistant: 'Assistant', tool: 'Function' },
    labelSeparator: ': ',
    messageEnd: LINE,
    system: 'turn',
    replyPrefix: 'Assistant:\n',
    stop: ['</s>'],
    toolCalls: 'react',
    trimReply: false,
    functionsInSystem: 'toolbench',
  },
  vicuna: {
    name: 'vicuna',
    // FastChat's vicuna_v1.1 has two roles; tool results are given as user turns.
    roles: { system: '', user: 'USER', assistant: 'ASSISTANT', tool: 'USER' },
    labelSeparator: ': ',
    messageEnd: { system: ' ', user: ' ', assistant: '</s>', tool: ' ' },
    system: 'prefix',
    replyPrefix: 'ASSISTANT:',
    stop: ['</s>'],
    toolCalls: 'none',
    trimReply: true,
    defaultSystem: { fastchat: 'vicuna_v1.1' },
  },
  toolalpaca: {
    name: 'toolalpaca',
    roles: NOTHING,
    labelSeparator: '',
    messageEnd: NOTHING,
    system: 'turn',
    replyPrefix: '',
    stop: [],
    toolCalls: 'none',
    trimReply: false,
  },
});

export const BUILTIN_TEMPLATE_NAMES: readonly string[] = Object.keys(BUILTIN_TEMPLATES);

const ROLES: readonly TemplateRole[] = ['system', 'user', 'assistant', 'tool'];

/** Checks a template read from a JSON file; one-line InputError naming the file and the field. */
export function parseTemplate(data: unknown, source: string): ConversationTemplate {
  const bad = (what: string): InputError => new InputError(oneLine(`template ${source}: ${what}`));
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw bad('not a JSON object');
  const record = data as Record<string, unknown>;
  const known = new Set([
    'name',
    'roles',
    'labelSeparator',
    'messageEnd',
    'system',
    'replyPrefix',
    'stop',
    'toolCalls',
    'trimReply',
    'defaultSystem',
    'functionsInSystem',
  ]);
  for (const key of Object.keys(record)) if (!known.has(key)) throw bad(`unknown key "${key}"`);
  const text = (value: unknown, field: string, fallback?: string): string => {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string') throw bad(`${field} must be a string`);
    return value;
  };
  const perRole = (value: unknown, field: string): Record<TemplateRole, string> => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw bad(`${field} must be an object with system, user, assistant and tool`);
    }
    const out = {} as Record<TemplateRole, string>;
    for (const role of ROLES) out[role] = text((value as Record<string, unknown>)[role], `${field}.${role}`);
    return out;
  };
  const system = record.system ?? 'turn';
  if (system !== 'turn' && system !== 'prefix') throw bad('system must be "turn" or "prefix"');
  const toolCalls = record.toolCalls ?? 'none';
  if (toolCalls !== 'react' && toolCalls !== 'none') throw bad('toolCalls must be "react" or "none"');
  const stop = record.stop ?? [];
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string' && s !== '')) {
    throw bad('stop must be an array of non-empty strings');
  }
  let defaultSystem: ConversationTemplate['defaultSystem'];
  if (record.defaultSystem !== undefined) {
    const value = record.defaultSystem as Record<string, unknown> | null;
    if (value !== null && typeof value === 'object' && typeof value.text === 'string') {
      defaultSystem = { text: value.text };
    } else if (value !== null && typeof value === 'object' && typeof value.fastchat === 'string') {
      defaultSystem = { fastchat: value.fastchat };
    } else throw bad('defaultSystem must be {"text": "..."} or {"fastchat": "TEMPLATE_NAME"}');
  }
  if (record.functionsInSystem !== undefined && record.functionsInSystem !== 'toolbench') {
    throw bad('functionsInSystem must be "toolbench"');
  }
  if (record.trimReply !== undefined && typeof record.trimReply !== 'boolean')
    throw bad('trimReply must be true or false');
  return {
    name: text(record.name, 'name'),
    roles: perRole(record.roles, 'roles'),
    labelSeparator: text(record.labelSeparator, 'labelSeparator', ''),
    messageEnd: perRole(record.messageEnd, 'messageEnd'),
    system,
    replyPrefix: text(record.replyPrefix, 'replyPrefix', ''),
    stop: stop as string[],
    toolCalls,
    trimReply: record.trimReply === true,
    ...(defaultSystem !== undefined ? { defaultSystem } : {}),
    ...(record.functionsInSystem === 'toolbench' ? { functionsInSystem: 'toolbench' as const } : {}),
  };
}

/** A built-in template by name, or a JSON template file (a path, or a name ending in .json). */
export async function loadTemplate(nameOrFile: string): Promise<ConversationTemplate> {
  const builtin = BUILTIN_TEMPLATES[nameOrFile];
  if (builtin !== undefined) return builtin;
  if (!/[/\\]|\.json$/i.test(nameOrFile)) {
    throw new InputError(
      `unknown template "${nameOrFile}": use ${BUILTIN_TEMPLATE_NAMES.join(', ')} or a JSON template file`,
    );
  }
  let raw: string;
  try {
    raw = await readFile(nameOrFile, 'utf8');
  } catch (error) {
    throw new InputError(oneLine(`cannot read template ${nameOrFile}: ${messageOf(error)}`), {
      cause: error,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    throw new InputError(oneLine(`template ${nameOrFile} is not valid JSON: ${messageOf(error)}`), {
      cause: error,
    });
  }
  return parseTemplate(data, nameOrFile);
}
