// When the app is gone, whatever it left behind is stopped too, within the stop budget: as
// PID 1, everything else in the namespace (SIGTERM, then SIGKILL at the deadline); otherwise the
// app's process group and the orphans reparented to steward as a subreaper.

import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { Libc } from './libc.ts';
import type { NodeChildren } from './node-children.ts';

const ECHILD = 10;
const POLL_MS = 10;
/** After SIGKILL, how long to wait for the kernel to finish the job before exiting anyway. */
const KILL_GRACE_MS = 2000;

export interface LeftoverOptions {
  readonly libc: Libc;
  readonly isPid1: boolean;
  readonly appGroup: number | undefined;
  readonly nodeChildren: NodeChildren;
  readonly sweep: () => void;
  readonly deadline: number;
  readonly clock: Clock;
  readonly log: Logger;
}

function directChildren(): number[] {
  const pids: number[] = [];
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
      for (const word of text.split(' ')) if (word.trim() !== '') pids.push(Number(word));
    }
  } catch {
    // No /proc: only the app's group is handled.
  }
  return pids;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalAll(targets: readonly number[], signal: NodeJS.Signals): void {
  for (const t of targets) {
    try {
      process.kill(t, signal);
    } catch {
      // Gone already.
    }
  }
}

async function waitUntil(done: () => boolean, deadline: number, clock: Clock, sweep: () => void): Promise<boolean> {
  for (;;) {
    sweep();
    if (done()) return true;
    const left = deadline - clock.monotonic();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)));
  }
}

export async function stopLeftovers(o: LeftoverOptions): Promise<void> {
  const { libc, clock, log } = o;
  if (o.isPid1) {
    // No child left at all (ECHILD) means nothing is left in the namespace: every process
    // there is steward's descendant, and an orphan is reparented to steward.
    const empty = (): boolean => libc.peekExitedChild() === -ECHILD;
    if (await waitUntil(empty, clock.monotonic(), clock, o.sweep)) return;
    log.info('stopping processes left in the container');
    signalAll([-1], 'SIGTERM');
    if (await waitUntil(empty, o.deadline, clock, o.sweep)) return;
    log.warn('processes still running at the stop deadline; sending SIGKILL');
    signalAll([-1], 'SIGKILL');
    await waitUntil(empty, clock.monotonic() + KILL_GRACE_MS, clock, o.sweep);
    return;
  }
  const targets = (): number[] => {
    const list = directChildren().filter((pid) => !o.nodeChildren.has(pid));
    if (o.appGroup !== undefined && groupAlive(o.appGroup)) list.push(-o.appGroup);
    return list;
  };
  const empty = (): boolean => targets().length === 0;
  if (await waitUntil(empty, clock.monotonic(), clock, o.sweep)) return;
  log.info("stopping processes left by the app");
  signalAll(targets(), 'SIGTERM');
  if (await waitUntil(empty, o.deadline, clock, o.sweep)) return;
  log.warn('processes still running at the stop deadline; sending SIGKILL');
  signalAll(targets(), 'SIGKILL');
  await waitUntil(empty, clock.monotonic() + KILL_GRACE_MS, clock, o.sweep);
}
