// --noop (CONFD_NOOP): what would change, as unified diffs on stdout. A file that only its owner
// may read (no group or other permission bits) probably holds secrets: its content is not shown.

import { createTwoFilesPatch } from 'diff';
import type { TemplateResource } from './resource.ts';
import type { Difference } from './stage-and-swap.ts';

export function noopReport(
  resource: TemplateResource,
  change: { differences: readonly Difference[]; before: Buffer | undefined; after: Buffer; mode: number },
): string {
  const header = `--- ${resource.dest} would change (${change.differences.join(', ')}) [${resource.name}]\n`;
  if ((change.mode & 0o077) === 0) {
    return `${header}(content not shown: the file is readable by its owner only, mode ${change.mode.toString(8).padStart(4, '0')})\n`;
  }
  if (!change.differences.includes('content') && !change.differences.includes('created')) return header;
  const patch = createTwoFilesPatch(
    `${resource.dest} (current)`,
    `${resource.dest} (rendered)`,
    change.before?.toString('utf8') ?? '',
    change.after.toString('utf8'),
    undefined,
    undefined,
    { context: 3 },
  );
  return header + patch.split('\n').slice(1).join('\n');
}
