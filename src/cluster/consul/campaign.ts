// One campaign for a Consul lock, the way Consul's lock recipe (docs: "Application leader
// election with sessions") runs it:
//
// 1. PUT ?acquire=<session> with the leader id as the value;
// 2. acquired: read the key back; its LockIndex is the fencing token (Consul increments it
//    on every acquire by a new session and keeps it across releases, so every leadership
//    gets a larger one as long as nobody deletes or plainly overwrites the key);
// 3. refused while another session holds it: a blocking query on the key until its Session is
//    empty, then acquire again at once;
// 4. refused while nobody holds it at the next read: either the holder let go between the
//    acquire and the read (a resign: acquire again at once), or, when that happens twice in a
//    row, a lock-delay is in force (the last holder's session ended
//    less than its LockDelay ago, and Consul refuses every acquire until then). Consul gives no
//    way to learn the remaining delay, so the next attempt waits steward's own LockDelay (every
//    replica sets the same one), then longer ones up to Consul's 60 s cap: never a tight loop.
//
// An acquire that Consul answers with an error may mean that the session is gone (Consul says
// 500 "invalid session"); the session checks itself with a renewal before the next attempt.

import { exponentialBackoff, type Backoff, type BackoffOptions } from '../../core/process-control/backoff.ts';
import { type Clock } from '../../core/clock.ts';
import { clockSleep } from '../../core/process-control/clock-waits.ts';
import { ConsulResponseError } from '../../stores/consul/kv-client.ts';
import type { ConsulApi } from './api.ts';
import { watchHeldKeys } from './held-keys.ts';

/** Consul caps every lock-delay at 60 s (structs.MaxLockDelay). */
export const MAX_LOCK_DELAY_MS = 60_000;

export interface CampaignDeps {
  readonly api: ConsulApi;
  readonly clock: Clock;
  readonly sessionId: string;
  readonly lockDelayMs: number;
  readonly backoff: BackoffOptions;
  /** Called before each acquire is sent (the caller releases on abort if one was). */
  readonly onAcquireSent: () => void;
  /** Renews the session now; rejects with the loss when Consul no longer knows it. */
  readonly verify: () => Promise<void>;
}

/** Resolves with the fencing token once `sessionId` holds `key`; rejects with `signal`'s reason. */
export async function runCampaign(key: string, value: string, deps: CampaignDeps, signal: AbortSignal): Promise<string> {
  const failures = exponentialBackoff(deps.backoff);
  const delays = lockDelayBackoff(deps.lockDelayMs);
  let refusedWhileFree = false;
  for (;;) {
    signal.throwIfAborted();
    let acquired: boolean;
    try {
      deps.onAcquireSent();
      acquired = await deps.api.acquire(key, deps.sessionId, value, signal);
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof ConsulResponseError) await deps.verify();
      await clockSleep(deps.clock, failures.next(), signal);
      continue;
    }
    failures.reset();
    if (acquired) {
      const token = await fencingToken(key, deps, signal);
      if (token !== undefined) return token;
      // Held by someone else already: this session must have lost it; the next acquire tells.
      continue;
    }
    const free = await untilFree(key, deps, signal);
    if (free === 'freed') {
      delays.reset();
      refusedWhileFree = false;
    } else if (!refusedWhileFree) {
      refusedWhileFree = true;
    } else {
      await clockSleep(deps.clock, delays.next(), signal);
    }
  }
}

/**
 * Consul's lock-delay cannot be read; waits start at steward's own and grow to Consul's cap.
 * The jitter (which spreads replicas that saw the same release) only ever adds: a first wait
 * shorter than the lock-delay would be refused again and double the next one.
 */
export function lockDelayBackoff(lockDelayMs: number): Pick<Backoff, 'next' | 'reset'> {
  const base = exponentialBackoff({ initialMs: Math.max(50, lockDelayMs), maxMs: MAX_LOCK_DELAY_MS, jitter: 0 });
  return {
    next: () => Math.round(base.next() * (1 + Math.random() / 10)),
    reset: () => base.reset(),
  };
}

/** The key's LockIndex when this session holds it, undefined when another one does. */
async function fencingToken(key: string, deps: CampaignDeps, signal: AbortSignal): Promise<string | undefined> {
  const failures = exponentialBackoff(deps.backoff);
  for (;;) {
    signal.throwIfAborted();
    try {
      const record = await deps.api.read(key, signal);
      return record !== undefined && record.session === deps.sessionId ? String(record.lockIndex) : undefined;
    } catch {
      signal.throwIfAborted();
      await clockSleep(deps.clock, failures.next(), signal);
    }
  }
}

/** 'was-free' when nobody held the key at the first read, 'freed' when its holder let go later. */
function untilFree(key: string, deps: CampaignDeps, signal: AbortSignal): Promise<'was-free' | 'freed'> {
  return new Promise((resolve, reject) => {
    const local = new AbortController();
    const stop = AbortSignal.any([signal, local.signal]);
    let first = true;
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void watchHeldKeys(
      deps.api,
      { prefix: key, exact: true, backoff: deps.backoff },
      (held) => {
        const outcome = first ? 'was-free' : 'freed';
        first = false;
        if (held.has(key)) return;
        signal.removeEventListener('abort', onAbort);
        local.abort();
        resolve(outcome);
      },
      stop,
    );
  });
}
