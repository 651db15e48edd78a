// Watching etcd from a revision, on one watch stream per session with a watcher per watched key.
// Resuming from a response header's revision would be wrong (during a catch-up it is the
// store's current revision, not the last event sent: a disconnect mid catch-up would skip events
// for good), and a watch canceled by compaction must be followed by a full read. So each watch
// keeps its own resume revision (the last event's, or a progress notification's), resyncs with a
// full read when etcd has compacted it away or its store went back in time, and fails over to
// the next endpoint at once before backing off.

import { exponentialBackoff, sleep, type BackoffOptions } from '../../core/process-control/backoff.ts';
import type { StoreStatus, Update, WatchListener } from '../types.ts';
import { messageOf, type EtcdClient, type WatchResponse, type WatchStream } from './client.ts';
import { notify } from '../updates.ts';
import { covers, watchedKeys } from './keys.ts';
import type { ValueForm } from './read.ts';

export interface WatchContext {
  readonly hosts: readonly string[];
  /** A new client talking to `hosts[index]` only; the watch closes it when done with it. */
  client(index: number): Promise<EtcdClient>;
  /** A full read at one revision (for a resync). */
  read(keys: readonly string[], signal: AbortSignal): Promise<{ readonly values: ReadonlyMap<string, string>; readonly revision: number }>;
  /** How long opening a stream and creating every watcher on it may take. */
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffOptions;
  /** Values as their exact bytes (templates) rather than UTF-8 text (coordinators); as `read` gives them. */
  readonly valuesAs?: ValueForm;
}

interface Target {
  readonly key: string;
  /** The first revision not yet delivered for this key. */
  next: number;
}

type SessionEnd =
  | { readonly kind: 'aborted' }
  | { readonly kind: 'failed'; readonly error: string }
  | { readonly kind: 'resync'; readonly reason: string };

/** Watches `keys` after revision `from` until `signal` aborts; never rejects. */
export async function runWatch(ctx: WatchContext, keys: readonly string[], from: number, listener: WatchListener, signal: AbortSignal): Promise<void> {
  const targets: Target[] = watchedKeys(keys).map((key) => ({ key, next: from + 1 }));
  if (targets.length === 0) return;
  const clients = new Map<number, EtcdClient>();
  const backoff = exponentialBackoff(ctx.backoff);
  let host = 0;
  let triesLeft = ctx.hosts.length;
  let down = false;
  let resync: string | undefined;

  const status = (s: StoreStatus): void => notify(() => listener.status(s));
  const healthy = (): void => {
    // After a drop, the endpoint that dropped us is tried once more before the others.
    triesLeft = ctx.hosts.length + 1;
    backoff.reset();
    if (down) {
      down = false;
      status({ state: 'ok' });
    }
  };
  const failed = async (error: string, everyHostTried: boolean): Promise<void> => {
    host = (host + 1) % ctx.hosts.length;
    triesLeft--;
    if (!everyHostTried && triesLeft > 0) return;
    triesLeft = ctx.hosts.length;
    const delay = backoff.next();
    if (signal.aborted) return;
    if (!down) {
      down = true;
      status({ state: 'unreachable', error, retryInMs: delay });
    }
    await sleep(delay, signal).catch(() => {});
  };
  const dropClient = (index: number): void => {
    clients.get(index)?.close();
    clients.delete(index);
  };

  try {
    while (!signal.aborted) {
      if (resync !== undefined) {
        try {
          const snapshot = await ctx.read(keys, signal);
          notify(() => listener.update({ kind: 'full', values: snapshot.values }));
          for (const t of targets) t.next = snapshot.revision + 1;
          resync = undefined;
        } catch (error) {
          if (signal.aborted) break;
          await failed(`cannot read the keys again after ${resync}: ${messageOf(error)}`, true);
          continue;
        }
      }
      const index = host;
      let client = clients.get(index);
      if (client === undefined) {
        try {
          client = await ctx.client(index);
        } catch (error) {
          if (signal.aborted) break;
          await failed(`${ctx.hosts[index]}: ${messageOf(error)}`, true);
          continue;
        }
        clients.set(index, client);
      }
      const end = await runSession(client, targets, ctx.connectTimeoutMs, ctx.valuesAs ?? 'text', healthy, (u) => notify(() => listener.update(u)), signal);
      if (end.kind === 'aborted') break;
      if (end.kind === 'resync') {
        resync = end.reason;
        continue;
      }
      // A fresh client connects at once (no connection left over from before) and, with auth,
      // logs in again: etcd refuses a watch when the token the client holds has expired or the
      // server restarted and forgot it.
      dropClient(index);
      await failed(`${ctx.hosts[index]}: ${end.error}`, false);
    }
  } catch (error) {
    // Only a bug gets here; keep it visible rather than dropping the watch without a word.
    status({ state: 'unreachable', error: `etcd watch stopped: ${messageOf(error)}`, retryInMs: 0 });
  } finally {
    for (const index of [...clients.keys()]) dropClient(index);
  }
}

function runSession(
  client: EtcdClient,
  targets: readonly Target[],
  connectTimeoutMs: number,
  valuesAs: ValueForm,
  healthy: () => void,
  deliver: (update: Update) => void,
  signal: AbortSignal,
): Promise<SessionEnd> {
  return new Promise((resolve) => {
    let stream: WatchStream | undefined;
    let ended = false;
    let creating = 0;
    const byId = new Map<string, Target>();

    const end = (result: SessionEnd): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try {
        stream?.cancel();
      } catch {
        // Already closed.
      }
      resolve(result);
    };
    const onAbort = (): void => end({ kind: 'aborted' });
    // Re-armed by every watcher created: many keys over a slow link may take longer in all.
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => end({ kind: 'failed', error: `no answer to a watch request within ${connectTimeoutMs} ms` }), connectTimeoutMs);
    };
    arm();
    if (signal.aborted) {
      end({ kind: 'aborted' });
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });

    // etcd handles a stream's create requests one after the other and answers each before its
    // events, so the n-th "created" answer is the n-th target's.
    const onResponse = (res: WatchResponse): void => {
      if (ended) return;
      if (res.created) {
        const t = targets[creating];
        if (t === undefined) return;
        if (res.canceled) {
          end(canceled(t, res));
          return;
        }
        const current = res.revision;
        const seen = Math.max(...targets.map((x) => x.next)) - 1;
        if (current < seen) {
          end({ kind: 'resync', reason: `etcd's revision ${current} is behind revision ${seen} already delivered (store restored or replaced)` });
          return;
        }
        byId.set(res.watchId, t);
        creating++;
        if (creating < targets.length) {
          arm();
        } else {
          clearTimeout(timer);
          healthy();
        }
        return;
      }
      const t = byId.get(res.watchId);
      if (t === undefined) return;
      if (res.canceled) {
        end(canceled(t, res));
        return;
      }
      if (res.events.length === 0) {
        // A progress notification: etcd sends them only to watchers that have caught up, so
        // nothing for this key is pending up to the header's revision.
        t.next = Math.max(t.next, res.revision + 1);
        return;
      }
      const changes = new Map<string, string | undefined>();
      let last = t.next - 1;
      for (const ev of res.events) {
        const revision = ev.kv.modRevision;
        if (revision < t.next) continue;
        last = Math.max(last, revision);
        if (!covers(t.key, ev.kv.key)) continue;
        changes.set(ev.kv.key, ev.type === 'delete' ? undefined : valuesAs === 'bytes' ? ev.kv.bytes : ev.kv.value);
      }
      // Only events move the resume point: during a catch-up the header's revision is the
      // store's current one, beyond what this response carried.
      t.next = last + 1;
      if (changes.size === 0) return;
      const set = new Map<string, string>();
      const deleted: string[] = [];
      for (const [key, value] of changes) {
        if (value === undefined) deleted.push(key);
        else set.set(key, value);
      }
      deliver({ kind: 'delta', set, deleted });
    };

    const events = {
      error: (err: Error) => end({ kind: 'failed', error: err.message }),
      end: () => end({ kind: 'failed', error: 'etcd closed the watch stream' }),
      response: onResponse,
    };
    client.watch(targets.map((t) => ({ prefix: t.key, startRevision: t.next })), events).then(
      (s) => {
        if (ended) {
          s.cancel();
          return;
        }
        stream = s;
      },
      (error: unknown) => end({ kind: 'failed', error: messageOf(error) }),
    );
  });
}

function canceled(t: Target, res: WatchResponse): SessionEnd {
  const compacted = res.compactRevision;
  if (compacted > 0) {
    return { kind: 'resync', reason: `etcd compacted its history up to revision ${compacted}, past revision ${t.next} of ${t.key}` };
  }
  return { kind: 'failed', error: `etcd canceled the watch on ${t.key}: ${res.cancelReason || 'no reason given'}` };
}
