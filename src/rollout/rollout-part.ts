// The rollout part: restart resources (reload = "restart") install their new file and restart
// the app through rollout.ts, one replica at a time under STEWARD_ROLLOUT_LOCK. It opens the
// election's store only when a rollout first needs the lock, and closes it when steward stops.

import type { Settings } from '../config/options.ts';
import type { Bus } from '../core/bus.ts';
import { childUser, type ChildUsers } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import type { Part } from '../core/part.ts';
import type { Coordinator } from '../cluster/coordinator.ts';
import { defaultInstanceId } from '../cluster/identity.ts';
import { watchApp } from './app-watch.ts';
import { createRollout, type Rollout, type Turn } from './rollout.ts';
import { createSemaphore } from './semaphore.ts';

export const ROLLOUT_SETTINGS = [
  'rolloutLock', 'rolloutParallel', 'rolloutTimeout', 'rolloutHealthyFor', 'rolloutWait', 'rolloutPreStop', 'rolloutWaitUnhealthy', 'rolloutOrder',
  'keyPrefix', 'instanceId', 'electionTtl', 'healthCmd', 'healthHttp', 'healthTcp', 'healthNotify',
] as const;
export type RolloutSettings = Pick<Settings, (typeof ROLLOUT_SETTINGS)[number]>;

export interface RolloutPartOptions {
  readonly settings: RolloutSettings;
  /** Whether the app's health is watched (health/configured.ts). */
  readonly healthWatched: boolean;
  readonly openCoordinator: () => Promise<Coordinator>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly users: ChildUsers;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface RolloutPart extends Part {
  /** The templates part's gate for a restart resource's new file. */
  turn(what: string): Promise<Turn | undefined>;
  /** steward --rollout-release. */
  release(): Promise<string>;
}

/**
 * Start-first needs to tell the new process from the old one while both share the port: only
 * READY=1 or a command check given {pid} can.
 */
export function checkRolloutSettings(s: RolloutSettings): void {
  if (s.rolloutOrder !== 'start-first') return;
  if (s.healthNotify || (s.healthCmd !== undefined && s.healthCmd.includes('{pid}'))) return;
  throw new ConfigError(
    'STEWARD_ROLLOUT_ORDER=start-first needs to tell the new process from the old one while both listen on one port: set STEWARD_HEALTH_NOTIFY=true (READY=1) or a STEWARD_HEALTH_CMD that uses {pid}; an HTTP or TCP check cannot',
  );
}

export function createRolloutPart(o: RolloutPartOptions): RolloutPart {
  const { settings } = o;
  checkRolloutSettings(settings);
  const log = o.log.child('rollout');
  const app = watchApp(o.bus, o.clock);
  const lockName = settings.rolloutLock;
  const semaphore =
    lockName === undefined
      ? undefined
      : createSemaphore({
          open: o.openCoordinator,
          scope: `${settings.keyPrefix.replace(/\/+$/, '')}/rollout/${lockName}`,
          slots: settings.rolloutParallel,
          instanceId: settings.instanceId ?? defaultInstanceId(),
          ttlMs: settings.electionTtl,
          clock: o.clock,
          log,
        });
  const rollout: Rollout = createRollout({
    semaphore,
    lockName,
    preStop: settings.rolloutPreStop,
    timeoutMs: settings.rolloutTimeout,
    healthyForMs: settings.rolloutHealthyFor,
    waitMs: settings.rolloutWait,
    waitUnhealthy: settings.rolloutWaitUnhealthy,
    healthWatched: o.healthWatched,
    app,
    restart: (reason) => o.bus.emit('app.restart', { reason }),
    order: settings.rolloutOrder,
    handover: (step, reason) => o.bus.emit('app.handover', { step, reason }),
    env: o.env,
    user: childUser('hook', o.users.app),
    bus: o.bus,
    clock: o.clock,
    log,
  });
  return {
    name: 'rollout',
    turn: (what) => rollout.turn(what),
    release: () => rollout.release(),
    // Before the app stops: no restart of ours now, waiting files stay uninstalled, and the lock goes with the session.
    async beforeAppStop() {
      await rollout.stop();
    },
    async stop() {
      await rollout.stop();
      app.close();
    },
  };
}
