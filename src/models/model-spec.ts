/**
 * The `--model SPEC` syntax shared by every command:
 *   openai:MODEL                 any OpenAI-compatible server (MODEL may itself contain ':' or '/')
 *   llama:PATH.gguf              a local GGUF file for the embedded llama.cpp engine
 *   llama:hf:ORG/REPO:QUANT      a GGUF on the Hugging Face hub, downloaded on first use
 *   replay: or replay:SPEC       answers only from the response cache (optionally only SPEC's answers)
 */
import { InputError } from '../core/errors.js';

export type ModelSpec =
  | { backend: 'openai'; model: string }
  | { backend: 'llama'; path: string }
  | { backend: 'llama'; hf: { org: string; repo: string; quant: string } }
  | { backend: 'replay'; of?: string };

export const MODEL_SPEC_HELP = 'openai:MODEL, llama:PATH.gguf, llama:hf:ORG/REPO:QUANT or replay:[SPEC]';

function bad(spec: string, why: string): InputError {
  return new InputError(`bad model spec "${spec}": ${why} (expected ${MODEL_SPEC_HELP})`);
}

const HF_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function parseModelSpec(spec: string): ModelSpec {
  const text = spec.trim();
  const colon = text.indexOf(':');
  if (colon <= 0) throw bad(spec, 'no backend prefix');
  const backend = text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  switch (backend) {
    case 'openai': {
      if (rest.trim() === '') throw bad(spec, 'the model name is empty');
      if (/\s/.test(rest)) throw bad(spec, 'the model name contains spaces');
      return { backend: 'openai', model: rest };
    }
    case 'llama': {
      if (rest.startsWith('hf:')) {
        const match = /^hf:([^/:]+)\/([^/:]+):([^/:]+)$/.exec(rest);
        if (match === null)
          throw bad(
            spec,
            'a hub reference is hf:ORG/REPO:QUANT, e.g. llama:hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M',
          );
        const [, org = '', repo = '', quant = ''] = match;
        for (const part of [org, repo, quant]) {
          if (!HF_NAME.test(part)) throw bad(spec, `"${part}" is not a valid hub name`);
        }
        return { backend: 'llama', hf: { org, repo, quant } };
      }
      if (rest.trim() === '') throw bad(spec, 'the model path is empty');
      if (!/\.gguf$/i.test(rest)) throw bad(spec, 'a local model must be a .gguf file');
      return { backend: 'llama', path: rest };
    }
    case 'replay': {
      if (rest.trim() === '') return { backend: 'replay' };
      let inner: ModelSpec;
      try {
        inner = parseModelSpec(rest);
      } catch {
        throw bad(spec, `"${rest}" after replay: is not a model spec`);
      }
      if (inner.backend === 'replay') throw bad(spec, 'replay of replay');
      return { backend: 'replay', of: formatModelSpec(inner) };
    }
    default:
      throw bad(spec, `unknown backend "${text.slice(0, colon)}"`);
  }
}

/** The canonical spec string (the ChatModel id) of a parsed spec. */
export function formatModelSpec(spec: ModelSpec): string {
  switch (spec.backend) {
    case 'openai':
      return `openai:${spec.model}`;
    case 'llama':
      return 'path' in spec
        ? `llama:${spec.path}`
        : `llama:hf:${spec.hf.org}/${spec.hf.repo}:${spec.hf.quant}`;
    case 'replay':
      return spec.of === undefined ? 'replay:' : `replay:${spec.of}`;
  }
}
