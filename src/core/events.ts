// Every event on the bus, in one place: what a part may publish and what another may act on.

import type { SignalName } from '../config/values.ts';
import type { AppExit } from '../init/exit-status.ts';

export type Role = 'leader' | 'follower';

/** One replica as registered under <prefix>/<election>/members/<id>. */
export interface MemberRecord {
  readonly id: string;
  readonly host: string;
  readonly address: string;
  readonly role: Role;
  readonly state: string;
  /** When this replica registered (ms since the epoch). */
  readonly since: number;
}

export interface Events {
  /** The app was spawned (again, after a restart). */
  'app.started': { readonly pid: number; readonly attempt: number };
  /** The app exited; `restarting` tells whether the supervisor will start it again. */
  'app.exited': { readonly exit: AppExit; readonly restarting: boolean };
  /** A signal steward received (before any rewrite). */
  'signal.received': { readonly signal: SignalName };
  /** A rendered file changed and the app should hear of it (resources/ publishes, init/ acts). */
  'app.reload': { readonly signal: SignalName; readonly reason: string };
  /** The app should be stopped gracefully and started again (resource `reload = "restart"`). */
  'app.restart': { readonly reason: string };
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
  /** A filesystem lock (STEWARD_FS_LOCKS) was acquired, or lost or released. */
  'lock.changed': { readonly path: string; readonly held: boolean; readonly generation: number | undefined; readonly reason: string };
  /** steward is stopping; `status` is what it will exit with unless the app decides. */
  shutdown: { readonly reason: string; readonly status: number };
}

export type EventName = keyof Events;
