// How steward stops a process it started: a polite signal now, SIGKILL when the grace runs out,
// nothing more once the process is gone. The app, a command's process group and a job's run
// all stop this way; only who is signalled and how long the grace lasts differ.

import type { Clock, TimerHandle } from '../clock.ts';
import { pollUntil } from './deadline.ts';
import { nodeKill, sendSignal, type Kill, type SignalTarget } from './signal.ts';

export interface TerminateOptions {
  readonly target: SignalTarget;
  /** Sent at once; null sends none (the caller forwarded one already, or only SIGKILL is wanted). */
  readonly signal: NodeJS.Signals | null;
  /**
   * Where SIGKILL goes (default: target). A stop that may politely signal the app alone still
   * kills its whole group, so that nothing it started survives it.
   */
  readonly killTarget?: SignalTarget;
  /** SIGKILL this long from now; undefined arms nothing yet (see killAfter and killNow). */
  readonly graceMs?: number;
  readonly clock: Clock;
  readonly kill?: Kill;
  /** Asked when the grace runs out, before SIGKILL: false sends nothing. The place to log it. */
  readonly onGraceOver?: () => boolean;
}

export interface Termination {
  /** Arms SIGKILL `ms` from now, unless it is armed already, sent, or cancelled. */
  killAfter(ms: number): void;
  /** SIGKILL now, unless it was sent already or the termination was cancelled. */
  killNow(): void;
  /** The target is gone: nothing more is sent. */
  cancel(): void;
}

export function terminate(o: TerminateOptions): Termination {
  const kill = o.kill ?? nodeKill;
  let timer: TimerHandle | undefined;
  let over = false;

  function killNow(): void {
    if (over) return;
    over = true;
    timer?.cancel();
    sendSignal(o.killTarget ?? o.target, 'SIGKILL', kill);
  }

  const termination: Termination = {
    killAfter(ms) {
      if (over || timer !== undefined) return;
      timer = o.clock.setTimer(Math.max(0, ms), () => {
        if (over) return;
        if (o.onGraceOver?.() === false) {
          over = true;
          return;
        }
        killNow();
      });
    },
    killNow,
    cancel() {
      over = true;
      timer?.cancel();
    },
  };
  if (o.signal !== null) sendSignal(o.target, o.signal, kill);
  if (o.graceMs !== undefined) termination.killAfter(o.graceMs);
  return termination;
}

export interface TerminateAllOptions {
  /** Who is signalled, asked afresh for each signal: processes come and go while they stop. */
  readonly targets: () => readonly SignalTarget[];
  /** Whether everything has ended; polled, since these processes may not be steward's to await. */
  readonly gone: () => boolean;
  readonly signal: NodeJS.Signals;
  /** Monotonic ms on `clock`: SIGKILL then goes to whatever is left. */
  readonly deadline: number;
  /** After SIGKILL, how long to keep waiting for `gone` before giving up on it. */
  readonly killWaitMs: number;
  readonly pollMs: number;
  readonly clock: Clock;
  readonly kill?: Kill;
  /** Told just before SIGKILL is sent. */
  readonly onGraceOver?: () => void;
}

/** The same stop for processes known only by looking (what the app left behind): polled, not awaited. */
export async function terminateAll(o: TerminateAllOptions): Promise<void> {
  const kill = o.kill ?? nodeKill;
  const signalAll = (signal: NodeJS.Signals): void => {
    for (const target of o.targets()) sendSignal(target, signal, kill);
  };
  signalAll(o.signal);
  if (await pollUntil(o.gone, o.deadline, o.clock, o.pollMs)) return;
  o.onGraceOver?.();
  signalAll('SIGKILL');
  await pollUntil(o.gone, o.clock.monotonic() + o.killWaitMs, o.clock, o.pollMs);
}
