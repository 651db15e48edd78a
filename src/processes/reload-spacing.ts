// The least time between two reload signals to one sidecar. A master process that re-executes
// itself to reload (haproxy -W: measured on 2.6) drops a reload signal that comes while it is
// still reloading, so the file that signal was for would never be read. A reload asked for
// within the spacing waits for its end, and those asked for meanwhile are sent once each.

import type { SignalName } from '../config/values.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';

export interface ReloadSpacing {
  /** Sends `signal` now ('sent'), or once the spacing is over ('held'); 'not running' when `send` could not. */
  request(signal: SignalName): 'sent' | 'held' | 'not running';
  /** Drops a held reload (the sidecar stops). */
  cancel(): void;
}

export function reloadSpacing(o: {
  readonly spacingMs: number;
  readonly clock: Clock;
  /** Sends the signal to the sidecar's process; false when it is not running. */
  readonly send: (signal: SignalName) => boolean;
  /** Told of each held signal once it is sent. */
  readonly onHeldSent: (signal: SignalName) => void;
}): ReloadSpacing {
  let last: number | undefined;
  let timer: TimerHandle | undefined;
  const held = new Set<SignalName>();

  function send(signal: SignalName): boolean {
    last = o.clock.monotonic();
    return o.send(signal);
  }

  return {
    request(signal) {
      const wait = last === undefined ? 0 : last + o.spacingMs - o.clock.monotonic();
      if (wait <= 0 && timer === undefined) return send(signal) ? 'sent' : 'not running';
      held.add(signal);
      timer ??= o.clock.setTimer(Math.max(0, wait), () => {
        timer = undefined;
        const signals = [...held];
        held.clear();
        for (const s of signals) if (send(s)) o.onHeldSent(s);
      });
      return 'held';
    },
    cancel() {
      timer?.cancel();
      timer = undefined;
      held.clear();
    },
  };
}
