/**
 * Structured (JSON) replies: lenient extraction of JSON from a model's text, validation against a
 * JSON Schema (ajv), and `chatJson`, which re-asks the model with the validation errors a bounded
 * number of times.
 */
import { tryCompile, type JsonSchema } from '../core/json-schema.js';
import { oneLine } from '../core/errors.js';
import { extractJson } from '../core/json-text.js';
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResponse } from './chat-model.js';
import { ModelCallError } from './model-errors.js';

export type JsonCheck = { ok: true; value: unknown } | { ok: false; error: string };

/** Checks that `text` holds JSON valid for `schema`; the error is one line listing what is wrong. */
export function checkJsonReply(text: string, schema: JsonSchema): JsonCheck {
  const parsed = extractJson(text);
  if (parsed === undefined) return { ok: false, error: 'the reply is not valid JSON' };
  const validate = tryCompile(schema);
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
