// A leader's self-fencing. The fence deadline is the time the session's last successful renewal
// was *sent* plus the TTL minus a safety margin (monotonic clock): the store cannot have expired
// the session before then, so no other replica can lead yet. When the deadline passes without a
// newer renewal, the leader must step down on its own, before its lease can expire anywhere.

import type { Clock, TimerHandle } from '../core/clock.ts';

/** How much earlier than the TTL a leader fences itself. */
export function fenceMargin(ttlMs: number): number {
  return Math.max(Math.round(ttlMs / 5), 100);
}

export interface FenceOptions {
  readonly ttlMs: number;
  readonly clock: Clock;
  /** The current session's lastRenewalSentAt(); undefined while there is no session. */
  readonly lastRenewalSentAt: () => number | undefined;
  /** The deadline passed while the fence was armed. */
  readonly onPassed: () => void;
}

export interface Fence {
  /** Whether the deadline has passed; with no session it always has. */
  passed(): boolean;
  /**
   * Watches the deadline, moving with every renewal, and calls onPassed once it passes. Armed
   * only while leading: whoever steps down disarms it.
   */
  arm(): void;
  disarm(): void;
}

export function createFence(o: FenceOptions): Fence {
  let timer: TimerHandle | undefined;

  const deadline = (): number => {
    const sent = o.lastRenewalSentAt();
    return sent === undefined ? -Infinity : sent + o.ttlMs - fenceMargin(o.ttlMs);
  };

  function check(): void {
    timer?.cancel();
    const left = deadline() - o.clock.monotonic();
    if (left <= 0) {
      o.onPassed();
      return;
    }
    timer = o.clock.setTimer(left, check);
  }

  return {
    passed: () => o.clock.monotonic() >= deadline(),
    arm: check,
    disarm: () => timer?.cancel(),
  };
}
