// When the app is gone, whatever it left behind is stopped too, within the stop budget: as
// PID 1, everything else in the namespace (SIGTERM, then SIGKILL at the deadline); otherwise the
// app's process group and the orphans reparented to steward as a subreaper.

import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { sendSignal, type Kill, type SignalTarget } from '../core/process-control/signal.ts';
import { terminateAll } from '../core/process-control/terminate.ts';
import type { Libc } from './libc.ts';
import type { NodeChildren } from './node-children.ts';

const ECHILD = 10;
const POLL_MS = 10;
/** After SIGKILL, how long to wait for the kernel to finish the job before exiting anyway. */
const KILL_WAIT_MS = 2000;

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

export async function stopLeftovers(o: LeftoverOptions): Promise<void> {
  const { libc, clock, log } = o;
  const swept = (gone: () => boolean) => (): boolean => {
    o.sweep();
    return gone();
  };
  const stop = (targets: () => readonly SignalTarget[], gone: () => boolean): Promise<void> =>
    terminateAll({
      targets,
      gone: swept(gone),
      signal: 'SIGTERM',
      deadline: o.deadline,
      killWaitMs: KILL_WAIT_MS,
      pollMs: POLL_MS,
      clock,
      kill: libc.kill,
      onGraceOver: () => log.warn('processes still running at the stop deadline; sending SIGKILL'),
    });
  if (o.isPid1) {
    // No child left at all (ECHILD) means nothing is left in the namespace: every process
    // there is steward's descendant, and an orphan is reparented to steward.
    const empty = (): boolean => libc.peekExitedChild() === -ECHILD;
    if (swept(empty)()) return;
    log.info('stopping processes left in the container');
    await stop(() => [{ everyone: true }], empty);
    return;
  }
  const targets = (): SignalTarget[] => {
    const list: SignalTarget[] = directChildren()
      .filter((pid) => !o.nodeChildren.has(pid))
      .map((pid) => ({ pid }));
    if (o.appGroup !== undefined && sendSignal({ group: o.appGroup }, 0, libc.kill)) list.push({ group: o.appGroup });
    return list;
  };
  const empty = (): boolean => targets().length === 0;
  if (swept(empty)()) return;
  log.info('stopping processes left by the app');
  await stop(targets, empty);
}

/** The pids in process group `pgid`, from /proc: for the warning only (empty without /proc). */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: state, ppid, pgrp.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === pgid) pids.push(Number(entry));
    } catch {
      // Gone while listing.
    }
  }
  return pids;
}

export interface GroupLeftoverOptions {
  /** The previous run's process group (its pid). */
  readonly group: number;
  /** What left them, for the warning: `app`, `process haproxy`. */
  readonly what: string;
  readonly signal: NodeJS.Signals;
  readonly graceMs: number;
  readonly clock: Clock;
  readonly kill: Kill;
  readonly log: Logger;
}

/** Whether anything is left in the group (zombies not yet reaped included). */
export function groupHasLeftovers(group: number, kill: Kill): boolean {
  return sendSignal({ group }, 0, kill);
}

/**
 * Before a restart: what the previous run left in its own process group is stopped first (its
 * stop signal, then SIGKILL after the grace), with a warning naming the pids, so that two
 * generations never run side by side.
 */
export async function stopGroupLeftovers(o: GroupLeftoverOptions): Promise<void> {
  if (!groupHasLeftovers(o.group, o.kill)) return;
  const pids = groupMembers(o.group);
  o.log.warn(`${o.what} left processes in its process group; stopping them before it starts again`, { group: o.group, pids });
  await terminateAll({
    targets: () => [{ group: o.group }],
    gone: () => !groupHasLeftovers(o.group, o.kill),
    signal: o.signal,
    deadline: o.clock.monotonic() + o.graceMs,
    killWaitMs: KILL_WAIT_MS,
    pollMs: POLL_MS,
    clock: o.clock,
    kill: o.kill,
    onGraceOver: () => o.log.warn(`processes ${o.what} left did not stop in time; sending SIGKILL to the group`, { group: o.group }),
  });
}
