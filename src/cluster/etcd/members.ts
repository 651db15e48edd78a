// Member records bound to the session's lease: created only if absent (a live record of another
// session means a second replica with the same instance id), overwritten only while this lease
// holds them, and gone with the lease. Watching a prefix reads it at one revision and follows
// it from there.

import { notify } from '../../stores/updates.ts';
import { persist, readKeys, watchFrom, type SessionContext } from './session-context.ts';

export interface Members {
  register(key: string, value: string): Promise<boolean>;
  update(key: string, value: string): Promise<void>;
  watchPrefix(prefix: string, onChange: (entries: ReadonlyMap<string, string>) => void, signal: AbortSignal): void;
}

export function createMembers(ctx: SessionContext): Members {
  const { lease } = ctx;

  const update = async (key: string, value: string): Promise<void> => {
    const res = await ctx.main.call(
      `update ${key}`,
      (client, deadline) =>
        client.txn({ compare: [{ key, lease: lease.id }], success: [{ put: { key, value, lease: lease.id } }], failure: [] }, deadline),
      lease.ended,
    );
    if (!res.succeeded) throw new Error(`cannot update etcd key ${key}: this session (lease ${lease.hex}) does not hold it (register it first)`);
  };

  return {
    update,
    async register(key, value) {
      for (;;) {
        const res = await ctx.main.call(
          `register ${key}`,
          (client, deadline) =>
            client.txn(
              { compare: [{ key, createRevision: 0 }], success: [{ put: { key, value, lease: lease.id } }], failure: [{ range: { key } }] },
              deadline,
            ),
          lease.ended,
        );
        if (res.succeeded) return true;
        const existing = res.responses[0]?.kvs[0];
        // Deleted between the compare and the read cannot happen in one transaction; be safe.
        if (existing === undefined) continue;
        // A record without a lease (written by hand) is held for good: another holder too.
        if (existing.lease !== lease.id) return false;
        if (existing.value !== value) await update(key, value);
        return true;
      }
    },

    watchPrefix(prefix, onChange, signal) {
      const stop = AbortSignal.any([signal, ctx.closed]);
      const start = async (): Promise<void> => {
        const snapshot = await persist(ctx, () => readKeys(ctx, [prefix], stop), stop);
        const entries = new Map(snapshot.values);
        let last = new Map(entries);
        notify(() => onChange(new Map(last)));
        watchFrom(
          ctx,
          [prefix],
          snapshot.revision,
          (change) => {
            if (change.kind === 'full') {
              entries.clear();
              for (const [k, v] of change.values) entries.set(k, v);
            } else {
              for (const [k, v] of change.set) entries.set(k, v);
              for (const k of change.deleted) entries.delete(k);
            }
            // A resync that found what was already known is no change.
            if (sameEntries(entries, last) || stop.aborted) return;
            last = new Map(entries);
            const copy = new Map(last);
            notify(() => onChange(copy));
          },
          stop,
        );
      };
      ctx.track(start().catch(() => {}));
    },
  };
}

function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
