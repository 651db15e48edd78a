// A run's process group: runCommand (core/exec.ts) gives every command its own group and tells
// its pid, which is the group's id, so that a stop can send SIGTERM to everything the job started
// and SIGKILL at the stop deadline. Each run also carries a unique STEWARD_JOB_RUN_ID, for logs
// and for the job's own use.

export const RUN_ID_VARIABLE = 'STEWARD_JOB_RUN_ID';

/** Signals a whole group; false when it no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
