// The rollout's cluster-wide semaphore: STEWARD_ROLLOUT_PARALLEL slots, each a lock key in the
// election's store held by a session (etcd lease, Consul session, file heartbeat). A replica
// campaigns for every slot at once and keeps the first it wins; the others are abandoned (or
// given back at once, when won in the same moment). The slots are the coordinators' own
// campaigns, so the semaphore inherits their fencing and loss detection on every store.

import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { Coordinator, Session } from '../cluster/coordinator.ts';
import { errorText } from '../core/error-text.ts';
import { clockSleep } from '../core/process-control/clock-waits.ts';

export interface SemaphoreOptions {
  readonly open: () => Promise<Coordinator>;
  /** `<STEWARD_KEY_PREFIX>/rollout/<STEWARD_ROLLOUT_LOCK>`. */
  readonly scope: string;
  readonly slots: number;
  readonly instanceId: string;
  readonly ttlMs: number;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface HeldSlot {
  readonly key: string;
  /** Resolves with a reason once the slot is lost (session invalidated, lease expired, store gone). */
  readonly lost: Promise<string>;
  /** Whether the slot is still held, as far as steward knows. */
  held(): boolean;
}

export interface Semaphore {
  /** Waits for a slot; rejects only when `signal` aborts. */
  acquire(signal: AbortSignal): Promise<HeldSlot>;
  /** Gives the slot back (a lost slot has nothing to give back). */
  release(slot: HeldSlot): Promise<void>;
  /** Ends the session: whatever it holds goes with it. */
  close(): Promise<void>;
}

export function slotKey(scope: string, slot: number): string {
  return `${scope}/slot-${slot}`;
}

export function createSemaphore(o: SemaphoreOptions): Semaphore {
  let coordinator: Coordinator | undefined;
  let session: Session | undefined;
  let sessionLost = false;
  const closing = new AbortController();

  async function currentSession(signal: AbortSignal): Promise<Session> {
    if (session !== undefined && !sessionLost) return session;
    coordinator ??= await o.open();
    const s = await coordinator.openSession({ ttlMs: o.ttlMs, instanceId: o.instanceId }, AbortSignal.any([signal, closing.signal]));
    session = s;
    sessionLost = false;
    void s.lost.then(() => {
      if (session === s) sessionLost = true;
    });
    return s;
  }

  /** One attempt on every slot at once, on one session. */
  async function attempt(s: Session, signal: AbortSignal): Promise<HeldSlot | undefined> {
    const abandon = new AbortController();
    const campaignSignal = AbortSignal.any([signal, abandon.signal, closing.signal]);
    const keys = Array.from({ length: o.slots }, (_, i) => slotKey(o.scope, i));
    const campaigns = keys.map((key) => ({ key, won: s.campaign(key, o.instanceId, campaignSignal).elected.then(() => key) }));
    const outcomes = campaigns.map((c) => c.won.catch(() => undefined));
    let first: string | undefined;
    try {
      first = await Promise.any(campaigns.map((c) => c.won));
    } catch {
      return undefined;
    } finally {
      abandon.abort();
    }
    // Another slot won in the same moment goes back at once.
    for (const [i, outcome] of outcomes.entries()) {
      const key = keys[i] ?? '';
      void outcome.then((won) => {
        if (won !== undefined && won !== first) void s.resign(key).catch(() => {});
      });
    }
    let lostNow = false;
    const lost = s.lost.then((reason) => {
      lostNow = true;
      return reason;
    });
    return { key: first, lost, held: () => !lostNow };
  }

  return {
    async acquire(signal) {
      for (;;) {
        signal.throwIfAborted();
        let s: Session;
        try {
          s = await currentSession(signal);
        } catch (error) {
          signal.throwIfAborted();
          o.log.warn('cannot open a session for the rollout lock; trying again', { error: errorText(error) });
          await clockSleep(o.clock, Math.max(500, o.ttlMs / 3), signal);
          continue;
        }
        const slot = await attempt(s, signal);
        if (slot !== undefined) return slot;
        signal.throwIfAborted();
        // The session was lost while waiting: a new one tries again.
        await clockSleep(o.clock, 100, signal);
      }
    },
    async release(slot) {
      if (!slot.held() || session === undefined) return;
      await session.resign(slot.key).catch((error: unknown) => o.log.warn('cannot give the rollout lock back; it ends with the session', { error: errorText(error) }));
    },
    async close() {
      closing.abort();
      const s = session;
      session = undefined;
      await s?.close().catch(() => {});
      await coordinator?.close().catch(() => {});
    },
  };
}
