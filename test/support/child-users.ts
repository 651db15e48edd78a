// The users children run as, resolved as cli.ts resolves them: STEWARD_USER (or none) for the app,
// and the real user database for a child's own setting.

import type { ChildUsers } from '../../src/core/child-rule.ts';
import { loadLibc } from '../../src/init/libc.ts';
import { resolveAppUser } from '../../src/init/user.ts';

export function childUsers(appUser?: string): ChildUsers {
  const resolve = (spec: string, source: string) => resolveAppUser(spec, loadLibc(), source, process.getuid?.() ?? 0);
  return { app: appUser === undefined ? undefined : resolve(appUser, 'STEWARD_USER'), resolve };
}
