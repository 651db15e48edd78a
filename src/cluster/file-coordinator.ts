// The "file" coordinator: replicas on one host coordinate through a shared directory
// (STEWARD_LOCK_DIR), every record being a file lock (./file-lock.ts) whose heartbeat is its
// liveness. A session is its own record plus the records and leaderships it holds, and they end
// together, as everything bound to a lease does in etcd (./file-session-locks.ts). close()
// counts as revoking: `lost` then resolves with "session closed".
//
// Keys map to one directory entry each, `key-<key with every byte outside [A-Za-z0-9_-]
// percent-encoded>`, so `/steward/app/members/a` cannot climb out of `dir` or collide with
// another key, and a prefix watch is a filter on the decoded names.

import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Campaign, Coordinator, Session, SessionOptions } from './coordinator.ts';
import { type Clock, type TimerHandle, systemClock } from '../core/clock.ts';
import { acquireLock, lockInfo, tryAcquireLock, type LockInfo } from './file-lock.ts';
import { inspectLock, errorCode } from './file-lock/slots.ts';
import { errorText } from '../core/error-text.ts';
import { createSessionLocks } from './file-session-locks.ts';
import { watchDirectory, type DirectoryWatch } from './file-lock/watch.ts';

export interface FileCoordinatorOptions {
  /** The shared directory; it must exist. */
  readonly dir: string;
  readonly clock?: Clock;
}

const KEY_PREFIX = 'key-';
const SESSION_PREFIX = 'session-';
const NAME_MAX = 255;

function encodeName(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x5f;
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeName(name: string): string | undefined {
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

/** The directory entry of `key` in `dir`. */
export function keyFileName(dir: string, key: string): string {
  const name = KEY_PREFIX + encodeName(key);
  if (name.length > NAME_MAX) {
    throw new RangeError(`key ${key} is too long for a file name in ${dir}: ${name.length} bytes once encoded, at most ${NAME_MAX}`);
  }
  return name;
}

function keyOf(name: string): string | undefined {
  return name.startsWith(KEY_PREFIX) ? decodeName(name.slice(KEY_PREFIX.length)) : undefined;
}

async function assertDirectory(dir: string): Promise<void> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error(`lock directory ${dir} is not a directory`);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new Error(`lock directory ${dir} does not exist`, { cause: error });
    throw error;
  }
}

export function createFileCoordinator(options: FileCoordinatorOptions): Coordinator {
  const { dir } = options;
  const clock = options.clock ?? systemClock();
  const sessions = new Set<Session>();
  return {
    name: 'file',
    source: dir,
    async openSession(sessionOptions, signal) {
      signal.throwIfAborted();
      await assertDirectory(dir);
      const session = await openFileSession(dir, clock, sessionOptions);
      if (signal.aborted) {
        await session.close();
        signal.throwIfAborted();
      }
      sessions.add(session);
      void session.lost.then(() => sessions.delete(session));
      return session;
    },
    async close() {
      await Promise.all([...sessions].map((s) => s.close()));
      sessions.clear();
    },
  };
}

async function openFileSession(dir: string, clock: Clock, options: SessionOptions): Promise<Session> {
  const { ttlMs, instanceId } = options;
  // Unique per session, so that a restarted replica whose old record is still live is told
  // apart from itself (register then reports the duplicate, as etcd and Consul would).
  const id = `${instanceId}-${randomBytes(4).toString('hex')}`;
  const taken = await tryAcquireLock({ path: join(dir, SESSION_PREFIX + encodeName(id)), ttlMs, owner: id, clock, data: instanceId });
  if (taken === undefined) throw new Error(`lock directory ${dir}: session record ${id} is already held`);
  const locks = createSessionLocks(dir, id, taken);
  const { ended, lastRenewalSentAt } = locks;

  const keyPath = (key: string): string => join(dir, keyFileName(dir, key));

  const session: Session = {
    id,
    lastRenewalSentAt,
    lost: locks.lost,

    async register(key, value) {
      if (!locks.isOpen()) throw ended();
      const own = locks.registered.get(key);
      if (own !== undefined) {
        await own.publish(value);
        return true;
      }
      const lock = await tryAcquireLock({ path: keyPath(key), ttlMs, owner: id, clock, data: value });
      if (lock === undefined) return false;
      if (!locks.isOpen()) {
        await lock.release({ forget: true });
        throw ended();
      }
      locks.holdRecord(key, lock);
      return true;
    },

    async update(key, value) {
      if (!locks.isOpen()) throw ended();
      const own = locks.registered.get(key);
      if (own === undefined) throw new Error(`session ${id}: cannot update ${key}, it was not registered by this session`);
      await own.publish(value);
    },

    watchPrefix(prefix, onChange, signal) {
      const match = (name: string): string | undefined => {
        const key = keyOf(name);
        return key !== undefined && key.startsWith(prefix) ? key : undefined;
      };
      watchRecords(dir, clock, ttlMs, match, onChange, locks.linked(signal));
    },

    campaign(electionKey, value, signal): Campaign {
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      const settled = locks.abortOnEnd(controller);
      const elected = (async () => {
        try {
          if (!locks.isOpen()) throw ended();
          controller.signal.throwIfAborted();
          const current = locks.leading.get(electionKey);
          if (current !== undefined) return { fencingToken: String(current.generation) };
          const lock = await acquireLock({ path: keyPath(electionKey), ttlMs, owner: id, clock, data: value }, controller.signal);
          // Won just as the campaign was abandoned, or while this session's own heartbeat is
          // overdue (a frozen process that resumed): it must never lead.
          const overdue = clock.monotonic() >= lastRenewalSentAt() + ttlMs;
          if (!locks.isOpen() || controller.signal.aborted || overdue) {
            await lock.release();
            if (overdue) await locks.end('lost', `heartbeat overdue by ${Math.round(clock.monotonic() - lastRenewalSentAt() - ttlMs)} ms past the ${ttlMs} ms TTL`);
            controller.signal.throwIfAborted();
            throw ended();
          }
          locks.holdLeadership(electionKey, lock);
          return { fencingToken: String(lock.generation) };
        } finally {
          settled();
          signal.removeEventListener('abort', onAbort);
        }
      })();
      // The caller may drop a campaign it aborted; its rejection is not an unhandled error.
      elected.catch(() => {});
      return { elected };
    },

    observe(electionKey, onLeader, signal) {
      const name = keyFileName(dir, electionKey);
      watchRecords(dir, clock, ttlMs, (n) => (n === name ? electionKey : undefined), (entries) => onLeader(entries.get(electionKey)), locks.linked(signal));
    },

    async resign(electionKey) {
      const lock = locks.dropLeadership(electionKey);
      if (lock === undefined) return;
      await lock.release();
    },

    close: () => locks.end('closed', 'session closed'),
  };
  return session;
}

interface Watched {
  readonly key: string;
  info: LockInfo | undefined;
  watch: DirectoryWatch | undefined;
}

/**
 * Calls `onChange` with the live records whose entry names `match` accepts (key -> value), once
 * read and then on every change. Woken by fs.watch on `dir` (records appearing) and on each
 * record's directory (heartbeats, takeovers, releases), and by one timer at the next moment a
 * record would expire, which re-reads it rather than assuming: a dead member vanishes after its
 * TTL, a live one whose event got lost stays.
 */
function watchRecords(
  dir: string,
  clock: Clock,
  fallbackTtlMs: number,
  match: (name: string) => string | undefined,
  onChange: (entries: ReadonlyMap<string, string>) => void,
  signal: AbortSignal,
): void {
  if (signal.aborted) return;
  const known = new Map<string, Watched>();
  const dirty = new Set<string>();
  let rescan = true;
  let running = false;
  let closed = false;
  let timer: TimerHandle | undefined;
  let last: ReadonlyMap<string, string> | undefined;

  const root = watchDirectory(dir, (name) => {
    if (name === undefined || match(name) !== undefined) rescan = true;
    if (name !== undefined && known.has(name)) dirty.add(name);
    kick();
  });

  signal.addEventListener(
    'abort',
    () => {
      closed = true;
      root.close();
      timer?.cancel();
      for (const entry of known.values()) entry.watch?.close();
      known.clear();
    },
    { once: true },
  );
  kick();

  function kick(): void {
    if (running || closed) return;
    running = true;
    void run()
      .catch(() => {})
      .finally(() => {
        running = false;
        if (rescan || dirty.size > 0) kick();
      });
  }

  async function run(): Promise<void> {
    while (!closed && (rescan || dirty.size > 0)) {
      if (rescan) {
        rescan = false;
        let names: string[];
        try {
          names = await readdir(dir);
        } catch {
          names = [];
        }
        const present = new Set<string>();
        for (const name of names) {
          const key = match(name);
          if (key === undefined) continue;
          present.add(name);
          if (!known.has(name)) {
            known.set(name, { key, info: undefined, watch: undefined });
            dirty.add(name);
          }
        }
        for (const [name, entry] of known) {
          if (present.has(name)) continue;
          entry.watch?.close();
          known.delete(name);
          dirty.delete(name);
        }
      }
      for (const name of [...dirty]) {
        dirty.delete(name);
        const entry = known.get(name);
        if (entry === undefined || closed) continue;
        if (entry.watch === undefined || entry.watch.broken) {
          entry.watch?.close();
          // Watch before reading, so that a change during the read is not missed.
          entry.watch = watchDirectory(join(dir, name), (inner) => {
            dirty.add(name);
            if (inner === undefined) rescan = true;
            kick();
          });
        }
        try {
          entry.info = lockInfo(await inspectLock(join(dir, name), clock, fallbackTtlMs));
        } catch {
          entry.info = undefined;
        }
      }
    }
    if (closed) return;
    emit();
  }

  function emit(): void {
    const now = clock.now();
    const live: [string, string][] = [];
    let nextExpiry = Number.POSITIVE_INFINITY;
    for (const entry of known.values()) {
      const info = entry.info;
      if (info === undefined || info.stale) continue;
      const expiresAt = info.refreshedAt + info.ttlMs;
      if (now >= expiresAt) continue;
      live.push([entry.key, info.data ?? '']);
      nextExpiry = Math.min(nextExpiry, expiresAt);
    }
    live.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const entries = new Map(live);
    timer?.cancel();
    timer = undefined;
    if (Number.isFinite(nextExpiry)) {
      timer = clock.setTimer(Math.max(0, nextExpiry - now) + 1, () => {
        timer = undefined;
        const at = clock.now();
        for (const [name, entry] of known) {
          if (entry.info !== undefined && at >= entry.info.refreshedAt + entry.info.ttlMs) dirty.add(name);
        }
        kick();
      });
    }
    if (last !== undefined && sameEntries(last, entries)) return;
    last = entries;
    try {
      onChange(entries);
    } catch (error) {
      // A throwing callback must not stop the watch; surface it the way Node does for events.
      queueMicrotask(() => {
        throw new Error(`watch of ${dir}: onChange threw: ${errorText(error)}`, { cause: error });
      });
    }
  }
}

function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
