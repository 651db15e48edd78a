// The "file" coordinator: replicas on one host coordinate through a shared directory
// (STEWARD_LOCK_DIR), every record being a file lock (./file-lock.ts) whose heartbeat is its
// liveness. A session is its own record plus the records and leaderships it holds; each keeps
// its own heartbeat, and the first one that finds itself gone (taken over, removed, frozen past
// its TTL) ends the whole session, as an expired lease ends everything bound to it in etcd.
// lastRenewalSentAt() is the oldest of their last heartbeats, so a fence computed from it holds
// for every one of them. close() counts as revoking: `lost` then resolves with "session closed".
// Member records are removed when their session ends (they fence nothing, and replicas with
// fresh ids would otherwise leave a directory each); election locks are only released, so that
// their generations, the fencing tokens, keep increasing.
//
// Keys map to one directory entry each, `key-<key with every byte outside [A-Za-z0-9_-]
// percent-encoded>`, so `/steward/app/members/a` cannot climb out of `dir` or collide with
// another key, and a prefix watch is a filter on the decoded names.

import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Campaign, Coordinator, Session, SessionOptions } from './coordinator.ts';
import { type Clock, type TimerHandle, systemClock } from '../core/clock.ts';
import { acquireLock, lockInfo, tryAcquireLock, type HeldLock, type LockInfo } from './file-lock.ts';
import { inspectLock, errorCode } from './file-lock/slots.ts';
import { errorText } from '../core/error-text.ts';
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
  const record: HeldLock = taken;

  let state: 'open' | 'lost' | 'closed' = 'open';
  let endReason = '';
  const registered = new Map<string, HeldLock>();
  const leading = new Map<string, HeldLock>();
  const campaigns = new Set<AbortController>();
  const watches = new Set<AbortController>();
  let resolveLost: (reason: string) => void = () => {};
  const lost = new Promise<string>((r) => {
    resolveLost = r;
  });

  const keyPath = (key: string): string => join(dir, keyFileName(dir, key));
  const ended = (): Error => new Error(`session ${id} in ${dir} is ${state}${endReason === '' ? '' : `: ${endReason}`}`);

  const lastRenewalSentAt = (): number => {
    let at = record.lastRefreshSentAt();
    for (const lock of [...registered.values(), ...leading.values()]) at = Math.min(at, lock.lastRefreshSentAt());
    return at;
  };

  async function end(next: 'lost' | 'closed', reason: string): Promise<void> {
    if (state !== 'open') return;
    state = next;
    endReason = reason;
    const error = ended();
    for (const c of campaigns) c.abort(error);
    for (const w of watches) w.abort(error);
    const releases = [
      ...[...leading.values()].map((l) => l.release()),
      ...[...registered.values()].map((l) => l.release({ forget: true })),
      record.release({ forget: true }),
    ];
    leading.clear();
    registered.clear();
    await Promise.allSettled(releases);
    resolveLost(reason);
  }

  const bind = (lock: HeldLock, what: string): void => {
    void lock.lost.then((reason) => end('lost', `${what}: ${reason}`));
  };
  bind(record, 'session record');

  const session: Session = {
    id,
    lastRenewalSentAt,
    lost,

    async register(key, value) {
      if (state !== 'open') throw ended();
      const own = registered.get(key);
      if (own !== undefined) {
        await own.publish(value);
        return true;
      }
      const lock = await tryAcquireLock({ path: keyPath(key), ttlMs, owner: id, clock, data: value });
      if (lock === undefined) return false;
      if (state !== 'open') {
        await lock.release({ forget: true });
        throw ended();
      }
      registered.set(key, lock);
      bind(lock, `record ${key}`);
      return true;
    },

    async update(key, value) {
      if (state !== 'open') throw ended();
      const own = registered.get(key);
      if (own === undefined) throw new Error(`session ${id}: cannot update ${key}, it was not registered by this session`);
      await own.publish(value);
    },

    watchPrefix(prefix, onChange, signal) {
      const match = (name: string): string | undefined => {
        const key = keyOf(name);
        return key !== undefined && key.startsWith(prefix) ? key : undefined;
      };
      watchRecords(dir, clock, ttlMs, match, onChange, linked(signal));
    },

    campaign(electionKey, value, signal): Campaign {
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      campaigns.add(controller);
      const elected = (async () => {
        try {
          if (state !== 'open') throw ended();
          controller.signal.throwIfAborted();
          const current = leading.get(electionKey);
          if (current !== undefined) return { fencingToken: String(current.generation) };
          const lock = await acquireLock({ path: keyPath(electionKey), ttlMs, owner: id, clock, data: value }, controller.signal);
          // Won just as the campaign was abandoned, or while this session's own heartbeat is
          // overdue (a frozen process that resumed): it must never lead.
          const overdue = clock.monotonic() >= lastRenewalSentAt() + ttlMs;
          if (state !== 'open' || controller.signal.aborted || overdue) {
            await lock.release();
            if (overdue) await end('lost', `heartbeat overdue by ${Math.round(clock.monotonic() - lastRenewalSentAt() - ttlMs)} ms past the ${ttlMs} ms TTL`);
            controller.signal.throwIfAborted();
            throw ended();
          }
          leading.set(electionKey, lock);
          bind(lock, `leadership of ${electionKey}`);
          return { fencingToken: String(lock.generation) };
        } finally {
          campaigns.delete(controller);
          signal.removeEventListener('abort', onAbort);
        }
      })();
      // The caller may drop a campaign it aborted; its rejection is not an unhandled error.
      elected.catch(() => {});
      return { elected };
    },

    observe(electionKey, onLeader, signal) {
      const name = keyFileName(dir, electionKey);
      watchRecords(dir, clock, ttlMs, (n) => (n === name ? electionKey : undefined), (entries) => onLeader(entries.get(electionKey)), linked(signal));
    },

    async resign(electionKey) {
      const lock = leading.get(electionKey);
      if (lock === undefined) return;
      leading.delete(electionKey);
      await lock.release();
    },

    close: () => end('closed', 'session closed'),
  };
  return session;

  /** A signal that aborts with the caller's or when the session ends. */
  function linked(signal: AbortSignal): AbortSignal {
    const controller = new AbortController();
    if (state !== 'open') controller.abort(ended());
    else if (signal.aborted) controller.abort(signal.reason);
    else {
      watches.add(controller);
      signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
      controller.signal.addEventListener('abort', () => watches.delete(controller), { once: true });
    }
    return controller.signal;
  }
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
