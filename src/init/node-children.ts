// The pids that Node (libuv) spawned and will reap itself. The reaper must never waitpid() one
// of them: libuv would lose the status and the ChildProcess would never emit 'exit'. Every
// libuv child is created through ChildProcess.prototype.spawn (spawn, exec, execFile, fork and
// execa all end there), so wrapping that one method sees them all.
//
// The wrapper is process-wide by nature, so the set of pids is too (module state, on purpose).
// It is installed only when steward first spawns a helper process (core/exec.ts), because
// loading node:child_process costs start-up time that a pure init never needs.

import type { ChildProcess } from 'node:child_process';

export interface NodeChildren {
  has(pid: number): boolean;
  readonly size: number;
}

const pids = new Set<number>();
let tracking: Promise<void> | undefined;

export function nodeChildren(): NodeChildren {
  return {
    has: (pid) => pids.has(pid),
    get size() {
      return pids.size;
    },
  };
}

/** Starts recording libuv's children; call before any child_process spawn. Idempotent. */
export function trackNodeSpawns(): Promise<void> {
  tracking ??= import('node:child_process').then(({ ChildProcess: ChildProcessClass }) => {
    const proto = ChildProcessClass.prototype as unknown as { spawn: (this: ChildProcess, ...args: unknown[]) => unknown };
    const original = proto.spawn;
    proto.spawn = function spawnTracked(this: ChildProcess, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      const pid = this.pid;
      if (pid !== undefined) {
        pids.add(pid);
        this.once('exit', () => pids.delete(pid));
      }
      return result;
    };
  });
  return tracking;
}
