// The app's lifecycle: spawn, forward signals, restart by policy, stop gracefully within the
// stop budget. It learns of the app's exit from the reaper (steward spawned it, so steward
// reaps it) and reports through the bus.

import type { RestartPolicy } from '../config/options.ts';
import type { SignalName } from '../config/values.ts';
import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { sendSignal, type SignalTarget } from '../core/process-control/signal.ts';
import { terminate, type Termination } from '../core/process-control/terminate.ts';
import { decodeWaitStatus, describeExit, reportedStatus, type AppExit } from './exit-status.ts';
import { groupHasLeftovers, stopGroupLeftovers } from './leftovers.ts';
import type { Libc } from './libc.ts';
import { restartPacing } from './restart-pacing.ts';
import { signalForApp } from './signals.ts';
import { spawnApp, type AppSpec, type SpawnedApp } from './spawn-app.ts';

export interface SupervisorOptions {
  readonly libc: Libc;
  readonly app: AppSpec;
  readonly signalGroup: boolean;
  readonly rewrite: ReadonlyMap<SignalName, SignalName | null>;
  readonly successCodes: ReadonlySet<number>;
  readonly restart: RestartPolicy;
  readonly restartLimit: number;
  readonly restartBackoff: number;
  readonly stopSignal: SignalName;
  /** Grace for a stop that steward starts itself (restart on reload). */
  readonly stopTimeout: number;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface Supervisor {
  /** Spawns the app; throws a StewardError (127/126) when it cannot be executed. */
  start(): void;
  /** Called for every reaped child; returns true when it was the app. */
  handleReaped(pid: number, status: number): boolean;
  /** Forwards a signal steward received, after the rewrite. */
  forward(signal: SignalName): void;
  /** Sends a signal as is (reloads). */
  send(signal: SignalName): boolean;
  /**
   * The first step of a stop: the app is never started again (no restart, no back-off, no
   * reload restart), though it keeps running until stop().
   */
  halt(): void;
  /** Graceful stop: `signal` now (unless null), SIGKILL to the group at `deadline` (monotonic ms). */
  stop(signal: SignalName | null, deadline: number): void;
  /**
   * Stops the app gracefully and starts it again: at once and not counted (a configuration
   * change), or, when `countsAsFailure` (a repair of an unhealthy app), as after a crash: after
   * the back-off, and not at all past STEWARD_RESTART_LIMIT, whatever STEWARD_RESTART says.
   */
  restartNow(reason: string, countsAsFailure?: boolean): void;
  /**
   * Start-first handover (a rollout): starts a new app beside the running one. From then on
   * signals go to the new one; the old one is still reaped, and its exit is only logged. False
   * when there is no running app or a handover or restart is under way.
   */
  startBeside(reason: string): boolean;
  /** Ends a handover: the old app is stopped (stop signal, stop timeout, SIGKILL). */
  retireOld(): void;
  /** Ends a handover that failed: the new app is stopped, and the old one is the app again. */
  keepOld(): SpawnedApp | undefined;
  /** The running app, if any. */
  current(): SpawnedApp | undefined;
  /** Resolves with the app's last exit once it will not be started again. */
  readonly done: Promise<AppExit>;
}

/** Where the app's signals go: its whole group with STEWARD_SIGNAL_GROUP, else the app alone. */
function appTarget(app: SpawnedApp, wholeGroup: boolean): SignalTarget {
  return wholeGroup ? { group: app.pgid } : { pid: app.pid };
}

export function createSupervisor(o: SupervisorOptions): Supervisor {
  let app: SpawnedApp | undefined;
  let startedAt = 0;
  let attempt = 0;
  let stopping = false;
  let killArmed = false;
  /** A restart someone asked for (restartNow): at once, or counted as a failure (a repair). */
  let requested: 'at-once' | 'counted' | undefined;
  let termination: Termination | undefined;
  /** The other process of a start-first handover: the old one, or the new one being dropped. */
  let beside: { app: SpawnedApp; termination: Termination | undefined } | undefined;
  const pacing = restartPacing(o);
  let lastExit: AppExit | undefined;
  let resolveDone: (exit: AppExit) => void = () => {};
  const done = new Promise<AppExit>((resolve) => {
    resolveDone = resolve;
  });
  const ownGroup = o.libc.processGroup();

  function spawnOnce(): void {
    app = spawnApp(o.libc, o.app);
    startedAt = o.clock.monotonic();
    attempt++;
    o.log.debug('app started', { pid: app.pid, command: o.app.command, attempt });
    o.bus.emit('app.started', { pid: app.pid, attempt });
  }

  /** The polite signal now (unless null), SIGKILL to the app's whole group after `graceMs`. */
  function stopApp(target: SpawnedApp, signal: SignalName | null, graceMs: number, onGraceOver: () => boolean): void {
    termination?.cancel();
    termination = terminate({
      target: appTarget(target, o.signalGroup),
      signal,
      killTarget: { group: target.pgid },
      graceMs,
      clock: o.clock,
      kill: o.libc.kill,
      onGraceOver,
    });
  }

  /**
   * Starts the app again; when it cannot be, supervision ends with its last exit. What the last
   * run left in its process group is stopped first.
   */
  function spawnAgain(exit: AppExit): void {
    if (groupHasLeftovers(exit.pid, o.libc.kill)) {
      const leftovers = { group: exit.pid, what: 'app', signal: o.stopSignal, graceMs: o.stopTimeout, clock: o.clock, kill: o.libc.kill, log: o.log };
      void stopGroupLeftovers(leftovers).then(() => (stopping ? finish(exit) : spawnNow(exit)));
      return;
    }
    spawnNow(exit);
  }

  function spawnNow(exit: AppExit): void {
    try {
      spawnOnce();
    } catch (error) {
      o.log.error('app could not be restarted', { error: String(error) });
      finish(exit);
    }
  }

  /** The other process of a handover is stopped as a restart stops the app, on its own timer. */
  function stopBeside(signal: SignalName | null, graceMs: number): void {
    const other = beside;
    if (other === undefined) return;
    other.termination?.cancel();
    other.termination = terminate({
      target: appTarget(other.app, o.signalGroup),
      signal,
      killTarget: { group: other.app.pgid },
      graceMs,
      clock: o.clock,
      kill: o.libc.kill,
      onGraceOver: () => {
        if (beside?.app !== other.app) return false;
        o.log.warn('the other app of a handover did not stop in time; sending SIGKILL', { pid: other.app.pid });
        return true;
      },
    });
  }

  function finish(exit: AppExit): void {
    termination?.cancel();
    resolveDone(exit);
  }

  /**
   * Starts the app again after the back-off, as after a crash; at the restart limit supervision
   * ends with its last exit instead. Says whether a restart is coming.
   */
  function scheduleRestart(exit: AppExit, what: string, atLimit: string): boolean {
    const delay = pacing.schedule(startedAt, () => {
      if (stopping) {
        finish(exit);
        return;
      }
      spawnAgain(exit);
    });
    if (delay === undefined) {
      o.log.error(atLimit, { limit: o.restartLimit, ...exitFields(exit) });
      finish(exit);
      return false;
    }
    o.log.warn(`${what}; restarting in ${delay}ms`, { ...exitFields(exit), restart: pacing.failuresInARow });
    return true;
  }

  function halt(): void {
    stopping = true;
    if (pacing.cancel() && lastExit !== undefined) finish(lastExit);
  }

  function onAppExit(exit: AppExit): void {
    if (beside !== undefined && beside.termination === undefined && !stopping) {
      // The new app of a handover died before it took over: the old one, still serving, is the app again.
      app = beside.app;
      beside = undefined;
      o.log.warn(`the new app of the handover ${describeExit(exit)}; the old one keeps running`, exitFields(exit));
      o.bus.emit('app.started', { pid: app.pid, attempt });
      return;
    }
    app = undefined;
    lastExit = exit;
    if (o.app.takeTerminal) o.libc.setForegroundGroup(0, ownGroup);
    const asked = stopping ? undefined : requested;
    requested = undefined;
    if (asked !== undefined) {
      termination?.cancel();
      const restarting = asked === 'at-once' || scheduleRestart(exit, 'app stopped for a repair', 'app stays unhealthy; restart limit reached');
      o.bus.emit('app.exited', { exit, restarting });
      if (asked === 'at-once') {
        o.log.info('restarting app', exitFields(exit));
        spawnAgain(exit);
      }
      return;
    }
    const failed = reportedStatus(exit, o.successCodes) !== 0;
    const restarting = !stopping && (o.restart === 'always' || (o.restart === 'on-failure' && failed));
    o.bus.emit('app.exited', { exit, restarting });
    if (restarting) {
      scheduleRestart(exit, `app ${describeExit(exit)}`, 'app keeps exiting; restart limit reached');
      return;
    }
    o.log.info(`app ${describeExit(exit)}`, exitFields(exit));
    finish(exit);
  }

  return {
    start: spawnOnce,
    handleReaped(pid, status) {
      if (beside !== undefined && pid === beside.app.pid) {
        beside.termination?.cancel();
        beside = undefined;
        o.log.info(`the other app of a handover ${describeExit(decodeWaitStatus(pid, status))}`, { pid });
        return true;
      }
      if (app === undefined || pid !== app.pid) return false;
      onAppExit(decodeWaitStatus(pid, status));
      return true;
    },
    forward: (signal) => forwardToApp(app, signal, o),
    send(signal) {
      return app !== undefined && sendSignal(appTarget(app, o.signalGroup), signal, o.libc.kill);
    },
    halt,
    stop(signal, deadline) {
      halt();
      if (killArmed) return;
      killArmed = true;
      stopBeside(signal, deadline - o.clock.monotonic());
      const target = app;
      if (target === undefined) return;
      stopApp(target, signal, deadline - o.clock.monotonic(), () => {
        if (app === undefined) return false;
        o.log.warn('app did not stop in time; sending SIGKILL to its process group', { pid: app.pid });
        return true;
      });
    },
    restartNow(reason, countsAsFailure = false) {
      const target = app;
      if (target === undefined || stopping || requested !== undefined) return;
      requested = countsAsFailure ? 'counted' : 'at-once';
      o.log.info('stopping app for a restart', { reason });
      stopApp(target, o.stopSignal, o.stopTimeout, () => {
        if (app !== target) return false;
        o.log.warn('app did not stop in time for its restart; sending SIGKILL', { pid: target.pid });
        return true;
      });
    },
    startBeside(reason) {
      const old = app;
      if (old === undefined || stopping || requested !== undefined || beside !== undefined) return false;
      o.log.info('starting the new app beside the running one', { reason, old: old.pid });
      try {
        spawnOnce();
      } catch (error) {
        o.log.error('the new app could not be started; the old one keeps running', { error: String(error) });
        return false;
      }
      beside = { app: old, termination: undefined };
      return true;
    },
    retireOld() {
      if (beside === undefined) return;
      o.log.info('stopping the old app of the handover', { pid: beside.app.pid });
      stopBeside(o.stopSignal, o.stopTimeout);
    },
    keepOld() {
      const fresh = app;
      if (beside === undefined || fresh === undefined) return undefined;
      app = beside.app;
      beside = { app: fresh, termination: undefined };
      o.log.warn('stopping the new app of the handover; the old one keeps running', { pid: fresh.pid, old: app.pid });
      stopBeside(o.stopSignal, o.stopTimeout);
      return app;
    },
    current: () => app,
    done,
  };
}

/** Passes a signal steward received on to the app, rewritten as STEWARD_SIGNAL_REWRITE says. */
function forwardToApp(app: SpawnedApp | undefined, signal: SignalName, o: SupervisorOptions): void {
  const target = signalForApp(signal, o.rewrite);
  if (target === null || app === undefined) {
    o.log.debug('signal not forwarded', { signal, target, running: app !== undefined });
    return;
  }
  o.log.debug('forwarding signal', { signal, target, pid: app.pid });
  sendSignal(appTarget(app, o.signalGroup), target, o.libc.kill);
}

function exitFields(exit: AppExit): Record<string, unknown> {
  return { pid: exit.pid, code: exit.code, signal: exit.signal, status: exit.status };
}
