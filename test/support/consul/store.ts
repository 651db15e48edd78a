import { randomUUID } from 'node:crypto';
import type { TimerHandle } from '../../../src/core/clock.ts';
import { parseGoDuration } from './duration.ts';
import type { VirtualTime } from './virtual-time.ts';

// The double's state machine. It follows Consul's state store (agent/consul/state/kvs.go,
// session.go) rather than an idealised KV: one raft index consumed by every applied write,
// per-table indexes ("kvs", "tombstones", "sessions") that only move when a row changes,
// tombstones that keep a prefix's index from sliding back after a delete, and lock-delays
// kept outside the replicated state, as the leader keeps them.

export type SessionBehavior = 'release' | 'delete';
export type CheckStatus = 'passing' | 'warning' | 'critical';
export type InvalidationReason = 'destroy' | 'ttl' | 'check' | 'control';

export interface KvEntry {
  readonly key: string;
  /** Consul stores an empty body as nil; an empty Buffer here is shown as `"Value": null`. */
  readonly value: Buffer;
  readonly flags: bigint;
  readonly lockIndex: number;
  /** Lock holder, '' when the key is not locked. */
  readonly session: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface ServiceCheckRef {
  readonly ID: string;
  readonly Namespace: string;
}

export interface SessionRecord {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  readonly lockDelayNs: number;
  readonly behavior: SessionBehavior;
  readonly ttl: string;
  readonly nodeChecks: readonly string[] | null;
  readonly serviceChecks: readonly ServiceCheckRef[] | null;
  /** Deprecated field, shown only when the client set it to something other than serfHealth. */
  readonly checks: readonly string[] | null;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface SessionSpec {
  name: string;
  node: string;
  lockDelayNs: number;
  behavior: SessionBehavior;
  ttl: string;
  nodeChecks: string[] | null;
  serviceChecks: ServiceCheckRef[] | null;
  checks: string[] | null;
}

export interface Invalidation {
  readonly id: string;
  readonly reason: InvalidationReason;
  /** Keys whose lock was released (behavior release) or that were deleted (behavior delete). */
  readonly keys: readonly string[];
}

/** What one applied write touched; blocking queries use it to decide whether to wake. */
export interface StoreChange {
  readonly keys: ReadonlySet<string>;
  readonly sessions: ReadonlySet<string>;
  readonly nodes: ReadonlySet<string>;
  /** A snapshot restore: every parked query returns, as when Consul abandons its state store. */
  readonly abandon: boolean;
  readonly invalidated: readonly Invalidation[];
  /** Services whose registration or checks changed (service-catalog.ts); absent for KV and session writes. */
  readonly services?: ReadonlySet<string>;
}

/** An error the FSM returns after the entry reached the raft log. */
export class ApplyError extends Error {}

export const SERF_CHECK_ID = 'serfHealth';
const MAX_LOCK_DELAY_MS = 60_000;

export interface StoreOptions {
  time: VirtualTime;
  /** Raft index before the first user write; Consul never shows a user write at index 1. */
  initialIndex: number;
  /** Invalidation happens `ttl * multiplier` after the last create/renew (Consul: 2). */
  sessionTtlMultiplier: number;
  nodes: readonly string[];
}

class ChangeBuilder {
  keys = new Set<string>();
  sessions = new Set<string>();
  nodes = new Set<string>();
  invalidated: Invalidation[] = [];
  get empty(): boolean {
    return this.keys.size === 0 && this.sessions.size === 0 && this.invalidated.length === 0;
  }
}

function sameEntry(a: KvEntry, b: KvEntry): boolean {
  return (
    a.lockIndex === b.lockIndex &&
    a.key === b.key &&
    a.flags === b.flags &&
    a.session === b.session &&
    a.value.equals(b.value)
  );
}

export class ConsulStore {
  #opts: StoreOptions;
  #raftIndex: number;
  #kvsIndex = 0;
  #tombstonesIndex = 0;
  #sessionsIndex = 0;
  #kv = new Map<string, KvEntry>();
  #tombstones = new Map<string, number>();
  #sessions = new Map<string, SessionRecord>();
  #lockDelays = new Map<string, number>();
  #checks = new Map<string, Map<string, CheckStatus>>();
  #ttlTimers = new Map<string, TimerHandle>();
  #timersRunning = true;
  #listeners = new Set<(change: StoreChange) => void>();

  constructor(opts: StoreOptions) {
    this.#opts = opts;
    this.#raftIndex = opts.initialIndex;
    for (const node of opts.nodes) this.#checks.set(node, new Map([[SERF_CHECK_ID, 'passing']]));
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get raftIndex(): number {
    return this.#raftIndex;
  }

  // ---- reads -------------------------------------------------------------------------

  /** Consul's kvsMaxIndex: the larger of the "kvs" and "tombstones" table indexes. */
  kvsMaxIndex(): number {
    return Math.max(this.#kvsIndex, this.#tombstonesIndex);
  }

  get sessionsIndex(): number {
    return this.#sessionsIndex;
  }

  kvGet(key: string): KvEntry | undefined {
    return this.#kv.get(key);
  }

  /** Entries under a prefix in key order, with Consul's index for a list of that prefix. */
  kvList(prefix: string): { index: number; entries: KvEntry[] } {
    const entries = [...this.#kv.values()]
      .filter((entry) => entry.key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    let index = 0;
    if (prefix === '') {
      index = this.kvsMaxIndex();
    } else {
      for (const entry of entries) index = Math.max(index, entry.modifyIndex);
      for (const [key, stone] of this.#tombstones) if (key.startsWith(prefix)) index = Math.max(index, stone);
    }
    return { index: index !== 0 ? index : this.kvsMaxIndex(), entries };
  }

  session(id: string): SessionRecord | undefined {
    return this.#sessions.get(id);
  }

  sessionList(): SessionRecord[] {
    return [...this.#sessions.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  hasNode(node: string): boolean {
    return this.#checks.has(node);
  }

  /** Expiry (virtual ms) of the lock-delay on a key, 0 when there is none. */
  lockDelayExpiry(key: string): number {
    return this.#lockDelays.get(key) ?? 0;
  }

  // ---- KV writes (KVS.Apply) ----------------------------------------------------------

  /** Plain PUT: always true. LockIndex comes from the request (0), Session is kept. */
  kvSet(key: string, value: Buffer, flags: bigint): boolean {
    const idx = this.#nextIndex();
    const change = new ChangeBuilder();
    this.#setTxn(idx, { key, value, flags, lockIndex: 0, session: '' }, false, change);
    this.#emit(change);
    return true;
  }

  /** PUT ?cas=N: 0 means create-only; otherwise N must equal the key's ModifyIndex. */
  kvCas(key: string, value: Buffer, flags: bigint, cas: bigint): boolean {
    const idx = this.#nextIndex();
    const existing = this.#kv.get(key);
    if (cas === 0n ? existing !== undefined : existing === undefined || BigInt(existing.modifyIndex) !== cas) {
      return false;
    }
    const change = new ChangeBuilder();
    this.#setTxn(idx, { key, value, flags, lockIndex: 0, session: '' }, false, change);
    this.#emit(change);
    return true;
  }

  /** PUT ?acquire=session. Lock-delay is checked before the raft apply, as the leader does. */
  kvLock(key: string, value: Buffer, flags: bigint, session: string): boolean {
    if (this.lockDelayExpiry(key) > this.#opts.time.now()) return false;
    const idx = this.#nextIndex();
    if (session === '') throw new ApplyError('missing session');
    if (!this.#sessions.has(session)) throw new ApplyError(`invalid session ${JSON.stringify(session)}`);
    const existing = this.#kv.get(key);
    let lockIndex = 1;
    if (existing !== undefined) {
      if (existing.session === session) lockIndex = existing.lockIndex;
      else if (existing.session !== '') return false;
      else lockIndex = existing.lockIndex + 1;
    }
    const change = new ChangeBuilder();
    this.#setTxn(idx, { key, value, flags, lockIndex, session }, true, change);
    this.#emit(change);
    return true;
  }

  /** PUT ?release=session: only the holder can release; the body still replaces the value. */
  kvUnlock(key: string, value: Buffer, flags: bigint, session: string): boolean {
    const idx = this.#nextIndex();
    if (session === '') throw new ApplyError('missing session');
    const existing = this.#kv.get(key);
    if (existing === undefined || existing.session !== session) return false;
    const change = new ChangeBuilder();
    this.#setTxn(idx, { key, value, flags, lockIndex: existing.lockIndex, session: '' }, true, change);
    this.#emit(change);
    return true;
  }

  kvDelete(key: string): boolean {
    const idx = this.#nextIndex();
    const change = new ChangeBuilder();
    this.#deleteTxn(idx, key, change);
    this.#emit(change);
    return true;
  }

  /** DELETE ?cas=N: true also when the key is already gone, as in kvsDeleteCASTxn. */
  kvDeleteCas(key: string, cas: bigint): boolean {
    const idx = this.#nextIndex();
    const existing = this.#kv.get(key);
    if (existing === undefined) return true;
    if (BigInt(existing.modifyIndex) !== cas) return false;
    const change = new ChangeBuilder();
    this.#deleteTxn(idx, key, change);
    this.#emit(change);
    return true;
  }

  /** DELETE ?recurse: one tombstone for the whole prefix (none when the prefix is empty). */
  kvDeleteTree(prefix: string): boolean {
    const idx = this.#nextIndex();
    const change = new ChangeBuilder();
    for (const key of [...this.#kv.keys()]) {
      if (!key.startsWith(prefix)) continue;
      this.#kv.delete(key);
      change.keys.add(key);
    }
    if (change.keys.size > 0) {
      if (prefix !== '') {
        this.#tombstones.set(prefix, idx);
        this.#tombstonesIndex = idx;
      }
      this.#kvsIndex = idx;
    }
    this.#emit(change);
    return true;
  }

  // ---- sessions (Session.Apply / Session.Renew) ----------------------------------------

  /** Creates a session after the RPC-level checks passed; node and check errors come from the FSM. */
  sessionCreate(spec: SessionSpec): SessionRecord {
    const idx = this.#nextIndex();
    const checks = this.#checks.get(spec.node);
    if (checks === undefined) throw new ApplyError('Missing node registration');
    for (const checkId of sessionCheckIds(spec)) {
      const status = checks.get(checkId);
      if (status === undefined) throw new ApplyError(`Missing check '${checkId}' registration`);
      if (status === 'critical') throw new ApplyError(`Check '${checkId}' is in critical state`);
    }
    // The double registers no services, so any service check is unknown to it.
    for (const serviceCheck of spec.serviceChecks ?? []) {
      throw new ApplyError(`Missing check '${serviceCheck.ID}' registration`);
    }
    let id = randomUUID();
    while (this.#sessions.has(id)) id = randomUUID();
    const record: SessionRecord = { id, ...spec, createIndex: idx, modifyIndex: idx };
    this.#sessions.set(id, record);
    this.#sessionsIndex = idx;
    const change = new ChangeBuilder();
    change.sessions.add(id);
    change.nodes.add(spec.node);
    this.#resetTimer(record);
    this.#emit(change);
    return record;
  }

  /** Destroys (invalidates) a session; returns false when it did not exist. */
  sessionDestroy(id: string, reason: InvalidationReason): boolean {
    if (!this.#sessions.has(id)) return false;
    const change = new ChangeBuilder();
    this.#invalidateTxn(this.#nextIndex(), id, reason, change);
    this.#emit(change);
    return true;
  }

  /** Session.Renew: restarts the TTL timer; undefined when the session is gone. */
  sessionRenew(id: string): SessionRecord | undefined {
    const record = this.#sessions.get(id);
    if (record !== undefined) this.#resetTimer(record);
    return record;
  }

  /** A node check changing state; critical invalidates every session that names it. */
  setCheck(node: string, checkId: string, status: CheckStatus | undefined): void {
    const checks = this.#checks.get(node);
    if (checks === undefined) throw new RangeError(`setCheck: unknown node ${JSON.stringify(node)}`);
    if (status === undefined) checks.delete(checkId);
    else checks.set(checkId, status);
    if (status === 'critical' || status === undefined) {
      const victims = [...this.#sessions.values()].filter(
        (s) => s.node === node && sessionCheckIds(s).includes(checkId),
      );
      if (victims.length === 0) return;
      const idx = this.#nextIndex();
      const change = new ChangeBuilder();
      for (const victim of victims) this.#invalidateTxn(idx, victim.id, 'check', change);
      this.#emit(change);
    }
  }

  /**
   * Session TTL timers live on the leader: they stop when leadership is lost, and a new
   * leader restarts every one of them with the full TTL (initializeSessionTimers).
   */
  setTimersRunning(running: boolean): void {
    if (running === this.#timersRunning) return;
    this.#timersRunning = running;
    for (const timer of this.#ttlTimers.values()) timer.cancel();
    this.#ttlTimers.clear();
    if (running) for (const record of this.#sessions.values()) this.#resetTimer(record);
  }

  // ---- operator-side simulations -------------------------------------------------------

  /**
   * Simulates restoring an older raft snapshot: the raft index and every stored index go
   * back to at most `toIndex`, lock-delays (not part of snapshots) are forgotten, and every
   * parked blocking query returns.
   */
  restoreSnapshot(toIndex: number): void {
    if (!Number.isInteger(toIndex) || toIndex < 1) {
      throw new RangeError(`restoreSnapshot: toIndex must be an integer >= 1, got ${toIndex}`);
    }
    this.#raftIndex = toIndex;
    const clamp = (n: number): number => Math.min(n, toIndex);
    for (const [key, entry] of this.#kv) {
      this.#kv.set(key, { ...entry, createIndex: clamp(entry.createIndex), modifyIndex: clamp(entry.modifyIndex) });
    }
    for (const [id, record] of this.#sessions) {
      this.#sessions.set(id, { ...record, createIndex: clamp(record.createIndex), modifyIndex: clamp(record.modifyIndex) });
    }
    for (const [key, stone] of this.#tombstones) this.#tombstones.set(key, clamp(stone));
    this.#kvsIndex = clamp(this.#kvsIndex);
    this.#tombstonesIndex = clamp(this.#tombstonesIndex);
    this.#sessionsIndex = clamp(this.#sessionsIndex);
    this.#lockDelays.clear();
    const change: StoreChange = {
      keys: new Set(),
      sessions: new Set(),
      nodes: new Set(),
      abandon: true,
      invalidated: [],
    };
    for (const listener of this.#listeners) listener(change);
  }

  /** The leader's tombstone GC: after it a prefix's list index may go backwards. */
  reapTombstones(): void {
    if (this.#tombstones.size === 0) return;
    this.#tombstones.clear();
    this.#tombstonesIndex = this.#nextIndex();
  }

  stop(): void {
    for (const timer of this.#ttlTimers.values()) timer.cancel();
    this.#ttlTimers.clear();
    this.#listeners.clear();
  }

  // ---- another table's writes (the service catalog, service-catalog.ts) -----------------

  /** Takes the next raft index for a write to another table. */
  takeIndex(): number {
    return this.#nextIndex();
  }

  /** Wakes the blocking queries watching `change` (another table's write). */
  publish(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  // ---- internals -----------------------------------------------------------------------

  #nextIndex(): number {
    this.#raftIndex += 1;
    return this.#raftIndex;
  }

  #setTxn(
    idx: number,
    input: Omit<KvEntry, 'createIndex' | 'modifyIndex'>,
    updateSession: boolean,
    change: ChangeBuilder,
  ): void {
    const existing = this.#kv.get(input.key);
    const candidate: KvEntry = {
      ...input,
      session: updateSession ? input.session : (existing?.session ?? ''),
      createIndex: existing?.createIndex ?? idx,
      modifyIndex: idx,
    };
    // An idempotent write changes nothing: no new ModifyIndex and no wake-up.
    if (existing !== undefined && sameEntry(existing, candidate)) return;
    this.#kv.set(input.key, candidate);
    this.#kvsIndex = idx;
    change.keys.add(input.key);
  }

  #deleteTxn(idx: number, key: string, change: ChangeBuilder): void {
    if (!this.#kv.delete(key)) return;
    this.#tombstones.set(key, idx);
    this.#tombstonesIndex = idx;
    this.#kvsIndex = idx;
    change.keys.add(key);
  }

  #invalidateTxn(idx: number, id: string, reason: InvalidationReason, change: ChangeBuilder): void {
    const record = this.#sessions.get(id);
    if (record === undefined) return;
    this.#sessions.delete(id);
    this.#sessionsIndex = idx;
    this.#ttlTimers.get(id)?.cancel();
    this.#ttlTimers.delete(id);
    change.sessions.add(id);
    change.nodes.add(record.node);
    const delayMs = Math.min(record.lockDelayNs / 1e6, MAX_LOCK_DELAY_MS);
    const now = this.#opts.time.now();
    const held = [...this.#kv.values()].filter((entry) => entry.session === id);
    for (const entry of held) {
      if (record.behavior === 'release') this.#setTxn(idx, { ...entry, session: '' }, true, change);
      else this.#deleteTxn(idx, entry.key, change);
      if (delayMs > 0) this.#lockDelays.set(entry.key, now + delayMs);
    }
    change.invalidated.push({ id, reason, keys: held.map((entry) => entry.key) });
  }

  #resetTimer(record: SessionRecord): void {
    this.#ttlTimers.get(record.id)?.cancel();
    this.#ttlTimers.delete(record.id);
    if (!this.#timersRunning) return;
    const ttlNs = ttlNanoseconds(record.ttl);
    if (ttlNs === 0) return;
    const ms = (ttlNs / 1e6) * this.#opts.sessionTtlMultiplier;
    this.#ttlTimers.set(
      record.id,
      this.#opts.time.after(ms, () => {
        this.#ttlTimers.delete(record.id);
        this.sessionDestroy(record.id, 'ttl');
      }),
    );
  }

  #emit(change: ChangeBuilder): void {
    if (change.empty) return;
    const frozen: StoreChange = {
      keys: change.keys,
      sessions: change.sessions,
      nodes: change.nodes,
      abandon: false,
      invalidated: change.invalidated,
    };
    for (const listener of this.#listeners) listener(frozen);
  }
}

function ttlNanoseconds(ttl: string): number {
  if (ttl === '') return 0;
  try {
    return parseGoDuration(ttl);
  } catch {
    return 0;
  }
}

/** Session.CheckIDs(): node checks plus the deprecated Checks field, without duplicates. */
export function sessionCheckIds(spec: { readonly nodeChecks: readonly string[] | null; readonly checks: readonly string[] | null }): string[] {
  return [...new Set([...(spec.nodeChecks ?? []), ...(spec.checks ?? [])])];
}
