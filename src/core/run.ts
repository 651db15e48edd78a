// The run loop: listen for signals and reap from the first moment, let the parts prepare
// (render configuration, wait for conditions), start the app, then stop everything in order
// within one stop budget and exit with the app's status.

import type { Settings } from '../config/options.ts';
import { signalNumber, type SignalName } from '../config/values.ts';
import { canTakeTerminal } from '../init/spawn-app.ts';
import { reportedStatus } from '../init/exit-status.ts';
import type { Libc } from '../init/libc.ts';
import { stopLeftovers } from '../init/leftovers.ts';
import { releaseStartupMemory } from '../init/memory.ts';
import { nodeChildren as nodeChildRegistry } from '../init/node-children.ts';
import { startReaper } from '../init/reaper.ts';
import { listenForSignals, STOP_SIGNALS } from '../init/signals.ts';
import { createSupervisor, type Supervisor } from '../init/supervisor.ts';
import type { AppUser } from '../init/user.ts';
import type { Bus } from './bus.ts';
import type { Clock } from './clock.ts';
import { EXIT, StewardError } from './exit-codes.ts';
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
  let stopSignal: SignalName | undefined;
  const prepareAbort = new AbortController();
  let beginStop: (signal: SignalName) => void = (signal) => {
    stopSignal ??= signal;
    prepareAbort.abort();
  };

  const unlisten = listenForSignals((signal) => {
    bus.emit('signal.received', { signal });
    if (STOP_SIGNALS.has(signal)) {
      beginStop(signal);
      return;
    }
    supervisor?.forward(signal);
  });
  const traceOrphans = initLog.enabled('trace');
  const reaper = startReaper(libc, nodeChildren, (child) => {
    if (supervisor?.handleReaped(child.pid, child.status) !== true && traceOrphans) {
      initLog.trace('reaped orphan', { pid: child.pid });
    }
  });

  const stopContext = (reason: string): StopContext => ({ deadline: clock.monotonic() + settings.stopTimeout, reason });

  let parts: readonly Part[] = [];
  try {
    parts = await o.parts();
    // A run with parts already loads more than the logger; what they log while the app waits
    // (missing keys, an unreachable backend) must show at once.
    if (parts.length > 0) log.activate();
    for (const part of parts) {
      if (prepareAbort.signal.aborted) break;
      try {
        await part.prepare?.(prepareAbort.signal);
      } catch (error) {
        // Whatever a part was waiting for when the stop came, the stop decides the outcome.
        if (prepareAbort.signal.aborted) break;
        throw error;
      }
    }
    if (stopSignal !== undefined) {
      initLog.info(`received ${stopSignal} before the app started; stopping`);
      await stopParts(parts, stopContext(`received ${stopSignal}`));
      return 128 + signalNumber(stopSignal);
    }
    if (o.command.length === 0) {
      await stopParts(parts, stopContext('nothing to run'));
      return EXIT.ok;
    }

    supervisor = createSupervisor({
      libc,
      app: {
        command: o.command,
        env: o.appEnv,
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
    if (parts.length > 0) {
      setImmediate(() => releaseStartupMemory(libc));
      setTimeout(() => releaseStartupMemory(libc), 3000).unref();
    }
    bus.on('app.reload', ({ signal, reason }) => {
      if (sup.send(signal)) initLog.info(`sent ${signal} to the app`, { reason });
      else initLog.debug(`${signal} not sent: the app is not running`, { reason });
    });
    bus.on('app.restart', ({ reason }) => sup.restartNow(reason));

    let stopping: Promise<void> | undefined;
    let context: StopContext | undefined;
    beginStop = (signal) => {
      if (stopping !== undefined) {
        // A second TERM/INT while stopping still reaches the app (an impatient operator).
        sup.forward(signal);
        return;
      }
      stopSignal = signal;
      const ctx = stopContext(`received ${signal}`);
      context = ctx;
      initLog.info(`received ${signal}; stopping`);
      // No restart from here on, whatever the parts still do before the app is stopped.
      sup.halt();
      stopping = (async () => {
        await beforeAppStop(parts, ctx);
        // Forward what the operator sent (after any rewrite); SIGKILL at the deadline.
        sup.forward(signal);
        sup.stop(null, ctx.deadline);
      })();
    };
    // A stop requested while the parts were preparing, between abort and now.
    if (stopSignal !== undefined) beginStop(stopSignal);
    for (const part of parts) await part.run?.();

    const exit = await sup.done;
    await stopping;
    const ctx = context ?? stopContext(`app exited`);
    if (context === undefined) {
      stopping = Promise.resolve();
      await beforeAppStop(parts, ctx);
    }
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
    return reportedStatus(exit, settings.successExitCodes);
  } catch (error) {
    // Nothing is left half-started: parts that prepared are stopped before the error surfaces.
    if (error instanceof StewardError) await stopParts(parts, stopContext(error.message)).catch(() => {});
    throw error;
  } finally {
    unlisten();
    reaper.stop();
  }
}

async function beforeAppStop(parts: readonly Part[], ctx: StopContext): Promise<void> {
  for (const part of [...parts].reverse()) await part.beforeAppStop?.(ctx);
}

async function stopParts(parts: readonly Part[], ctx: StopContext): Promise<void> {
  for (const part of [...parts].reverse()) await part.stop?.(ctx);
}
