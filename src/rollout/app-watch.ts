// What the rollout needs to know of the app, from the bus: its pid, which run of it this is, and
// that run's health. A wait for "healthy" counts only a health reported after the restart the
// rollout asked for, never the old process's.

import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { Health } from '../core/events.ts';

export interface AppWatch {
  /** The running app's pid (0 before it started). */
  pid(): number;
  /** Counts the app's starts: a run is identified by its number. */
  run(): number;
  health(): Health;
  /**
   * Resolves true once `holds` is true of the app (checked at once and on every start and health
   * change), false at `timeoutMs` or when `signal` aborts.
   */
  until(holds: (app: AppWatch) => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  close(): void;
}

export function watchApp(bus: Bus, clock: Clock): AppWatch {
  let pid = 0;
  let run = 0;
  let health: Health = 'starting';
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const listener of [...listeners]) listener();
  };
  const offs = [
    bus.on('app.started', (e) => {
      pid = e.pid;
      run++;
      health = 'starting';
      changed();
    }),
    bus.on('health.changed', (e) => {
      health = e.health;
      changed();
    }),
  ];
  const watch: AppWatch = {
    pid: () => pid,
    run: () => run,
    health: () => health,
    until(holds, timeoutMs, signal) {
      return new Promise((resolve) => {
        const finish = (value: boolean): void => {
          listeners.delete(check);
          timer.cancel();
          signal.removeEventListener('abort', aborted);
          resolve(value);
        };
        const check = (): void => {
          if (holds(watch)) finish(true);
        };
        const aborted = (): void => finish(false);
        const timer = clock.setTimer(Math.min(timeoutMs, 2 ** 31 - 1), () => finish(false));
        listeners.add(check);
        signal.addEventListener('abort', aborted, { once: true });
        if (signal.aborted) finish(false);
        else check();
      });
    },
    close() {
      for (const off of offs) off();
      listeners.clear();
    },
  };
  return watch;
}
