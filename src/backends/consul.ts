// The Consul backend: confd's consul client semantics (§3.2 of the confd notes) for reads, with
// a watch built on blocking queries (stores/consul/watch.ts) over the Consul store's connection
// (stores/consul/connection.ts: fail-over between agents, TLS, token, deadlines).
//
// read(): one recursive GET per requested key, leading "/" stripped for the API, every returned
// key made absolute and cleaned as confd's path.Join("/", key) does, values as strings (an
// empty value is ""). Matching is Consul's: a plain string prefix, so /app/db also returns
// /app/dbx. A key under another requested key is not fetched twice: the covering key's answer
// holds it. Differences from confd: every agent in CONFD_NODE is used (confd uses the first),
// and the token comes from CONSUL_HTTP_TOKEN through the settings (confd reads the same
// variable itself). confd's -basic-auth is not supported for Consul.

import type { BackoffOptions } from '../core/process-control/backoff.ts';
import { goPathClean } from '../render/index.ts';
import { apiKey, consulConnection, refusedToken } from '../stores/consul/connection.ts';
import { runConsulWatch, type Listing, type PrefixState, type WatchDeps } from '../stores/consul/watch.ts';
import type { Backend, BackendOptions, Cursor, Snapshot, WatchListener } from './backend.ts';
import { selectValues } from './file/updates.ts';

export interface ConsulBackendTuning {
  /**
   * The wait of each blocking query. Consul's default is 5 min; a shorter one notices a silently
   * dead connection (a frozen or partitioned agent) sooner, at one request per key per wait.
   */
  readonly waitMs?: number;
  /** Deadline of a plain read, and the margin added to a blocking query's wait (+ wait/16). */
  readonly requestTimeoutMs?: number;
  /** Delays between attempts while no agent can be reached. */
  readonly backoff?: BackoffOptions;
}

interface ConsulCursor {
  readonly kind: 'steward-consul-cursor';
  /** X-Consul-Index of each key that was read (after dropping covered keys), >= 1. */
  readonly indexes: ReadonlyMap<string, number>;
  readonly values: ReadonlyMap<string, string>;
}

const DEFAULT_WAIT_MS = 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };

function isConsulCursor(cursor: Cursor): cursor is ConsulCursor {
  return typeof cursor === 'object' && cursor !== null && (cursor as { kind?: unknown }).kind === 'steward-consul-cursor';
}

/** Consul's recursive read matches a plain string prefix of the key. */
function covers(requested: string, key: string): boolean {
  return key.startsWith(requested.startsWith('/') ? requested : `/${requested}`);
}

/** The requested keys without duplicates and without keys another requested key covers. */
export function coveringKeys(keys: readonly string[]): string[] {
  // One key per API prefix ("/app" and "app" are the same query), then drop the covered ones.
  const byPrefix = new Map<string, string>();
  for (const key of [...keys].sort()) if (!byPrefix.has(apiKey(key))) byPrefix.set(apiKey(key), key);
  const prefixes = [...byPrefix.keys()];
  return [...byPrefix]
    .filter(([prefix]) => !prefixes.some((other) => other !== prefix && prefix.startsWith(other)))
    .map(([, key]) => key);
}

/** Loads the npm client ahead of the first request (to overlap it with other start-up work). */
export { preloadConsul } from '../stores/consul/connection.ts';

export function createConsulBackend(options: BackendOptions, tuning: ConsulBackendTuning = {}): Backend {
  const connection = consulConnection(options, {
    waitMs: tuning.waitMs ?? DEFAULT_WAIT_MS,
    requestTimeoutMs: tuning.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  });
  const closing = new AbortController();
  const running = new Set<Promise<void>>();

  async function list(requested: string, index: number | undefined, signal: AbortSignal): Promise<Listing> {
    const listing = await connection.list(apiKey(requested), index, signal);
    const values = new Map<string, string>();
    // In Consul's key order; a later key that cleans to the same name wins, as in confd's map.
    for (const pair of listing.pairs) values.set(goPathClean(`/${pair.key}`), pair.bytes);
    return { values, index: listing.index };
  }

  const deps: WatchDeps = { list, backoff: tuning.backoff ?? DEFAULT_BACKOFF };

  return {
    name: 'consul',
    source: connection.source,

    async read(keys: readonly string[], signal: AbortSignal): Promise<Snapshot> {
      if (closing.signal.aborted) throw new Error('the Consul backend is closed');
      const prefixes = coveringKeys(keys);
      const local = new AbortController();
      const combined = AbortSignal.any([signal, closing.signal, local.signal]);
      let listings: Listing[];
      try {
        listings = await Promise.all(prefixes.map((p) => list(p, undefined, combined)));
      } catch (error) {
        local.abort();
        signal.throwIfAborted();
        // A refused token is refused again: exit 78 rather than retrying until the timeout.
        throw refusedToken(error, connection.source);
      }
      const values = new Map<string, string>();
      const indexes = new Map<string, number>();
      prefixes.forEach((prefix, i) => {
        const listing = listings[i] as Listing;
        for (const [key, value] of listing.values) values.set(key, value);
        // A missing or zero index (a Consul bug) becomes 1, which is always safe to block on.
        indexes.set(prefix, Math.max(1, listing.index ?? 1));
      });
      const cursor: ConsulCursor = { kind: 'steward-consul-cursor', indexes, values };
      return { values, cursor };
    },

    watch(keys: readonly string[], from: Cursor, listener: WatchListener, signal: AbortSignal): void {
      const stop = AbortSignal.any([signal, closing.signal]);
      if (stop.aborted) return;
      const prefixes = coveringKeys(keys);
      // Starts right after the read when the cursor holds an index for every key; otherwise
      // (another backend's cursor, other keys) with a fresh read and a `full` update.
      let initial: PrefixState[] | undefined;
      if (isConsulCursor(from) && prefixes.every((p) => from.indexes.has(p))) {
        initial = prefixes.map((requested) => ({
          requested,
          index: from.indexes.get(requested) ?? 1,
          values: selectValues(from.values, [requested], covers),
        }));
      }
      const task = runConsulWatch(prefixes, initial, listener, deps, stop).catch(() => undefined);
      running.add(task);
      void task.finally(() => running.delete(task));
    },

    covers,

    async close(): Promise<void> {
      closing.abort();
      await Promise.allSettled([...running]);
      await connection.close();
    },
  };
}
