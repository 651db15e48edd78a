// A lock on a shared directory for replicas on one host: it backs leader election (the "file"
// backend, STEWARD_LOCK_DIR) and filesystem locks (STEWARD_FS_LOCKS).
//
// Why not proper-lockfile (checked against its lib/lockfile.js and README):
// - Its stale takeover is stat, then rmdir, then mkdir: read-then-delete. Two contenders that
//   judge the same lock stale both go ahead; the first recreates the lock, the second's rmdir
//   removes that fresh lock and its mkdir succeeds, and both hold until the first one's next
//   mtime update (at least a second later) calls the lock compromised.
// - unlock() removes `<file>.lock` by path without checking it is still ours, so a holder that
//   was taken over and has not noticed yet removes the new holder's lock.
// - A refresh that lands after a contender may already have judged the lock stale still counts,
//   so a holder that was frozen just past the threshold keeps believing it holds.
// - Wall clock only, no generation (fencing token), no "last successful refresh sent at", a
//   module-level lock table with an exit hook, a 2 s minimum for stale and 1 s for updates.
// It is also not a dependency, and this module needs nothing beyond node:fs.
//
// Layout: the lock at `path` is a directory. Every acquisition adds a *slot*, a file named by a
// number holding the owner's record (owner, generation, TTL, pid, host); the highest slot is the
// current lock and its number is the generation. `<n>.data` holds a value the holder published
// later; `.tmp-*` are files being written. The highest slot's mtime is the holder's last
// heartbeat; an mtime of 0 means released.
//
// Acquire: read the wall clock, *then* list and stat. The lock is free when there is no slot,
// when the highest (n) is released, or when clock >= its mtime + its holder's TTL (the holder's
// TTL, not ours: replicas configured differently still agree). To take it, write a record to a
// private file, stamp its mtime, and link() it to n + 1. Then list again: a slot above n + 1
// means our view of n was outdated (see 3), so ours is removed. Then older slots are pruned.
//
// Why only one process ever believes it holds the lock:
// 1. link() fails when the name exists, so each generation has at most one creator. Nothing
//    ever renames, removes or rewrites another process's slot: a holder stamps and releases its
//    own inode through its open file handle, so a holder that was taken over cannot touch the
//    new holder's lock, by construction rather than by a check that could race.
// 2. Takeover creates n + 1; it never removes n. The scheme (rename the stale lock to a
//    unique name, then create) has an ABA hole: contenders A and B both judge lock L stale; A
//    renames L away and creates L'; B's rename now moves L' away, and undoing that leaves the
//    path empty for a moment in which a third contender can create a lock while L's holder still
//    believes in L'. Here A and B both aim for n + 1 and B's link fails: the stale slot n is
//    never moved, so there is nothing B can take by mistake.
// 3. Pruning removes slots below the new highest, so a name can become free again. A contender
//    acting on a view that old creates a slot below the current highest, which always exists
//    (only a still-higher slot's holder prunes it); its second listing shows that, and it
//    removes its own slot without ever having counted as holder.
// 4. Stale judgement against a late heartbeat: a contender judges slot n stale at a time t read
//    before its stat showed mtime m, t >= m + TTL. A heartbeat counts only if it *completes*
//    before the holder's previous heartbeat (sent at m) + TTL, so every heartbeat that counts
//    has landed before t, and the stat would have shown it. Hence when a contender takes over,
//    the holder's last counted heartbeat was sent at most t - TTL ago: its fence deadline
//    (lastRefreshSentAt() + TTL, on the monotonic clock) has passed, and its next heartbeat
//    reports the loss. A frozen holder learns this on resume: a heartbeat starting past the
//    deadline fails without touching the file.
// 5. The generation is the slot number, and a new slot is always highest + 1 while the highest
//    is never removed, so generations strictly increase across holders, takeovers included.
//
// Assumptions: all replicas share one kernel clock (one host), whose wall clock stamps mtimes
// and whose monotonic clock runs the heartbeats; a wall-clock *step* (not NTP slewing) forward
// by more than the caller's fence margin can make a live lock look stale. Removing a lock's
// directory by hand restarts its generations at 1 (release({ forget: true }) does so on
// purpose, for records whose generation fences nothing).

import { errorText } from '../core/error-text.ts';
import { type Clock, type TimerHandle, systemClock } from '../core/clock.ts';
import { exponentialBackoff } from '../core/process-control/backoff.ts';
import {
  type Claim,
  type LockView,
  claimSlot,
  ensureLockDir,
  errorCode,
  forgetLock,
  inspectLock,
  verifyHolder,
  writeData,
} from './file-lock/slots.ts';
import { watchDirectory, type DirectoryWatch } from './file-lock/watch.ts';
import { resolve } from 'node:path';

export interface LockOptions {
  /** The lock's directory; its parent must exist. */
  readonly path: string;
  /** How long after its last heartbeat a holder counts as gone. */
  readonly ttlMs: number;
  /** Who holds it (the instance id): shown to others, never used to decide ownership. */
  readonly owner: string;
  readonly clock: Clock;
  /** Default ttlMs / 3; must be below ttlMs. */
  readonly heartbeatMs?: number;
  /** A value published with the lock (see HeldLock.publish). */
  readonly data?: string;
}

export interface HeldLock {
  readonly path: string;
  readonly owner: string;
  /** Fencing token: strictly greater than every earlier holder's of this lock. */
  readonly generation: number;
  readonly ttlMs: number;
  /**
   * Monotonic time (Clock.monotonic) at which the last heartbeat that counted was sent; the
   * acquisition counts as one. The lock is ours at most until this + ttlMs.
   */
  lastRefreshSentAt(): number;
  /**
   * Resolves with a reason naming the lock once a heartbeat finds it is no longer ours: taken
   * over, removed, its directory gone, a heartbeat too late (frozen), I/O errors until the TTL
   * ran out. Never rejects; stays pending after release().
   */
  readonly lost: Promise<string>;
  /** Replaces the published value; readers see the old or the new one, whole. */
  publish(data: string): Promise<void>;
  /**
   * Marks the lock released so that a waiter takes it at once. Touches only this holder's own
   * slot, so it can never undo another holder's lock. `forget` also removes the lock's files
   * when nobody else is in them, which restarts its generations: for member records only.
   */
  release(options?: { readonly forget?: boolean }): Promise<void>;
}

export interface LockInfo {
  readonly owner: string;
  readonly generation: number;
  /** The holder's TTL. */
  readonly ttlMs: number;
  /** Wall-clock ms of the last heartbeat. */
  readonly refreshedAt: number;
  readonly ageMs: number;
  /** Past its TTL: any contender may take it over. */
  readonly stale: boolean;
  readonly data: string | undefined;
}

interface Settings {
  readonly path: string;
  readonly ttlMs: number;
  readonly owner: string;
  readonly clock: Clock;
  readonly heartbeatMs: number;
  readonly data: string | undefined;
}

function settings(o: LockOptions): Settings {
  if (!(Number.isFinite(o.ttlMs) && o.ttlMs > 0)) throw new RangeError(`lock ${o.path}: ttlMs must be a positive number of milliseconds, got ${o.ttlMs}`);
  const heartbeatMs = o.heartbeatMs ?? Math.max(1, Math.floor(o.ttlMs / 3));
  if (!(Number.isFinite(heartbeatMs) && heartbeatMs > 0 && heartbeatMs < o.ttlMs)) {
    throw new RangeError(`lock ${o.path}: heartbeatMs must be above 0 and below ttlMs (${o.ttlMs}), got ${heartbeatMs}`);
  }
  if (o.owner === '') throw new RangeError(`lock ${o.path}: owner must not be empty`);
  return { path: resolve(o.path), ttlMs: o.ttlMs, owner: o.owner, clock: o.clock, heartbeatMs, data: o.data };
}

/** Takes the lock if it is free (never taken, released or stale); undefined when someone holds it. */
export async function tryAcquireLock(options: LockOptions): Promise<HeldLock | undefined> {
  const s = settings(options);
  await ensureLockDir(s.path);
  for (let round = 0; round < 3; round++) {
    const outcome = await attempt(s);
    if ('lock' in outcome) return outcome.lock;
    if (outcome.view.state === 'held') return undefined;
    // It was free but another contender won the race: look again, it may have let go already.
  }
  return undefined;
}

/**
 * Waits until the lock is ours. Waits on fs.watch of the lock's directory plus one timer at the
 * moment the current holder would turn stale, never by polling. Rejects with the signal's
 * reason when it aborts; a lock acquired as the signal aborts is released, never returned.
 */
export async function acquireLock(options: LockOptions, signal?: AbortSignal): Promise<HeldLock> {
  const s = settings(options);
  signal?.throwIfAborted();
  await ensureLockDir(s.path);
  let noticed = true;
  let wake: (() => void) | undefined;
  const notice = (): void => {
    noticed = true;
    wake?.();
  };
  let watch: DirectoryWatch = watchDirectory(s.path, notice);
  // Only for losing a race for a free lock several times in a row: someone else is busy
  // taking and releasing it, and the next look should not come at once.
  const raceBackoff = exponentialBackoff({ initialMs: 1, maxMs: s.heartbeatMs });
  let racesLost = 0;
  try {
    for (;;) {
      signal?.throwIfAborted();
      if (watch.broken) {
        watch.close();
        await ensureLockDir(s.path);
        watch = watchDirectory(s.path, notice);
      }
      noticed = false;
      const outcome = await attempt(s);
      if ('lock' in outcome) {
        if (signal?.aborted) {
          await outcome.lock.release();
          signal.throwIfAborted();
        }
        return outcome.lock;
      }
      if (outcome.recreated) {
        watch.close();
        watch = watchDirectory(s.path, notice);
      }
      const { view } = outcome;
      let delay: number;
      if (view.state === 'held') {
        racesLost = 0;
        raceBackoff.reset();
        delay = Math.max(0, view.refreshedAt + view.ttlMs - s.clock.now()) + 1;
      } else {
        delay = racesLost++ === 0 ? 0 : raceBackoff.next();
      }
      if (noticed || delay === 0) continue;
      await new Promise<void>((resolveWait, rejectWait) => {
        const done = (): void => {
          timer.cancel();
          wake = undefined;
          signal?.removeEventListener('abort', onAbort);
          resolveWait();
        };
        const onAbort = (): void => {
          timer.cancel();
          wake = undefined;
          rejectWait(signal?.reason);
        };
        const timer: TimerHandle = s.clock.setTimer(delay, done);
        wake = done;
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  } finally {
    watch.close();
  }
}

/**
 * The current holder of the lock at `path`, stale or not; undefined when it was never taken or
 * was released. Throws, naming the path, when the lock's parent directory does not exist.
 * `fallbackTtlMs` judges a slot whose record cannot be read.
 */
export async function readLock(path: string, clock: Clock = systemClock(), fallbackTtlMs = 0): Promise<LockInfo | undefined> {
  return lockInfo(await inspectLock(resolve(path), clock, fallbackTtlMs));
}

/** The LockInfo of a view (for watchers that inspect locks themselves). */
export function lockInfo(view: LockView): LockInfo | undefined {
  if (view.state === 'vacant' || view.state === 'released') return undefined;
  return {
    owner: view.record?.owner ?? '',
    generation: view.generation,
    ttlMs: view.ttlMs,
    refreshedAt: view.refreshedAt,
    ageMs: Math.max(0, view.judgedAt - view.refreshedAt),
    stale: view.state === 'stale',
    data: view.data,
  };
}

type Attempt = { readonly lock: HeldLock } | { readonly view: LockView; readonly recreated: boolean };

async function attempt(s: Settings): Promise<Attempt> {
  let recreated = false;
  for (let tries = 0; ; tries++) {
    const view = await inspectLock(s.path, s.clock, s.ttlMs);
    if (view.state === 'held') return { view, recreated };
    try {
      const claim = await claimSlot(view, { owner: s.owner, ttlMs: s.ttlMs, data: s.data, clock: s.clock });
      return claim === undefined ? { view, recreated } : { lock: hold(claim, s) };
    } catch (error) {
      // The lock's own directory vanished (a member record forgotten meanwhile): recreate it,
      // or fail with the parent's name when the whole volume is gone.
      if (errorCode(error) !== 'ENOENT' || tries >= 3) throw error;
      await ensureLockDir(s.path);
      recreated = true;
    }
  }
}

function hold(claim: Claim, s: Settings): HeldLock {
  const { clock, ttlMs, heartbeatMs } = s;
  let lastSent = claim.sentAt;
  let state: 'held' | 'lost' | 'released' = 'held';
  let timer: TimerHandle | undefined;
  let queue: Promise<void> = Promise.resolve();
  let resolveLost: (reason: string) => void = () => {};
  const lost = new Promise<string>((r) => {
    resolveLost = r;
  });
  const ioRetry = exponentialBackoff({ initialMs: Math.max(1, Math.round(heartbeatMs / 8)), maxMs: heartbeatMs });

  // Heartbeats, publish and release run one at a time: a heartbeat's stamp landing after
  // release's would make a released lock look held again.
  const serial = (step: () => Promise<void>): Promise<void> => {
    const run = queue.then(step);
    queue = run.catch(() => {});
    return run;
  };
  const schedule = (ms: number): void => {
    timer = clock.setTimer(ms, () => {
      timer = undefined;
      void serial(beat);
    });
  };

  async function lose(reason: string): Promise<void> {
    if (state !== 'held') return;
    state = 'lost';
    timer?.cancel();
    // Our own inode only: when nobody took the lock over, a waiter may now take it at once.
    await claim.handle.utimes(0, 0).catch(() => {});
    await claim.handle.close().catch(() => {});
    resolveLost(`lock ${claim.path}: ${reason}`);
  }

  async function beat(): Promise<void> {
    if (state !== 'held') return;
    const deadline = lastSent + ttlMs;
    const sentAt = clock.monotonic();
    if (sentAt >= deadline) {
      return lose(
        `heartbeat came ${Math.round(sentAt - lastSent)} ms after the last one, past the ${ttlMs} ms TTL (process frozen or event loop blocked): another replica may have taken it over`,
      );
    }
    const sentWall = clock.now();
    try {
      await claim.handle.utimes(sentWall / 1000, sentWall / 1000);
      const st = await claim.handle.stat();
      const doneAt = clock.monotonic();
      if (st.nlink === 0) return lose(`its file ${claim.path}/${claim.generation} was removed`);
      if (doneAt >= deadline) {
        return lose(`heartbeat completed ${Math.round(doneAt - lastSent)} ms after the last one, past the ${ttlMs} ms TTL: another replica may have taken it over`);
      }
      const problem = await verifyHolder(claim.path, claim.generation, claim.ino);
      if (problem !== undefined) return lose(problem);
      lastSent = sentAt - Math.max(0, sentWall - st.mtimeMs);
      ioRetry.reset();
      schedule(heartbeatMs);
    } catch (error) {
      if (state !== 'held') return;
      const delay = ioRetry.next();
      if (clock.monotonic() + delay >= lastSent + ttlMs) return lose(`heartbeat failed until the TTL ran out: ${errorText(error)}`);
      schedule(delay);
    }
  }

  schedule(heartbeatMs);
  return {
    path: claim.path,
    owner: s.owner,
    generation: claim.generation,
    ttlMs,
    lastRefreshSentAt: () => lastSent,
    lost,
    publish: (data) =>
      serial(async () => {
        if (state !== 'held') throw new Error(`lock ${claim.path}: cannot publish, the lock is ${state}`);
        await writeData(claim.path, claim.generation, data);
      }),
    release: (options) =>
      serial(async () => {
        if (state !== 'held') return;
        state = 'released';
        timer?.cancel();
        try {
          await claim.handle.utimes(0, 0);
        } finally {
          await claim.handle.close().catch(() => {});
        }
        if (options?.forget === true) await forgetLock(claim.path, claim.generation, claim.ino);
      }),
  };
}
