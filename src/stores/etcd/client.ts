// The etcd calls steward makes, in steward's own types: the seam between steward and the etcd
// client. gateway-client.ts implements it over etcd's v3 JSON gateway; the shapes follow etcd's v3
// API (keys and values as text, revisions as numbers, lease ids as decimal strings, since they
// use all 64 bits). Nothing outside src/stores/etcd/ sees how the client talks to etcd.

import { errorText } from '../../core/error-text.ts';

export interface KeyValue {
  readonly key: string;
  /** The value as UTF-8 text (what the coordinators wrote and compare). */
  readonly value: string;
  /** The value's exact bytes, one char per byte ('latin1'): what templates render. */
  readonly bytes: string;
  readonly createRevision: number;
  readonly modRevision: number;
  /** The lease the key is bound to (decimal), '0' for none. */
  readonly lease: string;
}

export interface RangeRequest {
  /** One key; with `prefix`, every key that starts with it ('' for all keys). */
  readonly key: string;
  readonly prefix?: boolean;
  /** Read at this revision; absent or 0 for the latest. */
  readonly revision?: number;
  /** Sort by create revision. */
  readonly sortByCreate?: 'ascend' | 'descend';
  /** Only keys created at or before this revision. */
  readonly maxCreateRevision?: number;
  readonly limit?: number;
}

export interface RangeResult {
  /** The store's revision when it answered. */
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
}

/** A transaction's condition: the key's create revision (0: absent), or its lease, is equal to this. */
export type Compare =
  | { readonly key: string; readonly createRevision: number }
  | { readonly key: string; readonly lease: string };

export type Operation =
  | { readonly range: RangeRequest }
  | { readonly put: { readonly key: string; readonly value: string; readonly lease: string } }
  | { readonly delete: string };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly Operation[];
  readonly failure: readonly Operation[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  readonly revision: number;
  /** One per operation that ran, in order: the keys of a range, none for a put or a delete. */
  readonly responses: readonly { readonly kvs: readonly KeyValue[] }[];
}

export interface WatchCreate {
  /**
   * Watches every key that starts with one of `prefixes`: one watcher over the smallest range
   * that holds them all, so it may report other keys between them too, which the caller drops.
   */
  readonly prefixes: readonly string[];
  /** The first revision to report. */
  readonly startRevision: number;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
}

export interface WatchResponse {
  readonly watchId: string;
  /** The store's revision when it answered (during a catch-up, beyond the events carried). */
  readonly revision: number;
  readonly created: boolean;
  readonly canceled: boolean;
  /** > 0 when the watch was canceled because its start revision was compacted away. */
  readonly compactRevision: number;
  readonly cancelReason: string;
  readonly events: readonly WatchEvent[];
}

export interface WatchStreamEvents {
  response(response: WatchResponse): void;
  error(error: Error): void;
  /** The server closed the stream. */
  end(): void;
}

/** One watch stream with one watcher, created when it opens. */
export interface WatchStream {
  /** Ends the stream; it reports nothing after this. */
  cancel(): void;
}

/**
 * A connection to some etcd endpoints. `deadline` (epoch ms) bounds the call in the client;
 * callers that need a bound in JavaScript as well add their own.
 */
export interface EtcdClient {
  range(request: RangeRequest, deadline: number): Promise<RangeResult>;
  txn(request: TxnRequest, deadline: number): Promise<TxnResult>;
  /** A lease of `ttlSeconds`; resolves with its id. */
  grantLease(ttlSeconds: number, deadline: number): Promise<string>;
  /** One renewal; resolves with the TTL etcd answered (0 or less: the lease is gone). */
  keepAliveOnce(leaseId: string, deadline: number): Promise<number>;
  revokeLease(leaseId: string, deadline: number): Promise<void>;
  /** A stream with one watcher (with progress notifications, so that a quiet watch still learns how far it is). */
  watch(request: WatchCreate, events: WatchStreamEvents): Promise<WatchStream>;
  close(): void;
}

/** The client, once loaded: makes clients and tells its errors apart. */
export interface EtcdDriver {
  /** A client for `hosts` with the connection's TLS, login and timing. */
  connect(hosts: readonly string[]): EtcdClient;
  /** The connection, not etcd's answer, failed: retrying (on a fresh client) may help. */
  isConnectionError(error: unknown): boolean;
  /** etcd answered that the lease does not exist (revoked, or expired). */
  isLeaseGone(error: unknown): boolean;
  /**
   * etcd refused the login or the user's access (a wrong user name or password, an invalid
   * token, no login where authentication is on, no permission on the keys): a configuration
   * error, which no retry mends.
   */
  isAuthFailure(error: unknown): boolean;
}

/** An error's message. */
export function messageOf(error: unknown): string {
  return errorText(error);
}
