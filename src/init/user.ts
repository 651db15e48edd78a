// STEWARD_USER, gosu-style: `name`, `uid`, `name:group` or `uid:gid`. steward stays root (to write
// configuration and signal anything) while the app runs with the user's ids, groups and HOME.

import { ConfigError } from '../core/exit-codes.ts';
import type { Credentials, Libc } from './libc.ts';

export interface AppUser {
  readonly credentials: Credentials;
  readonly home: string;
  readonly name: string | undefined;
}

const MAX_ID = 2 ** 32 - 2;

function numericId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

export function resolveAppUser(spec: string, libc: Libc, source: string, currentUid: number): AppUser {
  if (currentUid !== 0) {
    throw new ConfigError(`${source}: switching the app to ${JSON.stringify(spec)} needs steward to run as root (it runs as uid ${currentUid})`);
  }
  const [userPart = '', groupPart, extra] = spec.split(':');
  if (userPart === '' || groupPart === '' || extra !== undefined) {
    throw new ConfigError(`${source}: invalid user ${JSON.stringify(spec)} (expected name, uid, name:group or uid:gid)`);
  }
  const entry = libc.lookupUser(userPart);
  const uid = entry?.uid ?? numericId(userPart);
  if (uid === undefined) {
    throw new ConfigError(`${source}: no user named ${JSON.stringify(userPart)} in the user database (use a numeric uid to run as a user without an entry)`);
  }
  let gid: number;
  let groups: number[];
  if (groupPart !== undefined) {
    const found = numericId(groupPart) ?? libc.lookupGroup(groupPart);
    if (found === undefined) throw new ConfigError(`${source}: no group named ${JSON.stringify(groupPart)}`);
    gid = found;
    // An explicit group means exactly that group, as with docker's --user uid:gid.
    groups = [gid];
  } else if (entry !== undefined) {
    gid = entry.gid;
    groups = libc.groupsOf(entry.name, entry.gid);
  } else {
    // A bare uid with no entry: its own gid rather than root's group 0.
    gid = uid;
    groups = [gid];
  }
  return { credentials: { uid, gid, groups }, home: entry?.home ?? '/', name: entry?.name };
}
