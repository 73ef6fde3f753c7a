/**
 * Structured (JSON) replies: lenient extraction of JSON from a model's text, validation against a
 * JSON Schema (ajv), and `chatJson`, which re-asks the model with the validation errors a bounded
 * number of times.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '../core/tool.js';
import { oneLine } from '../core/errors.js';
import { extractJson } from '../core/json-text.js';
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResponse } from './chat-model.js';
import { ModelCallError } from './model-errors.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

let draft7: Ajv | undefined;
let draft2020: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction | Error>();

/** Draft 2019-09/2020-12 schemas (by `$schema`) get Ajv2020; everything else draft-07 rules. */
function ajvFor(schema: JsonSchema): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (/2020-12|2019-09/.test(dialect)) {
    draft2020 ??= addFormats(new Ajv2020({ strict: false, allErrors: true, validateSchema: false }));
    return draft2020;
  }
  draft7 ??= addFormats(new Ajv({ strict: false, allErrors: true, validateSchema: false }));
  return draft7;
}

/** A cached ajv validator for `schema` (schemas are compared by identity). */
function validatorFor(schema: JsonSchema): ValidateFunction | Error {
  let entry = compiled.get(schema);
  if (entry === undefined) {
    try {
      entry = ajvFor(schema).compile(schema);
    } catch (error) {
      entry = error instanceof Error ? error : new Error(String(error));
    }
    compiled.set(schema, entry);
  }
  return entry;
}

export type JsonCheck = { ok: true; value: unknown } | { ok: false; error: string };

/** Checks that `text` holds JSON valid for `schema`; the error is one line listing what is wrong. */
export function checkJsonReply(text: string, schema: JsonSchema): JsonCheck {
  const parsed = extractJson(text);
  if (parsed === undefined) return { ok: false, error: 'the reply is not valid JSON' };
  const validate = validatorFor(schema);
  if (validate instanceof Error) {
    return { ok: false, error: `the JSON Schema cannot be compiled: ${oneLine(validate.message, 200)}` };
  }
  if (validate(parsed.value)) return { ok: true, value: parsed.value };
  const problems = (validate.errors ?? [])
    .slice(0, 8)
    .map((e) => `${e.instancePath === '' ? '(root)' : e.instancePath} ${e.message ?? 'is invalid'}`);
  return { ok: false, error: oneLine(`the JSON does not match the schema: ${problems.join('; ')}`, 600) };
}

export interface ChatJsonOptions extends ChatCallOptions {
  /** How many times to ask again after an invalid reply (default 2, so at most 3 calls). */
  maxReasks?: number;
  /** Schema name sent to backends that support constrained output. */
  name?: string;
}

export interface ChatJsonResult<T> {
  value: T;
  /** The response whose text validated. */
  response: ChatResponse;
  /** Number of re-asks it took (0 when the first reply was valid). */
  reasks: number;
}

/**
 * Asks for a reply matching `schema` (sent as `jsonSchema`, so constrained backends comply), validates it,
 * and re-asks with the validation errors up to `maxReasks` times. Throws ModelCallError kind
 * 'bad_response' when every reply is invalid.
 */
export async function chatJson<T = unknown>(
  model: ChatModel,
  request: ChatRequest,
  schema: JsonSchema,
  options: ChatJsonOptions = {},
): Promise<ChatJsonResult<T>> {
  const { maxReasks = 2, name, ...callOptions } = options;
  const messages = [...request.messages];
  let lastError = '';
  for (let reasks = 0; reasks <= maxReasks; reasks++) {
    const response = await model.chat(
      {
        ...request,
        messages: [...messages],
        jsonSchema: { ...(name !== undefined ? { name } : {}), ...request.jsonSchema, schema },
      },
      callOptions,
    );
    const check = checkJsonReply(response.text, schema);
    if (check.ok) return { value: check.value as T, response: { ...response, json: check.value }, reasks };
    lastError = check.error;
    messages.push(
      { role: 'assistant', content: response.text },
      {
        role: 'user',
        content: `Your reply could not be used: ${check.error}. Reply again with only a JSON value that matches the schema, no other text.`,
      },
    );
  }
  throw new ModelCallError(
    `${model.id} did not return valid JSON after ${maxReasks + 1} attempt${maxReasks === 0 ? '' : 's'}: ${lastError}`,
    { kind: 'bad_response' },
  );
}
