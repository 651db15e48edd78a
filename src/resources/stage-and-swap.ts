// Writing a rendered file so that the app never sees it half-written and nothing is lost:
// a stage file is created next to the destination (same filesystem) with O_EXCL and mode 0600,
// given its final mode and owner before any content is written, filled, fsynced, checked
// (check_cmd), renamed over the destination, and the directory fsynced. A destination that is
// a bind-mounted single file cannot be renamed over (EBUSY): then it is overwritten in place
// and truncated after, so it is never empty or short while being written. Whatever is at the
// destination is looked at without following a symlink, and a symlink there is replaced by the
// rename, never written through.

import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface Desired {
  readonly dest: string;
  readonly content: Buffer;
  /** Permission bits asked for by the resource; undefined: see `inspect`. */
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

/** What is at the destination now, seen without following a symlink there. */
export type Current =
  | { readonly kind: 'missing' }
  | {
      readonly kind: 'file';
      readonly uid: number;
      readonly gid: number;
      readonly mode: number;
      /** Hard links to it: more than one means other names (perhaps not ours) share its content. */
      readonly links: number;
      /** Undefined when steward may not read it. */
      readonly content: Buffer | undefined;
    }
  | { readonly kind: 'symlink' }
  /** A directory, FIFO, socket or device. */
  | { readonly kind: 'other'; readonly type: string };

/** `replaced`: something other than a regular file (a symlink, say) is at the destination. */
export type Difference = 'created' | 'replaced' | 'content' | 'mode' | 'owner';

export interface Inspection {
  readonly target: Target;
  /** Empty when the destination already is exactly this. */
  readonly differences: readonly Difference[];
  readonly current: Current;
  /** The current content, only when the destination is a regular file steward could read. */
  readonly existing: Buffer | undefined;
}

export type SwapOutcome =
  | { readonly kind: 'written'; readonly differences: readonly Difference[]; readonly inPlace: boolean }
  | { readonly kind: 'check-failed'; readonly failure: string; readonly output: string }
  /** `code`: the errno code (ENOSPC, EROFS, ...) when the system refused. */
  | { readonly kind: 'error'; readonly message: string; readonly code: string | undefined };

export type Check = (stagePath: string) => Promise<{ ok: boolean; failure: string | undefined; output: string }>;

const DEFAULT_MODE = 0o644;

function typeOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function fileOf(st: Stats, content: Buffer | undefined): Current {
  return { kind: 'file', uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, links: st.nlink, content };
}

// One open with O_NOFOLLOW, and everything taken from that descriptor: a symlink planted at the
// destination is never followed, and the file cannot be swapped between looking and reading.
// O_NONBLOCK keeps a FIFO planted there from blocking the open.
async function readCurrent(dest: string): Promise<Current> {
  let handle: FileHandle;
  try {
    handle = await open(dest, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'symlink' };
    // Not readable by steward (EACCES), a socket (ENXIO): what it is, without its content.
    const st = await lstat(dest);
    if (st.isSymbolicLink()) return { kind: 'symlink' };
    return st.isFile() ? fileOf(st, undefined) : { kind: 'other', type: typeOf(st) };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { kind: 'other', type: typeOf(st) };
    return fileOf(st, await handle.readFile());
  } finally {
    await handle.close();
  }
}

/**
 * The mode and owner the file should have, and how the destination differs from that.
 *
 * The owner is the resource's uid/gid, else steward's effective ids (as in confd): never whoever
 * created the file that is there now, who may be a user the file's content must not reach. The
 * mode is the resource's; without one, the existing file's, but only when that file already
 * belongs to the owner the new one will have (a 0600 secret shipped in the image stays 0600);
 * else 0644.
 */
export async function inspect(desired: Desired): Promise<Inspection> {
  const current = await readCurrent(desired.dest);
  const uid = desired.uid ?? process.geteuid?.() ?? 0;
  const gid = desired.gid ?? process.getegid?.() ?? 0;
  const ownMode = current.kind === 'file' && current.uid === uid ? current.mode : undefined;
  const target: Target = { mode: desired.mode ?? ownMode ?? DEFAULT_MODE, uid, gid };
  if (current.kind === 'missing') return { target, differences: ['created'], current, existing: undefined };
  if (current.kind !== 'file') return { target, differences: ['replaced'], current, existing: undefined };
  const differences: Difference[] = [];
  if (current.content === undefined || !current.content.equals(desired.content)) differences.push('content');
  if (current.mode !== target.mode) differences.push('mode');
  if (current.uid !== target.uid || current.gid !== target.gid) differences.push('owner');
  return { target, differences, current, existing: current.content };
}

// check_cmd gets this path unquoted in sh -c: only characters a shell takes literally. The
// directory is checked when the resource is loaded.
/** A fresh stage file's path beside `dest`; whoever stages picks it, so that it can always remove it. */
export function stagePathFor(dest: string): string {
  const name = basename(dest).replace(/[^A-Za-z0-9._-]/g, '_');
  return join(dirname(dest), `.${name}.steward-${randomBytes(6).toString('hex')}`);
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
async function writeAll(handle: FileHandle, content: Uint8Array, position = 0): Promise<void> {
  let offset = 0;
  while (offset < content.length) {
    const { bytesWritten } = await handle.write(content, offset, content.length - offset, position + offset);
    if (bytesWritten === 0) throw Object.assign(new Error(`no space to write ${content.length} bytes (wrote ${offset})`), { code: 'ENOSPC' });
    offset += bytesWritten;
  }
}

const COPY_CHUNK = 1024 * 1024;

// The owner first (a previous owner could otherwise loosen the mode again), then the mode, and
// only then the first byte: a reader that opens the file from then on is refused. One that
// already holds it open keeps reading (see bind-mounts.ts, which warns at start-up). The content
// is copied from the stage file, which the render thread may have written.
async function overwriteInPlace(dest: string, staged: string, target: Target): Promise<void> {
  const handle = await open(dest, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    const source = await open(staged, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      await handle.chown(target.uid, target.gid);
      await handle.chmod(target.mode);
      const chunk = Buffer.allocUnsafe(COPY_CHUNK);
      let size = 0;
      for (;;) {
        const { bytesRead } = await source.read(chunk, 0, COPY_CHUNK, size);
        if (bytesRead === 0) break;
        await writeAll(handle, chunk.subarray(0, bytesRead), size);
        size += bytesRead;
      }
      await handle.truncate(size);
      await handle.sync();
    } finally {
      await source.close();
    }
  } finally {
    await handle.close();
  }
}

/**
 * Creates the stage file at `path` (beside the destination) with its final owner and mode
 * before any content, fills and fsyncs it. Throws on failure; the caller removes `path`.
 */
export async function stage(content: Uint8Array, target: Target, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    // Mode and owner first: the content is never readable with the wrong permissions.
    await handle.chown(target.uid, target.gid);
    await handle.chmod(target.mode);
    await writeAll(handle, content);
    await handle.sync();
    const written = (await handle.stat()).size;
    if (written !== content.length) throw new Error(`the stage file holds ${written} of ${content.length} bytes`);
  } finally {
    await handle.close();
  }
}

export interface SwapOptions {
  /** Runs check_cmd against the stage file; undefined when there is none (or --sync-only). */
  readonly check: Check | undefined;
  readonly keepStageFile: boolean;
  /** Once aborted (steward is stopping), nothing more is swapped in. */
  readonly signal?: AbortSignal;
  /**
   * Holds the swap of a checked file until its turn (a rollout's lock, src/rollout/); undefined
   * when it never comes. The turn hears whether the file was installed.
   */
  readonly turn?: (() => Promise<InstallTurn | undefined>) | undefined;
}

export interface InstallTurn {
  installed(ok: boolean): void;
}

function failed(error: unknown): SwapOutcome {
  return { kind: 'error', message: (error as Error).message, code: (error as NodeJS.ErrnoException).code };
}

/**
 * Checks the staged file and swaps it in for `dest`; never throws (a failure is an outcome).
 * The stage file is removed afterwards unless it is kept.
 */
export async function checkAndSwap(dest: string, staged: string, inspection: Pick<Inspection, 'target' | 'differences'>, options: SwapOptions): Promise<SwapOutcome> {
  let turn: InstallTurn | undefined;
  const outcome = await checkAndSwapInTurn(dest, staged, inspection, options, (t) => {
    turn = t;
  });
  turn?.installed(outcome.kind === 'written');
  return outcome;
}

async function checkAndSwapInTurn(
  dest: string,
  staged: string,
  inspection: Pick<Inspection, 'target' | 'differences'>,
  options: SwapOptions,
  tookTurn: (turn: InstallTurn) => void,
): Promise<SwapOutcome> {
  let left: string | undefined = staged;
  try {
    if (options.check !== undefined) {
      const result = await options.check(staged);
      if (!result.ok) {
        return { kind: 'check-failed', failure: result.failure ?? 'failed', output: result.output };
      }
    }
    if (options.signal?.aborted === true) return { kind: 'error', message: 'steward is stopping: not swapped in', code: undefined };
    if (options.turn !== undefined) {
      const turn = await options.turn();
      if (turn === undefined) return { kind: 'error', message: 'not installed: steward is stopping', code: 'ECANCELED' };
      tookTurn(turn);
      // The turn may come after a stop began (TypeScript cannot know the signal changed meanwhile).
      if ((options.signal as AbortSignal | undefined)?.aborted === true) return { kind: 'error', message: 'steward is stopping: not swapped in', code: undefined };
    }
    let inPlace = false;
    try {
      await rename(staged, dest);
      left = undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY') throw error;
      // A bind-mounted single file: the mount point cannot be replaced, only rewritten.
      await overwriteInPlace(dest, staged, inspection.target);
      inPlace = true;
    }
    await fsyncDirectory(dirname(dest));
    return { kind: 'written', differences: inspection.differences, inPlace };
  } catch (error) {
    return failed(error);
  } finally {
    if (left !== undefined && !options.keepStageFile) await unlink(left).catch(() => {});
  }
}

/** Stages, checks and swaps in `desired`; never throws (a failure is an outcome). */
export async function stageAndSwap(desired: Desired, inspection: Inspection, options: SwapOptions): Promise<SwapOutcome> {
  const staged = stagePathFor(desired.dest);
  try {
    await stage(desired.content, inspection.target, staged);
  } catch (error) {
    if (!options.keepStageFile) await unlink(staged).catch(() => {});
    return failed(error);
  }
  return checkAndSwap(desired.dest, staged, inspection, options);
}
