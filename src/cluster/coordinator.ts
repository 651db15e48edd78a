// The boundary between steward's cluster logic (election, fencing, membership, hooks) and a
// store that can hold leases: etcd (leases + transactions), Consul (sessions + KV acquire) or a
// shared volume (files with heartbeats). The cluster part decides roles and fences itself; a
// coordinator only keeps a session alive, campaigns, observes and registers, and says honestly
// when its session is lost.

export interface SessionOptions {
  /** Session/lease time to live. */
  readonly ttlMs: number;
  /** This replica's id (for logs and the file backend's ownership records). */
  readonly instanceId: string;
}

export interface Campaign {
  /**
   * Resolves once this session leads `electionKey`, with the fencing token of this leadership
   * (etcd: the lease id; Consul: the lock's LockIndex; file: the lock's generation). Rejects when
   * the session is lost or the signal aborts. A rejected or aborted campaign never leads later.
   */
  readonly elected: Promise<{ readonly fencingToken: string }>;
}

export interface Session {
  /** The lease id (etcd), session id (Consul) or owner token (file). */
  readonly id: string;
  /**
   * Monotonic time (ms, Clock.monotonic) at which the last *successful* renewal was *sent*; the
   * session's creation counts as one. The cluster part's fence deadline is this + TTL - margin.
   */
  lastRenewalSentAt(): number;
  /** Resolves (never rejects) with a reason once the session is known to be gone: revoked, expired, invalidated. */
  readonly lost: Promise<string>;
  /**
   * Creates `key` = `value` bound to this session, if absent. Returns false when another live
   * session holds it (the caller reports a duplicate instance id).
   */
  register(key: string, value: string): Promise<boolean>;
  /** Overwrites a key this session registered. */
  update(key: string, value: string): Promise<void>;
  /** Calls `onChange` with every key under `prefix` and its value, at once and on every change. */
  watchPrefix(prefix: string, onChange: (entries: ReadonlyMap<string, string>) => void, signal: AbortSignal): void;
  /** Campaigns for `electionKey` with `value` (the leader's id); see Campaign. */
  campaign(electionKey: string, value: string, signal: AbortSignal): Campaign;
  /** Calls `onLeader` with the current leader's value (undefined when none), at once and on every change. */
  observe(electionKey: string, onLeader: (leader: string | undefined) => void, signal: AbortSignal): void;
  /** Gives up leadership of `electionKey` if held, so that another campaign wins at once. */
  resign(electionKey: string): Promise<void>;
  /** Ends the session (revoke, destroy, release); keys bound to it go with it. */
  close(): Promise<void>;
}

export interface Coordinator {
  readonly name: 'etcd' | 'consul' | 'file';
  /** Where it coordinates, for logs (no credentials). */
  readonly source: string;
  openSession(options: SessionOptions, signal: AbortSignal): Promise<Session>;
  close(): Promise<void>;
}
