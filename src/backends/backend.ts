// The boundary between a key/value store and the rest of steward. A backend reads the keys a set
// of template resources asks for (with confd's semantics for that store) and watches them, from
// the exact point of that read, so that nothing written in between is missed. Reconnects,
// compaction, index resets and fail-over are the backend's business; the caller only sees
// updates and a health status.

import type { StoreOptions, StoreStatus, WatchListener } from '../stores/types.ts';

/** Where a read happened, so that a watch can start right after it (etcd revision, Consul index). */
export type Cursor = unknown;

export interface Snapshot {
  /** Every key under the requested keys, absolute (`/app/db/host`), with its value. */
  readonly values: ReadonlyMap<string, string>;
  readonly cursor: Cursor;
}

export type { Update, WatchListener } from '../stores/types.ts';
/** A store's health as a watch reports it. */
export type BackendStatus = StoreStatus;

export interface Backend {
  /** 'etcd' | 'consul' | 'file' | 'env', for logs. */
  readonly name: string;
  /** A description of where it reads from, for logs (never credentials). */
  readonly source: string;
  /**
   * Reads every key under `keys` (absolute, already prefixed as confd's AppendPrefix does).
   * Rejects when the store cannot be reached; the caller retries.
   */
  read(keys: readonly string[], signal: AbortSignal): Promise<Snapshot>;
  /**
   * Watches `keys` from `from` (a cursor from read) until `signal` aborts, and reports every
   * change after it. Never polls where the store can push. Survives disconnects by itself:
   * reports 'unreachable', retries with back-off, and on recovery sends what changed meanwhile
   * (a `full` update when it cannot tell).
   */
  watch(keys: readonly string[], from: Cursor, listener: WatchListener, signal: AbortSignal): void;
  /**
   * Whether `key` belongs under the requested key `requested`, with this store's confd semantics
   * (etcd: the key itself or below it, `/app/db` not covering `/app/dbx`; Consul, file and env: a
   * plain string prefix, as confd's clients match).
   */
  covers(requested: string, key: string): boolean;
  close(): Promise<void>;
}

/** What a backend needs from steward's settings: a store's connection, the files, the environment. */
export interface BackendOptions extends StoreOptions {
  readonly files: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}
