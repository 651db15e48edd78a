// How soon the app starts again after a failed run: a back-off that doubles from the restart
// back-off up to 30 times it, starting over after a run longer than that, until the restart
// limit. One start waits at a time; a stop cancels it.

import type { Clock, TimerHandle } from '../core/clock.ts';
import { exponentialBackoff } from '../core/process-control/backoff.ts';

export interface RestartPacingOptions {
  /** The first delay, in ms. */
  readonly restartBackoff: number;
  /** Failed runs in a row after which the app is not started again; 0: no limit. */
  readonly restartLimit: number;
  readonly clock: Clock;
}

export interface RestartPacing {
  /**
   * After a failed run that began at `startedAt` (monotonic): arms `start` and returns its
   * delay, or returns undefined at the restart limit (nothing armed).
   */
  schedule(startedAt: number, start: () => void): number | undefined;
  /** Cancels the start that waits; false when none did. */
  cancel(): boolean;
  readonly failuresInARow: number;
}

/** The longest back-off, in restart back-offs: the delay doubles up to 30 times the first. */
const BACKOFF_FACTOR_CAP = 30;

export function restartPacing(o: RestartPacingOptions): RestartPacing {
  const maxDelay = o.restartBackoff * BACKOFF_FACTOR_CAP;
  // No jitter: this is one app restarting, not replicas that must not retry in lockstep.
  const backoff = exponentialBackoff({ initialMs: o.restartBackoff, maxMs: maxDelay, jitter: 0 });
  let timer: TimerHandle | undefined;
  return {
    schedule(startedAt, start) {
      // A run longer than the longest back-off counts as healthy: the next failure starts over.
      if (o.clock.monotonic() - startedAt >= maxDelay) backoff.reset();
      if (o.restartLimit > 0 && backoff.attempts >= o.restartLimit) return undefined;
      const delay = backoff.next();
      timer = o.clock.setTimer(delay, () => {
        timer = undefined;
        start();
      });
      return delay;
    },
    cancel() {
      if (timer === undefined) return false;
      timer.cancel();
      timer = undefined;
      return true;
    },
    get failuresInARow() {
      return backoff.attempts;
    },
  };
}
