// One rotating backup run: the command writes one artifact (a file or a directory) to the path
// in STEWARD_BACKUP_FILE; steward names it after the moment it completed and then deletes old
// artifacts by the retention policy. Also the `--prune-dry-run` report.
//
// Decisions:
// - The command writes to `<name>-<start time>.tmp.<run>[.<extension>]` in DEST. The `tmp` part
//   makes it something parseArtifactName never takes for an artifact, and the extension stays
//   last because tools choose a format from it (`tar -caf x.tar.zst`). The run id keeps two
//   writers apart (two replicas sharing DEST with `when = always`).
// - A finished artifact appears in one step: a hard link to the final name, which fails rather
//   than replace an artifact another writer named in the same second (then the next suffix is
//   tried), or a rename where links are not supported and for directories.
// - A run counts as failed (nothing renamed, nothing deleted, the temporary removed) when the
//   command fails, is stopped or times out, and also when it exits 0 without leaving a file or
//   directory there, or leaves an empty one: `pg_dump | gzip > "$STEWARD_BACKUP_FILE"` without
//   pipefail exits 0 when pg_dump fails, and retention must not count such a run as a backup.
// - Temporaries left by a run that steward itself could not clean up (steward was killed) are
//   reported once and left alone: another replica may be writing one right now.
// - Retention runs only after a good artifact was placed, and only while the run's guard still
//   holds (a replica that lost leadership must not delete what the new leader counts on). The
//   artifact just written is never deleted, even if a clock-skewed replica wrote "newer" ones.

import { chown, link, lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatDuration } from '../config/values.ts';
import type { Clock } from '../core/clock.ts';
import type { CommandResult } from '../core/exec.ts';
import type { Logger } from '../core/log.ts';
import { nextArtifactName, parseArtifactName } from './artifact-name.ts';
import type { BackupSpec } from './config.ts';
import {
  formatPruneDryRun,
  isEmptyRetentionPolicy,
  planRetention,
  RETENTION_RULES,
  type RetentionArtifact,
  type RetentionPolicy,
} from './retention.ts';

/** The variable that tells a backup command where to write its artifact. */
export const BACKUP_FILE_VARIABLE = 'STEWARD_BACKUP_FILE';

/** How many times a same-second name clash with another writer is retried. */
const PLACE_ATTEMPTS = 5;

/** STEWARD_BACKUP_FUTURE_TOLERANCE's default, for callers that do not pass the setting. */
export const DEFAULT_FUTURE_TOLERANCE_MS = 5 * 60_000;

export interface BackupRunContext {
  readonly spec: BackupSpec;
  readonly runId: string;
  readonly timeZone: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Runs the backup command with these variables added; the runner tracks and stops it. */
  readonly execute: (extraEnv: Readonly<Record<string, string>>) => Promise<CommandResult>;
  /** Undefined when old artifacts may be deleted now; otherwise why not (leadership lost, ...). */
  readonly pruneBlocked: () => string | undefined;
  /** Temporaries already reported, so that each is reported once. */
  readonly reported: Set<string>;
  /** STEWARD_BACKUP_FUTURE_TOLERANCE (DEFAULT_FUTURE_TOLERANCE_MS when absent). */
  readonly futureToleranceMs?: number;
  /** Who the command runs as: folders steward creates for DEST get this owner. Undefined: steward's. */
  readonly owner?: { readonly uid: number; readonly gid: number } | undefined;
}

export interface BackupOutcome {
  readonly ok: boolean;
  /** Why the run failed, in one line. */
  readonly failure: string | undefined;
  /** Undefined when the command never started. */
  readonly command: CommandResult | undefined;
  /** The file name the artifact got in DEST. */
  readonly artifact: string | undefined;
  readonly kept: readonly string[];
  readonly deleted: readonly string[];
  /** Why retention did not run or did not complete. */
  readonly pruneNote: string | undefined;
}

function compactStamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll('-', '').replaceAll(':', '');
}

/** Where a run writes before its artifact is complete; never parsed as an artifact. */
export function temporaryArtifactPath(spec: BackupSpec, startedAt: Date, runId: string): string {
  const id = runId.replaceAll('-', '').slice(0, 8);
  const extension = spec.extension === undefined ? '' : `.${spec.extension}`;
  return join(spec.dest, `${spec.name}-${compactStamp(startedAt)}.tmp.${id}${extension}`);
}

function temporaryPattern(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`^${escaped}-\\d{8}T\\d{6}Z\\.tmp\\.[0-9a-f]{8}(?:\\.[A-Za-z0-9.]+)?$`);
}

export interface FolderListing {
  /** This backup's artifacts, in listing order. */
  readonly artifacts: RetentionArtifact[];
  /** Temporaries of this backup (runs in progress, or interrupted). */
  readonly temporaries: string[];
  /** Everything else: never touched. */
  readonly others: string[];
}

/** Sorts a folder's names into this backup's artifacts, its temporaries and everything else. */
export function classifyFolder(name: string, fileNames: Iterable<string>): FolderListing {
  const temporary = temporaryPattern(name);
  const listing: FolderListing = { artifacts: [], temporaries: [], others: [] };
  for (const fileName of fileNames) {
    const parsed = parseArtifactName(name, fileName);
    if (parsed !== undefined) listing.artifacts.push({ fileName, time: parsed.time, sequence: parsed.sequence });
    else if (temporary.test(fileName)) listing.temporaries.push(fileName);
    else listing.others.push(fileName);
  }
  return listing;
}

/**
 * Artifacts dated later than now plus the tolerance (a clock-skewed writer, or files planted in
 * DEST) would count as the newest and push real backups out of the policy: they are set apart,
 * never counted, never deleted.
 */
export function setApartFuture(
  artifacts: readonly RetentionArtifact[],
  nowMs: number,
  toleranceMs: number,
): { readonly counted: RetentionArtifact[]; readonly future: RetentionArtifact[] } {
  const limit = nowMs + toleranceMs;
  return {
    counted: artifacts.filter((a) => a.time.getTime() <= limit),
    future: artifacts.filter((a) => a.time.getTime() > limit),
  };
}

/** `last 3, hourly 24, daily 7`, or undefined for the empty policy. */
export function describePolicy(policy: RetentionPolicy): string | undefined {
  if (isEmptyRetentionPolicy(policy)) return undefined;
  return RETENTION_RULES.filter((rule) => (policy[rule] ?? 0) > 0)
    .map((rule) => `${rule} ${policy[rule]}`)
    .join(', ');
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code !== undefined ? `${e.code}: ${e.message}` : String(error);
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

/** Gives the complete artifact its final name without ever replacing another artifact. */
async function place(spec: BackupSpec, temporary: string, isDirectory: boolean, completedAt: Date): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const fileName = nextArtifactName(spec.name, completedAt, spec.extension, await readdir(spec.dest));
    const target = join(spec.dest, fileName);
    if (!isDirectory) {
      try {
        await link(temporary, target);
        await unlink(temporary);
        return fileName;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (code === 'EEXIST' && attempt < PLACE_ATTEMPTS) continue;
        if (!LINK_UNSUPPORTED.has(code)) throw error;
      }
    }
    // Directories, and filesystems without hard links: check, then rename (a rename onto a
    // non-empty directory fails, so only a same-second file clash on such a filesystem remains).
    if (await exists(target)) {
      if (attempt < PLACE_ATTEMPTS) continue;
      throw new Error(`${target} already exists`);
    }
    await rename(temporary, target);
    return fileName;
  }
}

async function checkArtifact(path: string): Promise<{ isDirectory: boolean } | string> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return `the command exited 0 but wrote nothing to $${BACKUP_FILE_VARIABLE} (${path})`;
  }
  if (info.isFile()) {
    return info.size > 0 ? { isDirectory: false } : `the command exited 0 but left an empty file at $${BACKUP_FILE_VARIABLE}`;
  }
  if (info.isDirectory()) {
    return (await readdir(path)).length > 0
      ? { isDirectory: true }
      : `the command exited 0 but left an empty directory at $${BACKUP_FILE_VARIABLE}`;
  }
  return `the command left something at $${BACKUP_FILE_VARIABLE} that is neither a file nor a directory`;
}

function failed(failure: string, command: CommandResult | undefined): BackupOutcome {
  return { ok: false, failure, command, artifact: undefined, kept: [], deleted: [], pruneNote: undefined };
}

/**
 * Creates DEST and any missing parents, owned by the user the command runs as, so that a command
 * that runs as the app's user can write its artifact there. A folder that exists is left as it is.
 */
async function createDest(dest: string, owner: BackupRunContext['owner']): Promise<void> {
  const first = await mkdir(dest, { recursive: true });
  if (first === undefined || owner === undefined) return;
  const created: string[] = [];
  for (let path = dest; path.length >= first.length; path = dirname(path)) {
    created.push(path);
    if (path === first) break;
  }
  for (const path of created.reverse()) await chown(path, owner.uid, owner.gid);
}

export async function performBackup(ctx: BackupRunContext): Promise<BackupOutcome> {
  const { spec, log } = ctx;
  try {
    await createDest(spec.dest, ctx.owner);
  } catch (error) {
    return failed(`cannot create ${spec.dest} (${errorText(error)})`, undefined);
  }
  const temporary = temporaryArtifactPath(spec, new Date(ctx.clock.now()), ctx.runId);
  try {
    for (const leftover of classifyFolder(spec.name, await readdir(spec.dest)).temporaries) {
      if (ctx.reported.has(leftover)) continue;
      ctx.reported.add(leftover);
      log.warn(`${join(spec.dest, leftover)} is an unfinished artifact (an interrupted run, or a run in progress elsewhere); it is left alone`);
    }
  } catch (error) {
    return failed(`cannot list ${spec.dest} (${errorText(error)})`, undefined);
  }

  const command = await ctx.execute({ [BACKUP_FILE_VARIABLE]: temporary });
  const removeTemporary = (): Promise<void> => rm(temporary, { recursive: true, force: true }).catch(() => {});
  if (!command.ok) {
    await removeTemporary();
    return failed(command.failure ?? 'failed', command);
  }

  let artifact: string;
  try {
    const checked = await checkArtifact(temporary);
    if (typeof checked === 'string') {
      await removeTemporary();
      return failed(checked, command);
    }
    if (!checked.isDirectory) await syncPath(temporary);
    artifact = await place(spec, temporary, checked.isDirectory, new Date(ctx.clock.now()));
    await syncPath(spec.dest);
  } catch (error) {
    await removeTemporary();
    return failed(`cannot store the artifact in ${spec.dest} (${errorText(error)})`, command);
  }

  const blocked = ctx.pruneBlocked();
  if (blocked !== undefined) {
    return { ok: true, failure: undefined, command, artifact, kept: [], deleted: [], pruneNote: `old artifacts not pruned: ${blocked}` };
  }
  let listing: FolderListing;
  try {
    listing = classifyFolder(spec.name, await readdir(spec.dest));
  } catch (error) {
    return { ok: true, failure: undefined, command, artifact, kept: [], deleted: [], pruneNote: `old artifacts not pruned: cannot list ${spec.dest} (${errorText(error)})` };
  }
  const tolerance = ctx.futureToleranceMs ?? DEFAULT_FUTURE_TOLERANCE_MS;
  const { counted, future } = setApartFuture(listing.artifacts, ctx.clock.now(), tolerance);
  if (future.length > 0) {
    log.warn(
      `${spec.dest}: not counted by retention and left alone, dated later than now + ${formatDuration(tolerance)} (STEWARD_BACKUP_FUTURE_TOLERANCE): ${future.map((a) => a.fileName).sort().join(', ')}`,
    );
  }
  const plan = planRetention(counted, spec.policy, { timeZone: ctx.timeZone, lastBackup: 'succeeded' });
  const deleted: string[] = [];
  const problems: string[] = [];
  for (const old of plan.remove) {
    if (old.fileName === artifact) continue;
    try {
      await rm(join(spec.dest, old.fileName), { recursive: true, force: true });
      deleted.push(old.fileName);
    } catch (error) {
      problems.push(`${old.fileName}: ${errorText(error)}`);
    }
  }
  return {
    ok: true,
    failure: undefined,
    command,
    artifact,
    kept: plan.keep.map((k) => k.fileName),
    deleted,
    pruneNote: problems.length === 0 ? undefined : `could not delete ${problems.join('; ')}`,
  };
}

/**
 * What retention would do to one backup's folder now (after a successful backup), one line per
 * artifact with the rules that keep it; nothing is changed.
 */
export function pruneReport(spec: BackupSpec, timeZone: string, nowMs: number, futureToleranceMs: number): string[] {
  const policy = describePolicy(spec.policy);
  const lines = [`backup ${spec.name}: ${spec.dest}, ${policy === undefined ? 'no keep rules (everything is kept)' : `keep ${policy}`}`];
  if (!existsSync(spec.dest)) {
    lines.push(`  ${spec.dest} does not exist yet: nothing to prune`);
    return lines;
  }
  let names: string[];
  try {
    names = readdirSync(spec.dest);
  } catch (error) {
    lines.push(`  cannot list ${spec.dest} (${errorText(error)})`);
    return lines;
  }
  const listing = classifyFolder(spec.name, names);
  const { counted, future } = setApartFuture(listing.artifacts, nowMs, futureToleranceMs);
  const plan = planRetention(counted, spec.policy, { timeZone, lastBackup: 'succeeded' });
  for (const line of formatPruneDryRun(plan)) lines.push(`  ${line}`);
  for (const a of future) lines.push(`  FUTURE  ${a.fileName}  dated later than now + ${formatDuration(futureToleranceMs)}: not counted, left alone`);
  const counts = [
    `${listing.artifacts.length} artifact${listing.artifacts.length === 1 ? '' : 's'}: ${plan.keep.length} kept, ${plan.remove.length} to delete`,
  ];
  if (future.length > 0) counts.push(`${future.length} dated in the future (left alone)`);
  if (listing.temporaries.length > 0) counts.push(`${listing.temporaries.length} unfinished (left alone)`);
  if (listing.others.length > 0) counts.push(`${listing.others.length} other file${listing.others.length === 1 ? '' : 's'} (left alone)`);
  lines.push(`  ${counts.join('; ')}`);
  return lines;
}

