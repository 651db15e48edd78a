// A session's campaigns, one per election key, each over a candidacy (candidate.ts). It replaces
// etcd3's Election, whose defects would reach steward: a campaign that failed can still emit
// 'elected' later, "campaign again on error" multiplies campaigns, and nothing has a deadline.
// Here a campaign is one promise, one loop and one key per session and election; it never
// resolves after it rejected, and a campaign that gave up takes its key back.

import type { Campaign } from '../coordinator.ts';
import { within } from '../../core/process-control/deadline.ts';
import { deleteOwnKey, electionPrefix, runCandidacy } from './candidate.ts';
import { persist, unlessTransient, type SessionContext } from './session-context.ts';

/** A session's campaigns, one per election key (the election itself, with fencing, is ../election.ts). */
export interface Campaigns {
  campaign(electionKey: string, value: string, signal: AbortSignal): Campaign;
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

export function createCampaigns(ctx: SessionContext): Campaigns {
  const { lease } = ctx;
  const entries = new Map<string, Entry>();

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
        return runCandidacy(ctx, electionKey, value, stop);
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
            await persist(ctx, () => deleteOwnKey(ctx, prefix, `withdraw from ${electionKey}`, lease.ended), lease.ended, unlessTransient(ctx)).catch(() => {});
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

    async resign(electionKey) {
      const prefix = electionPrefix(electionKey);
      const entry = entries.get(prefix);
      // A campaign still waiting is stopped, and takes its key back once its last write is
      // answered; the delete below does not wait for that, so that resign keeps its deadline.
      if (entry?.pending) entry.withdraw.abort(new Error(`resigned from ${electionKey}`));
      if (lease.ended.aborted) return;
      try {
        await deleteOwnKey(ctx, prefix, `resign from ${electionKey}`, lease.ended);
      } catch (error) {
        // The key went with the lease.
        if (lease.ended.aborted) return;
        throw error;
      }
    },
  };
}
