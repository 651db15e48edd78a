// Who leads an election, as etcd shows it: the candidate key with the lowest create revision
// under the election's prefix, read at once and again after every change under the prefix.

import { notify } from '../../stores/updates.ts';
import { electionPrefix } from './candidate.ts';
import { persist, watchFrom, type SessionContext } from './session-context.ts';

/** Calls `onLeader` with the leader's value (undefined when none), at once and on every change. */
export function observeLeader(ctx: SessionContext, electionKey: string, onLeader: (leader: string | undefined) => void, signal: AbortSignal): void {
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
}
