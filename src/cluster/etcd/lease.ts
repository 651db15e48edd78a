// A session's lease, kept alive by steward rather than by etcd3's lease keep-alive: that one
// renews on a stream without any deadline (a frozen etcd stalls it silently) and reports the
// loss only at about 2 x TTL after the last good renewal. Here each renewal is one short
// keep-alive stream with its own deadline, on a client of its own, and the lease counts as lost
// as soon as etcd says it is gone, or once renewals have failed for a whole TTL (from the time
// the last good one was sent, which is a lower bound of etcd's own expiry).

import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { EtcdDriver } from '../../stores/etcd/client.ts';
import { isLeaseGone, type Caller } from './calls.ts';
import { errorText } from '../../core/error-text.ts';

export interface Lease {
  /** The lease id as etcd's API takes it (decimal). */
  readonly id: string;
  /** The same id in lower-case hex, as etcdctl shows it: the session id and the fencing token. */
  readonly hex: string;
  lastRenewalSentAt(): number;
  readonly lost: Promise<string>;
  /** Aborts (with an Error) once the lease is lost or the session closes. */
  readonly ended: AbortSignal;
  /** Another call learned from etcd that the lease is gone. */
  markLost(reason: string): void;
  /** Stops renewing (the session closes); `lost` stays pending. */
  stop(): void;
}

export interface LeaseContext {
  readonly etcd: EtcdDriver;
  readonly clock: Clock;
  /** For grant and revoke. */
  readonly main: Caller;
  /** For renewals only, so that a failed renewal can drop its connection without hurting others. */
  readonly renewals: Caller;
  /** The longest any call may take; a renewal gets the shorter of this and TTL/3. */
  readonly requestTimeoutMs: number;
}

/** The lease's TTL as etcd takes it: whole seconds, rounded up, at least one. */
export function ttlSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

export async function grantLease(ctx: LeaseContext, ttlMs: number, signal: AbortSignal): Promise<Lease> {
  const { clock, etcd } = ctx;
  const sentAt = clock.monotonic();
  const id = await ctx.main.call(
    `grant a lease of ${ttlSeconds(ttlMs)} s`,
    (client, deadline) => client.grantLease(ttlSeconds(ttlMs), deadline),
    signal,
  );
  const hex = BigInt(id).toString(16);
  if (signal.aborted) {
    // The caller gave up while the grant was answered: nobody will renew it, so revoke it.
    void revokeLease(ctx.main, { id, hex }, new AbortController().signal).catch(() => {});
    throw signal.reason;
  }

  // Renew every third of the TTL; a renewal may take up to that long, so a hung one is given up
  // before the next is due and two never overlap.
  const interval = ttlMs / 3;
  const renewalTimeoutMs = Math.min(interval, ctx.requestTimeoutMs);
  const ending = new AbortController();
  let resolveLost: (reason: string) => void = () => {};
  const lost = new Promise<string>((resolve) => (resolveLost = resolve));
  let lastSent = sentAt;
  let lastError = 'none';
  let renewTimer: TimerHandle | undefined;
  let expiryTimer: TimerHandle | undefined;

  const end = (reason: Error): void => {
    if (ending.signal.aborted) return;
    renewTimer?.cancel();
    expiryTimer?.cancel();
    ending.abort(reason);
  };
  const lose = (reason: string): void => {
    if (ending.signal.aborted) return;
    end(new Error(`the etcd session (lease ${hex}) is lost: ${reason}`));
    resolveLost(reason);
  };

  const armExpiry = (): void => {
    expiryTimer?.cancel();
    expiryTimer = clock.setTimer(Math.max(0, lastSent + ttlMs - clock.monotonic()), checkExpiry);
  };
  const checkExpiry = (): void => {
    if (ending.signal.aborted) return;
    if (clock.monotonic() < lastSent + ttlMs) {
      armExpiry();
      return;
    }
    lose(`no keep-alive succeeded for ${ttlMs} ms (the TTL), so the lease must be presumed expired; last error: ${lastError}`);
  };

  const schedule = (delayMs: number): void => {
    if (ending.signal.aborted) return;
    renewTimer = clock.setTimer(Math.max(0, delayMs), () => void renew());
  };
  const renew = async (): Promise<void> => {
    if (ending.signal.aborted) return;
    const started = clock.monotonic();
    try {
      const ttl = await ctx.renewals.call(
        `renew lease ${hex}`,
        (client, deadline) => client.keepAliveOnce(id, deadline),
        ending.signal,
        renewalTimeoutMs,
      );
      if (ending.signal.aborted) return;
      if (ttl <= 0) {
        lose('etcd answered the keep-alive with TTL 0: the lease was revoked or has expired');
        return;
      }
      lastSent = started;
      armExpiry();
      schedule(started + interval - clock.monotonic());
    } catch (error) {
      if (ending.signal.aborted) return;
      if (isLeaseGone(etcd, error)) {
        lose('etcd does not know the lease any more: it was revoked or has expired');
        return;
      }
      lastError = errorText(error);
      // Sooner than the regular interval, but never more than about two attempts per interval.
      schedule(started + interval / 2 - clock.monotonic());
    }
  };

  armExpiry();
  schedule(interval);

  return {
    id,
    hex,
    lastRenewalSentAt: () => lastSent,
    lost,
    ended: ending.signal,
    markLost: lose,
    stop: () => end(new Error(`the etcd session (lease ${hex}) is closed`)),
  };
}

export function revokeLease(main: Caller, lease: Pick<Lease, 'id' | 'hex'>, signal: AbortSignal): Promise<unknown> {
  return main.call(`revoke lease ${lease.hex}`, (client, deadline) => client.revokeLease(lease.id, deadline), signal);
}
