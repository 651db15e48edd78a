// The health part: builds the one check STEWARD_HEALTH_* describes (a check that cannot run is
// exit 78 before the app starts), gives the app a NOTIFY_SOCKET when asked, follows the app's
// runs on the bus (app.started, app.exited), and tells the rest of steward what it learned:
// health.changed on the bus, the hooks, a restart of an app unhealthy too long, and a guard
// for jobs with when = healthy.

import { childUser, type ChildUsers } from '../core/child-rule.ts';
import type { Settings } from '../config/options.ts';
import { formatDuration } from '../config/values.ts';
import type { Bus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Events, Health } from '../core/events.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { createHookRunner, hookRunnerUsers, parseHook, type HookCall } from '../core/hooks.ts';
import type { Logger } from '../core/log.ts';
import type { Part } from '../core/part.ts';
import type { Libc } from '../init/libc.ts';
import type { Guard } from '../jobs/guards.ts';
import type { Check } from './check.ts';
import { checkRunnable, commandCheck, type CheckRunner } from './command-check.ts';
import { httpCheck, parseHealthUrl } from './http-check.ts';
import { createMonitor, type Monitor } from './monitor.ts';
import { openNotifySocket, type NotifySocket } from './notify-socket.ts';
import { parseTcpTargets, tcpCheck } from './tcp-check.ts';

/** The settings the health part reads (parts.ts picks them). */
export const HEALTH_SETTINGS = [
  'healthCmd', 'healthHttp', 'healthHttpStatus', 'healthTcp', 'healthNotify', 'healthInterval', 'healthTimeout',
  'healthRetries', 'healthStartPeriod', 'healthStartInterval', 'healthRestartAfter', 'onHealthy', 'onUnhealthy', 'hookTimeout', 'hookUser',
] as const;
export type HealthSettings = Pick<Settings, (typeof HEALTH_SETTINGS)[number]>;

/** The one check the settings describe, checked now; undefined for readiness notification alone. */
export function buildCheck(s: HealthSettings, env: Readonly<Record<string, string | undefined>>, runner: CheckRunner): Check | undefined {
  const given = [
    s.healthCmd !== undefined ? 'STEWARD_HEALTH_CMD' : undefined,
    s.healthHttp !== undefined ? 'STEWARD_HEALTH_HTTP' : undefined,
    s.healthTcp.length > 0 ? 'STEWARD_HEALTH_TCP' : undefined,
  ].filter((name) => name !== undefined);
  if (given.length > 1) throw new ConfigError(`${given.join(' and ')}: set only one health check (as Docker has one HEALTHCHECK)`);
  if (s.healthCmd !== undefined) {
    const words = parseHook(s.healthCmd, 'STEWARD_HEALTH_CMD');
    if (words === undefined) throw new ConfigError('STEWARD_HEALTH_CMD: empty command');
    checkRunnable(words[0] ?? '', env, 'STEWARD_HEALTH_CMD');
    return commandCheck(words, env, runner);
  }
  if (s.healthHttp !== undefined) return httpCheck(parseHealthUrl(s.healthHttp, 'STEWARD_HEALTH_HTTP'), s.healthHttpStatus);
  if (s.healthTcp.length > 0) return tcpCheck(parseTcpTargets(s.healthTcp, 'STEWARD_HEALTH_TCP'));
  return undefined;
}

export interface HealthPart extends Part {
  /** For jobs with when = healthy: they start only while the app is healthy. */
  readonly guard: Guard;
}

export interface HealthPartOptions {
  readonly settings: HealthSettings;
  /** steward's environment; runCommand takes its secrets out before a check or hook gets it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Who checks and hooks run as: the app's user unless STEWARD_HOOK_USER says otherwise for hooks. */
  readonly users: ChildUsers;
  readonly libc: Libc;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export function createHealthPart(o: HealthPartOptions): HealthPart {
  const { settings, bus, clock } = o;
  const log = o.log.child('health');
  const check = buildCheck(settings, o.env, { log, user: childUser('check', o.users.app) });
  const hooks = {
    healthy: parseHook(settings.onHealthy, 'STEWARD_ON_HEALTHY'),
    unhealthy: parseHook(settings.onUnhealthy, 'STEWARD_ON_UNHEALTHY'),
  };
  const hookRunner = createHookRunner({ timeoutMs: settings.hookTimeout, env: o.env, log, ...hookRunnerUsers(o.users, settings.hookUser) });
  const unsubscribe: (() => void)[] = [];
  let socket: NotifySocket | undefined;
  let restartTimer: TimerHandle | undefined;
  let pid = 0;

  function onChange(change: Events['health.changed']): void {
    restartTimer?.cancel();
    restartTimer = undefined;
    if (change.health === 'healthy') log.info('app is healthy', { output: change.output });
    else if (change.health === 'unhealthy') log.warn('app is unhealthy', { output: change.output, failingStreak: change.failingStreak });
    else log.debug('app is starting');
    bus.emit('health.changed', change);
    if (change.health === 'starting') return;
    const command = change.health === 'healthy' ? hooks.healthy : hooks.unhealthy;
    const env = { STEWARD_HEALTH: change.health, STEWARD_HEALTH_OUTPUT: change.output, STEWARD_APP_PID: String(pid) };
    const calls: HookCall[] = command === undefined ? [] : [{ name: `on-${change.health}`, command, env }];
    void hookRunner.transition(calls);
    if (change.health === 'unhealthy' && settings.healthRestartAfter !== undefined) {
      const after = settings.healthRestartAfter;
      restartTimer = clock.setTimer(after, () => {
        restartTimer = undefined;
        if (monitor.health !== 'unhealthy') return;
        // A local repair: through the supervisor's own restart, never behind a cluster lock.
        bus.emit('app.restart', { reason: `unhealthy for ${formatDuration(after)} (STEWARD_HEALTH_RESTART_AFTER)`, countsAsFailure: true });
      });
    }
  }

  const monitor: Monitor = createMonitor({
    check,
    notify: settings.healthNotify,
    intervalMs: settings.healthInterval,
    timeoutMs: settings.healthTimeout,
    retries: settings.healthRetries,
    startPeriodMs: settings.healthStartPeriod,
    startIntervalMs: settings.healthStartInterval,
    clock,
    onChange,
  });

  function onNotify(fields: ReadonlyMap<string, string>): void {
    const status = fields.get('STATUS');
    if (status !== undefined) {
      log.debug('app status', { status });
      bus.emit('app.status', { status });
    }
    if (fields.get('READY') === '1') {
      log.info('app sent READY=1');
      monitor.ready();
    }
  }

  function stopWatching(): void {
    restartTimer?.cancel();
    restartTimer = undefined;
    monitor.appStopped();
  }

  const health = (): Health => monitor.health;
  return {
    name: 'health',
    guard: {
      permit: () => (health() === 'healthy' ? { fencingToken: undefined } : undefined),
      // Health gates a job's start only: a run already going is not stopped when a check fails.
      onLost: () => () => {},
    },
    async prepare() {
      if (settings.healthNotify) socket = openNotifySocket({ libc: o.libc, clock, onMessage: onNotify });
      unsubscribe.push(
        bus.on('app.started', (e) => {
          pid = e.pid;
          socket?.awaitReady();
          log.debug(check === undefined ? 'awaiting READY=1' : `checking with ${check.description}`, { pid: e.pid });
          monitor.appStarted(e.pid);
        }),
        bus.on('app.exited', stopWatching),
      );
    },
    appEnv(): Record<string, string> {
      return socket === undefined ? {} : { NOTIFY_SOCKET: socket.path };
    },
    async beforeAppStop() {
      // The app is being stopped: a check failing now says nothing about it.
      stopWatching();
    },
    async stop() {
      stopWatching();
      for (const off of unsubscribe.splice(0)) off();
      hookRunner.stop();
      socket?.close();
    },
  };
}
