// Which signals steward forwards, and how a received signal becomes the one the app gets.

import type { SignalName } from '../config/values.ts';

// Every signal Node lets a process catch, except:
// - SIGCHLD, which steward consumes to reap;
// - SIGSEGV, SIGBUS, SIGFPE, SIGILL: when the kernel raises them for a fault in steward itself,
//   a handler that returns re-runs the faulting instruction forever; the default action is right;
// - SIGPIPE: steward's own write to a closed pipe raises it, and the app must not receive that;
// - SIGPROF: V8's sampling profiler (`node --cpu-prof`, `--prof`, the inspector's profiler) drives
//   itself with it; a listener replaces V8's handler, and removing the listener restores the
//   default action, so the next sample kills steward with "Profiling timer expired".
// Real-time signals cannot be caught from Node and are not forwarded.
export const FORWARDED_SIGNALS: readonly SignalName[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTRAP', 'SIGABRT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGTERM',
  'SIGSTKFLT', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ',
  'SIGVTALRM', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
];

/** Signals that, received by steward, begin a graceful stop of the app and of steward. */
export const STOP_SIGNALS: ReadonlySet<SignalName> = new Set(['SIGTERM', 'SIGINT']);

// A child whose process group is orphaned discards the terminal stop signals, so a
// `docker kill -s TSTP` would do nothing; SIGSTOP cannot be discarded.
const JOB_CONTROL: ReadonlySet<SignalName> = new Set(['SIGTSTP', 'SIGTTIN', 'SIGTTOU']);

/** The signal the app receives for one steward received; null drops it. */
export function signalForApp(received: SignalName, rewrite: ReadonlyMap<SignalName, SignalName | null>): SignalName | null {
  const mapped = rewrite.has(received) ? (rewrite.get(received) ?? null) : received;
  if (mapped !== null && JOB_CONTROL.has(mapped)) return 'SIGSTOP';
  return mapped;
}

/**
 * Listens for every forwarded signal; returns a function that removes the listeners. As PID 1,
 * a signal without a listener is simply dropped, and SIGUSR1 without one would start Node's
 * inspector: these listeners are what make both right.
 */
export function listenForSignals(onSignal: (signal: SignalName) => void): () => void {
  const listeners = FORWARDED_SIGNALS.map((signal) => {
    const listener = (): void => onSignal(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
