// A steward Consul session: one TTL session (Behavior release, short LockDelay, no health
// checks) that holds the election lock and the member records; why it is built that way is in
// consul-coordinator.ts.
//
// Renewals: one every TTL/3 after the last successful one was sent, each with a deadline of at
// most TTL/3 per agent; a failed one is retried sooner (TTL/15, growing to TTL/3). The session
// is reported lost when a renewal answers 404 (Consul no longer knows it) or when no renewal
// sent in the last TTL succeeded: from then on Consul may have invalidated it (it does so
// between TTL and 2 x TTL after the last renewal it received).

import { exponentialBackoff, type BackoffOptions } from '../../core/process-control/backoff.ts';
import { type Clock, type TimerHandle } from '../../core/clock.ts';
import { clockSleep } from '../../core/process-control/clock-waits.ts';
import { apiKey } from '../../stores/consul/connection.ts';
import { ConsulResponseError } from '../../stores/consul/kv-client.ts';
import type { Campaign, Session } from '../coordinator.ts';
import type { ConsulApi } from './api.ts';
import { lockDelayBackoff, MAX_LOCK_DELAY_MS, runCampaign } from './campaign.ts';
import { watchHeldKeys } from './held-keys.ts';
import { errorText } from '../../core/error-text.ts';

export interface ConsulSessionSettings {
  readonly id: string;
  readonly ttlMs: number;
  readonly lockDelayMs: number;
  /** Clock.monotonic() when the create request was sent: the first "renewal". */
  readonly createdAt: number;
  readonly backoff: BackoffOptions;
  /** Called once close() has finished. */
  readonly onClosed?: () => void;
}

export class ConsulSession implements Session {
  readonly id: string;
  readonly lost: Promise<string>;
  readonly #api: ConsulApi;
  readonly #clock: Clock;
  readonly #settings: ConsulSessionSettings;
  #resolveLost: (reason: string) => void = () => {};
  #lostReason: string | undefined;
  /** Aborted when the session is lost or closed: renewals and campaigns stop. */
  readonly #scope = new AbortController();
  /** Aborted by close(): watches and observers stop (they outlive a lost session). */
  readonly #watching = new AbortController();
  #lastSent: number;
  #lossTimer: TimerHandle | undefined;
  #lastError: string | undefined;
  #verifying: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Election keys an acquire was sent for, with the value: close() releases them. */
  readonly #elections = new Map<string, string>();
  /** The last campaign per key: the next one waits for it to settle (and release on abort). */
  readonly #campaigns = new Map<string, Promise<void>>();
  readonly #members = new Set<string>();
  readonly #tasks = new Set<Promise<unknown>>();

  constructor(api: ConsulApi, clock: Clock, settings: ConsulSessionSettings) {
    this.id = settings.id;
    this.#api = api;
    this.#clock = clock;
    this.#settings = settings;
    this.#lastSent = settings.createdAt;
    this.lost = new Promise((resolve) => {
      this.#resolveLost = resolve;
    });
    this.#armLossTimer();
    this.#track(this.#renewLoop());
  }

  lastRenewalSentAt(): number {
    return this.#lastSent;
  }

  async register(key: string, value: string): Promise<boolean> {
    const name = apiKey(key);
    const signal = this.#usable();
    // ?acquire is create-if-absent-or-ours: it creates a missing key, lets the holder rewrite
    // it, takes over a record whose session ended (released), and refuses a live holder.
    const delays = lockDelayBackoff(this.#settings.lockDelayMs);
    const start = this.#clock.monotonic();
    for (;;) {
      if (await this.#acquire(name, value, signal)) {
        this.#members.add(name);
        return true;
      }
      const record = await this.#api.read(name, signal);
      if (record !== undefined && record.session !== '' && record.session !== this.id) return false;
      // Nobody holds it and Consul still refused: the lock-delay of the record's last owner,
      // whose session has just ended. It lasts at most 60 s.
      if (this.#clock.monotonic() - start > MAX_LOCK_DELAY_MS + this.#api.requestTimeoutMs) {
        throw new Error(`Consul key ${key}: refused to session ${this.id} for over ${MAX_LOCK_DELAY_MS} ms although no session holds it`);
      }
      await clockSleep(this.#clock, delays.next(), signal);
    }
  }

  async update(key: string, value: string): Promise<void> {
    const name = apiKey(key);
    if (!this.#members.has(name)) throw new Error(`Consul key ${key}: not registered by session ${this.id}`);
    const signal = this.#usable();
    // The holder re-acquiring rewrites the value and keeps the lock; a plain PUT would too, but
    // would not notice a record that is no longer ours.
    if (!(await this.#acquire(name, value, signal))) {
      throw new Error(`Consul key ${key}: no longer held by session ${this.id}`);
    }
  }

  watchPrefix(prefix: string, onChange: (entries: ReadonlyMap<string, string>) => void, signal: AbortSignal): void {
    const stop = AbortSignal.any([signal, this.#watching.signal]);
    if (stop.aborted) return;
    const lead = prefix.startsWith('/') ? '/' : '';
    let last: ReadonlyMap<string, string> | undefined;
    this.#track(
      watchHeldKeys(
        this.#api,
        { prefix: apiKey(prefix), exact: false, backoff: this.#settings.backoff },
        (held) => {
          // Keys come back in the caller's form ("/a/b" for a prefix "/a/").
          const entries = new Map([...held].map(([key, value]) => [`${lead}${key}`, value]));
          if (last !== undefined && sameEntries(last, entries)) return;
          last = entries;
          onChange(entries);
        },
        stop,
      ),
    );
  }

  campaign(electionKey: string, value: string, signal: AbortSignal): Campaign {
    const name = apiKey(electionKey);
    const stop = AbortSignal.any([signal, this.#scope.signal]);
    const previous = this.#campaigns.get(name) ?? Promise.resolve();
    let sent = false;
    const elected = (async () => {
      await settledOrAborted(previous, stop);
      try {
        const token = await runCampaign(
          name,
          value,
          {
            api: this.#api,
            clock: this.#clock,
            sessionId: this.id,
            lockDelayMs: this.#settings.lockDelayMs,
            backoff: this.#settings.backoff,
            onAcquireSent: () => {
              sent = true;
              this.#elections.set(name, value);
            },
            verify: () => this.#verify(),
          },
          stop,
        );
        // An abort that came with the answer still counts: a rejected campaign never leads.
        stop.throwIfAborted();
        return { fencingToken: token };
      } catch (error) {
        // An acquire cut short by the abort may still have been applied: give the key back.
        if (sent && !this.#scope.signal.aborted) await this.#releaseQuietly(name);
        throw stop.aborted ? stop.reason : error;
      }
    })();
    const settled = elected.then(
      () => undefined,
      () => undefined,
    );
    this.#campaigns.set(name, settled);
    this.#track(settled);
    return { elected };
  }

  observe(electionKey: string, onLeader: (leader: string | undefined) => void, signal: AbortSignal): void {
    const stop = AbortSignal.any([signal, this.#watching.signal]);
    if (stop.aborted) return;
    const name = apiKey(electionKey);
    let first = true;
    let last: string | undefined;
    this.#track(
      watchHeldKeys(
        this.#api,
        { prefix: name, exact: true, backoff: this.#settings.backoff },
        (held) => {
          const leader = held.get(name);
          if (!first && leader === last) return;
          first = false;
          last = leader;
          onLeader(leader);
        },
        stop,
      ),
    );
  }

  async resign(electionKey: string): Promise<void> {
    const name = apiKey(electionKey);
    // Release (not destroy) starts no lock-delay: another campaign can win at once. Tried even
    // after the session was lost: it may still exist until Consul expires it, and releasing
    // a key this session does not hold changes nothing.
    await this.#api.release(name, this.id, this.#elections.get(name) ?? '', new AbortController().signal);
    this.#elections.delete(name);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#scope.abort(new Error(`Consul session ${this.id} was closed`));
    this.#watching.abort();
    this.#lossTimer?.cancel();
    await Promise.allSettled([...this.#tasks]);
    // Each request has its own deadline (the scope is aborted by now). Also after a loss: a
    // session given up for unanswered renewals may still exist and hold keys. Releasing the
    // election keys before the destroy spares the next leader the lock-delay; deleting the
    // member records makes them vanish instead of staying behind released.
    const signal = new AbortController().signal;
    await Promise.allSettled([
      ...[...this.#elections].map(([key, value]) => this.#api.release(key, this.id, value, signal)),
      ...[...this.#members].map(async (key) => {
        const record = await this.#api.read(key, signal);
        // Still ours, so nobody else can have written it between the read and the delete.
        if (record?.session === this.id) await this.#api.deleteIfUnchanged(key, record.modifyIndex, signal);
      }),
    ]);
    await this.#api.destroySession(this.id, signal).catch(() => undefined);
    this.#markLost('the session was closed');
    this.#settings.onClosed?.();
  }

  /** The scope's signal, or throws when the session is already lost or closed. */
  #usable(): AbortSignal {
    this.#scope.signal.throwIfAborted();
    return this.#scope.signal;
  }

  /** ?acquire; a Consul error makes the session check itself (it may be gone). */
  async #acquire(key: string, value: string, signal: AbortSignal): Promise<boolean> {
    try {
      return await this.#api.acquire(key, this.id, value, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof ConsulResponseError) await this.#verify();
      throw error;
    }
  }

  async #releaseQuietly(key: string): Promise<void> {
    const signal = new AbortController().signal;
    await this.#api.release(key, this.id, this.#elections.get(key) ?? '', signal).catch(() => undefined);
    this.#elections.delete(key);
  }

  /** A renewal now; rejects with the loss if Consul no longer knows the session. */
  #verify(): Promise<void> {
    this.#verifying ??= this.#renewOnce().finally(() => {
      this.#verifying = undefined;
    }).then(() => undefined);
    return this.#verifying.then(() => this.#scope.signal.throwIfAborted());
  }

  async #renewLoop(): Promise<void> {
    const interval = this.#settings.ttlMs / 3;
    const retry = exponentialBackoff({ initialMs: interval / 5, maxMs: interval, jitter: 0.1 });
    const signal = this.#scope.signal;
    let wait = interval;
    for (;;) {
      try {
        await clockSleep(this.#clock, wait, signal);
      } catch {
        return;
      }
      const outcome = await this.#renewOnce();
      if (outcome === 'gone') return;
      if (outcome === 'renewed') {
        retry.reset();
        wait = this.#lastSent + interval - this.#clock.monotonic();
      } else {
        wait = retry.next();
      }
    }
  }

  async #renewOnce(): Promise<'renewed' | 'failed' | 'gone'> {
    const signal = this.#scope.signal;
    if (signal.aborted) return 'gone';
    const sentAt = this.#clock.monotonic();
    const timeoutMs = Math.min(this.#api.requestTimeoutMs, this.#settings.ttlMs / 3);
    try {
      await this.#api.renewSession(this.id, timeoutMs, signal);
    } catch (error) {
      if (signal.aborted) return 'gone';
      if (error instanceof ConsulResponseError && error.status === 404) {
        this.#markLost(`Consul no longer knows session ${this.id} (renewal answered 404): it was destroyed, expired or invalidated`);
        return 'gone';
      }
      this.#lastError = errorText(error);
      return 'failed';
    }
    if (sentAt > this.#lastSent && this.#lostReason === undefined) {
      this.#lastSent = sentAt;
      this.#armLossTimer();
    }
    return 'renewed';
  }

  #armLossTimer(): void {
    this.#lossTimer?.cancel();
    const ttl = this.#settings.ttlMs;
    this.#lossTimer = this.#clock.setTimer(this.#lastSent + ttl - this.#clock.monotonic(), () => {
      const last = this.#lastError === undefined ? '' : `; last error: ${this.#lastError}`;
      this.#markLost(`no renewal of Consul session ${this.id} succeeded for its TTL of ${ttl} ms${last}`);
    });
  }

  #markLost(reason: string): void {
    if (this.#lostReason !== undefined) return;
    this.#lostReason = reason;
    this.#lossTimer?.cancel();
    this.#scope.abort(new Error(`Consul session ${this.id} lost: ${reason}`));
    this.#resolveLost(reason);
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }
}

/** Waits for `previous` to settle; rejects with the abort reason if `signal` aborts first. */
function settledOrAborted(previous: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void previous.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
