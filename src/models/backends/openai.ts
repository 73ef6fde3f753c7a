/** `openai:MODEL`: any OpenAI-compatible chat-completions server. */
import { createOpenAIChatModel } from '../openai-compatible/openai-model.js';
import type { OpenAIBackendOptions } from '../options.js';
import type { ModelBackend } from '../registry.js';

export interface OpenAIModelSpec {
  backend: 'openai';
  /** The model name the server knows (may itself contain ':' or '/'). */
  model: string;
}

/** Checks a server-side model name (shared by `openai:` and `text:`). */
export function parseServerModelName(rest: string): string {
  if (rest.trim() === '') throw new Error('the model name is empty');
  if (/\s/.test(rest)) throw new Error('the model name contains spaces');
  return rest;
}

export const openaiBackend: ModelBackend<OpenAIModelSpec, OpenAIBackendOptions> = {
  prefix: 'openai',
  syntax: ['openai:MODEL'],
  kind: 'remote',
  parse: (rest) => ({ backend: 'openai', model: parseServerModelName(rest) }),
  format: (spec) => `openai:${spec.model}`,
  create: (spec, { options, common }) =>
    Promise.resolve(
      createOpenAIChatModel({
        model: spec.model,
        ...options,
        ...(common.maxReplyBytes !== undefined ? { maxReplyBytes: common.maxReplyBytes } : {}),
      }),
    ),
};
