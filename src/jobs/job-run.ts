// One run of a job or backup: its command (a backup's, through performBackup), each in a process
// group of its own, and how the run is stopped. A stop sends SIGTERM to the group once; SIGKILL
// follows after a grace (a lost guard) or at the stop deadline (shutdown, through kill()).

import { randomUUID } from 'node:crypto';
import type { ChildUser } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import { runCommand, type CommandResult } from '../core/exec.ts';
import type { Logger } from '../core/log.ts';
import { terminate, type Termination } from '../core/process-control/terminate.ts';
import { performBackup } from './backup.ts';
import type { TaskSpec } from './config.ts';
import type { Guard } from './guards.ts';
import { errorText } from '../core/error-text.ts';

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

export interface JobRunOptions {
  readonly spec: TaskSpec;
  readonly guard: Guard;
  /** What the guard stands for, in words ("leadership", "the lock /data/lock"). */
  readonly guardText: string;
  /** The environment commands start from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Who its commands run as; undefined: steward's user. */
  readonly user: ChildUser | undefined;
  readonly timeZone: string;
  /** STEWARD_BACKUP_FUTURE_TOLERANCE. */
  readonly backupFutureToleranceMs: number | undefined;
  readonly fencingToken: string | undefined;
  readonly trigger: RunTrigger;
  readonly scheduledFor: string | undefined;
  /** Problems a backup has reported already (said once, not every run). */
  readonly reported: Set<string>;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface JobRun {
  readonly runId: string;
  /** Wall-clock ms. */
  readonly startedAt: number;
  /** Ticks skipped while this run was going; the record carries the count. */
  skippedTicks: number;
  /** Runs it; resolves with its record, never rejects. */
  start(): Promise<RunRecord>;
  /** SIGTERM to the running command's group (once); SIGKILL `graceMs` later when given. */
  stop(reason: string, graceMs: number | undefined): void;
  /** The guard is gone (said once): the run stops as stop() does, and a backup deletes nothing. */
  guardLost(reason: string, graceMs: number): void;
  /** SIGKILL to the running command's group now. */
  kill(): void;
}

/** No timeout configured: setTimeout's longest. */
const NO_LIMIT_MS = 2 ** 31 - 1;

function stoppedResult(): CommandResult {
  return { ok: false, exitCode: undefined, signal: undefined, timedOut: false, aborted: true, output: '', durationMs: 0, failure: 'stopped' };
}

function commandEnv(o: JobRunOptions, runId: string, extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(o.env)) if (value !== undefined) env[key] = value;
  // Never pass on a token from steward's own environment as if it were this run's.
  delete env['STEWARD_FENCING_TOKEN'];
  env['STEWARD_JOB_NAME'] = o.spec.name;
  // Unique per run: for the logs and for the job's own use.
  env['STEWARD_JOB_RUN_ID'] = runId;
  if (o.fencingToken !== undefined) env['STEWARD_FENCING_TOKEN'] = o.fencingToken;
  return Object.assign(env, extra);
}

export function createJobRun(o: JobRunOptions): JobRun {
  const { spec, guard, clock } = o;
  const runId = randomUUID();
  const startedAt = clock.now();
  const abort = new AbortController();
  let commandRunning = false;
  /** The running command's process group (runCommand gives each command its own). */
  let group: number | undefined;
  /** Set by the first stop, which sends SIGTERM: a second one (lost guard during shutdown) only arms SIGKILL. */
  let termination: Termination | undefined;
  let stoppedBy: string | undefined;
  let lost = false;

  async function execute(extra: Readonly<Record<string, string>>): Promise<CommandResult> {
    if (stoppedBy !== undefined) return stoppedResult();
    commandRunning = true;
    try {
      return await runCommand(
        { argv: spec.argv },
        {
          source: { kind: spec.kind, name: spec.name },
          log: o.log,
          timeoutMs: spec.timeoutMs ?? NO_LIMIT_MS,
          env: commandEnv(o, runId, extra),
          ...(o.user === undefined ? {} : { user: o.user }),
          signal: abort.signal,
          onSpawn: (pid) => {
            group = pid;
          },
          // The guard again, in the very turn of the spawn: the fence deadline may have passed
          // during the awaits since the run was allowed.
          mayStart: () => stoppedBy === undefined && guard.permit() !== undefined,
        },
      );
    } finally {
      commandRunning = false;
      termination?.cancel();
    }
  }

  function stop(reason: string, graceMs: number | undefined): void {
    stoppedBy ??= reason;
    // Not started yet: execute() sees stoppedBy. Over already (a backup placing its artifact):
    // nothing left to signal.
    if (!commandRunning) return;
    if (group === undefined) {
      // runCommand signals the group itself: SIGTERM now, SIGKILL after its own grace.
      abort.abort();
      return;
    }
    termination ??= terminate({ target: { group }, signal: 'SIGTERM', clock });
    if (graceMs !== undefined) termination.killAfter(graceMs);
  }

  async function perform(): Promise<RunRecord> {
    const begun = clock.monotonic();
    let command: CommandResult | undefined;
    let failure: string | undefined;
    let backup: BackupRunSummary | undefined;
    try {
      if (spec.kind === 'job') {
        command = await execute({});
        failure = command.failure;
      } else {
        const outcome = await performBackup({
          spec,
          runId,
          timeZone: o.timeZone,
          clock,
          log: o.log,
          reported: o.reported,
          futureToleranceMs: o.backupFutureToleranceMs,
          owner: o.user?.credentials,
          execute,
          pruneBlocked: () => (lost ? stoppedBy : guard.permit() === undefined ? `${o.guardText} no longer holds` : undefined),
        });
        command = outcome.command;
        failure = outcome.failure;
        backup = { artifact: outcome.artifact, kept: outcome.kept, deleted: outcome.deleted, pruneNote: outcome.pruneNote };
      }
    } catch (error) {
      failure = `steward could not run it: ${errorText(error)}`;
    }
    if (failure !== undefined && stoppedBy !== undefined) failure = `stopped (${stoppedBy})`;
    return {
      job: spec.name,
      kind: spec.kind,
      runId,
      trigger: o.trigger,
      scheduledFor: o.scheduledFor,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(clock.now()).toISOString(),
      durationMs: Math.round(clock.monotonic() - begun),
      ok: failure === undefined,
      failure,
      exitCode: command?.exitCode,
      signal: command?.signal,
      timedOut: command?.timedOut ?? false,
      stoppedBy,
      output: command?.output ?? '',
      fencingToken: o.fencingToken,
      skippedTicks: run.skippedTicks,
      backup,
    };
  }

  const run: JobRun = {
    runId,
    startedAt,
    skippedTicks: 0,
    async start() {
      try {
        return await perform();
      } finally {
        termination?.cancel();
      }
    },
    stop,
    guardLost(reason, graceMs) {
      if (lost) return;
      lost = true;
      o.log.warn(`${spec.kind} ${spec.name}: ${o.guardText} lost (${reason}); stopping the run`, { runId });
      stop(`${o.guardText} lost: ${reason}`, graceMs);
    },
    kill() {
      if (!commandRunning) return;
      if (group === undefined) abort.abort();
      else (termination ?? terminate({ target: { group }, signal: null, clock })).killNow();
    },
  };
  return run;
}
