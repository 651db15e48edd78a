// The jobs part: scheduled commands and rotating backups beside the app. The configuration is
// read and checked when the part is created (a bad schedule stops steward before the app starts);
// schedules start once the app runs; when steward stops, no run starts any more, running ones
// get SIGTERM through their process group at once and SIGKILL at the stop deadline.
//
// Import hasJobs from has-jobs.ts where a pure init must stay light: this module loads smol-toml
// and node-cron.

import type { Env } from '../config/settings.ts';
import type { Bus } from '../core/bus.ts';
import { childUser, type ChildUsers } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import type { Part, StopContext } from '../core/part.ts';
import { describeWhen, loadJobsConfig, type TaskSpec } from './config.ts';
import { ALWAYS, type Guard, type Guards } from './guards.ts';
import type { RunRecord } from './job-run.ts';
import { createJobRunner, type JobRunner, type JobStatus } from './run-job.ts';
import { startSchedule, type Schedule } from './scheduler.ts';

export { hasJobs } from './has-jobs.ts';
export { pruneDryRun } from './prune-dry-run.ts';

/** Runs kept per job unless told otherwise. */
export const HISTORY_SIZE = 20;

export interface JobsPartOptions {
  readonly env: Env;
  /** Who runs run as: the app's user unless the job's USER says otherwise. */
  readonly users: ChildUsers;
  /** STEWARD_CONFIG, if set. */
  readonly configFile: string | undefined;
  /** STEWARD_TZ (UTC by default). */
  readonly timeZone: string;
  readonly guards: Guards;
  /** Where runs are announced (job.started, job.finished, job.skipped, job.missed). */
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
  /** STEWARD_STOP_TIMEOUT: how long a run that lost its guard has between SIGTERM and SIGKILL. */
  readonly stopTimeoutMs: number;
  /** Top-level TOML tables that other parts read from the same file (not errors here). */
  readonly otherTables?: readonly string[];
  /** Runs kept per job (default HISTORY_SIZE). */
  readonly historySize?: number;
  /** STEWARD_BACKUP_FUTURE_TOLERANCE (5 minutes when absent). */
  readonly backupFutureToleranceMs?: number;
}

export interface JobsPart extends Part {
  /** Every job and backup, jobs first, with its state and recent runs. */
  status(): JobStatus[];
  /** Recent runs of one job or backup, oldest first. */
  history(name: string): readonly RunRecord[];
  /** Runs one now, outside its schedule, with the same overlap and guard rules; undefined when skipped. */
  runNow(name: string): Promise<RunRecord | undefined>;
}

function guardFor(spec: TaskSpec, guards: Guards): Guard {
  const when = spec.when;
  if (when.kind === 'always') return ALWAYS;
  if (when.kind === 'leader') {
    if (guards.leader === undefined) {
      throw new ConfigError(`${spec.whenSource}: "leader" needs a leader election, and none is configured (or use always or lock:<path>)`);
    }
    return guards.leader;
  }
  if (when.kind === 'healthy') {
    if (guards.healthy === undefined) {
      throw new ConfigError(`${spec.whenSource}: "healthy" needs a health check, and none is configured (set STEWARD_HEALTH_CMD, _HTTP, _TCP or _NOTIFY)`);
    }
    return guards.healthy;
  }
  const guard = guards.lock(when.path);
  if (guard === undefined) {
    throw new ConfigError(`${spec.whenSource}: "lock:${when.path}" is not a filesystem lock steward holds (expected one of the paths in STEWARD_FS_LOCKS)`);
  }
  return guard;
}

/** After a lost guard, SIGTERM to SIGKILL. */
const LOST_GRACE_MS = 1000;
/** Of the stop budget, what is kept for the election's hand-over after guarded runs. */
const HAND_OVER_RESERVE_MS = 1000;

export function createJobsPart(o: JobsPartOptions): JobsPart {
  const log = o.log.child('jobs');
  const config = loadJobsConfig({ env: o.env, configFile: o.configFile, timeZone: o.timeZone, otherTables: o.otherTables });
  const runners: JobRunner[] = config.tasks.map((spec) =>
    createJobRunner({
      spec,
      guard: guardFor(spec, o.guards),
      env: o.env,
      user: childUser(spec.kind, o.users.app, spec.user === undefined ? undefined : o.users.resolve(spec.user, spec.userSource)),
      timeZone: config.timeZone,
      clock: o.clock,
      log,
      // A run whose leadership or lock is gone must stop well within the fence margin that
      // keeps the next holder from starting: SIGTERM at once, SIGKILL a second later.
      lostGraceMs: Math.min(o.stopTimeoutMs, LOST_GRACE_MS),
      historySize: o.historySize ?? HISTORY_SIZE,
      backupFutureToleranceMs: o.backupFutureToleranceMs,
      bus: o.bus,
    }),
  );
  for (const notice of config.notices) log.warn(notice);
  if (config.disabled.length > 0) log.info(`disabled by an empty schedule: ${config.disabled.join(', ')}`);
  const schedules = new Map<string, Schedule>();
  let stopping = false;

  function runnerNamed(name: string): JobRunner {
    const runner = runners.find((r) => r.spec.name === name);
    if (runner === undefined) throw new RangeError(`no job or backup is named ${JSON.stringify(name)}`);
    return runner;
  }

  function stopScheduling(ctx: StopContext): void {
    if (stopping) return;
    stopping = true;
    for (const schedule of schedules.values()) schedule.stop();
    for (const runner of runners) runner.close(`steward is stopping: ${ctx.reason}`);
  }

  return {
    name: 'jobs',
    run() {
      if (stopping) return;
      for (const runner of runners) {
        const { spec } = runner;
        const schedule = startSchedule({
          name: spec.name,
          expression: spec.schedule,
          timeZone: config.timeZone,
          log,
          onTick: (slot, lateMs) => void runner.run('schedule', slot, lateMs),
          onMissed: (slots) => runner.missed(slots),
        });
        schedules.set(spec.name, schedule);
        log.info(`${spec.kind} ${spec.name}: scheduled "${spec.schedule}" in ${config.timeZone}, when = ${describeWhen(spec.when)}`, {
          nextRun: schedule.nextRun()?.toISOString(),
        });
      }
    },
    // Stop starting runs, and give running ones SIGTERM now. Runs that need leadership or a lock
    // must be over before the election resigns (the next part to stop): they are waited for,
    // leaving a second of the budget for the hand-over; the others keep the whole budget.
    async beforeAppStop(ctx) {
      stopScheduling(ctx);
      const handOverBy = Math.max(o.clock.monotonic(), ctx.deadline - HAND_OVER_RESERVE_MS);
      await Promise.all(runners.filter((r) => r.guarded).map((r) => r.settle(handOverBy)));
    },
    async stop(ctx) {
      stopScheduling(ctx);
      await Promise.all(runners.map((runner) => runner.settle(ctx.deadline)));
    },
    status: () => runners.map((runner) => runner.status(schedules.get(runner.spec.name)?.nextRun())),
    history: (name) => runnerNamed(name).history(),
    runNow: (name) => runnerNamed(name).run('manual'),
  };
}
