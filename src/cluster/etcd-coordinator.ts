// The etcd (v3) coordinator: a session is a lease that steward renews itself, the election is a
// campaign on a key prefix (lowest create revision leads) built on that lease and on
// transactions, member records are keys bound to the lease. Nothing of etcd3's Lease or
// Election is used (see etcd/lease.ts and etcd/campaign.ts for why); every call has a deadline.
// The connection is the etcd store's (stores/etcd/); its client library is loaded when the
// first session opens.

import type { BackoffOptions } from '../core/process-control/backoff.ts';
import type { Clock } from '../core/clock.ts';
import { within } from '../core/process-control/deadline.ts';
import type { EtcdClient, EtcdDriver } from '../stores/etcd/client.ts';
import { etcdConnection, type EtcdOptions } from '../stores/etcd/connection.ts';
import type { Coordinator, Session } from './coordinator.ts';
import { createCaller, isLeaseGone, type Caller } from './etcd/calls.ts';
import { createCampaigns } from './etcd/campaign.ts';
import { observeLeader } from './etcd/leader-observer.ts';
import { grantLease, revokeLease, type Lease } from './etcd/lease.ts';
import { createMembers } from './etcd/members.ts';
import type { SessionContext } from './etcd/session-context.ts';

export type EtcdCoordinatorOptions = EtcdOptions;

export interface EtcdCoordinatorTuning {
  /** Deadline of every call but renewals (grant, transactions, reads, revoke), in ms. */
  readonly requestTimeoutMs: number;
  /** How long opening a watch stream may take, in ms. */
  readonly connectTimeoutMs: number;
  /** A watch stream silent this long has its endpoint asked for its status, which may take keepaliveTimeoutMs. */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /** Between retries of a campaign step, a leader read or a watch, after connection failures. */
  readonly backoff: BackoffOptions;
}

/** Renewals are not in here: they happen every TTL/3 and may take up to TTL/3 (capped by requestTimeoutMs). */
export const ETCD_COORDINATOR_DEFAULT_TUNING: EtcdCoordinatorTuning = {
  requestTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 3000,
  backoff: { initialMs: 250, maxMs: 5000 },
};

export function createEtcdCoordinator(options: EtcdCoordinatorOptions, clock: Clock, tuning: Partial<EtcdCoordinatorTuning> = {}): Coordinator {
  const t: EtcdCoordinatorTuning = { ...ETCD_COORDINATOR_DEFAULT_TUNING, ...tuning };
  const { hosts, source, load } = etcdConnection(options, t);
  const closing = new AbortController();
  const sessions = new Set<Session>();
  let main: Caller | undefined;

  return {
    name: 'etcd',
    source,
    async openSession(sessionOptions, signal) {
      const { ttlMs } = sessionOptions;
      if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`etcd session: the TTL must be a positive number of ms, not ${ttlMs}`);
      const stop = AbortSignal.any([signal, closing.signal]);
      const etcd = await within(load(), Infinity, stop, '');
      const newClient = (list: readonly string[]): EtcdClient => etcd.connect(list);
      main ??= createCaller(etcd, () => newClient(hosts), source, t.requestTimeoutMs);
      const renewals = createCaller(etcd, () => newClient(hosts), source, t.requestTimeoutMs, true);
      let lease: Lease;
      try {
        lease = await grantLease({ etcd, clock, main, renewals, requestTimeoutMs: t.requestTimeoutMs }, ttlMs, stop);
      } catch (error) {
        renewals.close();
        throw error;
      }
      const session = openedSession(etcd, hosts, t, main, renewals, lease, newClient, () => sessions.delete(session));
      sessions.add(session);
      if (closing.signal.aborted) {
        await session.close();
        throw closing.signal.reason;
      }
      return session;
    },
    async close() {
      closing.abort(new Error('the etcd coordinator is closed'));
      await Promise.allSettled([...sessions].map((s) => s.close()));
      sessions.clear();
      main?.close();
    },
  };
}

function openedSession(
  etcd: EtcdDriver,
  hosts: readonly string[],
  t: EtcdCoordinatorTuning,
  main: Caller,
  renewals: Caller,
  lease: Lease,
  newClient: (hosts: readonly string[]) => EtcdClient,
  onClosed: () => void,
): Session {
  const closed = new AbortController();
  const work = new Set<Promise<unknown>>();
  // A "lease not found" answer to any call is proof that the session is gone.
  const leaseAware: Caller = {
    async call(what, fn, signal, timeoutMs) {
      try {
        return await main.call(what, fn, signal, timeoutMs);
      } catch (error) {
        if (isLeaseGone(etcd, error)) lease.markLost(`etcd does not know the lease any more (found when trying to ${what})`);
        throw error;
      }
    },
    close: () => main.close(),
  };
  const ctx: SessionContext = {
    etcd,
    hosts,
    main: leaseAware,
    lease,
    closed: closed.signal,
    connectTimeoutMs: t.connectTimeoutMs,
    backoff: t.backoff,
    newClient,
    track(p) {
      work.add(p);
      void p.finally(() => work.delete(p));
    },
  };
  const campaigns = createCampaigns(ctx);
  const members = createMembers(ctx);
  let closing: Promise<void> | undefined;

  return {
    id: lease.hex,
    lastRenewalSentAt: () => lease.lastRenewalSentAt(),
    lost: lease.lost,
    register: members.register,
    update: members.update,
    watchPrefix: members.watchPrefix,
    campaign: campaigns.campaign,
    observe: (electionKey, onLeader, signal) => observeLeader(ctx, electionKey, onLeader, signal),
    resign: campaigns.resign,
    close() {
      closing ??= (async () => {
        lease.stop();
        closed.abort(new Error(`the etcd session (lease ${lease.hex}) is closed`));
        // Revoked even when presumed lost: etcd may still hold it (and its keys) for a while.
        await revokeLease(main, lease, new AbortController().signal).catch(() => {});
        await Promise.allSettled([...work]);
        renewals.close();
        onClosed();
      })();
      return closing;
    },
  };
}
