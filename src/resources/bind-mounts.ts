// A destination that is a bind-mounted single file (a Docker `-v file:file`, a Kubernetes
// subPath) cannot be replaced by a rename: steward rewrites it in place, which gives up what a
// rename guarantees. Readers can see it half-written, and a process that opened it before its
// mode was tightened keeps reading it. Said once at start-up, naming each such destination.

import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../core/log.ts';

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The mount points listed in a /proc/<pid>/mountinfo text. */
export function mountPoints(mountinfo: string): Set<string> {
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined) points.add(unescapeMountPath(field));
  }
  return points;
}

/** The destinations that are regular files mounted on their own. */
export function bindMountedFiles(dests: readonly string[], mountinfo: string): string[] {
  const points = mountPoints(mountinfo);
  return dests.filter((dest) => {
    try {
      if (!lstatSync(dest).isFile()) return false;
      // The mount table names the resolved path; only the directories are resolved, since a
      // symlink at the destination itself is replaced, not written through.
      return points.has(join(realpathSync(dirname(dest)), basename(dest)));
    } catch {
      return false;
    }
  });
}

export function warnAboutBindMounts(dests: readonly string[], log: Logger, mountinfoPath = '/proc/self/mountinfo'): void {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(mountinfoPath, 'utf8');
  } catch {
    return;
  }
  for (const dest of new Set(bindMountedFiles(dests, mountinfo))) {
    log.warn(
      `${dest} is a bind-mounted single file: it cannot be replaced in one step, so it is rewritten in place. ` +
        'A reader may see it partly written, and a process that already has it open keeps reading it, whatever its mode. Mount the directory instead.',
      { dest },
    );
  }
}
