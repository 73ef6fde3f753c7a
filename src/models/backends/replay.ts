/** `replay:` and `replay:SPEC`: answers only from the response cache, never from a live model. */
import { InputError } from '../../core/errors.js';
import { cacheExists, openResponseCache } from '../cache.js';
import type { ModelBackend } from '../registry.js';
import { createReplayChatModel } from '../replay/replay-model.js';

export interface ReplayModelSpec {
  backend: 'replay';
  /** The recorded model's canonical spec; absent: any model's answer to the request. */
  of?: string;
}

export const replayBackend: ModelBackend<ReplayModelSpec> = {
  prefix: 'replay',
  syntax: ['replay:[SPEC]'],
  kind: 'recorded',
  parse(rest, { parseSpec }) {
    if (rest.trim() === '') return { backend: 'replay' };
    let inner;
    try {
      inner = parseSpec(rest);
    } catch {
      throw new Error(`"${rest}" after replay: is not a model spec`);
    }
    if (inner.backend.kind === 'recorded') throw new Error('replay of replay');
    return { backend: 'replay', of: inner.id };
  },
  format: (spec) => (spec.of === undefined ? 'replay:' : `replay:${spec.of}`),
  create(spec, { id, cacheDir }) {
    if (!cacheExists(cacheDir)) {
      throw new InputError(
        `${id}: no response cache in ${cacheDir}; replay answers only from a cache recorded by an earlier run (set \`cacheDir\`)`,
        { details: { reason: 'no-replay-cache', model: id, cacheDir } },
      );
    }
    return Promise.resolve(createReplayChatModel(openResponseCache(cacheDir), spec.of, { closeCache: true }));
  },
};
