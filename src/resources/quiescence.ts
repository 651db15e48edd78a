// Quiescence (consul-template's `wait`): after a change, render `min` after the last change,
// and never later than `max` after the first one, so that a burst of writes gives one render
// and one reload, and a steady stream cannot postpone the render forever.

import type { Wait } from '../config/values.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';

export interface Quiescence {
  /** A change happened. */
  trigger(): void;
  cancel(): void;
}

export function createQuiescence(wait: Wait, clock: Clock, fire: () => void): Quiescence {
  let quiet: TimerHandle | undefined;
  let deadline: TimerHandle | undefined;
  const go = (): void => {
    quiet?.cancel();
    deadline?.cancel();
    quiet = undefined;
    deadline = undefined;
    fire();
  };
  return {
    trigger() {
      if (wait.minMs === 0) {
        go();
        return;
      }
      quiet?.cancel();
      quiet = clock.setTimer(wait.minMs, go);
      deadline ??= clock.setTimer(wait.maxMs, go);
    },
    cancel() {
      quiet?.cancel();
      deadline?.cancel();
      quiet = undefined;
      deadline = undefined;
    },
  };
}
