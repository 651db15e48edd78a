// The names steward gives backup artifacts, and the strict reading of them that retention relies
// on: `<name>-<UTC completion time, ISO 8601 basic, whole seconds>[-<n>][.<extension>]`, e.g.
// `db-20261125T184512Z.sql.gz`, `db-20261125T184512Z` (a directory).
//
// Decisions:
// - Two artifacts of one backup completing in the same second: the second one gets `-2`, the
//   next `-3`, and so on (`nextArtifactName` picks it from the folder listing). Refusing would lose
//   a backup that did succeed; a suffix keeps both and keeps their order. The suffix is one past
//   the highest used in that second, never a freed lower one, so a later artifact never sorts as
//   older than an earlier one. `-1` is never written: the first artifact of a second is unsuffixed.
// - Only names steward itself could have written are artifacts: parse, then format again, and
//   require the same string. That rejects other backups sharing a prefix (`db2-…`, `db-daily-…`
//   for `db`), other time formats, impossible dates, non-canonical suffixes, and anything else a
//   person or another tool put in the folder. Retention must never delete such files.
// - Half-written artifacts are written as `<final name>.tmp` and renamed when complete; an
//   extension part of tmp, temp, part or partial is refused when formatting and when parsing,
//   so a half-written file is never taken for an artifact.
// - Extension parts are letters and digits only. With names limited to letters, digits, `.`, `_`
//   and `-`, that makes the split unambiguous: no file is an artifact of two backup names.

import { ConfigError } from '../core/exit-codes.ts';

export interface ArtifactName {
  /** Completion time, whole seconds, UTC. */
  readonly time: Date;
  /** 1 for the first artifact completed in that second, then 2, 3, ... (the `-n` suffix). */
  readonly sequence: number;
  /** Without the leading dot; undefined for a directory artifact. */
  readonly extension: string | undefined;
}

const NAME_MAX = 100;
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const EXTENSION = /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*$/;
const TEMPORARY_PARTS: readonly string[] = ['tmp', 'temp', 'part', 'partial'];
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-([1-9]\d*))?(?:\.(.*))?$/s;

const NAME_HINT = `expected 1 to ${NAME_MAX} letters, digits, '.', '_' or '-', starting and ending with a letter or digit`;
const EXTENSION_HINT = `expected letters and digits in dot-separated parts, such as sql.gz or tar.zst, none of them ${TEMPORARY_PARTS.join(', ')}`;

function isBackupName(name: string): boolean {
  return typeof name === 'string' && name.length <= NAME_MAX && NAME.test(name);
}

function isExtension(extension: string): boolean {
  return (
    EXTENSION.test(extension) && !extension.split('.').some((part) => TEMPORARY_PARTS.includes(part.toLowerCase()))
  );
}

/** Checks a backup name from the configuration; `source` names the setting in the error. */
export function checkBackupName(name: string, source: string): string {
  if (!isBackupName(name)) {
    throw new ConfigError(`${source}: ${JSON.stringify(name)} is not a valid backup name (${NAME_HINT})`);
  }
  return name;
}

/** Checks an artifact extension; a leading dot is dropped, and '' means none (a directory). */
export function checkArtifactExtension(extension: string | undefined, source: string): string | undefined {
  if (extension === undefined || extension === '') return undefined;
  const bare = extension.startsWith('.') ? extension.slice(1) : extension;
  if (!isExtension(bare)) {
    throw new ConfigError(`${source}: ${JSON.stringify(extension)} is not a valid artifact extension (${EXTENSION_HINT})`);
  }
  return bare;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function stamp(time: Date): string {
  return (
    pad(time.getUTCFullYear(), 4) +
    pad(time.getUTCMonth() + 1, 2) +
    pad(time.getUTCDate(), 2) +
    'T' +
    pad(time.getUTCHours(), 2) +
    pad(time.getUTCMinutes(), 2) +
    pad(time.getUTCSeconds(), 2) +
    'Z'
  );
}

/**
 * The artifact name for a backup that completed at `completedAt` (fractions of a second are
 * dropped). `sequence` is 2 or more only for a further artifact of the same second; use
 * `nextArtifactName` to pick it.
 */
export function formatArtifactName(name: string, completedAt: Date, extension?: string, sequence = 1): string {
  checkBackupName(name, 'artifact name');
  const ext = checkArtifactExtension(extension, 'artifact extension');
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new RangeError(`artifact sequence must be a whole number of 1 or more, got ${sequence}`);
  }
  const year = completedAt instanceof Date ? completedAt.getUTCFullYear() : Number.NaN;
  if (!(year >= 0 && year <= 9999)) {
    throw new RangeError(`artifact time must be a valid date in the years 0000 to 9999, got ${String(completedAt)}`);
  }
  return `${name}-${stamp(completedAt)}${sequence > 1 ? `-${sequence}` : ''}${ext === undefined ? '' : `.${ext}`}`;
}

/**
 * Reads an artifact name written by `formatArtifactName` for backup `name`; undefined for any other
 * file (another backup, a half-written artifact, a foreign file). Throws if `name` itself is not a
 * valid backup name, since that is a configuration mistake, not a foreign file.
 */
export function parseArtifactName(name: string, fileName: string): ArtifactName | undefined {
  checkBackupName(name, 'artifact name');
  if (!fileName.startsWith(`${name}-`)) return undefined;
  const match = STAMP.exec(fileName.slice(name.length + 1));
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, suffix, extension] = match;
  const sequence = suffix === undefined ? 1 : Number(suffix);
  if (sequence === 1 && suffix !== undefined) return undefined;
  if (!Number.isSafeInteger(sequence)) return undefined;
  if (extension !== undefined && !isExtension(extension)) return undefined;
  const time = new Date(0);
  time.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  time.setUTCHours(Number(hour), Number(minute), Number(second));
  // Date rolls 2026-02-29 over to March 1st; a name whose fields do not survive is not ours.
  if (`${year}${month}${day}T${hour}${minute}${second}Z` !== stamp(time)) return undefined;
  return { time, sequence, extension };
}

/**
 * The name for a new artifact, given the names already in the destination folder: unsuffixed when
 * no artifact of this backup completed in the same second, otherwise one past the highest suffix
 * used in that second (whatever the extension of those artifacts).
 */
export function nextArtifactName(
  name: string,
  completedAt: Date,
  extension: string | undefined,
  existingFileNames: Iterable<string>,
): string {
  const second = Math.floor(completedAt.getTime() / 1000) * 1000;
  let highest = 0;
  for (const fileName of existingFileNames) {
    const parsed = parseArtifactName(name, fileName);
    if (parsed !== undefined && parsed.time.getTime() === second) highest = Math.max(highest, parsed.sequence);
  }
  return formatArtifactName(name, completedAt, extension, highest + 1);
}

/** Where an artifact is written until it is complete; never read back as an artifact. */
export function temporaryArtifactName(fileName: string): string {
  return `${fileName}.tmp`;
}
