// One supervised sidecar: spawned by the child rule in its own process group, started again by
// its restart policy with the app's back-off (restart-pacing.ts), reloaded (reload-spacing.ts)
// and stopped on its own (the signal goes to its process, SIGKILL to its group when the grace
// runs out), and, before each new run, rid of whatever the last run left in its group.

import type { SignalName } from '../config/values.ts';
import type { Bus } from '../core/bus.ts';
import type { ChildUser } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { sendSignal, type Kill } from '../core/process-control/signal.ts';
import { terminate, type Termination } from '../core/process-control/terminate.ts';
import type { SpawnedChild, SpawnChildOptions, ChildEnd } from '../core/spawn-child.ts';
import { describeExit, type AppExit } from '../init/exit-status.ts';
import { stopGroupLeftovers } from '../init/leftovers.ts';
import { restartPacing } from '../init/restart-pacing.ts';
import { signalNumber } from '../config/values.ts';
import { reloadSpacing } from './reload-spacing.ts';
import type { ProcessSpec } from './spec.ts';

export type UnitState = 'idle' | 'running' | 'waiting' | 'stopped';

export interface UnitOptions {
  readonly spec: ProcessSpec;
  readonly spawn: (argv: readonly string[], o: SpawnChildOptions) => SpawnedChild;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly user: ChildUser | undefined;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
  readonly kill: Kill;
}

export interface Unit {
  readonly name: string;
  readonly state: UnitState;
  /** The running process's pid (its group id too), if any. */
  readonly pid: number | undefined;
  /** The first run. */
  start(): Promise<void>;
  /**
   * Sends `signal` to its process (not its group), or, within RELOAD_SPACING of the last one,
   * once that spacing is over (reloads asked for meanwhile make one).
   */
  reload(signal: SignalName): 'sent' | 'held' | 'not running';
  /** Stops it gracefully and starts it again at once, not counted as a failure. */
  restart(reason: string): void;
  /** It is never started again from now on (the first step of a stop). */
  halt(): void;
  /** Stops it: its stop signal, SIGKILL to its group at its grace or `deadline`, whichever is first; then its leftovers. */
  stop(deadline: number): Promise<void>;
}

function toExit(pid: number, end: ChildEnd): AppExit {
  if (end.signal !== null) return { pid, code: null, signal: end.signal as SignalName, status: 128 + signalNumber(end.signal as SignalName) };
  const code = end.code ?? 0;
  return { pid, code, signal: null, status: code };
}

export function createUnit(o: UnitOptions): Unit {
  const { spec, clock } = o;
  const log = o.log;
  const pacing = restartPacing({ restartBackoff: spec.restartBackoffMs, restartLimit: spec.restartLimit, clock });
  let state: UnitState = 'idle';
  let child: SpawnedChild | undefined;
  let startedAt = 0;
  let attempt = 0;
  let halted = false;
  let restartAsked = false;
  let termination: Termination | undefined;
  let lastGroup: number | undefined;
  let stopped: Promise<void> | undefined;
  const reloads = reloadSpacing({
    spacingMs: spec.reloadSpacingMs,
    clock,
    send: (signal) => child !== undefined && child.pid > 0 && sendSignal({ pid: child.pid }, signal, o.kill),
    onHeldSent: (signal) => log.info(`sent ${signal} to process ${spec.name}`, { process: spec.name, held: true }),
  });

  /** Its stop signal to `target`'s process now, SIGKILL to its group after `graceMs`. */
  function stopRun(target: SpawnedChild, graceMs: number, late: string): void {
    termination?.cancel();
    termination = terminate({
      target: { pid: target.pid },
      signal: spec.stopSignal,
      killTarget: { group: target.pid },
      graceMs,
      clock,
      kill: o.kill,
      onGraceOver: () => {
        if (child !== target) return false;
        log.warn(`process ${spec.name} did not stop in time${late}; sending SIGKILL to its group`, { process: spec.name, pid: target.pid });
        return true;
      },
    });
  }

  async function run(): Promise<void> {
    if (halted) return;
    if (lastGroup !== undefined) {
      await stopGroupLeftovers({ group: lastGroup, what: `process ${spec.name}`, signal: spec.stopSignal, graceMs: spec.stopTimeoutMs, clock, kill: o.kill, log });
      if (halted) return;
    }
    attempt++;
    const spawned = o.spawn(spec.argv, { source: { kind: 'process', name: spec.name }, log, clock, env: o.env, user: o.user, output: spec.output });
    child = spawned;
    startedAt = clock.monotonic();
    state = 'running';
    if (spawned.pid > 0) {
      lastGroup = spawned.pid;
      log.info(`process ${spec.name} started`, { process: spec.name, pid: spawned.pid, attempt });
      o.bus.emit('process.started', { name: spec.name, pid: spawned.pid, attempt });
    }
    void spawned.exited.then((end) => onExit(spawned, toExit(spawned.pid, end)));
  }

  function onExit(which: SpawnedChild, exit: AppExit): void {
    if (child !== which) return;
    child = undefined;
    termination?.cancel();
    termination = undefined;
    const fields = { process: spec.name, pid: exit.pid, code: exit.code, signal: exit.signal, status: exit.status };
    if (halted) {
      state = 'stopped';
      log.info(`process ${spec.name} ${describeExit(exit)}`, fields);
      o.bus.emit('process.exited', { name: spec.name, exit, restarting: false, final: false, required: spec.required });
      return;
    }
    if (restartAsked) {
      restartAsked = false;
      log.info(`restarting process ${spec.name}`, fields);
      o.bus.emit('process.exited', { name: spec.name, exit, restarting: true, final: false, required: spec.required });
      void run();
      return;
    }
    const failed = exit.status !== 0;
    const wanted = spec.restart === 'always' || (spec.restart === 'on-failure' && failed);
    const delay = wanted ? pacing.schedule(startedAt, () => void run()) : undefined;
    const restarting = delay !== undefined;
    state = restarting ? 'waiting' : 'stopped';
    if (restarting) log.warn(`process ${spec.name} ${describeExit(exit)}; restarting in ${delay}ms`, { ...fields, restart: pacing.failuresInARow });
    else if (wanted) log.error(`process ${spec.name} keeps exiting; restart limit reached`, { ...fields, limit: spec.restartLimit });
    else if (failed) log.error(`process ${spec.name} ${describeExit(exit)}`, fields);
    else log.info(`process ${spec.name} ${describeExit(exit)}`, fields);
    o.bus.emit('process.exited', { name: spec.name, exit, restarting, final: !restarting, required: spec.required });
  }

  function halt(): void {
    halted = true;
    reloads.cancel();
    if (pacing.cancel() || state === 'idle') state = 'stopped';
  }

  return {
    name: spec.name,
    get state() {
      return state;
    },
    get pid() {
      return child?.pid;
    },
    start: run,
    reload(signal) {
      if (child === undefined || child.pid <= 0) return 'not running';
      return reloads.request(signal);
    },
    restart(reason) {
      const target = child;
      if (target === undefined || halted || restartAsked) return;
      restartAsked = true;
      log.info(`stopping process ${spec.name} for a restart`, { process: spec.name, reason });
      stopRun(target, spec.stopTimeoutMs, ' for its restart');
    },
    halt,
    stop(deadline) {
      halt();
      stopped ??= stopNow(deadline);
      return stopped;
    },
  };

  async function stopNow(deadline: number): Promise<void> {
    const target = child;
    if (target !== undefined && target.pid > 0) {
      stopRun(target, Math.min(spec.stopTimeoutMs, deadline - clock.monotonic()), '');
      await target.exited;
    }
    if (lastGroup !== undefined) {
      const graceMs = Math.max(0, Math.min(spec.stopTimeoutMs, deadline - clock.monotonic()));
      await stopGroupLeftovers({ group: lastGroup, what: `process ${spec.name}`, signal: spec.stopSignal, graceMs, clock, kill: o.kill, log });
    }
    state = 'stopped';
  }
}
