// The steps the file lock is made of (the design and why it is race-free are in ../file-lock.ts).
// A lock is a directory; every acquisition adds one numbered *slot* file to it; the highest slot
// is the current lock and its number is the generation. Kept separate from the public API so
// that tests can replay the exact interleavings a stale takeover can meet.

import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Clock } from '../../core/clock.ts';
import { errorText } from '../../core/error-text.ts';

/** The immutable content of a slot: who took it. */
export interface SlotRecord {
  readonly owner: string;
  readonly generation: number;
  /** The holder's TTL: contenders judge staleness by it, not by their own setting. */
  readonly ttlMs: number;
  readonly pid: number;
  readonly host: string;
  readonly data: string | undefined;
}

/**
 * What a contender saw when it looked at a lock: the basis of its decision to take it. A view
 * is a snapshot; acting on an old one is safe (see claimSlot) but may fail.
 */
export interface LockView {
  readonly path: string;
  /** The highest slot; 0 when the lock has never been taken (or was forgotten). */
  readonly generation: number;
  readonly record: SlotRecord | undefined;
  /** Wall-clock ms of the highest slot's last heartbeat (its mtime); 0 once released. */
  readonly refreshedAt: number;
  /** Wall-clock ms read *before* looking: staleness is judged at this time, never later. */
  readonly judgedAt: number;
  /** The TTL staleness is judged by: the holder's own, or the contender's when unreadable. */
  readonly ttlMs: number;
  readonly state: 'vacant' | 'released' | 'stale' | 'held';
  /** The latest value the holder published (its data file, else its record's data). */
  readonly data: string | undefined;
}

/** A slot this process created and verified: the raw material of a HeldLock. */
export interface Claim {
  readonly path: string;
  readonly generation: number;
  /** Open on the slot's inode: heartbeats and release touch only this inode, never a path. */
  readonly handle: FileHandle;
  readonly ino: number;
  /** Monotonic time the slot's timestamp stands for (the acquisition counts as a heartbeat). */
  readonly sentAt: number;
}

export interface ClaimRequest {
  readonly owner: string;
  readonly ttlMs: number;
  readonly data: string | undefined;
  readonly clock: Clock;
}

const SLOT = /^[1-9][0-9]*$/;
const DATA = /^([1-9][0-9]*)\.data$/;
const TMP_PREFIX = '.tmp-';
/** How old an orphaned temporary file (a contender died mid-claim) must be before it is swept. */
const TMP_SWEEP_MIN_MS = 60_000;

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function missingDirectory(path: string): Error {
  return Object.assign(new Error(`lock directory ${dirname(path)} does not exist (lock ${path})`), { code: 'ENOENT' });
}

function slotPath(path: string, generation: number): string {
  return join(path, String(generation));
}

function dataPath(path: string, generation: number): string {
  return join(path, `${generation}.data`);
}

function tmpPath(path: string): string {
  return join(path, `${TMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
}

export function highestSlot(names: readonly string[]): number {
  let top = 0;
  for (const name of names) {
    if (!SLOT.test(name)) continue;
    const n = Number(name);
    if (n > top) top = n;
  }
  return top;
}

/** Creates the lock's own directory if needed; its parent must exist (a missing volume is an error, never a fresh lock). */
export async function ensureLockDir(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return;
    if (code === 'ENOENT') throw missingDirectory(path);
    throw new Error(`lock ${path}: cannot create its directory: ${errorText(error)}`, { cause: error });
  }
}

/** Throws the named error when the lock's parent directory is gone. */
async function assertParent(path: string): Promise<void> {
  try {
    await stat(dirname(path));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw missingDirectory(path);
    throw error;
  }
}

function parseRecord(text: string): SlotRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<SlotRecord> | null;
    if (v === null || typeof v !== 'object' || typeof v.owner !== 'string' || typeof v.ttlMs !== 'number' || typeof v.generation !== 'number') return undefined;
    return {
      owner: v.owner,
      generation: v.generation,
      ttlMs: v.ttlMs,
      pid: typeof v.pid === 'number' ? v.pid : 0,
      host: typeof v.host === 'string' ? v.host : '',
      data: typeof v.data === 'string' ? v.data : undefined,
    };
  } catch {
    return undefined;
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Looks at a lock. `fallbackTtlMs` judges a slot whose record cannot be read (hand-edited).
 * A missing lock directory is a vacant lock; a missing parent is an error.
 */
export async function inspectLock(path: string, clock: Clock, fallbackTtlMs: number): Promise<LockView> {
  for (let attempt = 0; ; attempt++) {
    // Read the time before looking: a contender that judges by a time taken after the stat
    // could call a lock stale on the strength of an mtime that has since been refreshed.
    const judgedAt = clock.now();
    let names: string[];
    try {
      names = await readdir(path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw new Error(`lock ${path}: ${errorText(error)}`, { cause: error });
      await assertParent(path);
      return { path, generation: 0, record: undefined, refreshedAt: 0, judgedAt, ttlMs: fallbackTtlMs, state: 'vacant', data: undefined };
    }
    const generation = highestSlot(names);
    if (generation === 0) {
      return { path, generation: 0, record: undefined, refreshedAt: 0, judgedAt, ttlMs: fallbackTtlMs, state: 'vacant', data: undefined };
    }
    try {
      const file = slotPath(path, generation);
      const st = await stat(file);
      const record = parseRecord(await readFile(file, 'utf8'));
      const data = names.includes(`${generation}.data`) ? await readOptional(dataPath(path, generation)) : undefined;
      const ttlMs = record?.ttlMs ?? fallbackTtlMs;
      const refreshedAt = st.mtimeMs;
      const state = refreshedAt === 0 ? 'released' : judgedAt >= refreshedAt + ttlMs ? 'stale' : 'held';
      return { path, generation, record, refreshedAt, judgedAt, ttlMs, state, data: data ?? record?.data };
    } catch (error) {
      // Only a newer holder prunes a slot, so the next look finds that one.
      if (errorCode(error) === 'ENOENT' && attempt < 20) continue;
      throw new Error(`lock ${path}: ${errorText(error)}`, { cause: error });
    }
  }
}

async function removeQuietly(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch {
    // Already gone, or the directory went with it.
  }
}

/**
 * Takes the lock `view` found vacant, released or stale, by creating slot generation + 1.
 * Returns undefined when someone else got there first, when the view was too old to act on
 * (a higher slot existed already), or when this process was too slow to count as holder.
 * Throws ENOENT when the lock directory vanished meanwhile (the caller recreates it).
 */
export async function claimSlot(view: LockView, request: ClaimRequest): Promise<Claim | undefined> {
  const { path } = view;
  const generation = view.generation + 1;
  const record: SlotRecord = {
    owner: request.owner,
    generation,
    ttlMs: request.ttlMs,
    pid: process.pid,
    host: hostname(),
    data: request.data,
  };
  // Written in full under a private name, then published with link(), which fails when the
  // name exists: readers never see a half-written slot, and only one contender gets the name.
  const tmp = tmpPath(path);
  let handle: FileHandle;
  try {
    handle = await open(tmp, 'wx');
  } catch (error) {
    throw claimError(path, error);
  }
  let handedOver = false;
  try {
    await handle.writeFile(JSON.stringify(record));
    const sentAt = request.clock.monotonic();
    const sentWall = request.clock.now();
    await handle.utimes(sentWall / 1000, sentWall / 1000);
    try {
      await link(tmp, slotPath(path, generation));
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return undefined;
      throw error;
    } finally {
      await removeQuietly(tmp);
    }
    try {
      const st = await handle.stat();
      const names = await readdir(path);
      if (highestSlot(names) > generation) {
        // The view predates slots that were pruned since: our name was free again, but a
        // newer holder exists. Nobody builds on a slot below the highest, so removing ours
        // is all it takes.
        if ((await statIno(slotPath(path, generation))) === st.ino) await removeQuietly(slotPath(path, generation));
        return undefined;
      }
      // The slot's timestamp may be coarser than ours: the holder's clock starts at what
      // contenders will read, never later.
      const effectiveSentAt = sentAt - Math.max(0, sentWall - st.mtimeMs);
      if (request.clock.monotonic() >= effectiveSentAt + request.ttlMs) {
        // Frozen between writing the timestamp and here: others may already judge this slot
        // stale, so it does not count as acquired.
        await handle.utimes(0, 0);
        return undefined;
      }
      await pruneBelow(path, generation, names, request.clock);
      handedOver = true;
      return { path, generation, handle, ino: st.ino, sentAt: effectiveSentAt };
    } catch (error) {
      await handle.utimes(0, 0).catch(() => {});
      throw error;
    }
  } catch (error) {
    throw claimError(path, error);
  } finally {
    if (!handedOver) await handle.close().catch(() => {});
  }
}

function claimError(path: string, error: unknown): Error {
  if (errorCode(error) === 'ENOENT') {
    return Object.assign(new Error(`lock ${path}: its directory vanished`), { code: 'ENOENT', cause: error });
  }
  return new Error(`lock ${path}: ${errorText(error)}`, { cause: error });
}

async function statIno(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).ino;
  } catch {
    return undefined;
  }
}

/**
 * Removes slots and data files below `generation` (their holders were superseded) and
 * temporary files orphaned long ago. Never touches `generation` or above.
 */
async function pruneBelow(path: string, generation: number, names: readonly string[], clock: Clock): Promise<void> {
  for (const name of names) {
    const data = DATA.exec(name);
    const n = SLOT.test(name) ? Number(name) : data?.[1] !== undefined ? Number(data[1]) : undefined;
    if (n !== undefined && n < generation) {
      await removeQuietly(join(path, name));
    } else if (name.startsWith(TMP_PREFIX)) {
      const file = join(path, name);
      try {
        const st = await stat(file);
        if (st.mtimeMs !== 0 && st.mtimeMs < clock.now() - TMP_SWEEP_MIN_MS) await removeQuietly(file);
      } catch {
        // Published or cleaned up by its owner meanwhile.
      }
    }
  }
}

/**
 * Checks that slot `generation` (inode `ino`) is still the current lock at `path`. Returns
 * why not, or undefined when it is. ENOENT means the lock's directory or slot is gone.
 */
export async function verifyHolder(path: string, generation: number, ino: number): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return `its directory ${path} was removed`;
    throw error;
  }
  const top = highestSlot(names);
  if (top > generation) {
    const record = parseRecord((await readOptional(slotPath(path, top))) ?? '');
    return `taken over by ${record?.owner ?? 'another owner'} (generation ${top})`;
  }
  const current = await statIno(slotPath(path, generation));
  if (current === undefined) return `its file ${slotPath(path, generation)} was removed`;
  if (current !== ino) return `its file ${slotPath(path, generation)} was replaced`;
  return undefined;
}

/** Publishes a new value for slot `generation`; readers see the old or the new one whole. */
export async function writeData(path: string, generation: number, data: string): Promise<void> {
  const tmp = tmpPath(path);
  try {
    const h = await open(tmp, 'wx');
    try {
      await h.writeFile(data);
    } finally {
      await h.close();
    }
    await rename(tmp, dataPath(path, generation));
  } catch (error) {
    await removeQuietly(tmp);
    throw error;
  }
}

/**
 * Removes a released lock's files and directory, for records whose generation fences nothing
 * (member records): otherwise every replica that ever ran would leave a directory behind. Only
 * when `generation` is still the highest slot; a contender that slips in keeps the directory
 * (rmdir refuses a non-empty one) or, if it came too late, recreates it and starts at 1.
 */
export async function forgetLock(path: string, generation: number, ino: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch {
    return;
  }
  if (highestSlot(names) !== generation || (await statIno(slotPath(path, generation))) !== ino) return;
  await removeQuietly(dataPath(path, generation));
  await removeQuietly(slotPath(path, generation));
  try {
    await rmdir(path);
  } catch {
    // Not empty (a contender is at work, or an older slot) or already gone.
  }
}
