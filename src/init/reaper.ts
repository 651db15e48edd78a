// Reaps every exited child that Node did not spawn: orphans reparented to steward (as PID 1 or
// as a child subreaper) and the app itself, which steward spawns with posix_spawn.
//
// waitpid(-1) is never called: it would steal the statuses of libuv's own children. Instead
// waitid(WNOWAIT) peeks at one exited child, and only a pid libuv does not own is reaped. A
// SIGCHLD is handled in a setImmediate so that libuv has reaped its own children (in the poll
// phase) before the peek; a libuv child that exits later raises another SIGCHLD, and a slow
// sweep covers anything missed. While Node has no child at all, one waitid() reaps directly.

import type { Libc } from './libc.ts';
import type { NodeChildren } from './node-children.ts';

export interface Reaped {
  readonly pid: number;
  /** Raw wait status. */
  readonly status: number;
}

export interface Reaper {
  /** Reaps what can be reaped now; returns how many. */
  sweep(): number;
  stop(): void;
}

const ECHILD = 10;
const SWEEP_INTERVAL_MS = 1000;

export function startReaper(libc: Libc, nodeChildren: NodeChildren, onReaped: (child: Reaped) => void): Reaper {
  let scheduled = false;
  let stopped = false;

  function sweep(): number {
    let count = 0;
    // Fast path, one syscall per child: with no libuv child alive there is no status to steal.
    // JS runs on one thread, so no libuv child can appear while this loop runs.
    while (nodeChildren.size === 0) {
      const child = libc.reapAny();
      if (child === undefined) return count;
      count++;
      onReaped(child);
    }
    for (;;) {
      const pid = libc.peekExitedChild();
      if (pid <= 0 || pid === -ECHILD) break;
      // libuv's child: leave it to libuv, which reaps it on its own SIGCHLD.
      if (nodeChildren.has(pid)) break;
      const status = libc.reap(pid);
      if (status === undefined) break;
      count++;
      onReaped({ pid, status });
    }
    return count;
  }

  const onSigchld = (): void => {
    if (scheduled || stopped) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (!stopped) sweep();
    });
  };
  process.on('SIGCHLD', onSigchld);
  // The sweep timer also keeps Node's loop alive while steward waits for the app: signal
  // listeners alone do not.
  const timer = setInterval(() => sweep(), SWEEP_INTERVAL_MS);
  // Children that exited before the listener existed raised their SIGCHLD already.
  onSigchld();

  return {
    sweep,
    stop() {
      stopped = true;
      process.off('SIGCHLD', onSigchld);
      clearInterval(timer);
    },
  };
}
