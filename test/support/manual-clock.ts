// A clock that moves only when the test says so: timers fire in order, each at its own time,
// while advance() walks the clock forward.

import type { Clock } from '../../src/core/clock.ts';

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that comes due on the way, in order. */
  advance(ms: number): void;
  /** Timers set and not yet fired or cancelled. */
  readonly pending: number;
}

export function manualClock(start = 0): ManualClock {
  let now = start;
  let sequence = 0;
  const timers = new Set<{ readonly at: number; readonly order: number; readonly fn: () => void }>();
  return {
    now: () => now,
    monotonic: () => now,
    setTimer(ms, fn) {
      const timer = { at: now + Math.max(0, ms), order: sequence++, fn };
      timers.add(timer);
      return { cancel: () => void timers.delete(timer) };
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
        if (next === undefined) break;
        timers.delete(next);
        now = next.at;
        next.fn();
      }
      now = end;
    },
    get pending() {
      return timers.size;
    },
  };
}
