/**
 * Hands out the sequences of one llama.cpp context to concurrent chats: a call takes a free
 * sequence or waits (in order) for one; an abort while waiting removes it from the queue.
 */
import { ModelCallError, abortedError } from '../model-errors.js';

interface Waiter<T> {
  resolve: (item: T) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class Pool<T> {
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  private closed = false;

  constructor(items: readonly T[]) {
    this.free = [...items];
  }

  acquire(signal?: AbortSignal): Promise<T> {
    if (this.closed)
      return Promise.reject(new ModelCallError('the llama model is closed', { kind: 'client_error' }));
    if (signal?.aborted) return Promise.reject(abortedError(signal?.reason));
    const item = this.free.pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, signal };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(abortedError(signal?.reason));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  release(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      this.free.push(item);
      return;
    }
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(item);
  }

  /** Rejects every waiter; later acquires fail. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(
        new ModelCallError('the llama model was closed while the call waited', { kind: 'aborted' }),
      );
    }
  }
}
