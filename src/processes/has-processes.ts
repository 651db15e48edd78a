// Whether a run needs the processes part at all, decided from the variables alone and free of
// imports, so that deciding costs a pure init nothing.

export const PROCESS_PREFIX = 'STEWARD_PROCESS_';

/** True when STEWARD_PROCESS_DIR is set or any STEWARD_PROCESS_<NAME>_<FIELD> variable is. */
export function hasProcesses(env: Readonly<Record<string, string | undefined>>, dir: string | undefined): boolean {
  if (dir !== undefined) return true;
  return Object.entries(env).some(([name, value]) => value !== undefined && value !== '' && name.startsWith(PROCESS_PREFIX) && name !== `${PROCESS_PREFIX}DIR`);
}
