// The rollout: a changed file of a restart resource, rendered and checked, waits here for its
// turn; under the cluster lock (or alone, without STEWARD_ROLLOUT_LOCK) one sequence runs:
//   pre-stop -> wait until unhealthy -> install -> stop and start -> wait until healthy -> release.
// An app that is not healthy by STEWARD_ROLLOUT_TIMEOUT keeps the lock, so the rollout goes no
// further across the cluster, until it is healthy (it recovers, or a later configuration fixes
// it: that configuration's sequence runs under the lock already held). A lock lost during the
// sequence lets the step under way finish; no later step starts until the lock is held again.

import type { Bus } from '../core/bus.ts';
import type { ChildUser } from '../core/child-rule.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { runCommand } from '../core/exec.ts';
import type { Logger } from '../core/log.ts';
import { clockSleep } from '../core/process-control/clock-waits.ts';
import { formatDuration } from '../config/values.ts';
import type { AppWatch } from './app-watch.ts';
import type { HeldSlot, Semaphore } from './semaphore.ts';

export interface RolloutTiming {
  readonly timeoutMs: number;
  readonly healthyForMs: number;
  /** Without a health check: how long the lock is held after the start. */
  readonly waitMs: number;
  readonly waitUnhealthy: boolean;
}

export interface RolloutOptions extends RolloutTiming {
  /** Undefined without STEWARD_ROLLOUT_LOCK. */
  readonly semaphore: Semaphore | undefined;
  readonly lockName: string | undefined;
  readonly preStop: string | undefined;
  /** Whether a health check or READY=1 tells when the app is healthy. */
  readonly healthWatched: boolean;
  readonly app: AppWatch;
  /** Stops the app and starts it again (stop signal, stop timeout, SIGKILL). */
  readonly restart: (reason: string) => void;
  readonly order: 'stop-first' | 'start-first';
  /** Start-first: a new app beside the old one, then the old one retired (or the new one dropped). */
  readonly handover: (step: 'start' | 'retire' | 'keep-old', reason: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly user: ChildUser | undefined;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often a rollout stuck on an unhealthy app says so (a minute). */
  readonly stuckLogEveryMs?: number;
}

/** A file's turn to be installed: call `installed` once it is in place (or could not be). */
export interface Turn {
  installed(ok: boolean): void;
}

export interface Rollout {
  /** Resolves when `what` may be installed; undefined when it never will (steward stops). */
  turn(what: string): Promise<Turn | undefined>;
  /** The operator's release of a lock this replica holds (steward --rollout-release). */
  release(): Promise<string>;
  /** Whether this replica holds the rollout lock. */
  holding(): boolean;
  stop(): Promise<void>;
}

interface Waiter {
  readonly what: string;
  readonly resolve: (turn: Turn | undefined) => void;
}

const MINUTE = 60_000;

export function createRollout(o: RolloutOptions): Rollout {
  const { log, clock } = o;
  const waiting: Waiter[] = [];
  const stopping = new AbortController();
  let slot: HeldSlot | undefined;
  /** A file was installed but the app not restarted for it (the lock was lost between). */
  let restartOwed = false;
  let driving: Promise<void> | undefined;
  let arrived: (() => void) | undefined;
  let operatorRelease: (() => void) | undefined;

  const locked = o.semaphore !== undefined;
  const authority = (): boolean => !locked || (slot?.held() ?? false);
  const lockWords = (): string => (o.lockName === undefined ? '' : ` (lock ${o.lockName})`);

  function kick(): void {
    arrived?.();
    if (driving !== undefined || stopping.signal.aborted) return;
    driving = drive()
      .catch((error: unknown) => {
        if (!stopping.signal.aborted) log.error('rollout failed', { error: String(error) });
      })
      .finally(() => {
        driving = undefined;
        if ((waiting.length > 0 || restartOwed) && !stopping.signal.aborted) kick();
      });
  }

  async function drive(): Promise<void> {
    while ((waiting.length > 0 || restartOwed) && !stopping.signal.aborted) {
      if (o.semaphore !== undefined && !authority()) {
        log.info(`waiting for the rollout lock${lockWords()}`, { changed: waiting.map((w) => w.what) });
        const since = clock.monotonic();
        slot = await o.semaphore.acquire(stopping.signal);
        log.info(`rollout lock acquired${lockWords()}`, { waitedMs: Math.round(clock.monotonic() - since), slot: slot.key });
        o.bus.emit('rollout.lock', { held: true, key: slot.key });
        const mine = slot;
        void mine.lost.then((reason) => {
          if (slot === mine && !stopping.signal.aborted) {
            log.error(`rollout lock lost: ${reason}; the step under way finishes, no later step starts without the lock`, { key: mine.key });
            o.bus.emit('rollout.lock', { held: false, key: mine.key });
          }
        });
      }
      await sequence();
    }
  }

  /** Says whether the next step may start; logs the loss once when it may not. */
  function mayGoOn(step: string): boolean {
    if (authority()) return true;
    log.error(`not starting "${step}": the rollout lock was lost; it resumes once the lock is held again`);
    return false;
  }

  function step(name: string): void {
    log.info(`rollout: ${name}`);
    o.bus.emit('rollout.step', { step: name, pid: o.app.pid() });
  }

  async function sequence(): Promise<void> {
    const batch = waiting.splice(0);
    const putBack = (): void => {
      waiting.unshift(...batch);
    };
    if (o.order === 'start-first') return startFirst(batch, putBack);
    if (batch.length > 0) {
      if (!mayGoOn('pre-stop')) return putBack();
      if (o.preStop !== undefined) await preStop(o.preStop);
      if (o.waitUnhealthy && o.healthWatched) {
        if (!mayGoOn('wait until unhealthy')) return putBack();
        step('waiting until the app is unhealthy');
        const failed = await o.app.until((a) => a.health() === 'unhealthy', o.timeoutMs, stopping.signal);
        if (!failed && !stopping.signal.aborted) log.warn(`the app was still healthy after ${formatDuration(o.timeoutMs)} (STEWARD_ROLLOUT_TIMEOUT); stopping it anyway`);
      }
      if (!mayGoOn('install')) return putBack();
      step('installing');
      const installed = await install(batch);
      if (installed === 0) {
        log.warn('no changed file could be installed; the app is not restarted');
        await releaseLock();
        return;
      }
      restartOwed = true;
    }
    if (stopping.signal.aborted) return;
    if (!mayGoOn('stop and start')) return;
    restartOwed = false;
    step('restarting the app');
    const before = o.app.run();
    o.restart(`changed: ${batch.map((w) => w.what).join(', ') || 'a file installed before the rollout lock was lost'}`);
    const settled = await waitHealthy(before);
    if (settled === 'superseded' || stopping.signal.aborted) return;
    if (!mayGoOn('release')) return;
    await releaseLock();
  }

  /**
   * Start-first: install, start the new app beside the old one, wait until it is ready (READY=1 or
   * a {pid} check), hold STEWARD_ROLLOUT_HEALTHY_FOR, run the pre-stop on the old one, stop it.
   */
  async function startFirst(batch: readonly Waiter[], putBack: () => void): Promise<void> {
    const reason = `changed: ${batch.map((w) => w.what).join(', ') || 'a file installed before the rollout lock was lost'}`;
    if (batch.length > 0) {
      if (!mayGoOn('install')) return putBack();
      step('installing');
      if ((await install(batch)) === 0) {
        log.warn('no changed file could be installed; the app is not restarted');
        await releaseLock();
        return;
      }
      restartOwed = true;
    }
    if (stopping.signal.aborted || !mayGoOn('start beside')) return;
    restartOwed = false;
    const old = o.app.pid();
    const before = o.app.run();
    step('starting the new app beside the old one');
    o.handover('start', reason);
    if (o.app.run() === before) {
      // No app was running to stand beside (it crashed, or waits for its back-off): a plain restart.
      log.warn('no running app to start beside; restarting it instead');
      o.restart(reason);
      if ((await waitHealthy(before)) === 'ok' && !stopping.signal.aborted && mayGoOn('release')) await releaseLock();
      return;
    }
    const fresh = o.app.pid();
    step('waiting until the new app is ready');
    // Ends early when the app is another process again (the new one died and the old one is back).
    await o.app.until((a) => a.pid() !== fresh || a.health() === 'healthy', o.timeoutMs, stopping.signal);
    const ready = o.app.pid() === fresh && o.app.health() === 'healthy';
    if (stopping.signal.aborted) return;
    if (!ready) {
      log.error(`the new app is not ready after ${formatDuration(o.timeoutMs)} (STEWARD_ROLLOUT_TIMEOUT); stopping it, the old one keeps serving`);
      o.handover('keep-old', 'the new app was not ready in time');
      // The old app serves the old configuration: only a later one (or the operator) ends this.
      await stuck(() => false);
      return;
    }
    log.info('the new app is ready');
    o.bus.emit('rollout.step', { step: 'healthy', pid: o.app.pid() });
    if (o.healthyForMs > 0) {
      step(`waiting ${formatDuration(o.healthyForMs)} more (STEWARD_ROLLOUT_HEALTHY_FOR)`);
      await clockSleep(clock, o.healthyForMs, stopping.signal).catch(() => {});
    }
    if (o.preStop !== undefined) {
      if (!mayGoOn('pre-stop')) return;
      await preStop(o.preStop, old);
    }
    if (!mayGoOn('stop the old app')) return;
    step('stopping the old app');
    o.handover('retire', reason);
    if (!mayGoOn('release')) return;
    await releaseLock();
  }

  async function preStop(command: string, pid = o.app.pid()): Promise<void> {
    step('running the pre-stop command');
    const result = await runCommand(
      { shell: command.replaceAll('{pid}', String(pid)) },
      { source: { kind: 'hook', name: 'rollout-pre-stop' }, log, user: o.user, timeoutMs: o.timeoutMs, env: { ...o.env, STEWARD_APP_PID: String(pid) }, signal: stopping.signal },
    );
    if (!result.ok) log.warn(`STEWARD_ROLLOUT_PRE_STOP failed (${result.failure}); going on with the restart`, { output: result.output });
  }

  /** Lets every waiting file be installed; returns how many were. */
  async function install(batch: readonly Waiter[]): Promise<number> {
    const outcomes = batch.map(
      (w) =>
        new Promise<boolean>((resolve) => {
          w.resolve({ installed: resolve });
        }),
    );
    return (await Promise.all(outcomes)).filter(Boolean).length;
  }

  /** The wait after the start; 'superseded' when a later configuration came while stuck. */
  async function waitHealthy(before: number): Promise<'ok' | 'superseded'> {
    if (!o.healthWatched) {
      step(`waiting ${formatDuration(o.waitMs)} (STEWARD_ROLLOUT_WAIT; no health check)`);
      await clockSleep(clock, o.waitMs, stopping.signal).catch(() => {});
      return 'ok';
    }
    step('waiting until the app is healthy');
    const isHealthy = (a: AppWatch): boolean => a.run() > before && a.health() === 'healthy';
    if (!(await o.app.until(isHealthy, o.timeoutMs, stopping.signal))) {
      if (stopping.signal.aborted) return 'ok';
      const outcome = await stuck(isHealthy);
      if (outcome !== 'healthy') return 'superseded';
    }
    log.info('the app is healthy after its restart');
    o.bus.emit('rollout.step', { step: 'healthy', pid: o.app.pid() });
    if (o.healthyForMs > 0) {
      step(`holding the lock ${formatDuration(o.healthyForMs)} more (STEWARD_ROLLOUT_HEALTHY_FOR)`);
      await clockSleep(clock, o.healthyForMs, stopping.signal).catch(() => {});
    }
    return 'ok';
  }

  /** The app is not healthy by the timeout: the lock is kept until it is (or a new configuration comes). */
  async function stuck(isHealthy: (a: AppWatch) => boolean): Promise<'healthy' | 'superseded' | 'released'> {
    const since = clock.monotonic();
    const say = (): void =>
      log.error(`the app is not healthy ${formatDuration(clock.monotonic() - since + o.timeoutMs)} after its restart; keeping the rollout lock${lockWords()} so that the rollout goes no further (steward --rollout-release gives it back)`, {
        health: o.app.health(),
      });
    say();
    o.bus.emit('rollout.step', { step: 'stuck', pid: o.app.pid() });
    let repeat: TimerHandle | undefined;
    const again = (): void => {
      repeat = clock.setTimer(o.stuckLogEveryMs ?? MINUTE, () => {
        say();
        again();
      });
    };
    again();
    const leave = new AbortController();
    try {
      const healthy = o.app.until(isHealthy, Number.POSITIVE_INFINITY, AbortSignal.any([stopping.signal, leave.signal])).then((ok) => (ok ? ('healthy' as const) : ('released' as const)));
      const superseded = new Promise<'superseded'>((resolve) => {
        arrived = () => resolve('superseded');
      });
      const released = new Promise<'released'>((resolve) => {
        operatorRelease = () => resolve('released');
      });
      if (waiting.length > 0) return 'superseded';
      const outcome = await Promise.race([healthy, superseded, released]);
      if (outcome === 'superseded') log.info('a new configuration came while the rollout was stuck: it goes next, under the lock already held');
      return outcome;
    } finally {
      leave.abort();
      repeat?.cancel();
      arrived = undefined;
      operatorRelease = undefined;
    }
  }

  async function releaseLock(): Promise<void> {
    const held = slot;
    slot = undefined;
    if (o.semaphore === undefined || held === undefined) return;
    await o.semaphore.release(held);
    log.info(`rollout lock released${lockWords()}`);
    o.bus.emit('rollout.lock', { held: false, key: held.key });
  }

  return {
    turn(what) {
      if (stopping.signal.aborted) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        waiting.push({ what, resolve });
        kick();
      });
    },
    async release() {
      if (slot === undefined) return 'no rollout lock is held';
      const key = slot.key;
      log.warn('the operator releases the rollout lock (steward --rollout-release)', { key });
      operatorRelease?.();
      await releaseLock();
      return `released the rollout lock ${key}`;
    },
    holding: () => slot?.held() ?? false,
    async stop() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      for (const w of waiting.splice(0)) w.resolve(undefined);
      await driving;
      await o.semaphore?.close();
    },
  };
}
