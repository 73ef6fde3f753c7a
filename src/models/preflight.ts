/**
 * Pre-flight: before a run starts work, one cheap call per model tells a dead endpoint (server down,
 * wrong URL, refused key, missing model file) in seconds, as one line naming the endpoint and exit 3,
 * instead of a run that "completes" with every instance failed.
 */
import type { ChatModel, ProbeOptions } from './chat-model.js';

/**
 * Checks that `model`'s endpoint answers: `GET {base}/models` for OpenAI-compatible servers (see
 * openai-compatible/endpoint.ts), the GGUF file opened for llama, nothing for replay. Resolves when it
 * is alive; throws a ServiceError (exit 3) with one line naming the endpoint (never the key) when not,
 * or an 'aborted' ModelCallError when `signal` fires.
 */
export async function probeModel(model: ChatModel, options: ProbeOptions = {}): Promise<void> {
  await model.probe?.(options);
}

/**
 * The endpoint a model's answers come from, without secrets: the normalised base URL of a server
 * (`http://127.0.0.1:8000/v1`), `llama:<file>` for a GGUF file, `replay:<cache file>`; the model's id
 * for a model that does not say.
 */
export function endpointOf(model: ChatModel): string {
  return model.endpoint ?? model.id;
}
