/**
 * The backend registry: every `--model PREFIX:REST` spec is parsed and built by the backend registered
 * under PREFIX. The built-in ones (openai, text, llama, replay) register themselves here; a program can
 * register its own with `registerModelBackend` and then use `createChatModel('mine:...')` like any other,
 * with the same retries, rate limits, cache, reply checks and ledger around it.
 */
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { BUILTIN_BACKENDS } from './backends/builtin.js';
import type { ChatModel } from './chat-model.js';
import type { CommonModelOptions } from './options.js';

/** How `createChatModel` wraps a backend's model. */
export type BackendKind =
  /** A server: retried with backoff on 429/5xx/timeouts, rate-limited, cached. */
  | 'remote'
  /** An in-process engine: not retried (only the per-call timeout), rate-limited, cached. */
  | 'local'
  /** Answers from recordings (the cache itself): neither retried, rate-limited nor cached again. */
  | 'recorded';

export interface SpecParseContext {
  /** Parses a whole spec, for backends that wrap another one (e.g. `replay:openai:MODEL`). */
  parseSpec(spec: string): ParsedModelSpec;
}

export interface BackendCreateContext<Options extends object = object> {
  /** The canonical spec, which becomes the model's id. */
  id: string;
  /** This backend's option group (`{}` when none was given). */
  options: Options;
  /** Options every backend shares. */
  common: CommonModelOptions;
  /** The response cache folder in use (resolved), for backends that read it. */
  cacheDir: string;
  /** Another backend's option group (`text:` reads the server settings of `openai`). */
  optionsOf(prefix: string): object;
}

export interface CacheIdentityContext {
  /** sha256 (hex) of a file's content, remembered per path, size and mtime. */
  fileHash(path: string): Promise<string>;
}

export interface ModelBackend<Spec extends object = object, Options extends object = object> {
  /** Lower-case prefix before the first ':' of a spec, e.g. "openai". */
  readonly prefix: string;
  /** The spec forms, shown in help and errors, e.g. ["openai:MODEL"]. */
  readonly syntax: readonly string[];
  /** Default 'remote'. */
  readonly kind?: BackendKind;
  /** Parses what follows "PREFIX:"; throws an Error whose message says what is wrong. */
  parse(rest: string, context: SpecParseContext): Spec;
  /** The canonical spec of a parsed one (the model's id); parsing it again gives the same spec. */
  format(spec: Spec): string;
  /** Builds the bare model; `createChatModel` adds the wrappers around it. */
  create(spec: Spec, context: BackendCreateContext<Options>): Promise<ChatModel>;
  /**
   * What the response cache keys on besides the model id and the request, i.e. what makes two answers
   * to one request differ. Default: the model's endpoint (`endpointOf`).
   */
  cacheIdentity?(model: ChatModel, context: CacheIdentityContext): Promise<string>;
}

export interface ParsedModelSpec {
  backend: ModelBackend;
  /** What the backend's `parse` returned. */
  spec: object;
  /** The canonical spec string. */
  id: string;
}

const backends = new Map<string, ModelBackend>();
const PREFIX = /^[a-z][a-z0-9-]*$/;

/**
 * Registers a backend under its prefix; returns a function that removes it again. A prefix that is
 * taken is refused unless `replace` is set.
 */
export function registerModelBackend<Spec extends object, Options extends object>(
  backend: ModelBackend<Spec, Options>,
  options: { replace?: boolean } = {},
): () => void {
  if (!PREFIX.test(backend.prefix)) {
    throw new InputError(`model backend prefix "${backend.prefix}" must be lower-case letters, digits and -`);
  }
  if (backends.has(backend.prefix) && options.replace !== true) {
    throw new InputError(`a model backend "${backend.prefix}" is already registered`);
  }
  const entry = backend as unknown as ModelBackend;
  const previous = backends.get(backend.prefix);
  backends.set(backend.prefix, entry);
  return () => {
    if (backends.get(backend.prefix) !== entry) return;
    if (previous !== undefined) backends.set(backend.prefix, previous);
    else backends.delete(backend.prefix);
  };
}

/** The backend registered under `prefix`, if any. */
export function modelBackend(prefix: string): ModelBackend | undefined {
  return backends.get(prefix.toLowerCase());
}

/** Every registered backend, in registration order. */
export function modelBackends(): ModelBackend[] {
  return [...backends.values()];
}

/** The spec forms of every registered backend, e.g. "openai:MODEL, llama:PATH.gguf or replay:[SPEC]". */
export function modelSpecHelp(): string {
  const forms = modelBackends().flatMap((backend) => backend.syntax);
  if (forms.length <= 1) return forms.join('');
  return `${forms.slice(0, -1).join(', ')} or ${forms.at(-1) ?? ''}`;
}

function bad(spec: string, why: string): InputError {
  return new InputError(oneLine(`bad model spec "${spec}": ${why} (expected ${modelSpecHelp()})`));
}

/** Parses `PREFIX:REST` with the backend registered under PREFIX; a one-line InputError otherwise. */
export function resolveModelSpec(spec: string): ParsedModelSpec {
  const text = spec.trim();
  const colon = text.indexOf(':');
  if (colon <= 0) throw bad(spec, 'no backend prefix');
  const prefix = text.slice(0, colon);
  const backend = modelBackend(prefix);
  if (backend === undefined) throw bad(spec, `unknown backend "${prefix}"`);
  let parsed: object;
  try {
    parsed = backend.parse(text.slice(colon + 1), { parseSpec: resolveModelSpec });
  } catch (error) {
    throw bad(spec, messageOf(error));
  }
  return { backend, spec: parsed, id: backend.format(parsed) };
}

// The built-in backends (their modules import only types from here, so there is no import cycle).
for (const backend of BUILTIN_BACKENDS) backends.set(backend.prefix, backend);
