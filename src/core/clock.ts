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
