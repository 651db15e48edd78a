// One job or backup as its schedule drives it: a tick starts a run unless the previous one is
// still going (the tick is skipped and logged, never queued) or its guard does not permit it
// (`leader`: not the leader, or past the fence deadline; `lock:<path>`: the lock is not held).
// A run that loses its guard is stopped: SIGTERM to its process group, SIGKILL after the stop
// timeout. On shutdown the run gets SIGTERM at once and SIGKILL at the stop deadline. One run,
// its commands and its process group, is job-run.ts.
//
// Each runner keeps its last runs (exit status, duration, output tail) in memory, for the logs
// and for a status endpoint; nothing is persisted, so a restarted steward starts with none.

import { formatDuration } from '../config/values.ts';
import type { Bus } from '../core/bus.ts';
import type { ChildUser } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { settlesWithin } from '../core/process-control/deadline.ts';
import { describeWhen, type TaskSpec } from './config.ts';
import type { Guard } from './guards.ts';
import { createJobRun, type JobRun, type RunRecord, type RunTrigger } from './job-run.ts';
import { LATE_NOTICE_MS } from './scheduler.ts';

export type SkipReason = 'still running' | 'not permitted' | 'stopping';

export interface JobStatus {
  readonly name: string;
  readonly kind: TaskSpec['kind'];
  readonly schedule: string;
  readonly when: string;
  readonly nextRun: string | undefined;
  readonly running: { readonly runId: string; readonly startedAt: string } | undefined;
  readonly runs: number;
  readonly failures: number;
  readonly skippedRunning: number;
  readonly skippedNotPermitted: number;
  readonly missed: number;
  /** Oldest first. */
  readonly history: readonly RunRecord[];
}

export interface JobRunnerOptions {
  readonly spec: TaskSpec;
  readonly guard: Guard;
  /** The environment commands start from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Who its commands run as (child-rule.ts decided); undefined: steward's user. */
  readonly user: ChildUser | undefined;
  /** For backup periods. */
  readonly timeZone: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Between SIGTERM and SIGKILL when the guard is lost. */
  readonly lostGraceMs: number;
  /** Runs kept in the history. */
  readonly historySize: number;
  /** STEWARD_BACKUP_FUTURE_TOLERANCE. */
  readonly backupFutureToleranceMs?: number;
  /** Where runs are announced: job.started, job.finished, job.skipped, job.missed. */
  readonly bus: Bus;
}

export interface JobRunner {
  readonly spec: TaskSpec;
  /** Starts a run unless one is going or the guard says no; resolves when it is over (undefined: skipped). */
  run(trigger: RunTrigger, slot?: Date, lateMs?: number): Promise<RunRecord | undefined>;
  /** Records slots that came too late to run. */
  missed(slots: readonly Date[]): void;
  history(): readonly RunRecord[];
  status(nextRun: Date | undefined): JobStatus;
  /** No run starts any more; a running one gets SIGTERM through its group. */
  close(reason: string): void;
  /** Resolves once no run is going; the group of one still going at `deadline` (monotonic) gets SIGKILL. */
  settle(deadline: number): Promise<void>;
  /** Whether its runs need leadership or a lock (they must be over before that is handed on). */
  readonly guarded: boolean;
}

/** After SIGKILL at the deadline, how long to wait for the run to be reaped. */
const KILL_WAIT_MS = 500;

function outcomeText(record: RunRecord): string {
  return record.stoppedBy !== undefined ? `stopped (${record.stoppedBy})` : `failed: ${record.failure}`;
}

interface ActiveRun {
  readonly run: JobRun;
  /** Set once the run has started, right after it was announced. */
  done: Promise<RunRecord> | undefined;
}

/** One log line for a finished run: what it wrote or why it failed (its output is logged as it ran). */
function reportRun(record: RunRecord, label: string, log: Logger): void {
  const fields = { runId: record.runId, duration: formatDuration(record.durationMs) };
  const skipped = record.skippedTicks > 0 ? { skippedTicks: record.skippedTicks } : {};
  if (record.backup !== undefined) {
    const b = record.backup;
    if (record.ok) {
      log.info(`${label}: wrote ${b.artifact}${b.deleted.length > 0 ? `, deleted ${b.deleted.length} old artifact${b.deleted.length === 1 ? '' : 's'}` : ''}`, {
        ...fields,
        ...skipped,
        kept: b.kept.length,
        deleted: b.deleted,
      });
      if (b.pruneNote !== undefined) log.warn(`${label}: ${b.pruneNote}`, fields);
    } else {
      log.warn(`${label} ${outcomeText(record)}; no artifact written, nothing deleted`, { ...fields, ...skipped, exitCode: record.exitCode, output: record.output });
    }
    return;
  }
  if (record.ok) {
    // Its output is in the log already, line by line, as it was written (core/child-output.ts).
    log.info(`${label} succeeded`, { ...fields, ...skipped });
  } else log.warn(`${label} ${outcomeText(record)}`, { ...fields, ...skipped, exitCode: record.exitCode, output: record.output });
}

export function createJobRunner(o: JobRunnerOptions): JobRunner {
  const { spec, guard, clock, log } = o;
  const label = `${spec.kind} ${spec.name}`;
  const whenText = describeWhen(spec.when);
  const guardText =
    spec.when.kind === 'leader' ? 'leadership' : spec.when.kind === 'lock' ? `the lock ${spec.when.path}` : spec.when.kind === 'healthy' ? 'health' : 'permission';
  const records: RunRecord[] = [];
  const counts = { runs: 0, failures: 0, skippedRunning: 0, skippedNotPermitted: 0, missed: 0 };
  const reported = new Set<string>();
  let active: ActiveRun | undefined;
  let closed = false;
  let permitted: boolean | undefined;

  function remember(record: RunRecord): void {
    records.push(record);
    if (records.length > o.historySize) records.splice(0, records.length - o.historySize);
    counts.runs++;
    if (!record.ok) counts.failures++;
  }

  function skip(reason: SkipReason, slot: Date | undefined): undefined {
    o.bus.emit('job.skipped', { job: spec.name, reason, scheduledFor: slot?.toISOString() });
    return undefined;
  }

  async function run(trigger: RunTrigger, slot?: Date, lateMs = 0): Promise<RunRecord | undefined> {
    if (closed) return skip('stopping', slot);
    if (active !== undefined) {
      const going = active.run;
      counts.skippedRunning++;
      going.skippedTicks++;
      const message = `${label}: the previous run (started ${new Date(going.startedAt).toISOString()}) is still going; this run is skipped`;
      // The first skip of a run says so; more of them would only repeat it every tick.
      if (going.skippedTicks === 1) log.warn(message, { runId: going.runId, scheduledFor: slot?.toISOString() });
      else log.debug(message, { runId: going.runId, scheduledFor: slot?.toISOString() });
      return skip('still running', slot);
    }
    const permit = guard.permit();
    if (permit === undefined) {
      counts.skippedNotPermitted++;
      const message = `${label}: not run here, when = ${whenText} does not hold`;
      if (permitted !== false) log.info(`${message} (said once until it holds again)`);
      else log.debug(message);
      permitted = false;
      return skip('not permitted', slot);
    }
    if (permitted === false) log.info(`${label}: when = ${whenText} holds again; runs resume`);
    permitted = true;
    if (lateMs >= LATE_NOTICE_MS) {
      log.warn(`${label}: starting ${formatDuration(Math.round(lateMs))} late (due at ${slot?.toISOString()}); steward was paused or busy`);
    }

    const a = createJobRun({
      spec,
      guard,
      guardText,
      env: o.env,
      user: o.user,
      timeZone: o.timeZone,
      backupFutureToleranceMs: o.backupFutureToleranceMs,
      fencingToken: permit.fencingToken,
      trigger,
      scheduledFor: slot?.toISOString(),
      reported,
      clock,
      log,
    });
    // Active before anything is announced: a tick or a stop in the meantime must see this run.
    const going: ActiveRun = { run: a, done: undefined };
    active = going;
    const offLost = guard.onLost((reason) => a.guardLost(reason, o.lostGraceMs));
    o.bus.emit('job.started', { job: spec.name, runId: a.runId, trigger });
    log.debug(`${label}: starting`, { runId: a.runId, trigger, scheduledFor: slot?.toISOString() });
    const done = a.start();
    going.done = done;
    let record: RunRecord;
    try {
      record = await done;
    } finally {
      offLost();
      active = undefined;
    }
    remember(record);
    reportRun(record, label, log);
    o.bus.emit('job.finished', record);
    return record;
  }

  return {
    spec,
    run,
    missed(slots) {
      if (slots.length === 0) return;
      counts.missed += slots.length;
      const first = slots[0]?.toISOString();
      const last = slots[slots.length - 1]?.toISOString();
      const when = slots.length === 1 ? `due at ${first}` : `due from ${first} to ${last}`;
      log.warn(`${label}: missed ${slots.length} run${slots.length === 1 ? '' : 's'} ${when} (steward was paused or its event loop blocked); missed runs are not made up`);
      o.bus.emit('job.missed', { job: spec.name, slots: slots.map((s) => s.toISOString()) });
    },
    history: () => [...records],
    status(nextRun) {
      return {
        name: spec.name,
        kind: spec.kind,
        schedule: spec.schedule,
        when: whenText,
        nextRun: nextRun?.toISOString(),
        running: active === undefined ? undefined : { runId: active.run.runId, startedAt: new Date(active.run.startedAt).toISOString() },
        ...counts,
        history: [...records],
      };
    },
    close(reason) {
      closed = true;
      active?.run.stop(reason, undefined);
    },
    guarded: spec.when.kind === 'leader' || spec.when.kind === 'lock',
    async settle(deadline) {
      const a = active;
      if (a?.done === undefined) return;
      if (await settlesWithin(a.done, deadline - clock.monotonic(), clock)) return;
      log.warn(`${label}: still running at the stop deadline; sending SIGKILL`, { runId: a.run.runId });
      a.run.kill();
      await settlesWithin(a.done, KILL_WAIT_MS, clock);
    },
  };
}
