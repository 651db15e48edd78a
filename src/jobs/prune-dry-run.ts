// `--prune-dry-run`: for every backup, what retention would keep and delete in its folder now,
// and which rule keeps each artifact. Reads the same configuration as a run; changes nothing.

import type { Clock } from '../core/clock.ts';
import { DEFAULT_FUTURE_TOLERANCE_MS, pruneReport } from './backup.ts';
import { loadJobsConfig, type JobsSource } from './config.ts';

/** The report, ready for stdout; a bad configuration is a ConfigError, as at start-up. */
export function pruneDryRun(source: JobsSource, clock: Clock, futureToleranceMs: number = DEFAULT_FUTURE_TOLERANCE_MS): string {
  const config = loadJobsConfig(source);
  const now = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const lines = [`prune dry run at ${now}, periods in ${config.timeZone}; nothing is deleted`];
  const backups = config.tasks.filter((task) => task.kind === 'backup');
  if (backups.length === 0) lines.push('no backups are configured');
  for (const backup of backups) lines.push('', ...pruneReport(backup, config.timeZone, clock.now(), futureToleranceMs));
  return `${lines.join('\n')}\n`;
}
