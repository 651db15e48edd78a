// Campaigns for leadership on a key prefix, built on the session's lease and on transactions, as
// etcd's own concurrency/election does: each candidate puts `<election>/<lease hex>` bound to its
// lease (create-if-absent), the key with the lowest create revision leads, and a candidate
// watches only the key just before its own. It replaces etcd3's Election, whose defects would
// reach steward: a campaign that failed can still emit 'elected' later, "campaign again on
// error" multiplies campaigns, and nothing has a deadline. Here a campaign is one promise, one
// loop and one key per session and election; it only resolves right after a transaction has
// seen its own key (with its create revision) and no older one, and never after it rejected.

import type { Campaign } from '../coordinator.ts';
import { within } from '../../core/process-control/deadline.ts';
import { notify } from '../../stores/updates.ts';
import { persist, unlessTransient, watchFrom, type SessionContext } from './session-context.ts';

/** A session's campaigns, one per election key (the election itself, with fencing, is ../election.ts). */
export interface Campaigns {
  campaign(electionKey: string, value: string, signal: AbortSignal): Campaign;
  observe(electionKey: string, onLeader: (leader: string | undefined) => void, signal: AbortSignal): void;
  resign(electionKey: string): Promise<void>;
}

interface Entry {
  /** Until the campaign resolves or rejects. */
  pending: boolean;
  /** Aborted by resign(). */
  readonly withdraw: AbortController;
  /** Settled once the campaign is over and, if it failed, its key is deleted. */
  done: Promise<void>;
}

type Standing =
  | { readonly kind: 'leader' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'waiting'; readonly predecessor: string; readonly revision: number };

/** The keys of `electionKey`'s candidates start with this. */
export function electionPrefix(electionKey: string): string {
  return electionKey.endsWith('/') ? electionKey : `${electionKey}/`;
}

export function createCampaigns(ctx: SessionContext): Campaigns {
  const { lease } = ctx;
  const entries = new Map<string, Entry>();

  /** Deletes this session's candidate key under `prefix`, whatever its revision. */
  const deleteOwnKey = (prefix: string, what: string, signal: AbortSignal): Promise<unknown> => {
    const key = prefix + lease.hex;
    return ctx.main.call(
      what,
      (client, deadline) => client.txn({ compare: [{ key, lease: lease.id }], success: [{ delete: key }], failure: [] }, deadline),
      signal,
    );
  };

  /** Puts the candidate key if absent; returns its create revision. */
  const enter = async (electionKey: string, key: string, value: string, signal: AbortSignal): Promise<number> => {
    for (;;) {
      const res = await ctx.main.call(
        `campaign for ${electionKey}`,
        (client, deadline) =>
          client.txn(
            { compare: [{ key, createRevision: 0 }], success: [{ put: { key, value, lease: lease.id } }], failure: [{ range: { key } }] },
            deadline,
          ),
        signal,
      );
      if (res.succeeded) return res.revision;
      const existing = res.responses[0]?.kvs[0];
      if (existing === undefined) continue;
      if (existing.lease !== lease.id) {
        throw new Error(`etcd key ${key} is held by lease ${BigInt(existing.lease).toString(16)}, not by this session's lease ${lease.hex}`);
      }
      const revision = existing.createRevision;
      if (existing.value === value) return revision;
      // This session already campaigns (or leads) with another value: keep the place, change the value.
      const put = await ctx.main.call(
        `campaign for ${electionKey}`,
        (client, deadline) =>
          client.txn({ compare: [{ key, createRevision: revision }], success: [{ put: { key, value, lease: lease.id } }], failure: [] }, deadline),
        signal,
      );
      if (put.succeeded) return revision;
    }
  };

  /** Where the candidate key of `revision` stands, in one transaction. */
  const standing = async (electionKey: string, prefix: string, key: string, revision: number, signal: AbortSignal): Promise<Standing> => {
    const res = await ctx.main.call(
      `check the campaign for ${electionKey}`,
      (client, deadline) =>
        client.txn(
          {
            compare: [{ key, createRevision: revision }],
            success: [{ range: { key: prefix, prefix: true, sortByCreate: 'descend', maxCreateRevision: revision - 1, limit: 1 } }],
            failure: [],
          },
          deadline,
        ),
      signal,
    );
    if (!res.succeeded) return { kind: 'gone' };
    const before = res.responses[0]?.kvs[0];
    if (before === undefined) return { kind: 'leader' };
    return { kind: 'waiting', predecessor: before.key, revision: res.revision };
  };

  /** Resolves at the first change of `keys` after `from` (deleted, replaced, or a resync). */
  const nextChange = (keys: readonly string[], from: number, signal: AbortSignal): Promise<void> => {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const seen = new AbortController();
      const onAbort = (): void => {
        seen.abort();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      watchFrom(
        ctx,
        keys,
        from,
        () => {
          if (seen.signal.aborted) return;
          seen.abort();
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        AbortSignal.any([signal, seen.signal]),
      );
    });
  };

  const lead = async (electionKey: string, value: string, signal: AbortSignal): Promise<{ readonly fencingToken: string }> => {
    const prefix = electionPrefix(electionKey);
    const key = prefix + lease.hex;
    const giveUp = unlessTransient(ctx);
    // Writes are not cut short when the campaign is stopped (only by their deadline or the end
    // of the lease): the withdrawal that follows a stop must come after them.
    const revision = await persist(ctx, () => enter(electionKey, key, value, lease.ended), signal, giveUp);
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const now = await persist(ctx, () => standing(electionKey, prefix, key, revision, lease.ended), signal, giveUp);
      if (signal.aborted) throw signal.reason;
      if (now.kind === 'leader') return { fencingToken: lease.hex };
      if (now.kind === 'gone') {
        throw new Error(`the campaign for ${electionKey} ended: its key ${key} was deleted (resigned, deleted from outside, or the lease ended)`);
      }
      await nextChange([now.predecessor, key], now.revision, signal);
    }
  };

  return {
    campaign(electionKey, value, signal) {
      const prefix = electionPrefix(electionKey);
      const previous = entries.get(prefix);
      if (previous?.pending) {
        const elected = Promise.reject(new Error(`a campaign for ${electionKey} is already running in this session`));
        elected.catch(() => {});
        return { elected };
      }
      const withdraw = new AbortController();
      const stop = AbortSignal.any([signal, withdraw.signal, lease.ended]);
      const run = (async () => {
        // A campaign given up a moment ago may still be deleting the same key.
        await previous?.done;
        return lead(electionKey, value, stop);
      })();
      // Rejects at once when stopped, and stays rejected: a late result of `run` is ignored.
      const elected = within(run, Infinity, stop, '');
      const entry: Entry = { pending: true, withdraw, done: Promise.resolve() };
      entries.set(prefix, entry);
      entry.done = elected.then(
        () => {
          entry.pending = false;
        },
        async () => {
          entry.pending = false;
          // Once the write in flight is answered (or past its deadline), take the key back: a
          // candidate that gave up must neither block nor win the election. A lost or closed
          // session's keys go with its lease.
          await run.catch(() => {});
          if (!lease.ended.aborted) {
            await persist(ctx, () => deleteOwnKey(prefix, `withdraw from ${electionKey}`, lease.ended), lease.ended, unlessTransient(ctx)).catch(() => {});
          }
        },
      );
      void entry.done.finally(() => {
        if (entries.get(prefix) === entry) entries.delete(prefix);
      });
      ctx.track(entry.done);
      // A campaign nobody waits for any more must not crash steward with an unhandled rejection.
      elected.catch(() => {});
      return { elected };
    },

    observe(electionKey, onLeader, signal) {
      const prefix = electionPrefix(electionKey);
      const stop = AbortSignal.any([signal, ctx.closed]);
      let delivered = false;
      let last: string | undefined;
      let running = false;
      let dirty = false;

      const query = async (): Promise<number> => {
        const res = await ctx.main.call(
          `read the leader of ${electionKey}`,
          (client, deadline) => client.range({ key: prefix, prefix: true, sortByCreate: 'ascend', limit: 1 }, deadline),
          stop,
        );
        const leader = res.kvs[0]?.value;
        if (!stop.aborted && (!delivered || leader !== last)) {
          delivered = true;
          last = leader;
          notify(() => onLeader(leader));
        }
        return res.revision;
      };
      // One read at a time; changes during a read cause one more read after it.
      const refresh = async (): Promise<void> => {
        if (running) {
          dirty = true;
          return;
        }
        running = true;
        try {
          do {
            dirty = false;
            await persist(ctx, query, stop);
          } while (dirty && !stop.aborted);
        } catch {
          // Stopped.
        } finally {
          running = false;
        }
      };
      const start = async (): Promise<void> => {
        running = true;
        let revision: number;
        try {
          revision = await persist(ctx, query, stop);
        } finally {
          running = false;
        }
        watchFrom(ctx, [prefix], revision, () => void refresh(), stop);
      };
      ctx.track(start().catch(() => {}));
    },

    async resign(electionKey) {
      const prefix = electionPrefix(electionKey);
      const entry = entries.get(prefix);
      // A campaign still waiting is stopped, and takes its key back once its last write is
      // answered; the delete below does not wait for that, so that resign keeps its deadline.
      if (entry?.pending) entry.withdraw.abort(new Error(`resigned from ${electionKey}`));
      if (lease.ended.aborted) return;
      try {
        await deleteOwnKey(prefix, `resign from ${electionKey}`, lease.ended);
      } catch (error) {
        // The key went with the lease.
        if (lease.ended.aborted) return;
        throw error;
      }
    },
  };
}
