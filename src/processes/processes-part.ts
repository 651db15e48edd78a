// The sidecars part. It is the last part, so the parts' order gives the sidecars theirs:
//
//   prepare         (after the configuration is rendered) starts the sidecars with no _AFTER;
//   run             (the app is running) starts those after app:started;
//   beforeAppStop   (first of the parts) stops, in reverse, those started after the app;
//   stop            (first of the parts, once the app has stopped) stops the rest in reverse.
//
// A sidecar after <name>:running or <name>:healthy starts when that one first is, and one after
// app:healthy at the app's first health.changed to healthy. Each stop takes its own grace,
// capped by what is left of the one stop budget. Resources name sidecars in reload_process:
// process.reload and process.restart reach them here.

import type { Bus } from '../core/bus.ts';
import type { ChildUsers } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { Part, StopContext } from '../core/part.ts';
import { nodeKill, type Kill } from '../core/process-control/signal.ts';
import { loadChildSpawner } from '../core/spawn-child.ts';
import type { Check } from '../health/check.ts';
import { commandCheck } from '../health/command-check.ts';
import { httpCheck } from '../health/http-check.ts';
import { createMonitor, type Monitor } from '../health/monitor.ts';
import { parseTcpTargets, tcpCheck } from '../health/tcp-check.ts';
import { describeAfter, type ProcessSpec } from './spec.ts';
import { createUnit, type Unit } from './unit.ts';

export interface ProcessesPartOptions {
  readonly specs: readonly ProcessSpec[];
  /** What the sidecars' environment is built from (the app's); runCommand's rule removes the secrets. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly users: ChildUsers;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
  readonly kill?: Kill;
}

export interface ProcessesPart extends Part {
  /** The sidecars by name, for the status view and tests. */
  readonly units: ReadonlyMap<string, Unit>;
}

function buildCheck(spec: ProcessSpec, o: ProcessesPartOptions, log: Logger): Check | undefined {
  const probe = spec.health?.probe;
  if (probe === undefined) return undefined;
  if (probe.kind === 'command') {
    const user = spec.user === undefined ? o.users.app : o.users.resolve(spec.user, spec.userSource);
    return commandCheck(probe.words, o.env, { log, user, name: spec.name });
  }
  if (probe.kind === 'http') return httpCheck(probe.url, probe.status);
  return tcpCheck(parseTcpTargets(probe.targets, `${spec.origin} (health_tcp)`));
}

export function createProcessesPart(o: ProcessesPartOptions): ProcessesPart {
  const log = o.log.child('processes');
  const kill = o.kill ?? nodeKill;
  const units = new Map<string, Unit>();
  const monitors = new Map<string, Monitor>();
  /** Sidecars in the order they first started: they stop in reverse. */
  const started: { unit: Unit; afterApp: boolean }[] = [];
  const running = new Set<string>();
  const healthy = new Set<string>();
  const unsubscribe: (() => void)[] = [];
  let appStarted = false;
  let appHealthy = false;
  let stopping = false;

  function ready(spec: ProcessSpec): boolean {
    const a = spec.after;
    if (a === undefined) return true;
    if (a.kind === 'app') return a.state === 'started' ? appStarted : appHealthy;
    return a.state === 'running' ? running.has(a.name) : healthy.has(a.name);
  }

  function startReady(): void {
    for (const spec of o.specs) {
      const unit = units.get(spec.name);
      if (stopping || unit === undefined || started.some((s) => s.unit === unit) || !ready(spec)) continue;
      started.push({ unit, afterApp: appStarted });
      log.debug(`starting process ${spec.name} (${describeAfter(spec.after)})`);
      void unit.start().catch((error: unknown) => log.error(`process ${spec.name} could not be started`, { error: String(error) }));
    }
  }

  async function stopInReverse(which: (entry: { unit: Unit; afterApp: boolean }) => boolean, ctx: StopContext): Promise<void> {
    stopping = true;
    for (const unit of units.values()) unit.halt();
    for (const entry of [...started].reverse()) {
      if (which(entry)) await entry.unit.stop(ctx.deadline);
    }
  }

  function listen(): void {
    const { bus } = o;
    unsubscribe.push(
      bus.on('process.started', ({ name, pid }) => {
        monitors.get(name)?.appStarted(pid);
        running.add(name);
        startReady();
      }),
      bus.on('process.exited', ({ name }) => monitors.get(name)?.appStopped()),
      bus.on('process.health', ({ name, health }) => {
        if (health !== 'healthy') return;
        healthy.add(name);
        startReady();
      }),
      bus.on('health.changed', ({ health }) => {
        if (health !== 'healthy' || appHealthy) return;
        appHealthy = true;
        startReady();
      }),
      bus.on('process.reload', ({ name, signal, reason }) => {
        const unit = units.get(name);
        const spec = o.specs.find((s) => s.name === name);
        if (unit === undefined || spec === undefined) {
          log.error(`reload_process names no sidecar ${JSON.stringify(name)}`, { reason });
          return;
        }
        const sent = signal ?? spec.reloadSignal;
        const outcome = unit.reload(sent);
        if (outcome === 'sent') log.info(`sent ${sent} to process ${name}`, { process: name, reason });
        else if (outcome === 'held') log.info(`${sent} to process ${name} held until its reload spacing is over`, { process: name, reason });
        else log.debug(`${sent} not sent: process ${name} is not running`, { process: name, reason });
      }),
      bus.on('process.restart', ({ name, reason }) => {
        const unit = units.get(name);
        if (unit === undefined) log.error(`reload_process names no sidecar ${JSON.stringify(name)}`, { reason });
        else unit.restart(reason);
      }),
    );
  }

  return {
    name: 'processes',
    units,
    async prepare() {
      const spawn = await loadChildSpawner();
      for (const spec of o.specs) {
        const user = spec.user === undefined ? o.users.app : o.users.resolve(spec.user, spec.userSource);
        units.set(spec.name, createUnit({ spec, spawn, env: o.env, user, bus: o.bus, log, clock: o.clock, kill }));
        const check = buildCheck(spec, o, log);
        if (spec.health !== undefined) {
          const name = spec.name;
          monitors.set(name, createMonitor({
            ...spec.health,
            check,
            notify: false,
            clock: o.clock,
            onChange: ({ health, previous, output }) => {
              log.info(`process ${name} is ${health}`, { process: name, output });
              o.bus.emit('process.health', { name, health, previous, output });
            },
          }));
        }
      }
      listen();
      startReady();
    },
    run() {
      appStarted = true;
      startReady();
    },
    async beforeAppStop(ctx) {
      await stopInReverse((entry) => entry.afterApp, ctx);
    },
    async stop(ctx) {
      await stopInReverse(() => true, ctx);
      for (const monitor of monitors.values()) monitor.appStopped();
      for (const off of unsubscribe.splice(0)) off();
    },
  };
}
