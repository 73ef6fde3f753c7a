/**
 * The `--model SPEC` syntax shared by every command, `PREFIX:REST`, parsed by the backend registered
 * under PREFIX (registry.ts). The built-in forms:
 *   openai:MODEL                 any OpenAI-compatible server (MODEL may itself contain ':' or '/')
 *   text:MODEL                   a completions endpoint fed through a conversation template (--template)
 *   llama:PATH.gguf              a local GGUF file for the embedded llama.cpp engine
 *   llama:hf:ORG/REPO:QUANT      a GGUF on the Hugging Face hub, downloaded on first use
 *   replay: or replay:SPEC       answers only from the response cache (optionally only SPEC's answers)
 */
import type { LlamaModelSpec } from './backends/llama.js';
import type { OpenAIModelSpec } from './backends/openai.js';
import type { ReplayModelSpec } from './backends/replay.js';
import type { TextModelSpec } from './backends/text.js';
import { modelBackend, modelSpecHelp, resolveModelSpec } from './registry.js';

export type { LlamaModelSpec, OpenAIModelSpec, ReplayModelSpec, TextModelSpec };

/** A spec of a backend registered from outside: its canonical form and what its `parse` returned. */
export interface RegisteredModelSpec {
  backend: 'registered';
  prefix: string;
  id: string;
  spec: object;
}

export type BuiltinModelSpec = OpenAIModelSpec | TextModelSpec | LlamaModelSpec | ReplayModelSpec;
export type ModelSpec = BuiltinModelSpec | RegisteredModelSpec;

const BUILTIN = new Set(['openai', 'text', 'llama', 'replay']);

/** The spec forms of every registered backend, for help texts and errors. */
export const MODEL_SPEC_HELP: string = modelSpecHelp();

/** Parses a spec; a one-line InputError (exit 2) naming the spec and what is wrong otherwise. */
export function parseModelSpec(spec: string): ModelSpec {
  const parsed = resolveModelSpec(spec);
  if (BUILTIN.has(parsed.backend.prefix)) return parsed.spec as BuiltinModelSpec;
  return { backend: 'registered', prefix: parsed.backend.prefix, id: parsed.id, spec: parsed.spec };
}

/** The canonical spec string (the ChatModel id) of a parsed spec. */
export function formatModelSpec(spec: ModelSpec): string {
  if (spec.backend === 'registered') return spec.id;
  const backend = modelBackend(spec.backend);
  if (backend === undefined) throw new Error(`no model backend "${spec.backend}" is registered`);
  return backend.format(spec);
}
