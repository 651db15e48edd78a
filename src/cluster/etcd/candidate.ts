// One candidate's way to the front of an election, on the session's lease and transactions, as
// etcd's own concurrency/election does: the candidate puts `<election>/<lease hex>` bound to its
// lease (create-if-absent), the key with the lowest create revision leads, and a candidate
// watches only the key just before its own. It is elected only right after a transaction has
// seen its own key (with its create revision) and no older one.

import { persist, unlessTransient, watchFrom, type SessionContext } from './session-context.ts';

type Standing =
  | { readonly kind: 'leader' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'waiting'; readonly predecessor: string; readonly revision: number };

/** The keys of `electionKey`'s candidates start with this. */
export function electionPrefix(electionKey: string): string {
  return electionKey.endsWith('/') ? electionKey : `${electionKey}/`;
}

/** Deletes this session's candidate key under `prefix`, whatever its revision. */
export function deleteOwnKey(ctx: SessionContext, prefix: string, what: string, signal: AbortSignal): Promise<unknown> {
  const { lease } = ctx;
  const key = prefix + lease.hex;
  return ctx.main.call(
    what,
    (client, deadline) => client.txn({ compare: [{ key, lease: lease.id }], success: [{ delete: key }], failure: [] }, deadline),
    signal,
  );
}

/** Puts the candidate key if absent; returns its create revision. */
async function enter(ctx: SessionContext, electionKey: string, key: string, value: string, signal: AbortSignal): Promise<number> {
  const { lease } = ctx;
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
}

/** Where the candidate key of `revision` stands, in one transaction. */
async function standing(ctx: SessionContext, electionKey: string, prefix: string, key: string, revision: number, signal: AbortSignal): Promise<Standing> {
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
}

/** Resolves at the first change of `keys` after `from` (deleted, replaced, or a resync). */
function nextChange(ctx: SessionContext, keys: readonly string[], from: number, signal: AbortSignal): Promise<void> {
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
}

/** Puts the candidate key and waits until it leads; resolves with the fencing token (the lease). */
export async function runCandidacy(ctx: SessionContext, electionKey: string, value: string, signal: AbortSignal): Promise<{ readonly fencingToken: string }> {
  const { lease } = ctx;
  const prefix = electionPrefix(electionKey);
  const key = prefix + lease.hex;
  const giveUp = unlessTransient(ctx);
  // Writes are not cut short when the campaign is stopped (only by their deadline or the end
  // of the lease): the withdrawal that follows a stop must come after them.
  const revision = await persist(ctx, () => enter(ctx, electionKey, key, value, lease.ended), signal, giveUp);
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const now = await persist(ctx, () => standing(ctx, electionKey, prefix, key, revision, lease.ended), signal, giveUp);
    if (signal.aborted) throw signal.reason;
    if (now.kind === 'leader') return { fencingToken: lease.hex };
    if (now.kind === 'gone') {
      throw new Error(`the campaign for ${electionKey} ended: its key ${key} was deleted (resigned, deleted from outside, or the lease ended)`);
    }
    await nextChange(ctx, [now.predecessor, key], now.revision, signal);
  }
}
