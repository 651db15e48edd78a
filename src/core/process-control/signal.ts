// How steward signals a process or a process group. A target that is gone (or was never ours
// to signal) is not an error: a stop races the process's own exit every time, and the caller
// learns of the exit from the reaper or from Node, not from kill(2).

/** What a signal goes to. */
export type SignalTarget =
  | { readonly pid: number }
  /** Every process in the group: a shell pipeline, or whatever the app started. */
  | { readonly group: number }
  /** Every process steward may signal except itself (kill(-1)): as PID 1, the whole container. */
  | { readonly everyone: true };

/**
 * kill(2): a negative pid is a group, -1 everyone; throws when no process was signalled. Node's
 * own serves the children Node spawned; the app, which libuv does not know, is signalled
 * through the Libc binding, so that tests can replace it.
 */
export type Kill = (pid: number, signal: NodeJS.Signals | 0) => void;

export const nodeKill: Kill = (pid, signal) => {
  process.kill(pid, signal);
};

function killArgument(target: SignalTarget): number {
  if ('everyone' in target) return -1;
  return 'group' in target ? -target.group : target.pid;
}

/** Sends `signal` (0: only asks whether the target exists); false when nothing received it. */
export function sendSignal(target: SignalTarget, signal: NodeJS.Signals | 0, kill: Kill = nodeKill): boolean {
  try {
    kill(killArgument(target), signal);
    return true;
  } catch {
    return false;
  }
}
