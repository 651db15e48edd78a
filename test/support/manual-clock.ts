// A clock that moves only when the test says so: timers run in deadline order as advance()
// passes their time, and now()/monotonic() read the time each timer was due at.

import type { Clock } from '../../src/core/clock.ts';

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, running every timer that comes due on the way. */
  advance(ms: number): void;
}

export function manualClock(start = 0): ManualClock {
  let now = start;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    now: () => now,
    monotonic: () => now,
    setTimer(ms, fn) {
      const timer = { at: now + Math.max(0, ms), fn };
      timers.add(timer);
      return { cancel: () => timers.delete(timer) };
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: { at: number; fn: () => void } | undefined;
        for (const t of timers) if (t.at <= end && (next === undefined || t.at < next.at)) next = t;
        if (next === undefined) break;
        timers.delete(next);
        now = next.at;
        next.fn();
      }
      now = end;
    },
  };
}
