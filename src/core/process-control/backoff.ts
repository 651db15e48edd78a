// steward's one retry/back-off helper: exponential delays with a cap and a little jitter, so
// that replicas reconnecting to the same store do not retry in lockstep.

export interface Backoff {
  /** The delay before the next attempt, in ms; each call grows the next one. */
  next(): number;
  /** Back to the first delay (after a success). */
  reset(): void;
  /** Attempts made since the last reset. */
  readonly attempts: number;
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
  /** Fraction of each delay that is random (default 0.2: delays vary by up to ±10%). */
  readonly jitter?: number;
  /** Source of randomness in [0, 1) (tests pass a fixed one). */
  readonly random?: () => number;
}

export function exponentialBackoff(o: BackoffOptions): Backoff {
  const factor = o.factor ?? 2;
  const jitter = o.jitter ?? 0.2;
  const random = o.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const base = Math.min(o.maxMs, o.initialMs * factor ** attempts);
      attempts++;
      return Math.max(0, Math.round(base * (1 - jitter / 2 + jitter * random())));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}

/** Resolves after `ms`, or rejects with the abort reason when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
