// The one rule for every process steward starts beside the app (hooks, checks, jobs, backups,
// check_cmd, reload_cmd, later sidecars): who it runs as, what environment it gets, where it
// starts, and where its output goes. runCommand applies it to every command, so that no caller
// can forget a part of it; docs/children.md says it in words.
//
// - Environment: steward's own, or what the caller built from it, always without steward's secret
//   settings (config/secrets.ts); HOME is the home of the user the child runs as.
// - User: hooks, checks, jobs, backups and sidecars act for the app and run as the app's user
//   (STEWARD_USER) unless their own setting names another; check_cmd and reload_cmd run as
//   steward's user, as in confd: a check reads the stage file, which is owned by the resource's
//   uid and may be 0600, and a reload often signals a master process that runs as root.
// - Supplementary groups: libuv calls setgroups(0) when it changes a child's ids, so a child
//   started through it has the uid and primary gid only, not the user's other groups (the app,
//   spawned through posix_spawn, keeps them).
// - Working directory: steward's own, which is also the app's.
// - Output: captured line by line into the log (child-output.ts); the app's own output is not.

import { withoutSecrets } from '../config/secrets.ts';
import type { AppUser } from '../init/user.ts';

/** What kind of child a command is; every captured line carries it. */
export type ChildKind = 'hook' | 'job' | 'backup' | 'check' | 'check_cmd' | 'reload_cmd' | 'process';

/** Which child: its kind and its name (the hook, the job, the resource). */
export interface ChildSource {
  readonly kind: ChildKind;
  readonly name: string;
}

/** A user a child runs as: ids, groups and HOME, as STEWARD_USER resolves them. */
export type ChildUser = AppUser;

/** The app's user and a way to resolve a child's own user setting, as STEWARD_USER is resolved. */
export interface ChildUsers {
  /** STEWARD_USER, resolved; undefined: the app runs as steward's user. */
  readonly app: ChildUser | undefined;
  /** Resolves a user setting (STEWARD_HOOK_USER, STEWARD_JOB_<NAME>_USER); a ConfigError names `source`. */
  resolve(spec: string, source: string): ChildUser;
}

/** Kinds that run as steward's own user whatever STEWARD_USER says. */
const STEWARD_KINDS: ReadonlySet<ChildKind> = new Set(['check_cmd', 'reload_cmd']);

/**
 * Who a child of `kind` runs as: its own override when it has one, else the app's user, except
 * for check_cmd and reload_cmd, which run as steward. Undefined: steward's own user.
 */
export function childUser(kind: ChildKind, appUser: ChildUser | undefined, override?: ChildUser): ChildUser | undefined {
  if (STEWARD_KINDS.has(kind)) return undefined;
  return override ?? appUser;
}

/** The environment of a child (the app included): `env` without steward's secrets, HOME for its user. */
export function childEnv(env: Readonly<Record<string, string | undefined>>, user: ChildUser | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(withoutSecrets(env))) if (value !== undefined) out[name] = value;
  if (user !== undefined) out['HOME'] = user.home;
  return out;
}
