// The run loop: listen for signals and reap from the first moment, let the parts prepare
// (render configuration, wait for conditions), start the app, then stop everything in order
// within one stop budget and exit with the app's status. Which phase the run is in, and what a
// stop signal does in each, is lifecycle.ts's business.

import type { Settings } from '../config/options.ts';
import { signalNumber } from '../config/values.ts';
import { actOnAppRequests } from '../init/app-requests.ts';
import { canTakeTerminal } from '../init/spawn-app.ts';
import { reportedStatus } from '../init/exit-status.ts';
import type { Libc } from '../init/libc.ts';
import { stopLeftovers } from '../init/leftovers.ts';
import { keepMemoryTrimmed, releaseStartupMemory, type MemoryKeeper } from '../init/memory.ts';
import { nodeChildren as nodeChildRegistry } from '../init/node-children.ts';
import { startReaper } from '../init/reaper.ts';
import { listenForSignals, STOP_SIGNALS } from '../init/signals.ts';
import { createSupervisor, type Supervisor } from '../init/supervisor.ts';
import type { AppUser } from '../init/user.ts';
import type { Bus } from './bus.ts';
import type { Clock } from './clock.ts';
import { EXIT, StewardError } from './exit-codes.ts';
import { createLifecycle } from './lifecycle.ts';
import type { RootLogger } from './log.ts';
import type { Part, StopContext } from './part.ts';

export interface RunOptions {
  readonly settings: Settings;
  readonly command: readonly string[];
  readonly appEnv: Readonly<Record<string, string | undefined>>;
  readonly appUser: AppUser | undefined;
  readonly libc: Libc;
  readonly bus: Bus;
  readonly log: RootLogger;
  readonly clock: Clock;
  /** Built lazily, after the pure-init decisions: loading a part may import heavy modules. */
  readonly parts: () => Promise<readonly Part[]>;
}

/** Runs steward to the end; resolves with the exit status. */
export async function run(o: RunOptions): Promise<number> {
  const { settings, libc, bus, log, clock } = o;
  const initLog = log.child('init');
  const isPid1 = process.pid === 1;
  const nodeChildren = nodeChildRegistry();
  if (!isPid1 && !libc.becomeSubreaper()) initLog.warn('could not become a child subreaper; orphans of the app will not be reaped by steward');

  let supervisor: Supervisor | undefined;
  const lifecycle = createLifecycle({ stopTimeout: settings.stopTimeout, bus, log: initLog, clock });

  const unlisten = listenForSignals((signal) => {
    if (STOP_SIGNALS.has(signal)) lifecycle.stopSignal(signal);
    else supervisor?.forward(signal);
  });
  const traceOrphans = initLog.enabled('trace');
  const reaper = startReaper(libc, nodeChildren, (child) => {
    if (supervisor?.handleReaped(child.pid, child.status) !== true && traceOrphans) {
      initLog.trace('reaped orphan', { pid: child.pid });
    }
  });

  // A required sidecar that fails for good ends the container with its status.
  const offRequired = bus.on('process.exited', ({ name, exit, final, required }) => {
    if (required && final && exit.status !== 0) lifecycle.stopFor(`required process ${name} failed (status ${exit.status})`, exit.status, settings.stopSignal);
  });

  let parts: readonly Part[] = [];
  let memoryKeeper: MemoryKeeper | undefined;
  try {
    parts = await o.parts();
    // A run with parts already loads more than the logger; what they log while the app waits
    // (missing keys, an unreachable backend) must show at once.
    if (parts.length > 0) log.activate();
    const preparation = lifecycle.preparation;
    for (const part of parts) {
      if (preparation.aborted) break;
      try {
        await part.prepare?.(preparation);
      } catch (error) {
        // Whatever a part was waiting for when the stop came, the stop decides the outcome.
        if (preparation.aborted) break;
        throw error;
      }
    }
    const ended = lifecycle.stoppedFor;
    if (ended !== undefined && lifecycle.stoppedWhilePreparing === undefined) {
      initLog.error(`${ended.reason} before the app started; stopping`);
      await stopParts(parts, lifecycle.stopWithoutApp(ended.reason, ended.status));
      return ended.status;
    }
    const early = lifecycle.stoppedWhilePreparing;
    if (early !== undefined) {
      initLog.info(`received ${early} before the app started; stopping`);
      const status = 128 + signalNumber(early);
      await stopParts(parts, lifecycle.stopWithoutApp(`received ${early}`, status));
      return status;
    }
    if (o.command.length === 0) {
      await stopParts(parts, lifecycle.stopWithoutApp('nothing to run', EXIT.ok));
      return EXIT.ok;
    }

    supervisor = createSupervisor({
      libc,
      app: {
        command: o.command,
        env: Object.assign({}, o.appEnv, ...parts.map((part) => part.appEnv?.() ?? {})),
        credentials: o.appUser?.credentials,
        takeTerminal: canTakeTerminal(libc),
      },
      signalGroup: settings.signalGroup,
      rewrite: settings.signalRewrite,
      successCodes: settings.successExitCodes,
      restart: settings.restart,
      restartLimit: settings.restartLimit,
      restartBackoff: settings.restartBackoff,
      stopSignal: settings.stopSignal,
      stopTimeout: settings.stopTimeout,
      bus,
      log: initLog,
      clock,
    });
    const sup = supervisor;
    sup.start();
    log.activate();
    // The parts' start-up garbage (keys read, templates rendered, watches set up) need not stay
    // resident: once now, and once more when the watches have settled.
    // Each release blocks the event loop (a last-resort collection: tens of ms of CPU, half a
    // second on a loaded machine), so it never runs once a stop has begun: steward is leaving
    // anyway, and a leader's hand-over must not wait for it. The line after the second one tells
    // that steward's own start-up work is over (the hand-over tests wait for it).
    if (parts.length > 0) {
      setImmediate(() => releaseStartupMemory(libc));
      setTimeout(() => {
        if (lifecycle.phase !== 'running') return;
        releaseStartupMemory(libc);
        initLog.info('start-up finished');
      }, 3000).unref();
      memoryKeeper = keepMemoryTrimmed({ libc, clock });
    }
    actOnAppRequests(bus, sup, initLog);
    lifecycle.appStarted({
      forward: (signal) => sup.forward(signal),
      async stop(ctx, signal) {
        // No restart from here on, whatever the parts still do before the app is stopped.
        sup.halt();
        await beforeAppStop(parts, ctx);
        if (signal === undefined) return;
        // Forward what the operator sent (after any rewrite); SIGKILL at the deadline.
        sup.forward(signal);
        sup.stop(null, ctx.deadline);
      },
    });
    for (const part of parts) await part.run?.();

    const exit = await sup.done;
    const status = lifecycle.stoppedFor?.status ?? reportedStatus(exit, settings.successExitCodes);
    const ctx = await lifecycle.appExited(status);
    await stopParts(parts, ctx);
    await stopLeftovers({
      libc,
      isPid1,
      appGroup: exit.pid,
      nodeChildren,
      sweep: () => void reaper.sweep(),
      deadline: ctx.deadline,
      clock,
      log: initLog,
    });
    return status;
  } catch (error) {
    // Nothing is left half-started: parts that prepared are stopped before the error surfaces.
    if (error instanceof StewardError) await stopParts(parts, lifecycle.failed(error.message, error.exitCode)).catch(() => {});
    throw error;
  } finally {
    lifecycle.stopped();
    offRequired();
    unlisten();
    reaper.stop();
    memoryKeeper?.stop();
  }
}

async function beforeAppStop(parts: readonly Part[], ctx: StopContext): Promise<void> {
  for (const part of [...parts].reverse()) await part.beforeAppStop?.(ctx);
}

async function stopParts(parts: readonly Part[], ctx: StopContext): Promise<void> {
  for (const part of [...parts].reverse()) await part.stop?.(ctx);
}
