/**
 * `llama:PATH.gguf` and `llama:hf:ORG/REPO:QUANT`: the embedded llama.cpp engine. node-llama-cpp is an
 * optional dependency, loaded only when such a model is created.
 */
import { InputError } from '../../core/errors.js';
import type { ChatModel } from '../chat-model.js';
import type { LlamaBackendOptions } from '../options.js';
import type { ModelBackend } from '../registry.js';

export type LlamaModelSpec =
  { backend: 'llama'; path: string } | { backend: 'llama'; hf: { org: string; repo: string; quant: string } };

const HF_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function parseLlama(rest: string): LlamaModelSpec {
  if (rest.startsWith('hf:')) {
    const match = /^hf:([^/:]+)\/([^/:]+):([^/:]+)$/.exec(rest);
    if (match === null) {
      throw new Error(
        'a hub reference is hf:ORG/REPO:QUANT, e.g. llama:hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M',
      );
    }
    const [, org = '', repo = '', quant = ''] = match;
    for (const part of [org, repo, quant]) {
      if (!HF_NAME.test(part)) throw new Error(`"${part}" is not a valid hub name`);
    }
    return { backend: 'llama', hf: { org, repo, quant } };
  }
  if (rest.trim() === '') throw new Error('the model path is empty');
  if (!/\.gguf$/i.test(rest)) throw new Error('a local model must be a .gguf file');
  return { backend: 'llama', path: rest };
}

/** Whether an import failed because the package itself is not installed. */
function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    error instanceof Error &&
    error.message.includes(`'${name}'`)
  );
}

/** The llama adapter module, or a one-line InputError saying how to install the engine. */
export async function loadLlamaAdapter(): Promise<typeof import('../llama-cpp/llama-model.js')> {
  try {
    return await import('../llama-cpp/llama-model.js');
  } catch (error) {
    if (isMissingPackage(error, 'node-llama-cpp')) {
      throw new InputError(
        'llama: models need the optional package node-llama-cpp, which is not installed: run `npm install node-llama-cpp` (or install without --omit=optional)',
        { cause: error },
      );
    }
    throw error;
  }
}

export const llamaBackend: ModelBackend<LlamaModelSpec, LlamaBackendOptions> = {
  prefix: 'llama',
  syntax: ['llama:PATH.gguf', 'llama:hf:ORG/REPO:QUANT'],
  kind: 'local',
  parse: parseLlama,
  format: (spec) =>
    'path' in spec ? `llama:${spec.path}` : `llama:hf:${spec.hf.org}/${spec.hf.repo}:${spec.hf.quant}`,
  async create(spec, { options, common }): Promise<ChatModel> {
    const { createLlamaChatModel } = await loadLlamaAdapter();
    return createLlamaChatModel('path' in spec ? { path: spec.path } : { hf: spec.hf }, {
      ...options,
      ...(common.onDownloadProgress !== undefined ? { onDownloadProgress: common.onDownloadProgress } : {}),
    });
  },
  async cacheIdentity(model, { fileHash }) {
    // The file's content, not its path: a new checkpoint at the same path must not get the old answers.
    const info = (model as ChatModel & { info?: { modelPath: string; loraPath?: string } }).info;
    if (info === undefined) return model.endpoint ?? model.id;
    const parts = [`gguf:sha256:${await fileHash(info.modelPath)}`];
    if (info.loraPath !== undefined) parts.push(`lora:sha256:${await fileHash(info.loraPath)}`);
    return parts.join('+');
  },
};
