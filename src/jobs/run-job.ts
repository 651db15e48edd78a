// One job or backup as its schedule drives it: a tick starts a run unless the previous one is
// still going (the tick is skipped and logged, never queued) or its guard does not permit it
// (`leader`: not the leader, or past the fence deadline; `lock:<path>`: the lock is not held).
// A run that loses its guard is stopped: SIGTERM to its process group, SIGKILL after the stop
// timeout. On shutdown the run gets SIGTERM at once and SIGKILL at the stop deadline.
//
// Each runner keeps its last runs (exit status, duration, output tail) in memory, for the logs
// and for a status endpoint; nothing is persisted, so a restarted steward starts with none.

import { randomUUID } from 'node:crypto';
import { formatDuration } from '../config/values.ts';
import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { runCommand, type CommandResult } from '../core/exec.ts';
import type { Logger } from '../core/log.ts';
import { settlesWithin } from '../core/process-control/deadline.ts';
import { terminate, type Termination } from '../core/process-control/terminate.ts';
import { performBackup } from './backup.ts';
import { describeWhen, type TaskSpec } from './config.ts';
import type { Guard } from './guards.ts';
import { LATE_NOTICE_MS } from './scheduler.ts';

export type RunTrigger = 'schedule' | 'manual';

export interface BackupRunSummary {
  /** The artifact's file name in DEST; undefined when the run failed. */
  readonly artifact: string | undefined;
  readonly kept: readonly string[];
  readonly deleted: readonly string[];
  /** Why old artifacts were not (all) deleted. */
  readonly pruneNote: string | undefined;
}

export interface RunRecord {
  readonly job: string;
  readonly kind: TaskSpec['kind'];
  readonly runId: string;
  readonly trigger: RunTrigger;
  /** The schedule slot the run was for (ISO 8601, UTC); undefined for a manual run. */
  readonly scheduledFor: string | undefined;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly ok: boolean;
  /** Why it failed, in one line. */
  readonly failure: string | undefined;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  /** Set when steward stopped the run (shutdown, leadership or lock lost). */
  readonly stoppedBy: string | undefined;
  /** The last bytes of the command's output (stdout and stderr as written). */
  readonly output: string;
  readonly fencingToken: string | undefined;
  /** Ticks skipped because this run was still going. */
  readonly skippedTicks: number;
  readonly backup: BackupRunSummary | undefined;
}

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
  /** For backup periods. */
  readonly timeZone: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Between SIGTERM and SIGKILL when the guard is lost. */
  readonly lostGraceMs: number;
  /** Runs kept in the history. */
  readonly historySize: number;
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

/** No timeout configured: setTimeout's longest. */
const NO_LIMIT_MS = 2 ** 31 - 1;
/** After SIGKILL at the deadline, how long to wait for the run to be reaped. */
const KILL_WAIT_MS = 500;

interface ActiveRun {
  readonly runId: string;
  readonly startedAt: number;
  readonly abort: AbortController;
  commandRunning: boolean;
  /** Set by the first stop, which sends SIGTERM: a second one (lost guard during shutdown) only arms SIGKILL. */
  termination: Termination | undefined;
  stoppedBy: string | undefined;
  lost: boolean;
  /** The running command's process group (runCommand gives each command its own). */
  group: number | undefined;
  skippedTicks: number;
  done: Promise<RunRecord> | undefined;
}

function outcomeText(record: RunRecord): string {
  return record.stoppedBy !== undefined ? `stopped (${record.stoppedBy})` : `failed: ${record.failure}`;
}

function stoppedResult(): CommandResult {
  return { ok: false, exitCode: undefined, signal: undefined, timedOut: false, aborted: true, output: '', durationMs: 0, failure: 'stopped' };
}

export function createJobRunner(o: JobRunnerOptions): JobRunner {
  const { spec, guard, clock, log } = o;
  const label = `${spec.kind} ${spec.name}`;
  const whenText = describeWhen(spec.when);
  const guardText = spec.when.kind === 'leader' ? 'leadership' : spec.when.kind === 'lock' ? `the lock ${spec.when.path}` : 'permission';
  const records: RunRecord[] = [];
  const counts = { runs: 0, failures: 0, skippedRunning: 0, skippedNotPermitted: 0, missed: 0 };
  const reported = new Set<string>();
  let active: ActiveRun | undefined;
  let closed = false;
  let permitted: boolean | undefined;

  function commandEnv(runId: string, fencingToken: string | undefined, extra: Readonly<Record<string, string>>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(o.env)) if (value !== undefined) env[key] = value;
    // Never pass on a token from steward's own environment as if it were this run's.
    delete env['STEWARD_FENCING_TOKEN'];
    env['STEWARD_JOB_NAME'] = spec.name;
    // Unique per run: for the logs and for the job's own use.
    env['STEWARD_JOB_RUN_ID'] = runId;
    if (fencingToken !== undefined) env['STEWARD_FENCING_TOKEN'] = fencingToken;
    return Object.assign(env, extra);
  }

  async function execute(a: ActiveRun, fencingToken: string | undefined, extra: Readonly<Record<string, string>>): Promise<CommandResult> {
    if (a.stoppedBy !== undefined) return stoppedResult();
    a.commandRunning = true;
    try {
      return await runCommand(
        { argv: spec.argv },
        {
          timeoutMs: spec.timeoutMs ?? NO_LIMIT_MS,
          env: commandEnv(a.runId, fencingToken, extra),
          signal: a.abort.signal,
          onSpawn: (pid) => {
            a.group = pid;
          },
          // The guard again, in the very turn of the spawn: the fence deadline may have passed
          // during the awaits since the run was allowed.
          mayStart: () => a.stoppedBy === undefined && guard.permit() !== undefined,
        },
      );
    } finally {
      a.commandRunning = false;
      a.termination?.cancel();
    }
  }

  function kill(a: ActiveRun): void {
    if (!a.commandRunning) return;
    if (a.group === undefined) a.abort.abort();
    else (a.termination ?? terminate({ target: { group: a.group }, signal: null, clock })).killNow();
  }

  function stopRun(a: ActiveRun, reason: string, graceMs: number | undefined): void {
    a.stoppedBy ??= reason;
    // Not started yet: execute() sees stoppedBy. Over already (a backup placing its artifact):
    // nothing left to signal.
    if (!a.commandRunning) return;
    const group = a.group;
    if (group === undefined) {
      // runCommand signals the group itself: SIGTERM now, SIGKILL after its own grace.
      a.abort.abort();
      return;
    }
    a.termination ??= terminate({ target: { group }, signal: 'SIGTERM', clock });
    if (graceMs !== undefined) a.termination.killAfter(graceMs);
  }

  function remember(record: RunRecord): void {
    records.push(record);
    if (records.length > o.historySize) records.splice(0, records.length - o.historySize);
    counts.runs++;
    if (!record.ok) counts.failures++;
  }

  function report(record: RunRecord): void {
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
      log.info(`${label} succeeded`, { ...fields, ...skipped });
      if (record.output !== '') log.debug(`${label} output`, { ...fields, output: record.output });
    } else log.warn(`${label} ${outcomeText(record)}`, { ...fields, ...skipped, exitCode: record.exitCode, output: record.output });
  }

  async function perform(a: ActiveRun, fencingToken: string | undefined, trigger: RunTrigger, scheduledFor: string | undefined): Promise<RunRecord> {
    const begun = clock.monotonic();
    let command: CommandResult | undefined;
    let failure: string | undefined;
    let backup: BackupRunSummary | undefined;
    try {
      if (spec.kind === 'job') {
        command = await execute(a, fencingToken, {});
        failure = command.failure;
      } else {
        const outcome = await performBackup({
          spec,
          runId: a.runId,
          timeZone: o.timeZone,
          clock,
          log,
          reported,
          execute: (extra) => execute(a, fencingToken, extra),
          pruneBlocked: () => (a.lost ? a.stoppedBy : guard.permit() === undefined ? `${guardText} no longer holds` : undefined),
        });
        command = outcome.command;
        failure = outcome.failure;
        backup = { artifact: outcome.artifact, kept: outcome.kept, deleted: outcome.deleted, pruneNote: outcome.pruneNote };
      }
    } catch (error) {
      failure = `steward could not run it: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (failure !== undefined && a.stoppedBy !== undefined) failure = `stopped (${a.stoppedBy})`;
    return {
      job: spec.name,
      kind: spec.kind,
      runId: a.runId,
      trigger,
      scheduledFor,
      startedAt: new Date(a.startedAt).toISOString(),
      finishedAt: new Date(clock.now()).toISOString(),
      durationMs: Math.round(clock.monotonic() - begun),
      ok: failure === undefined,
      failure,
      exitCode: command?.exitCode,
      signal: command?.signal,
      timedOut: command?.timedOut ?? false,
      stoppedBy: a.stoppedBy,
      output: command?.output ?? '',
      fencingToken,
      skippedTicks: a.skippedTicks,
      backup,
    };
  }

  function skip(reason: SkipReason, slot: Date | undefined): undefined {
    o.bus.emit('job.skipped', { job: spec.name, reason, scheduledFor: slot?.toISOString() });
    return undefined;
  }

  async function run(trigger: RunTrigger, slot?: Date, lateMs = 0): Promise<RunRecord | undefined> {
    if (closed) return skip('stopping', slot);
    if (active !== undefined) {
      counts.skippedRunning++;
      active.skippedTicks++;
      const message = `${label}: the previous run (started ${new Date(active.startedAt).toISOString()}) is still going; this run is skipped`;
      // The first skip of a run says so; more of them would only repeat it every tick.
      if (active.skippedTicks === 1) log.warn(message, { runId: active.runId, scheduledFor: slot?.toISOString() });
      else log.debug(message, { runId: active.runId, scheduledFor: slot?.toISOString() });
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

    const a: ActiveRun = {
      runId: randomUUID(),
      startedAt: clock.now(),
      abort: new AbortController(),
      termination: undefined,
      commandRunning: false,
      stoppedBy: undefined,
      lost: false,
      group: undefined,
      skippedTicks: 0,
      done: undefined,
    };
    active = a;
    const offLost = guard.onLost((reason) => {
      if (a.lost) return;
      a.lost = true;
      log.warn(`${label}: ${guardText} lost (${reason}); stopping the run`, { runId: a.runId });
      stopRun(a, `${guardText} lost: ${reason}`, o.lostGraceMs);
    });
    o.bus.emit('job.started', { job: spec.name, runId: a.runId, trigger });
    log.debug(`${label}: starting`, { runId: a.runId, trigger, scheduledFor: slot?.toISOString() });
    const done = perform(a, permit.fencingToken, trigger, slot?.toISOString());
    a.done = done;
    let record: RunRecord;
    try {
      record = await done;
    } finally {
      offLost();
      a.termination?.cancel();
      active = undefined;
    }
    remember(record);
    report(record);
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
        running: active === undefined ? undefined : { runId: active.runId, startedAt: new Date(active.startedAt).toISOString() },
        ...counts,
        history: [...records],
      };
    },
    close(reason) {
      closed = true;
      if (active !== undefined) stopRun(active, reason, undefined);
    },
    guarded: spec.when.kind !== 'always',
    async settle(deadline) {
      const a = active;
      if (a?.done === undefined) return;
      if (await settlesWithin(a.done, deadline - clock.monotonic(), clock)) return;
      log.warn(`${label}: still running at the stop deadline; sending SIGKILL`, { runId: a.runId });
      kill(a);
      await settlesWithin(a.done, KILL_WAIT_MS, clock);
    },
  };
}
