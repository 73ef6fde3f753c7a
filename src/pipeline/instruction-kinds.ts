/**
 * Instructions of a given instance kind (`instructions --kinds`): one generation request per kind, in
 * this project's own words, and the parsing of its reply into instructions with what the kind needs
 * (the left-out argument of a missing-info request, the follow-up of a multi-turn one).
 *
 * Without `--kinds` none of this is used: the instruction prompt is ToolAlpaca's mix (requests over one
 * or more of the tool's functions, i.e. single and multi-step), and no kind is recorded.
 */
import { InputError } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';
import type { JsonSchema, Tool } from '../core/tool.js';
import {
  INSTANCE_KINDS,
  type InstanceKind,
  type InstructionKindSpec,
  type ToolAlpacaRecord,
} from '../core/toolalpaca-record.js';
import { checkJsonReply } from '../models/structured.js';
import { apiBlockLines, avoidLines } from './request-prompt-parts.js';

/** What each kind's requests must be (the rule that sets the kind apart), as the prompt states it. */
const KIND_TASK: Record<InstanceKind, string> = {
  single:
    'Each request is answered by exactly one call of one function of the API, and states every value that call needs.',
  'multi-step':
    'Each request needs two or more calls made one after the other, where a later call uses something an earlier call returned (for instance: find an item, then ask for the details of what was found using its identifier).',
  parallel:
    "Each request asks for two or more things that can be fetched independently: calls that do not need one another's results (for instance the same function for three different cities, or two different functions about the same thing). Say plainly every part that is wanted.",
  irrelevance:
    "Each request is something a person could plausibly ask an assistant that has this API, preferably on the API's own topic, but which none of the API's functions can do, not even in part. The right reply to it is that the assistant cannot do this with its tools.",
  'missing-info':
    'Each request could be done with the API, except that one value a function requires is left out of it (for instance a booking without the date, a conversion without the amount), so that the assistant has to ask the person for it. For each request, name the function, the left-out argument as the function calls it, and a realistic value the person would give when asked.',
  'multi-turn':
    'Each item is a first request the API can fulfil and a follow-up the same person asks after getting the answer: a natural next question that needs another call (more detail about one result, the same for another date or place, a next action on what was found). The follow-up may refer back to the first request ("that one", "the second hotel").',
};

/** The reply shape each kind asks for. */
function itemExample(kind: InstanceKind): string {
  if (kind === 'missing-info')
    return '{"request": "...", "function": "functionName", "argument": "argumentName", "value": "the value the person gives when asked"}';
  if (kind === 'multi-turn') return '{"request": "...", "followUp": "..."}';
  return '"..."';
}

const STRING_ITEMS: JsonSchema = {
  type: 'object',
  properties: { instructions: { type: 'array', items: { type: 'string' } } },
  required: ['instructions'],
  additionalProperties: false,
};

const MISSING_ITEMS: JsonSchema = {
  type: 'object',
  properties: {
    instructions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          request: { type: 'string' },
          function: { type: 'string' },
          argument: { type: 'string' },
          value: { type: 'string' },
        },
        required: ['request', 'function', 'argument', 'value'],
        additionalProperties: false,
      },
    },
  },
  required: ['instructions'],
  additionalProperties: false,
};

const FOLLOW_UP_ITEMS: JsonSchema = {
  type: 'object',
  properties: {
    instructions: {
      type: 'array',
      items: {
        type: 'object',
        properties: { request: { type: 'string' }, followUp: { type: 'string' } },
        required: ['request', 'followUp'],
        additionalProperties: false,
      },
    },
  },
  required: ['instructions'],
  additionalProperties: false,
};

/** The JSON Schema of a kind's reply (sent to backends that constrain output). */
export function kindReplySchema(kind: InstanceKind): JsonSchema {
  if (kind === 'missing-info') return MISSING_ITEMS;
  if (kind === 'multi-turn') return FOLLOW_UP_ITEMS;
  return STRING_ITEMS;
}

/**
 * `a,b,…` read into kinds (in the order given, repeats dropped); one line naming a bad one, prefixed with
 * `label` (the CLI passes its flag).
 */
export function parseKinds(text: string, label = 'kinds'): InstanceKind[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new InputError(`${label}: give one or more of ${INSTANCE_KINDS.join(', ')}`);
  const out: InstanceKind[] = [];
  for (const name of names) {
    if (!(INSTANCE_KINDS as readonly string[]).includes(name)) {
      throw new InputError(`${label}: unknown kind "${name}"; expected one of ${INSTANCE_KINDS.join(', ')}`);
    }
    if (!out.includes(name as InstanceKind)) out.push(name as InstanceKind);
  }
  return out;
}

/** How many of `count` new instructions go to each kind: an even split, earlier kinds take the rest. */
export function kindQuotas(kinds: readonly InstanceKind[], count: number): Map<InstanceKind, number> {
  const quotas = new Map<InstanceKind, number>();
  const base = Math.floor(Math.max(0, count) / Math.max(1, kinds.length));
  let rest = Math.max(0, count) - base * kinds.length;
  for (const kind of kinds) {
    quotas.set(kind, base + (rest > 0 ? 1 : 0));
    rest--;
  }
  return quotas;
}

/** The request for `count` instructions of one kind for one tool. */
export function kindInstructionPrompt(
  record: ToolAlpacaRecord,
  kind: InstanceKind,
  count: number,
  avoid: readonly string[] = [],
): string {
  const lines = [
    'You are helping to build a dataset of realistic requests that people make to a digital assistant which can call web APIs.',
    `Write ${count} different requests of the kind "${kind}" for the API below.`,
    '',
    `What makes a request of this kind: ${KIND_TASK[kind]}`,
    '',
    'Also:',
    '1. Each request is one or two sentences long, written as a real person would write it; vary questions, statements and commands.',
    "2. Never mention the API's name or its function names.",
    '3. Use concrete details (real places, names, titles, dates, amounts, identifiers), never placeholders such as "a city" or "[name]".',
    '4. Cover different functions and everyday situations.',
    '',
    ...apiBlockLines(record),
    ...avoidLines(avoid),
  ];
  lines.push(
    '',
    `Answer with JSON only: {"kind": "${kind}", "instructions": [${itemExample(kind)}, ...]} holding exactly ${count} items.`,
  );
  return lines.join('\n');
}

export interface KindCandidate {
  instruction: string;
  spec: InstructionKindSpec;
}

/** Why a candidate was refused (for the counts). */
export type KindRejection = 'malformed' | 'unknown-function' | 'unknown-argument';

/** The names a missing-info item may use: the function's arguments (its input schema's properties). */
function argumentsOf(tool: Tool, name: string): string[] | undefined {
  const fn = tool.functions.find((f) => f.name === name);
  if (fn === undefined) return undefined;
  const properties = (fn.inputSchema as { properties?: unknown }).properties;
  return isRecord(properties) ? Object.keys(properties) : [];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * The instructions of a kind's reply. Items that lack what the kind needs are counted as rejected;
 * with `tool`, a missing-info item must name one of its functions and one of that function's arguments.
 * A reply that is not the asked JSON gives no candidate (the caller asks again).
 */
export function parseKindReply(
  reply: string,
  kind: InstanceKind,
  tool?: Tool,
): { candidates: KindCandidate[]; rejected: Partial<Record<KindRejection, number>> } {
  const candidates: KindCandidate[] = [];
  const rejected: Partial<Record<KindRejection, number>> = {};
  const reject = (why: KindRejection): void => {
    rejected[why] = (rejected[why] ?? 0) + 1;
  };
  const json = checkJsonReply(reply, {
    type: 'object',
    properties: { instructions: { type: 'array' } },
    required: ['instructions'],
  });
  if (!json.ok) return { candidates, rejected };
  for (const item of (json.value as { instructions: unknown[] }).instructions) {
    const request = typeof item === 'string' ? item.trim() : isRecord(item) ? text(item.request) : '';
    if (request === '') {
      reject('malformed');
      continue;
    }
    if (kind === 'multi-turn') {
      const followUp = isRecord(item) ? text(item.followUp ?? item.follow_up) : '';
      if (followUp === '') reject('malformed');
      else candidates.push({ instruction: request, spec: { kind, followUp } });
      continue;
    }
    if (kind === 'missing-info') {
      const argument = isRecord(item) ? text(item.argument) : '';
      const fn = isRecord(item) ? text(item.function) : '';
      const value = isRecord(item) ? text(item.value) : '';
      if (argument === '') {
        reject('malformed');
        continue;
      }
      if (tool !== undefined && fn !== '') {
        const names = argumentsOf(tool, fn);
        if (names === undefined) {
          reject('unknown-function');
          continue;
        }
        if (!names.includes(argument)) {
          reject('unknown-argument');
          continue;
        }
      }
      candidates.push({
        instruction: request,
        spec: {
          kind,
          missing: { ...(fn !== '' ? { function: fn } : {}), argument, ...(value !== '' ? { value } : {}) },
        },
      });
      continue;
    }
    candidates.push({ instruction: request, spec: { kind } });
  }
  return { candidates, rejected };
}
