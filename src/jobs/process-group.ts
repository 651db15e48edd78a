// Finding the process group of one run, so that a stop can send SIGTERM to everything the job
// started and SIGKILL at the stop deadline. runCommand (core/exec.ts) gives every command its own
// group but does not say which; each run therefore carries a unique STEWARD_JOB_RUN_ID, and the
// run's group is the direct child of steward whose environment holds it. When none is found (no
// /proc, or the job's first process already exited and left others behind), the caller falls back
// to aborting runCommand, which signals the group itself.

import { readdirSync, readFileSync } from 'node:fs';

export const RUN_ID_VARIABLE = 'STEWARD_JOB_RUN_ID';

function directChildren(): number[] {
  const pids: number[] = [];
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
      for (const word of text.split(' ')) if (word.trim() !== '') pids.push(Number(word));
    }
  } catch {
    // No /proc (or no children files): the caller falls back.
  }
  return pids;
}

function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    return Number.isSafeInteger(pgrp) ? pgrp : undefined;
  } catch {
    return undefined;
  }
}

/** The process group (its leader's pid) of the run with this id, if it can be found. */
export function findRunGroup(runId: string): number | undefined {
  const marker = `${RUN_ID_VARIABLE}=${runId}`;
  for (const pid of directChildren()) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (!environ.split('\0').includes(marker)) continue;
    // Only a child that leads its own group: signalling any other group could reach steward's.
    return processGroupOf(pid) === pid ? pid : undefined;
  }
  return undefined;
}

/** Signals a whole group; false when it no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
