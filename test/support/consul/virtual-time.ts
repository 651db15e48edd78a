import type { Clock, TimerHandle } from '../../../src/core/clock.ts';

interface Pending {
  deadline: number;
  fn: () => void;
  handle: TimerHandle | undefined;
}

/**
 * The double's notion of time: the injected Clock's monotonic time plus a skew that tests
 * can push forward with advance(). Every deadline the double keeps (session TTLs, blocking
 * query waits, lock-delays) goes through here, so advancing time fires exactly the timers a
 * real agent would have fired by then, in deadline order.
 */
export class VirtualTime {
  #clock: Clock;
  #skew = 0;
  #pending = new Set<Pending>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  now(): number {
    return this.#clock.monotonic() + this.#skew;
  }

  /** Runs fn once `ms` of virtual time have passed, unless cancelled. */
  after(ms: number, fn: () => void): TimerHandle {
    const entry: Pending = { deadline: this.now() + Math.max(0, ms), fn, handle: undefined };
    this.#pending.add(entry);
    this.#arm(entry);
    return {
      cancel: () => {
        entry.handle?.cancel();
        this.#pending.delete(entry);
      },
    };
  }

  /** Moves virtual time forward and fires every timer that became due, earliest first. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advanceTime: ms must be a non-negative number, got ${ms}`);
    this.#skew += ms;
    for (;;) {
      const now = this.now();
      let next: Pending | undefined;
      for (const entry of this.#pending) {
        if (entry.deadline <= now && (next === undefined || entry.deadline < next.deadline)) next = entry;
      }
      if (next === undefined) break;
      this.#fire(next);
    }
    for (const entry of this.#pending) {
      entry.handle?.cancel();
      this.#arm(entry);
    }
  }

  /** Cancels every timer; used when the double stops. */
  cancelAll(): void {
    for (const entry of this.#pending) entry.handle?.cancel();
    this.#pending.clear();
  }

  #arm(entry: Pending): void {
    entry.handle = this.#clock.setTimer(Math.max(0, entry.deadline - this.now()), () => {
      // A real timer can run a little early relative to performance.now(); re-arm if so.
      if (entry.deadline > this.now()) this.#arm(entry);
      else this.#fire(entry);
    });
  }

  #fire(entry: Pending): void {
    if (!this.#pending.delete(entry)) return;
    entry.handle?.cancel();
    entry.fn();
  }
}

/**
 * A clock that stands still: with it, the double's time moves only through advanceTime(),
 * so tests can assert "not yet at deadline - 1 ms, done at the deadline" exactly.
 */
export function frozenClock(startMs = 0): Clock {
  return {
    now: () => startMs,
    monotonic: () => 0,
    setTimer: () => ({ cancel: () => {} }),
  };
}
