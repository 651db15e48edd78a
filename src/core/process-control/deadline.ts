// Awaiting something without going past a deadline: a promise whose maker has no deadline of its
// own (a client library's calls, for one), a process that should end within the stop budget, a condition
// only polling can see. The first of the answer, the deadline and the abort wins.

import type { Clock } from '../clock.ts';

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

/** Whether `promise` settled, either way, within `ms` on `clock`; never rejects. */
export function settlesWithin(promise: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(Math.max(0, ms), () => resolve(false));
    const settled = (): void => {
      timer.cancel();
      resolve(true);
    };
    void promise.then(settled, settled);
  });
}

/**
 * Checks `condition` every `intervalMs` until it holds (true) or `deadline` (monotonic ms on
 * `clock`) has passed (false). It is checked at least once, even at a deadline already past.
 */
export async function pollUntil(condition: () => boolean, deadline: number, clock: Clock, intervalMs: number): Promise<boolean> {
  for (;;) {
    if (condition()) return true;
    const left = deadline - clock.monotonic();
    if (left <= 0) return false;
    await new Promise<void>((resolve) => clock.setTimer(Math.min(intervalMs, left), resolve));
  }
}
