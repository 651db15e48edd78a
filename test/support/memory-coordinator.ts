// A Coordinator held in memory, for unit tests of the cluster logic. One MemoryStore stands for
// the store all replicas share; each replica gets its own coordinator on it. Time is the
// injected clock's: sessions renew every TTL/3 and the store expires one whose renewals stopped
// for a TTL, as etcd and Consul do. The test can cut a replica off (nothing it sends arrives and
// its watches go stale), revoke a session from outside, and ask the store who holds a seat.
//
// Loss is reported the way the real stores report it: a session revoked in the store learns it
// on its next renewal that gets through; a cut-off session learns it only after two TTLs
// without a successful renewal (etcd's keep-alive bound), long after its seat went to another.

import type { Clock, TimerHandle } from '../../src/core/clock.ts';
import type { Campaign, Coordinator, Session, SessionOptions } from '../../src/cluster/coordinator.ts';

export interface Seat {
  readonly session: string;
  readonly value: string;
  readonly fencingToken: string;
}

export interface MemoryStore {
  /** A coordinator through which replica `instanceId` talks to this store. */
  coordinator(instanceId: string): Coordinator;
  /** Who holds `electionKey` now, as the store sees it. */
  seat(electionKey: string): Seat | undefined;
  /** Live session ids of a replica, oldest first. */
  sessionsOf(instanceId: string): string[];
  /** Nothing from `instanceId` reaches the store, and no change reaches it, until heal(). */
  cutOff(instanceId: string): void;
  heal(instanceId: string): void;
  /** An operator ends a session (etcd lease revoke, Consul session destroy). */
  revoke(sessionId: string): void;
  /** Every key with its value. */
  keys(): ReadonlyMap<string, string>;
}

interface Candidate {
  readonly session: StoredSession;
  readonly value: string;
  readonly resolve: (elected: { fencingToken: string }) => void;
  /** Set when the store gives it the seat. */
  token: string | undefined;
}

interface StoredSession {
  readonly id: string;
  readonly instanceId: string;
  readonly ttlMs: number;
  expiry: TimerHandle | undefined;
  /** Set by the store when it ended the session (expired, revoked, closed). */
  ended: string | undefined;
}

export function memoryStore(clock: Clock): MemoryStore {
  const sessions = new Map<string, StoredSession>();
  const values = new Map<string, { value: string; session: string }>();
  const queues = new Map<string, Candidate[]>();
  const cut = new Set<string>();
  /** Replicas' watchers, told about every change unless their replica is cut off. */
  const watchers = new Set<{ instanceId: string; notify: () => void }>();
  /** Calls that wait for a cut-off replica to be healed. */
  const held = new Map<string, (() => void)[]>();
  let nextSession = 1;
  let nextToken = 1;

  const changed = (): void => {
    for (const w of [...watchers]) if (!cut.has(w.instanceId)) w.notify();
  };

  const head = (key: string): Candidate | undefined => queues.get(key)?.[0];

  function elect(c: Candidate): void {
    c.token = String(nextToken++);
    c.resolve({ fencingToken: c.token });
  }

  function electHeads(before: Map<string, Candidate | undefined>): void {
    for (const [key, was] of before) {
      const now = head(key);
      if (now !== undefined && now !== was) elect(now);
    }
  }

  function heads(): Map<string, Candidate | undefined> {
    return new Map([...queues.keys()].map((k) => [k, head(k)]));
  }

  function withdraw(test: (c: Candidate) => boolean): void {
    const before = heads();
    for (const [key, queue] of queues) queues.set(key, queue.filter((c) => !test(c)));
    electHeads(before);
  }

  function end(s: StoredSession, why: string): void {
    if (s.ended !== undefined) return;
    s.ended = why;
    s.expiry?.cancel();
    sessions.delete(s.id);
    for (const [key, v] of [...values]) if (v.session === s.id) values.delete(key);
    withdraw((c) => c.session === s);
    changed();
  }

  function refresh(s: StoredSession): void {
    s.expiry?.cancel();
    s.expiry = clock.setTimer(s.ttlMs, () => end(s, 'expired'));
  }

  /** Resolves once `instanceId` reaches the store (at once unless it is cut off). */
  function reach(instanceId: string, signal?: AbortSignal): Promise<void> {
    if (!cut.has(instanceId)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const list = held.get(instanceId) ?? [];
      held.set(instanceId, list);
      list.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  function openSession(instanceId: string, options: SessionOptions): Session {
    const stored: StoredSession = { id: `s${nextSession++}`, instanceId, ttlMs: options.ttlMs, expiry: undefined, ended: undefined };
    sessions.set(stored.id, stored);
    refresh(stored);
    let lastSent = clock.monotonic();
    let closed = false;
    let reportLost!: (reason: string) => void;
    const lost = new Promise<string>((resolve) => {
      reportLost = (reason) => {
        closed = true;
        renewal.cancel();
        resolve(reason);
      };
    });
    let renewal: TimerHandle = clock.setTimer(options.ttlMs / 3, renew);
    function renew(): void {
      if (closed) return;
      const sentAt = clock.monotonic();
      if (cut.has(instanceId)) {
        if (sentAt - lastSent >= 2 * options.ttlMs) {
          reportLost(`no renewal succeeded for two TTLs (${2 * options.ttlMs} ms)`);
          return;
        }
      } else if (stored.ended !== undefined) {
        reportLost(`the store ended the session (${stored.ended})`);
        return;
      } else {
        refresh(stored);
        lastSent = sentAt;
      }
      renewal = clock.setTimer(options.ttlMs / 3, renew);
    }
    const watch = (notify: () => void, signal: AbortSignal): void => {
      const w = { instanceId, notify };
      watchers.add(w);
      signal.addEventListener('abort', () => watchers.delete(w), { once: true });
      queueMicrotask(() => {
        if (!signal.aborted && !cut.has(instanceId)) notify();
      });
    };
    return {
      id: stored.id,
      lastRenewalSentAt: () => lastSent,
      lost,
      async register(key, value) {
        await reach(instanceId);
        if (stored.ended !== undefined) throw new Error(`session ${stored.id} is gone`);
        const current = values.get(key);
        if (current !== undefined && current.session !== stored.id) return false;
        values.set(key, { value, session: stored.id });
        changed();
        return true;
      },
      async update(key, value) {
        await reach(instanceId);
        if (stored.ended !== undefined) throw new Error(`session ${stored.id} is gone`);
        values.set(key, { value, session: stored.id });
        changed();
      },
      watchPrefix(prefix, onChange, signal) {
        let last = '';
        watch(() => {
          const entries = new Map([...values].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, v.value]));
          const text = JSON.stringify([...entries]);
          if (text === last) return;
          last = text;
          onChange(entries);
        }, signal);
      },
      campaign(electionKey, value, signal): Campaign {
        const elected = new Promise<{ fencingToken: string }>((resolve, reject) => {
          const candidate: Candidate = { session: stored, value, resolve, token: undefined };
          signal.addEventListener(
            'abort',
            () => {
              // A campaign that won keeps its seat until resign() or the session's end, as etcd's
              // and Consul's do. From a cut-off replica the withdrawal never arrives.
              if (candidate.token === undefined && !cut.has(instanceId)) {
                withdraw((c) => c === candidate);
                changed();
              }
              reject(new Error('campaign aborted'));
            },
            { once: true },
          );
          void lost.then(() => reject(new Error('session lost')));
          reach(instanceId, signal).then(
            () => {
              if (signal.aborted || stored.ended !== undefined) return;
              const queue = queues.get(electionKey) ?? [];
              queues.set(electionKey, queue);
              queue.push(candidate);
              if (queue.length === 1) elect(candidate);
              changed();
            },
            () => {},
          );
        });
        elected.catch(() => {});
        return { elected };
      },
      observe(electionKey, onLeader, signal) {
        let first = true;
        let last: string | undefined;
        watch(() => {
          const leader = head(electionKey)?.value;
          if (!first && leader === last) return;
          first = false;
          last = leader;
          onLeader(leader);
        }, signal);
      },
      async resign(electionKey) {
        if (cut.has(instanceId)) return;
        const before = heads();
        const queue = queues.get(electionKey) ?? [];
        if (queue[0]?.session === stored) queue.shift();
        electHeads(before);
        changed();
      },
      async close() {
        if (closed) return;
        // A cut-off replica's close never arrives: the store expires the session later.
        if (!cut.has(instanceId)) end(stored, 'closed');
        reportLost('the session was closed');
      },
    };
  }

  return {
    coordinator(instanceId) {
      return {
        name: 'file',
        source: 'memory',
        async openSession(options, signal) {
          await reach(instanceId, signal);
          return openSession(instanceId, options);
        },
        async close() {},
      };
    },
    seat(electionKey) {
      const c = head(electionKey);
      return c === undefined ? undefined : { session: c.session.id, value: c.value, fencingToken: c.token ?? '' };
    },
    sessionsOf: (instanceId) => [...sessions.values()].filter((s) => s.instanceId === instanceId).map((s) => s.id),
    cutOff(instanceId) {
      cut.add(instanceId);
    },
    heal(instanceId) {
      cut.delete(instanceId);
      for (const resume of held.get(instanceId)?.splice(0) ?? []) resume();
      for (const w of [...watchers]) if (w.instanceId === instanceId) w.notify();
    },
    revoke(sessionId) {
      const s = sessions.get(sessionId);
      if (s !== undefined) end(s, 'revoked');
    },
    keys: () => new Map([...values].map(([k, v]) => [k, v.value])),
  };
}
