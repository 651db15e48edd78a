// A Clock that moves only when the test says so: timers fire on advance(), earliest first, and a
// test can await the moment code under test arms its next timer instead of guessing when.

import type { Clock } from '../../src/core/clock.ts';

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void;
  /** Timers armed and not yet fired or cancelled. */
  readonly pending: number;
  /** Resolves once at least one timer is pending (at once if one already is). */
  armed(): Promise<void>;
}

export function manualClock(start = 0): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const waiters: (() => void)[] = [];
  return {
    now: () => now,
    monotonic: () => now,
    setTimer(ms, fn) {
      const id = seq++;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      for (const wake of waiters.splice(0)) wake();
      return { cancel: () => timers.delete(id) };
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
        if (next === undefined) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    get pending() {
      return timers.size;
    },
    armed() {
      if (timers.size > 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
