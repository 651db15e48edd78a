// Every event on the bus, in one place: what a part may publish and what another may act on.

import type { SignalName } from '../config/values.ts';
import type { AppExit } from '../init/exit-status.ts';
import type { RunRecord, RunTrigger } from '../jobs/job-run.ts';
import type { SkipReason } from '../jobs/run-job.ts';
import type { ResourceOutcome } from '../resources/pipeline.ts';

export type Role = 'leader' | 'follower';

/** The app's health: `none` without a check or readiness notification. */
export type Health = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** One replica as registered under <prefix>/<election>/members/<id>. */
export interface MemberRecord {
  readonly id: string;
  readonly host: string;
  readonly address: string;
  readonly role: Role;
  readonly state: string;
  /** Absent in records written before health checks existed: read it as `none`. */
  readonly health?: Health;
  /** When this replica registered (ms since the epoch). */
  readonly since: number;
}

export interface Events {
  // app.started and app.exited feed the status board (src/control/); the health checks will
  // follow the app's lifecycle through them too.
  /** The app was spawned (again, after a restart). */
  'app.started': { readonly pid: number; readonly attempt: number };
  /** The app exited; `restarting` tells whether the supervisor will start it again. */
  'app.exited': { readonly exit: AppExit; readonly restarting: boolean };
  /** A rendered file changed and the app should hear of it (resources/ publishes, init/ acts). */
  'app.reload': { readonly signal: SignalName; readonly reason: string };
  /**
   * The app should be stopped gracefully and started again: a resource's `reload = "restart"`
   * (not counted), or a repair of an unhealthy app (`countsAsFailure`: the restart limit and
   * back-off apply, as to a crash).
   */
  'app.restart': { readonly reason: string; readonly countsAsFailure?: boolean };
  /**
   * The app's health changed (health/ publishes; the election's member record, the jobs' guard
   * and the status endpoint follow it). `output` is the last check's output or failure.
   */
  'health.changed': {
    readonly health: Exclude<Health, 'none'>;
    readonly previous: Health;
    readonly output: string;
    /** Failed checks in a row that counted (none during the start period). */
    readonly failingStreak: number;
  };
  // The status board keeps it: /status and `steward --status` show what the app last said.
  /** The app sent STATUS= on its NOTIFY_SOCKET (sd_notify). */
  'app.status': { readonly status: string };
  /** This replica's role changed (the first role after start included). */
  'role.changed': {
    readonly role: Role;
    /** The leader's instance id, when known. */
    readonly leader: string | undefined;
    /** Set while leader: the lease id (etcd), LockIndex (Consul) or lock generation (file). */
    readonly fencingToken: string | undefined;
    readonly reason: string;
  };
  /** Who leads changed (seen by every replica). */
  'leader.changed': { readonly leader: string | undefined };
  /** Replicas joined or left. */
  'members.changed': { readonly members: readonly MemberRecord[]; readonly joined: readonly string[]; readonly left: readonly string[] };
  /** The service catalog changed (discovery/ publishes): templates calling service or services render again. */
  'catalog.changed': { readonly where: string };
  /** A filesystem lock (STEWARD_FS_LOCKS) was acquired, or lost or released. */
  'lock.changed': { readonly path: string; readonly held: boolean; readonly generation: number | undefined; readonly reason: string };
  // job.finished feeds the metrics, job.skipped the answer to `steward --run-job`, shutdown the
  // health; job.started and job.missed have no subscriber yet (service deregistration and the
  // jobs' alerts are on their way).
  /** A job or backup run began. */
  'job.started': { readonly job: string; readonly runId: string; readonly trigger: RunTrigger };
  /** A run ended: its name, exit code or signal, duration, failure and output tail. */
  'job.finished': RunRecord;
  /** A tick or a manual run did not start a run. */
  'job.skipped': { readonly job: string; readonly reason: SkipReason; readonly scheduledFor: string | undefined };
  /** Slots that came too late to run (steward paused or its event loop blocked); not made up. */
  'job.missed': { readonly job: string; readonly slots: readonly string[] };
  // The operator's view (src/control/): the status endpoint and the metrics count these.
  /** One render of a template resource ended; `watchLatencyMs` runs from the key change to the installed file. */
  'resource.rendered': {
    readonly resource: string;
    readonly dest: string;
    readonly outcome: ResourceOutcome['kind'];
    /** The outcome's one-line message when it failed (render errors carry no values: pipeline.ts strips them). */
    readonly error: string | undefined;
    readonly durationMs: number;
    readonly watchLatencyMs: number | undefined;
  };
  /** A written file made the app reload: its signal or restart was requested, or its reload_cmd ran. */
  'resource.reloaded': { readonly resource: string; readonly dest: string; readonly how: 'signal' | 'restart' | 'command'; readonly ok: boolean };
  /** The template backend became unreachable (again) or reachable. */
  'backend.status': { readonly backend: string; readonly state: 'ok' | 'unreachable'; readonly error: string | undefined };
  // The sidecars (src/processes/): the run loop ends the container on a required one's final
  // failure; the sidecars started after another one follow its process.started and process.health;
  // the resources' reload_process asks for process.reload and process.restart.
  /** A sidecar was spawned (again, after a restart). */
  'process.started': { readonly name: string; readonly pid: number; readonly attempt: number };
  /**
   * A sidecar exited; `restarting` tells whether it will be started again, `final` that it will
   * not and steward did not stop it (its restart policy or limit ended it).
   */
  'process.exited': { readonly name: string; readonly exit: AppExit; readonly restarting: boolean; readonly final: boolean; readonly required: boolean };
  /** A sidecar's health changed (its own STEWARD_PROCESS_<NAME>_HEALTH_* check). */
  'process.health': { readonly name: string; readonly health: Exclude<Health, 'none'>; readonly previous: Health; readonly output: string };
  /** A resource naming this sidecar in reload_process changed: `signal`, or the sidecar's own reload signal when undefined. */
  'process.reload': { readonly name: string; readonly signal: SignalName | undefined; readonly reason: string };
  /** A resource naming this sidecar in reload_process, with reload = "restart", changed. */
  'process.restart': { readonly name: string; readonly reason: string };
  // Rollouts (src/rollout/): the lock and the steps of the sequence, for logs, tests and the status.
  /** The rollout lock was acquired (`held`), or released or lost. */
  'rollout.lock': { readonly held: boolean; readonly key: string };
  /** A step of the rollout began (`healthy` and `stuck` are where the wait for health ended). */
  'rollout.step': { readonly step: string; readonly pid: number };
  /**
   * A start-first handover (the supervisor acts on it): `start` a new app beside the running one,
   * `retire` the old one once the new one is ready, or `keep-old` when it never was.
   */
  'app.handover': { readonly step: 'start' | 'retire' | 'keep-old'; readonly reason: string };
  /**
   * steward begins to stop (a stop signal, the app's exit, nothing to run, an error); `status`
   * is what it will exit with unless the app, still to be stopped, decides otherwise.
   */
  shutdown: { readonly reason: string; readonly status: number };
}

export type EventName = keyof Events;
