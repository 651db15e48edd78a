// When the app counts as healthy, with Docker's HEALTHCHECK rules: the first check as soon as
// the app is spawned, then one START_INTERVAL after the other during the start period and one
// INTERVAL after the other past it (from the end of a check: checks never overlap). One success
// makes the app healthy, and ends the start period early. A failure during the start period is
// not counted; past it, RETRIES failures in a row make the app unhealthy. With readiness
// notification the checks begin only at READY=1 (before it, a check on a port the app shares
// could reach the other process); without a check READY=1 alone makes the app healthy. Each
// run of the app (a restart) starts over.

import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Events, Health } from '../core/events.ts';
import type { Check } from './check.ts';

export interface MonitorTiming {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
  readonly startIntervalMs: number;
}

export interface MonitorOptions extends MonitorTiming {
  readonly check: Check | undefined;
  /** Wait for READY=1 (sd_notify) before counting the app started. */
  readonly notify: boolean;
  readonly clock: Clock;
  readonly onChange: (change: Events['health.changed']) => void;
}

export interface Monitor {
  readonly health: Health;
  /** The last check's output (or why it failed). */
  readonly output: string;
  /** A new run of the app: starting again. */
  appStarted(pid: number): void;
  /** READY=1 from the app. */
  ready(): void;
  /** The app exited or is being stopped: no more checks for this run. */
  appStopped(): void;
}

interface AppRun {
  readonly pid: number;
  readonly startedAt: number;
  ready: boolean;
  /** Over once the start period has passed or a check succeeded. */
  startOver: boolean;
  streak: number;
  timer: TimerHandle | undefined;
  readyTimer: TimerHandle | undefined;
  abort: AbortController | undefined;
}

export function createMonitor(o: MonitorOptions): Monitor {
  let health: Health = 'none';
  let output = '';
  let current: AppRun | undefined;

  function set(next: Exclude<Health, 'none'>, streak: number): void {
    if (next === health) return;
    const previous = health;
    health = next;
    o.onChange({ health: next, previous, output, failingStreak: streak });
  }

  function inStartPeriod(run: AppRun): boolean {
    if (!run.startOver && o.clock.monotonic() - run.startedAt >= o.startPeriodMs) run.startOver = true;
    return !run.startOver;
  }

  function schedule(run: AppRun, ms: number): void {
    run.timer = o.clock.setTimer(ms, () => {
      run.timer = undefined;
      void probe(run);
    });
  }

  async function probe(run: AppRun): Promise<void> {
    if (run !== current || o.check === undefined) return;
    const abort = new AbortController();
    run.abort = abort;
    const result = await o.check.run(run.pid, o.timeoutMs, abort.signal).catch((error: unknown) => ({ ok: false, output: String(error) }));
    run.abort = undefined;
    if (run !== current) return;
    output = result.output;
    if (result.ok) {
      run.streak = 0;
      run.startOver = true;
      set('healthy', 0);
    } else if (!inStartPeriod(run)) {
      run.streak++;
      if (run.streak >= o.retries) set('unhealthy', run.streak);
    }
    schedule(run, inStartPeriod(run) ? o.startIntervalMs : o.intervalMs);
  }

  function stop(): void {
    const run = current;
    current = undefined;
    if (run === undefined) return;
    run.timer?.cancel();
    run.readyTimer?.cancel();
    run.abort?.abort();
  }

  return {
    get health() {
      return health;
    },
    get output() {
      return output;
    },
    appStarted(pid) {
      stop();
      const run: AppRun = { pid, startedAt: o.clock.monotonic(), ready: !o.notify, startOver: false, streak: 0, timer: undefined, readyTimer: undefined, abort: undefined };
      current = run;
      output = '';
      set('starting', 0);
      if (!o.notify) {
        schedule(run, 0);
        return;
      }
      // An app that never says READY=1 is unhealthy once its start period is over (with none
      // set, it may take as long as it likes, as systemd's TimeoutStartSec=infinity).
      if (o.startPeriodMs > 0) {
        run.readyTimer = o.clock.setTimer(o.startPeriodMs, () => {
          if (run !== current || run.ready) return;
          output = 'no READY=1 within the start period';
          set('unhealthy', 0);
        });
      }
    },
    ready() {
      const run = current;
      if (run === undefined || run.ready) return;
      run.ready = true;
      run.readyTimer?.cancel();
      if (o.check !== undefined) {
        schedule(run, 0);
        return;
      }
      run.startOver = true;
      output = 'READY=1';
      set('healthy', 0);
    },
    appStopped: stop,
  };
}
