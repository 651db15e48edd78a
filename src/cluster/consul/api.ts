// The Consul requests a coordinator makes, on top of the Consul store's connection (fail-over
// between CONFD_NODE agents on connection errors, token, a deadline on every request, cancel).
//
// Keys are read with a recursive GET even when one key is wanted: that answer carries Session,
// LockIndex and ModifyIndex like the single-key one, and the store's blocking-query loop
// (runConsulWatch) is built on it. The exact key is picked out of the listing.

import type { ConsulConnection } from '../../stores/consul/connection.ts';
import type { ConsulWrite } from '../../stores/consul/kv-client.ts';

export interface KeyRecord {
  /** The key as Consul names it (no leading "/"). */
  readonly key: string;
  readonly value: string;
  /** The lock holder's session id, '' when unlocked. */
  readonly session: string;
  readonly lockIndex: number;
  readonly modifyIndex: number;
}

export interface KeyListing {
  readonly records: readonly KeyRecord[];
  /** X-Consul-Index, undefined when the answer had none. */
  readonly index: number | undefined;
}

export interface SessionSpec {
  readonly name: string;
  readonly ttlMs: number;
  readonly lockDelayMs: number;
}

/** Go's time.ParseDuration reads this; whole milliseconds are precise enough for TTLs and delays. */
export function goDuration(ms: number): string {
  return `${Math.max(0, Math.round(ms))}ms`;
}

export class ConsulApi {
  readonly #connection: ConsulConnection;

  constructor(connection: ConsulConnection) {
    this.#connection = connection;
  }

  get requestTimeoutMs(): number {
    return this.#connection.requestTimeoutMs;
  }

  async createSession(spec: SessionSpec, signal: AbortSignal): Promise<string> {
    const body = await this.#write(
      'session.create',
      {
        name: spec.name,
        ttl: goDuration(spec.ttlMs),
        behavior: 'release',
        lockdelay: goDuration(spec.lockDelayMs),
        // "Checks": [] leaves the session with no health checks at all (not even serfHealth),
        // so that only its TTL or an explicit destroy ends it; see consul-coordinator.ts.
        checks: [],
      },
      signal,
    );
    const id = (body as { ID?: unknown } | undefined)?.ID;
    if (typeof id !== 'string' || id === '') throw new Error(`Consul answered a session create without an ID: ${JSON.stringify(body)}`);
    return id;
  }

  /** PUT /v1/session/renew/<id>; a ConsulResponseError with status 404 means the session is gone. */
  async renewSession(id: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    await this.#write('session.renew', { id }, signal, timeoutMs);
  }

  async destroySession(id: string, signal: AbortSignal): Promise<void> {
    await this.#write('session.destroy', { id }, signal);
  }

  /** PUT ?acquire: false when another session holds the key or a lock-delay is in force. */
  async acquire(key: string, session: string, value: string, signal: AbortSignal): Promise<boolean> {
    return isTrue(await this.#write('kv.set', { key, value, acquire: session }, signal));
  }

  /** PUT ?release: false when this session does not hold the key. Release writes `value` too. */
  async release(key: string, session: string, value: string, signal: AbortSignal): Promise<boolean> {
    return isTrue(await this.#write('kv.set', { key, value, release: session }, signal));
  }

  /** DELETE ?cas=<ModifyIndex>: only when nobody wrote the key since it was read. */
  async deleteIfUnchanged(key: string, modifyIndex: number, signal: AbortSignal): Promise<boolean> {
    return isTrue(await this.#write('kv.del', { key, cas: String(modifyIndex) }, signal));
  }

  /** Everything under `prefix`; with `index` (>= 1), a blocking query. */
  async list(prefix: string, index: number | undefined, signal: AbortSignal): Promise<KeyListing> {
    const listing = await this.#connection.list(prefix, index, signal);
    return { records: listing.pairs, index: listing.index };
  }

  /** One key, undefined when it does not exist. */
  async read(key: string, signal: AbortSignal): Promise<KeyRecord | undefined> {
    const listing = await this.list(key, undefined, signal);
    return listing.records.find((record) => record.key === key);
  }

  #write(call: ConsulWrite, options: Record<string, unknown>, signal: AbortSignal, timeoutMs?: number): Promise<unknown> {
    return this.#connection.write(call, options, signal, timeoutMs);
  }
}

function isTrue(body: unknown): boolean {
  return body === true || (typeof body === 'string' && body.trim() === 'true');
}

