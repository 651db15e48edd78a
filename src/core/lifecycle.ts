// The phases of one steward run and the named transitions between them:
//
//   preparing --appStarted--> running --stopSignal | appExited--> stopping --stopped--> stopped
//   preparing --stopWithoutApp (a stop signal came first, or nothing to run)--> stopping
//   any phase --failed--> stopping
//
// A stop signal means something different in each phase: while preparing it aborts the
// preparations and the app never starts; while running it begins the stop through the app;
// while stopping it is passed on to the app (an impatient operator's second Ctrl-C); once
// stopped, nothing is listening. Entering `stopping` publishes `shutdown`, once.

import { signalNumber, type SignalName } from '../config/values.ts';
import type { Bus } from './bus.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { StopContext } from './part.ts';

export type Phase = 'preparing' | 'running' | 'stopping' | 'stopped';

/** What the lifecycle needs of the app once it runs. */
export interface RunningApp {
  /** Passes a stop signal on to the app, after any rewrite. */
  forward(signal: SignalName): void;
  /**
   * The stop through the app: whatever must happen before the app stops (a leader hands over),
   * then `signal` to the app with SIGKILL at the deadline; no signal when it exited by itself.
   */
  stop(ctx: StopContext, signal: SignalName | undefined): Promise<void>;
}

export interface LifecycleOptions {
  /** The stop budget (STEWARD_STOP_TIMEOUT), from the moment the stop begins. */
  readonly stopTimeout: number;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface Lifecycle {
  readonly phase: Phase;
  /** Aborted by a stop signal that comes while preparing. */
  readonly preparation: AbortSignal;
  /** The first stop signal received while preparing, if any. */
  readonly stoppedWhilePreparing: SignalName | undefined;
  /** A stop signal (SIGTERM, SIGINT) arrived. */
  stopSignal(signal: SignalName): void;
  /**
   * Something other than a signal ends the run (a required sidecar failed for good): while
   * running, the stop through the app begins with `signal` and `status`; while preparing, the
   * preparations are aborted and the app never starts (stoppedFor tells why).
   */
  stopFor(reason: string, status: number, signal: SignalName): void;
  /** The reason and status stopFor gave, if it was called. */
  readonly stoppedFor: { readonly reason: string; readonly status: number } | undefined;
  /** preparing -> running: from now on a stop goes through the app. */
  appStarted(app: RunningApp): void;
  /**
   * The app will not run again. running -> stopping when it exited by itself, with its status;
   * resolves with the stop's context once the stop through the app is done, whoever began it.
   */
  appExited(status: number): Promise<StopContext>;
  /** preparing -> stopping with no app to stop: a stop signal came first, or there is nothing to run. */
  stopWithoutApp(reason: string, status: number): StopContext;
  /** -> stopping after an error: the parts get a stop budget of their own to clean up in. */
  failed(reason: string, status: number): StopContext;
  /** stopping -> stopped: the parts and what the app left behind are stopped. */
  stopped(): void;
}

type State =
  | { readonly phase: 'preparing' }
  | { readonly phase: 'running'; readonly app: RunningApp }
  | { readonly phase: 'stopping'; readonly app: RunningApp | undefined; readonly context: StopContext; readonly appStopped: Promise<void> }
  | { readonly phase: 'stopped' };

export function createLifecycle(o: LifecycleOptions): Lifecycle {
  let state: State = { phase: 'preparing' };
  let earlySignal: SignalName | undefined;
  let stoppedFor: { readonly reason: string; readonly status: number } | undefined;
  let announced = false;
  const preparation = new AbortController();

  function contextFor(reason: string, status: number): StopContext {
    const context = { deadline: o.clock.monotonic() + o.stopTimeout, reason };
    if (!announced) {
      announced = true;
      o.bus.emit('shutdown', { reason, status });
    }
    return context;
  }

  /** running -> stopping, through the app. */
  function stopThroughApp(app: RunningApp, reason: string, status: number, signal: SignalName | undefined): StopContext {
    const context = contextFor(reason, status);
    state = { phase: 'stopping', app, context, appStopped: app.stop(context, signal) };
    return context;
  }

  function stopSignal(signal: SignalName): void {
    switch (state.phase) {
      case 'preparing':
        earlySignal ??= signal;
        preparation.abort();
        return;
      case 'running':
        o.log.info(`received ${signal}; stopping`);
        stopThroughApp(state.app, `received ${signal}`, 128 + signalNumber(signal), signal);
        return;
      case 'stopping':
        state.app?.forward(signal);
        return;
      case 'stopped':
        return;
    }
  }

  return {
    get phase() {
      return state.phase;
    },
    preparation: preparation.signal,
    get stoppedWhilePreparing() {
      return earlySignal;
    },
    stopSignal,
    get stoppedFor() {
      return stoppedFor;
    },
    stopFor(reason, status, signal) {
      if (state.phase !== 'preparing' && state.phase !== 'running') return;
      stoppedFor ??= { reason, status };
      if (state.phase === 'preparing') {
        preparation.abort();
        return;
      }
      o.log.warn(`${reason}; stopping`);
      stopThroughApp(state.app, reason, status, signal);
    },
    appStarted(app) {
      if (state.phase !== 'preparing') throw new Error(`the app cannot start while ${state.phase}`);
      state = { phase: 'running', app };
      // A stop signal that came between the end of the preparations and now.
      if (earlySignal !== undefined) stopSignal(earlySignal);
    },
    async appExited(status) {
      if (state.phase === 'running') stopThroughApp(state.app, 'app exited', status, undefined);
      if (state.phase !== 'stopping') throw new Error(`the app cannot exit while ${state.phase}`);
      const { context, appStopped } = state;
      await appStopped;
      return context;
    },
    stopWithoutApp(reason, status) {
      if (state.phase !== 'preparing') throw new Error(`cannot stop without the app while ${state.phase}`);
      const context = contextFor(reason, status);
      state = { phase: 'stopping', app: undefined, context, appStopped: Promise.resolve() };
      return context;
    },
    failed(reason, status) {
      const context = contextFor(reason, status);
      state = { phase: 'stopping', app: state.phase === 'running' || state.phase === 'stopping' ? state.app : undefined, context, appStopped: Promise.resolve() };
      return context;
    },
    stopped() {
      state = { phase: 'stopped' };
    },
  };
}
