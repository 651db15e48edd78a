// One way to put a deadline and an abort signal on a promise whose maker has none (etcd3's calls,
// for one): the first of the answer, the deadline and the abort wins.

/** A call that got no answer in time (from the JavaScript timer, not from gRPC). */
export class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

/** `promise`, or a DeadlineError after `timeoutMs` (never for Infinity), or the abort reason, whichever comes first. */
export function within<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal, message: string): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => finish(() => reject(new DeadlineError(message))), Math.max(0, timeoutMs)) : undefined;
    const onAbort = (): void => finish(() => reject(signal.reason));
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      settle();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
