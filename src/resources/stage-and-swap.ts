// Writing a rendered file so that the app never sees it half-written and nothing is lost:
// a stage file is created next to the destination (same filesystem) with O_EXCL and mode 0600,
// given its final mode and owner before any content is written, filled, fsynced, checked
// (check_cmd), renamed over the destination, and the directory fsynced. A destination that is
// a bind-mounted single file cannot be renamed over (EBUSY): then it is overwritten in place
// and truncated after, so it is never empty or short while being written.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface Desired {
  readonly dest: string;
  readonly content: Buffer;
  /** Permission bits asked for by the resource; undefined keeps the existing file's. */
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

export interface Target {
  /** Mode bits to set (permissions and setuid/setgid/sticky). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export type Difference = 'created' | 'content' | 'mode' | 'owner';

export interface Inspection {
  readonly target: Target;
  /** Empty when the destination already is exactly this. */
  readonly differences: readonly Difference[];
  readonly existing: Buffer | undefined;
}

export type SwapOutcome =
  | { readonly kind: 'written'; readonly differences: readonly Difference[]; readonly inPlace: boolean }
  | { readonly kind: 'check-failed'; readonly failure: string; readonly output: string }
  | { readonly kind: 'error'; readonly message: string };

export type Check = (stagePath: string) => Promise<{ ok: boolean; failure: string | undefined; output: string }>;

const DEFAULT_MODE = 0o644;

/** The mode and owner the file should have, and how the destination differs from that. */
export async function inspect(desired: Desired): Promise<Inspection> {
  const st = await stat(desired.dest).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  // Without root only one's own ids can be given to a file: an existing file's other owner is
  // kept only by root (as confd, a non-root steward then owns what it writes).
  const root = (process.geteuid?.() ?? 0) === 0;
  const target: Target = {
    mode: desired.mode ?? (st === undefined ? DEFAULT_MODE : st.mode & 0o7777),
    uid: desired.uid ?? (root ? st?.uid : undefined) ?? process.geteuid?.() ?? 0,
    gid: desired.gid ?? (root ? st?.gid : undefined) ?? process.getegid?.() ?? 0,
  };
  if (st === undefined) return { target, differences: ['created'], existing: undefined };
  const existing = await readFile(desired.dest);
  const differences: Difference[] = [];
  if (!existing.equals(desired.content)) differences.push('content');
  if ((st.mode & 0o7777) !== target.mode) differences.push('mode');
  if (st.uid !== target.uid || st.gid !== target.gid) differences.push('owner');
  return { target, differences, existing };
}

function stagePathFor(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.steward-${randomBytes(6).toString('hex')}`);
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// write() may write less than asked (a full disk says so only by a short count): loop, and let
// a write that makes no progress fail rather than install a short file.
async function writeAll(handle: FileHandle, content: Buffer): Promise<void> {
  let offset = 0;
  while (offset < content.length) {
    const { bytesWritten } = await handle.write(content, offset, content.length - offset, offset);
    if (bytesWritten === 0) throw new Error(`no space to write ${content.length} bytes (wrote ${offset})`);
    offset += bytesWritten;
  }
}

async function overwriteInPlace(dest: string, content: Buffer, target: Target): Promise<void> {
  const handle = await open(dest, constants.O_WRONLY);
  try {
    await writeAll(handle, content);
    await handle.truncate(content.length);
    await handle.chmod(target.mode);
    await handle.chown(target.uid, target.gid);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface SwapOptions {
  /** Runs check_cmd against the stage file; undefined when there is none (or --sync-only). */
  readonly check: Check | undefined;
  readonly keepStageFile: boolean;
}

/** Stages, checks and swaps in `desired`; never throws (a failure is an outcome). */
export async function stageAndSwap(desired: Desired, inspection: Inspection, options: SwapOptions): Promise<SwapOutcome> {
  const { target } = inspection;
  const dir = dirname(desired.dest);
  let stage: string | undefined;
  try {
    await mkdir(dir, { recursive: true });
    stage = stagePathFor(desired.dest);
    const handle = await open(stage, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      // Mode and owner first: the content is never readable with the wrong permissions.
      await handle.chown(target.uid, target.gid);
      await handle.chmod(target.mode);
      await writeAll(handle, desired.content);
      await handle.sync();
      const written = (await handle.stat()).size;
      if (written !== desired.content.length) throw new Error(`the stage file holds ${written} of ${desired.content.length} bytes`);
    } finally {
      await handle.close();
    }
    if (options.check !== undefined) {
      const result = await options.check(stage);
      if (!result.ok) {
        return { kind: 'check-failed', failure: result.failure ?? 'failed', output: result.output };
      }
    }
    let inPlace = false;
    try {
      await rename(stage, desired.dest);
      stage = undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY') throw error;
      // A bind-mounted single file: the mount point cannot be replaced, only rewritten.
      await overwriteInPlace(desired.dest, desired.content, target);
      inPlace = true;
    }
    await fsyncDirectory(dir);
    return { kind: 'written', differences: inspection.differences, inPlace };
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  } finally {
    if (stage !== undefined && !options.keepStageFile) await unlink(stage).catch(() => {});
  }
}
