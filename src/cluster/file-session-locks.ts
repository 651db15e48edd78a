// A file session's locks: its own record and the member records and leaderships it holds, each
// keeping its own heartbeat. They end together, as everything bound to a lease does in etcd: the
// first one found gone (taken over, removed, frozen past its TTL) ends the whole session, with
// its campaigns and watches. lastRenewalSentAt() is the oldest of their last heartbeats, so a
// fence computed from it holds for every one of them. Member records are removed when the
// session ends (they fence nothing, and replicas with fresh ids would otherwise leave a
// directory each); election locks are only released, so that their generations, the fencing
// tokens, keep increasing.

import type { HeldLock } from './file-lock.ts';

export interface SessionLocks {
  /** Resolves with the reason once the session has ended (lost or closed); never rejects. */
  readonly lost: Promise<string>;
  isOpen(): boolean;
  /** What a call on the ended session fails with. */
  ended(): Error;
  lastRenewalSentAt(): number;
  /** The member records this session registered, by key. */
  readonly registered: ReadonlyMap<string, HeldLock>;
  /** The elections this session leads, by key. */
  readonly leading: ReadonlyMap<string, HeldLock>;
  /** Holds a member record from now on: losing it ends the session. */
  holdRecord(key: string, lock: HeldLock): void;
  /** Holds a leadership from now on: losing it ends the session. */
  holdLeadership(key: string, lock: HeldLock): void;
  /** Stops holding the leadership of `key` (to release it); undefined when not leading. */
  dropLeadership(key: string): HeldLock | undefined;
  /** Aborts a campaign's controller when the session ends before the returned function is called. */
  abortOnEnd(campaign: AbortController): () => void;
  /** A signal that aborts with `signal` or when the session ends. */
  linked(signal: AbortSignal): AbortSignal;
  /** Ends the session: aborts campaigns and watches, releases every lock, resolves `lost`. */
  end(next: 'lost' | 'closed', reason: string): Promise<void>;
}

/** The locks of session `id` in `dir`, starting with its own `record`. */
export function createSessionLocks(dir: string, id: string, record: HeldLock): SessionLocks {
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

  const ended = (): Error => new Error(`session ${id} in ${dir} is ${state}${endReason === '' ? '' : `: ${endReason}`}`);

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

  return {
    lost,
    isOpen: () => state === 'open',
    ended,
    lastRenewalSentAt() {
      let at = record.lastRefreshSentAt();
      for (const lock of [...registered.values(), ...leading.values()]) at = Math.min(at, lock.lastRefreshSentAt());
      return at;
    },
    registered,
    leading,
    holdRecord(key, lock) {
      registered.set(key, lock);
      bind(lock, `record ${key}`);
    },
    holdLeadership(key, lock) {
      leading.set(key, lock);
      bind(lock, `leadership of ${key}`);
    },
    dropLeadership(key) {
      const lock = leading.get(key);
      leading.delete(key);
      return lock;
    },
    abortOnEnd(campaign) {
      campaigns.add(campaign);
      return () => campaigns.delete(campaign);
    },
    linked(signal) {
      const controller = new AbortController();
      if (state !== 'open') controller.abort(ended());
      else if (signal.aborted) controller.abort(signal.reason);
      else {
        watches.add(controller);
        signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
        controller.signal.addEventListener('abort', () => watches.delete(controller), { once: true });
      }
      return controller.signal;
    },
    end,
  };
}
