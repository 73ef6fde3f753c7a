/**
 * What the stores' exports and prunes share: the model selector (a model id or a whole backend) and
 * waiting for a stream that asked to slow down.
 */
import type { Writable } from 'node:stream';

/** Whether an entry of `model` (of `backend`) matches a selector: a model id ("openai:gpt-4o") or a backend ("openai"). */
export function modelMatcher(selector: string | undefined): (model: string, backend: string) => boolean {
  if (selector === undefined) return () => true;
  const trimmed = selector.endsWith(':') ? selector.slice(0, -1) : selector;
  return trimmed.includes(':') ? (model) => model === trimmed : (_model, backend) => backend === trimmed;
}

/** Waits for a stream to drain; false when it closed or failed instead (e.g. `| head` closed the pipe). */
export function drained(stream: Writable): Promise<boolean> {
  return new Promise((resolveDrain) => {
    const finish = (open: boolean) => () => {
      stream.off('drain', onDrain);
      stream.off('error', onEnd);
      stream.off('close', onEnd);
      resolveDrain(open);
    };
    const onDrain = finish(true);
    const onEnd = finish(false);
    stream.once('drain', onDrain);
    stream.once('error', onEnd);
    stream.once('close', onEnd);
  });
}
