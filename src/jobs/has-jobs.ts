// Whether a run needs the jobs part at all. Kept apart from jobs-part.ts, and free of imports,
// so that deciding costs a pure init nothing: smol-toml and node-cron load only when there is
// something to schedule.

/** Variables steward sets for the commands it runs; never read as configuration. */
export const JOB_RUN_VARIABLES = ['STEWARD_JOB_NAME', 'STEWARD_JOB_RUN_ID', 'STEWARD_BACKUP_FILE'] as const;

const CONFIG_PREFIX = /^STEWARD_(?:JOB|BACKUP)_/;

/**
 * True when the environment defines a job or backup (any STEWARD_JOB_* or STEWARD_BACKUP_*
 * variable) or a configuration file is named (`configFile`, else STEWARD_CONFIG).
 */
export function hasJobs(env: Readonly<Record<string, string | undefined>>, configFile?: string): boolean {
  const file = configFile ?? env['STEWARD_CONFIG'];
  if (file !== undefined && file !== '') return true;
  const reserved: readonly string[] = JOB_RUN_VARIABLES;
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && CONFIG_PREFIX.test(name) && !reserved.includes(name)) return true;
  }
  return false;
}
