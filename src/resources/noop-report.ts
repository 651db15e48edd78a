// --noop (CONFD_NOOP): what would change, as unified diffs on stdout. Whoever can plant a file
// or a symlink at a destination must not get another file's content printed by it, so the
// current content is shown only for a regular file (not a symlink) that steward's own user owns
// and that has no other name (a hard link could be to any file). A file that only its owner may
// read (no group or other permission bits) probably holds secrets: its content is not shown.

import { createTwoFilesPatch } from 'diff';
import type { TemplateResource } from './resource.ts';
import type { Current, Difference } from './stage-and-swap.ts';

/** Why the current content may not be shown, or undefined when it may. */
function hidden(current: Current, euid: number): string | undefined {
  switch (current.kind) {
    case 'missing':
      return undefined;
    case 'symlink':
      return 'the destination is a symbolic link; it would be replaced by a regular file';
    case 'other':
      return `the destination is ${current.type}; it would be replaced by a regular file`;
    case 'file':
      if (current.uid !== euid) return `the destination belongs to uid ${current.uid}, not to steward's user (uid ${euid})`;
      if (current.links > 1) return `the destination has ${current.links} hard links`;
      if (current.content === undefined) return 'steward cannot read the destination';
      return undefined;
  }
}

export function noopReport(
  resource: TemplateResource,
  change: { differences: readonly Difference[]; current: Current; after: Buffer; mode: number },
  euid: number = process.geteuid?.() ?? 0,
): string {
  const header = `--- ${resource.dest} would change (${change.differences.join(', ')}) [${resource.name}]\n`;
  const why = hidden(change.current, euid);
  if (why !== undefined) return `${header}(content not shown: ${why})\n`;
  if ((change.mode & 0o077) === 0) {
    return `${header}(content not shown: the file is readable by its owner only, mode ${change.mode.toString(8).padStart(4, '0')})\n`;
  }
  if (!change.differences.includes('content') && !change.differences.includes('created')) return header;
  const before = change.current.kind === 'file' ? (change.current.content?.toString('utf8') ?? '') : '';
  const patch = createTwoFilesPatch(
    `${resource.dest} (current)`,
    `${resource.dest} (rendered)`,
    before,
    change.after.toString('utf8'),
    undefined,
    undefined,
    { context: 3 },
  );
  return header + patch.split('\n').slice(1).join('\n');
}
