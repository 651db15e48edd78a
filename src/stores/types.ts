// What the stores (etcd, Consul) share with the template backends and the coordinators built on
// them: how to reach a store, and what a watch reports. Both sides import these from here, so
// that neither reaches into the other.

/** What changed. `full` replaces everything under the watched keys (after a resync). */
export type Update =
  | { readonly kind: 'delta'; readonly set: ReadonlyMap<string, string>; readonly deleted: readonly string[] }
  | { readonly kind: 'full'; readonly values: ReadonlyMap<string, string> };

export type StoreStatus =
  | { readonly state: 'ok' }
  | { readonly state: 'unreachable'; readonly error: string; readonly retryInMs: number };

export interface WatchListener {
  update(update: Update): void;
  /** Reported on every change of health (not on every retry). */
  status(status: StoreStatus): void;
}

/** The files CONFD_CLIENT_CERT, CONFD_CLIENT_KEY and CONFD_CLIENT_CAKEYS name. */
export interface TlsFiles {
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly ca: string | undefined;
}

/** Where an etcd or Consul store is and how to log in: what the backend and the coordinator share. */
export interface StoreOptions {
  /** Addresses from CONFD_NODE/--node, with or without a scheme. */
  readonly nodes: readonly string[];
  /** Scheme for addresses given without one (CONFD_SCHEME). */
  readonly scheme: string;
  readonly tls: TlsFiles;
  /** etcd user (CONFD_USERNAME, CONFD_PASSWORD). */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Consul ACL token. */
  readonly token: string | undefined;
}
