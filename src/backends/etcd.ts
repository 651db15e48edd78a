// The etcd (v3) backend, with confd's etcdv3 semantics: reads at one revision, prefix watches
// from the read's revision, `/app/db` covering `/app/db/...` but not `/app/dbx`. The connection,
// reads and watches are the etcd store's (stores/etcd/); its client library is loaded on first use.

import type { BackoffOptions } from '../core/process-control/backoff.ts';
import { within } from '../core/process-control/deadline.ts';
import { etcdAuthFailure } from '../stores/auth-failure.ts';
import { messageOf, type EtcdClient } from '../stores/etcd/client.ts';
import { etcdConnection } from '../stores/etcd/connection.ts';
import { covers } from '../stores/etcd/keys.ts';
import { readAtOneRevision, type ReadResult } from '../stores/etcd/read.ts';
import { runWatch } from '../stores/etcd/watch.ts';
import type { Backend, BackendOptions, Cursor, Snapshot, WatchListener } from './backend.ts';

/** Starts loading the etcd client library early; createEtcdBackend works without it. */
export { preloadEtcd } from '../stores/etcd/connection.ts';

export interface EtcdTuning {
  /** Deadline of a read (all its transactions) and of every other call, in ms. */
  readonly requestTimeoutMs: number;
  /** How long opening a watch stream and creating its watchers may take, in ms. */
  readonly connectTimeoutMs: number;
  /**
   * Keepalive: after this long without a word on a watch stream, in ms, the client asks the
   * endpoint for its status. It is what notices a frozen or partitioned etcd under an idle watch.
   */
  readonly keepaliveTimeMs: number;
  /** How long that status call may go unanswered before the watch's connection counts as dead, in ms. */
  readonly keepaliveTimeoutMs: number;
  /** Delays between reconnection rounds (after every endpoint failed). */
  readonly backoff: BackoffOptions;
}

/** confd's etcdv3 client uses a 5 s dial timeout and 10 s / 3 s keepalive; reads get 5 s. */
export const ETCD_DEFAULT_TUNING: EtcdTuning = {
  requestTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 3000,
  backoff: { initialMs: 500, maxMs: 15_000 },
};

export function createEtcdBackend(options: BackendOptions, tuning: Partial<EtcdTuning> = {}): Backend {
  const t: EtcdTuning = { ...ETCD_DEFAULT_TUNING, ...tuning };
  const { hosts, source, load } = etcdConnection(options, t);
  const closing = new AbortController();
  const watches = new Set<Promise<void>>();
  let readClient: Promise<EtcdClient> | undefined;

  const newClient = async (list: readonly string[]): Promise<EtcdClient> => {
    const driver = await load();
    if (closing.signal.aborted) throw new Error('the etcd backend is closed');
    return driver.connect(list);
  };

  const read = async (keys: readonly string[], signal: AbortSignal): Promise<ReadResult> => {
    const abort = AbortSignal.any([signal, closing.signal]);
    readClient ??= newClient(hosts);
    // The deadline starts once the client is loaded: it bounds etcd, not module loading.
    const client = await within(readClient, Infinity, abort, '');
    const deadline = Date.now() + t.requestTimeoutMs;
    try {
      return await within(readAtOneRevision(client, keys, deadline, 'bytes'), deadline - Date.now(), abort, `no answer within ${t.requestTimeoutMs} ms`);
    } catch (error) {
      if (abort.aborted) throw abort.reason;
      if ((await load()).isAuthFailure(error)) throw etcdAuthFailure(source, messageOf(error));
      throw new Error(`cannot read ${keys.length} key(s) from etcd at ${source}: ${messageOf(error)}`, { cause: error });
    }
  };

  return {
    name: 'etcd',
    source,
    async read(keys: readonly string[], signal: AbortSignal): Promise<Snapshot> {
      const result = await read(keys, signal);
      return { values: result.values, cursor: result.revision };
    },
    watch(keys: readonly string[], from: Cursor, listener: WatchListener, signal: AbortSignal): void {
      const revision = revisionOf(from);
      if (closing.signal.aborted || signal.aborted) return;
      const run = runWatch(
        {
          hosts,
          client: (index) => newClient([hosts[index]!]),
          read,
          valuesAs: 'bytes',
          connectTimeoutMs: t.connectTimeoutMs,
          backoff: t.backoff,
        },
        keys,
        revision,
        listener,
        AbortSignal.any([signal, closing.signal]),
      );
      watches.add(run);
      void run.finally(() => watches.delete(run));
    },
    covers,
    async close(): Promise<void> {
      closing.abort(new Error('the etcd backend is closed'));
      await Promise.allSettled([...watches]);
      const client = await readClient?.catch(() => undefined);
      client?.close();
    },
  };
}

/** The revision a read returned (the cursor); anything else is a caller's bug. */
function revisionOf(cursor: Cursor): number {
  const n = typeof cursor === 'number' ? cursor : typeof cursor === 'bigint' || typeof cursor === 'string' ? Number(cursor) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`etcd watch: ${String(cursor)} is not a revision from read()`);
  return n;
}
