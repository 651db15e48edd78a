// Waits measured on the injected clock, so that a test's manual clock drives every timer of the
// code under test (read deadlines, back-off, the start-up wait, the stop budget) instead of sleeping.

import type { Clock } from '../clock.ts';

/** Resolves after `ms` on `clock`, or rejects with the abort reason when `signal` aborts first. */
export function clockSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return pause(clock, ms, signal).then(() => {
    if (signal.aborted) throw signal.reason;
  });
}

/** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
export function pause(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(Math.max(0, ms), done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface TimedSignal {
  readonly signal: AbortSignal;
  /** Cancels the timer once the call is over (a pending timer would keep the process alive). */
  release(): void;
}

/** `parent`, or a TimeoutError after `ms`, whichever comes first (AbortSignal.timeout on `clock`). */
export function timeoutSignal(clock: Clock, ms: number, parent: AbortSignal): TimedSignal {
  const timeout = new AbortController();
  const timer = clock.setTimer(ms, () => timeout.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')));
  return { signal: AbortSignal.any([parent, timeout.signal]), release: () => timer.cancel() };
}
