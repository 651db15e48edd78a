// What a session's parts (campaigns, membership) share: the driver, the client for unary calls,
// the lease, and the session's end; plus retrying with back-off and watching from a revision
// with the etcd store's watch, which already resumes from the right revision, resyncs after
// compaction and fails over (etcd3's own Watcher does none of that correctly).

import { exponentialBackoff, sleep, type BackoffOptions } from '../../core/process-control/backoff.ts';
import type { EtcdClient, EtcdDriver } from '../../stores/etcd/client.ts';
import { readAtOneRevision } from '../../stores/etcd/read.ts';
import { runWatch } from '../../stores/etcd/watch.ts';
import type { Update } from '../../stores/types.ts';
import { isTransient, type Caller } from './calls.ts';
import type { Lease } from './lease.ts';

export interface SessionContext {
  readonly etcd: EtcdDriver;
  readonly hosts: readonly string[];
  readonly main: Caller;
  readonly lease: Lease;
  /** Aborts when the session closes (not when it is lost: observing may go on then). */
  readonly closed: AbortSignal;
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffOptions;
  /** A new client of its own for `hosts` (each watch owns one and closes it). */
  newClient(hosts: readonly string[]): EtcdClient;
  /** Background work that close() waits for. */
  track(work: Promise<unknown>): void;
}

/**
 * `attempt()` until it succeeds, with back-off between tries, one try at a time. Rejects when
 * `signal` aborts, or with the first error `giveUp` accepts (by default none).
 */
export async function persist<T>(
  ctx: Pick<SessionContext, 'backoff'>,
  attempt: () => Promise<T>,
  signal: AbortSignal,
  giveUp: (error: unknown) => boolean = () => false,
): Promise<T> {
  const backoff = exponentialBackoff(ctx.backoff);
  for (;;) {
    if (signal.aborted) throw signal.reason;
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (giveUp(error)) throw error;
      await sleep(backoff.next(), signal);
    }
  }
}

/** For persist(): anything but a connection failure ends the attempts. */
export function unlessTransient(ctx: Pick<SessionContext, 'etcd'>): (error: unknown) => boolean {
  return (error) => !isTransient(ctx.etcd, error);
}

/** Reads every key under `keys` at one revision (a prefix read with etcd's key rule). */
export function readKeys(
  ctx: Pick<SessionContext, 'main'>,
  keys: readonly string[],
  signal: AbortSignal,
): Promise<{ readonly values: ReadonlyMap<string, string>; readonly revision: number }> {
  return ctx.main.call(`read ${keys.join(', ')}`, (client, deadline) => readAtOneRevision(client, keys, deadline), signal);
}

/** Reports every change under `keys` after revision `from` until `signal` aborts; never fails. */
export function watchFrom(ctx: SessionContext, keys: readonly string[], from: number, onUpdate: (update: Update) => void, signal: AbortSignal): void {
  const run = runWatch(
    {
      hosts: ctx.hosts,
      client: async (index) => ctx.newClient([ctx.hosts[index]!]),
      read: (k, s) => readKeys(ctx, k, s),
      connectTimeoutMs: ctx.connectTimeoutMs,
      backoff: ctx.backoff,
    },
    keys,
    from,
    // Outages need no report here: a session that cannot reach etcd learns it from its lease.
    { update: onUpdate, status: () => {} },
    signal,
  );
  ctx.track(run);
}
