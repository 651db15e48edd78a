// Watching locked keys: the Consul store's blocking-query loop (runConsulWatch: index from the last
// answer, never 0, a fresh read when the index goes back, back-off while no agent answers) over
// a listing that keeps only keys whose Session is set. steward's sessions have Behavior release,
// so a key whose session ended stays in the store, unlocked: to a watcher it is gone.

import type { BackoffOptions } from '../../core/process-control/backoff.ts';
import { runConsulWatch, type Listing, type WatchDeps } from '../../stores/consul/watch.ts';
import type { Update, WatchListener } from '../../stores/types.ts';
import type { ConsulApi } from './api.ts';

export interface HeldKeysWatch {
  /** The API prefix (no leading "/"). */
  readonly prefix: string;
  /** Only the key equal to `prefix` (a recursive read also returns "leader-old" for "leader"). */
  readonly exact: boolean;
  readonly backoff: BackoffOptions;
}

/**
 * Calls `onChange` with the held keys and their values after the first read and after every
 * answer that changed them; returns once `signal` aborts. Errors are retried, never thrown.
 */
export function watchHeldKeys(
  api: ConsulApi,
  watch: HeldKeysWatch,
  onChange: (held: ReadonlyMap<string, string>) => void,
  signal: AbortSignal,
): Promise<void> {
  const deps: WatchDeps = {
    backoff: watch.backoff,
    async list(requested, index, querySignal): Promise<Listing> {
      const listing = await api.list(requested, index, querySignal);
      const values = new Map<string, string>();
      for (const record of listing.records) {
        if (record.session === '' || (watch.exact && record.key !== requested)) continue;
        values.set(record.key, record.value);
      }
      return { values, index: listing.index };
    },
  };
  let held = new Map<string, string>();
  const listener: WatchListener = {
    update(update: Update) {
      if (signal.aborted) return;
      if (update.kind === 'full') {
        held = new Map(update.values);
      } else {
        held = new Map(held);
        for (const key of update.deleted) held.delete(key);
        for (const [key, value] of update.set) held.set(key, value);
      }
      onChange(held);
    },
    // Unreachable agents are retried inside runConsulWatch; the session's own renewals are
    // what tells the cluster part that Consul is gone.
    status() {},
  };
  return runConsulWatch([watch.prefix], undefined, listener, deps, signal).catch(() => undefined);
}
