// Watching etcd from a revision, on one watch stream per session with one watcher over the range
// that holds every watched key (the gateway cannot add watchers to a stream; see
// gateway-client.ts); events of keys between them that no watched key covers are dropped.
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
    let watchId: string | undefined;
    const what = targets.length === 1 ? targets[0]!.key : `${targets.length} keys`;

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
    const timer = setTimeout(() => end({ kind: 'failed', error: `no answer to a watch request within ${connectTimeoutMs} ms` }), connectTimeoutMs);
    if (signal.aborted) {
      end({ kind: 'aborted' });
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });

    const onResponse = (res: WatchResponse): void => {
      if (ended) return;
      if (res.created && watchId === undefined) {
        if (res.canceled) {
          end(canceled(what, targets, res));
          return;
        }
        const current = res.revision;
        const seen = Math.max(...targets.map((x) => x.next)) - 1;
        if (current < seen) {
          end({ kind: 'resync', reason: `etcd's revision ${current} is behind revision ${seen} already delivered (store restored or replaced)` });
          return;
        }
        watchId = res.watchId;
        clearTimeout(timer);
        healthy();
        return;
      }
      if (res.watchId !== watchId) return;
      if (res.canceled) {
        end(canceled(what, targets, res));
        return;
      }
      if (res.events.length === 0) {
        // A progress notification: etcd sends them only to watchers that have caught up, so
        // nothing is pending up to the header's revision.
        for (const t of targets) t.next = Math.max(t.next, res.revision + 1);
        return;
      }
      // One watcher over the range that holds every target, from the lowest resume point:
      // each event goes to the target that covers its key, unless that one has had it already.
      const changes = new Map<string, string | undefined>();
      let last = 0;
      for (const ev of res.events) {
        const revision = ev.kv.modRevision;
        last = Math.max(last, revision);
        const t = targets.find((x) => covers(x.key, ev.kv.key));
        if (t === undefined || revision < t.next) continue;
        changes.set(ev.kv.key, ev.type === 'delete' ? undefined : valuesAs === 'bytes' ? ev.kv.bytes : ev.kv.value);
      }
      // Only events move the resume point: during a catch-up the header's revision is the
      // store's current one, beyond what this response carried.
      for (const t of targets) t.next = Math.max(t.next, last + 1);
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
    const from = Math.min(...targets.map((t) => t.next));
    client.watch({ prefixes: targets.map((t) => t.key), startRevision: from }, events).then(
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

function canceled(what: string, targets: readonly Target[], res: WatchResponse): SessionEnd {
  const compacted = res.compactRevision;
  if (compacted > 0) {
    const from = Math.min(...targets.map((t) => t.next));
    return { kind: 'resync', reason: `etcd compacted its history up to revision ${compacted}, past revision ${from} of ${what}` };
  }
  return { kind: 'failed', error: `etcd canceled the watch on ${what}: ${res.cancelReason || 'no reason given'}` };
}
