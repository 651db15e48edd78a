// Time comes in through a Clock so that tests can drive retention, debounce and fencing
// deterministically. `monotonic()` is for deadlines (never jumps with the wall clock);
// `now()` is for timestamps and calendar maths.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock time in milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds, for deadlines and durations only. */
  monotonic(): number;
  /** Runs `fn` after `ms` milliseconds unless cancelled. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export function systemClock(): Clock {
  return {
    now: () => Date.now(),
    // process.hrtime rather than performance.now(): the latter loads perf_hooks on first use.
    monotonic: () => Number(process.hrtime.bigint()) / 1e6,
    setTimer(ms, fn) {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
  };
}

/** Resolves after `ms` on `clock`, or rejects with the abort reason when `signal` aborts first. */
export function clockSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(signal.reason);
    };
    const timer = clock.setTimer(Math.max(0, ms), () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
