// A Consul watch: blocking queries, with the index rules of Consul's blocking-query
// documentation (developer.hashicorp.com/consul/api-docs/features/blocking):
// - each query sends the index of the last answer and a wait; the agent holds it until
//   something under the prefix changes or the wait ends;
// - an answer with the same index is no change (a wait that ran out, or a wake-up Consul's
//   radix-tree watches produce for a nearby write): nothing is delivered;
// - an index lower than the one sent (a snapshot restore, tombstones reaped under a prefix,
//   an upgrade) resets: a fresh plain read of everything, delivered as a `full` update;
// - a missing or zero X-Consul-Index is a Consul bug the docs warn about: index 1 is always safe
//   to block on, index 0 would not block at all (so it is never sent); the data is compared
//   instead of the index, and the next query is paced with the back-off, since a server that
//   does not send indexes may not block either.
//
// One blocking query per requested key, not one per common prefix: keys of one template often
// share nothing but "/", and a recursive query on a wider prefix returns (and is woken by)
// everything under it on every change, which can be the whole KV store. Keys under another
// requested key are dropped first (that query's answer already contains them).
//
// Any failure (all agents unreachable, an HTTP error) stops all queries: 'unreachable' is
// reported once, fresh reads are retried with back-off, and the first one that succeeds is
// reported as 'ok' plus a `full` update with what the store holds then.

import type { BackoffOptions } from '../../core/process-control/backoff.ts';
import { exponentialBackoff, sleep } from '../../core/process-control/backoff.ts';
import type { Update, WatchListener } from '../types.ts';
import { diffValues, notify } from '../updates.ts';
import { errorText } from '../../core/error-text.ts';

export interface PrefixState {
  /** The requested key ("/app/db"). */
  readonly requested: string;
  /** The index to block on next (>= 1). */
  index: number;
  /** What the caller has been given for this key. */
  values: ReadonlyMap<string, string>;
}

export interface Listing {
  readonly values: Map<string, string>;
  readonly index: number | undefined;
}

export interface WatchDeps {
  /** A recursive read of one requested key; with `index`, a blocking query. */
  list(requested: string, index: number | undefined, signal: AbortSignal): Promise<Listing>;
  readonly backoff: BackoffOptions;
}

type Outcome = { readonly kind: 'stopped' } | { readonly kind: 'reset' } | { readonly kind: 'failed'; readonly error: unknown };

export async function runConsulWatch(
  prefixes: readonly string[],
  initial: PrefixState[] | undefined,
  listener: WatchListener,
  deps: WatchDeps,
  stop: AbortSignal,
): Promise<void> {
  if (prefixes.length === 0) return;
  const retry = exponentialBackoff(deps.backoff);
  // Paces fresh reads after resets, so that a server whose index keeps going back cannot make
  // this loop spin; healthy answers bring it back to its first, short delay.
  const resets = exponentialBackoff({ ...deps.backoff, initialMs: Math.min(100, deps.backoff.initialMs) });
  let states = initial;
  let unreachable = false;
  const pause = (ms: number): Promise<void> => sleep(ms, stop).catch(() => undefined);

  while (!stop.aborted) {
    if (states === undefined) {
      try {
        states = await freshRead(prefixes, deps, stop);
      } catch (error) {
        if (stop.aborted) return;
        const delay = retry.next();
        if (!unreachable) {
          unreachable = true;
          notify(() => listener.status({ state: 'unreachable', error: message(error), retryInMs: delay }));
        }
        await pause(delay);
        continue;
      }
      retry.reset();
      if (unreachable) {
        unreachable = false;
        notify(() => listener.status({ state: 'ok' }));
      }
      const full: Update = { kind: 'full', values: union(states) };
      notify(() => listener.update(full));
    }

    const outcome = await blockAll(states, listener, deps, stop, () => resets.reset());
    if (outcome.kind === 'stopped') return;
    states = undefined;
    if (outcome.kind === 'failed') {
      const delay = retry.next();
      if (!unreachable) {
        unreachable = true;
        notify(() => listener.status({ state: 'unreachable', error: message(outcome.error), retryInMs: delay }));
      }
      await pause(delay);
    } else {
      await pause(resets.next());
    }
  }
}

async function freshRead(prefixes: readonly string[], deps: WatchDeps, stop: AbortSignal): Promise<PrefixState[]> {
  const local = new AbortController();
  const signal = AbortSignal.any([stop, local.signal]);
  try {
    return await Promise.all(
      prefixes.map(async (requested) => {
        const listing = await deps.list(requested, undefined, signal);
        return { requested, index: Math.max(1, listing.index ?? 1), values: listing.values };
      }),
    );
  } catch (error) {
    local.abort();
    throw error;
  }
}

/** Runs one blocking loop per key until one of them fails or sees the index go back. */
async function blockAll(
  states: readonly PrefixState[],
  listener: WatchListener,
  deps: WatchDeps,
  stop: AbortSignal,
  healthy: () => void,
): Promise<Outcome> {
  const generation = new AbortController();
  const signal = AbortSignal.any([stop, generation.signal]);
  let outcome: Outcome | undefined;
  const end = (o: Outcome): void => {
    if (outcome !== undefined) return;
    outcome = o;
    generation.abort();
  };
  await Promise.all(
    states.map((state) =>
      blockOn(state, listener, deps, signal, healthy).then(end, (error: unknown) => end(signal.aborted ? { kind: 'stopped' } : { kind: 'failed', error })),
    ),
  );
  return stop.aborted || outcome === undefined ? { kind: 'stopped' } : outcome;
}

async function blockOn(
  state: PrefixState,
  listener: WatchListener,
  deps: WatchDeps,
  signal: AbortSignal,
  healthy: () => void,
): Promise<Outcome> {
  const pace = exponentialBackoff(deps.backoff);
  for (;;) {
    const sent = Math.max(1, state.index);
    const listing = await deps.list(state.requested, sent, signal);
    if (signal.aborted) return { kind: 'stopped' };
    const got = listing.index;
    if (got === undefined || got === 0) {
      state.index = sent;
      deliver(state, listing.values, listener);
      await sleep(pace.next(), signal);
      continue;
    }
    pace.reset();
    if (got < sent) return { kind: 'reset' };
    healthy();
    if (got === sent) continue;
    state.index = got;
    deliver(state, listing.values, listener);
  }
}

function deliver(state: PrefixState, values: Map<string, string>, listener: WatchListener): void {
  const delta = diffValues(state.values, values);
  state.values = values;
  if (delta !== undefined) notify(() => listener.update(delta));
}

function union(states: readonly PrefixState[]): Map<string, string> {
  const all = new Map<string, string>();
  for (const state of states) for (const [key, value] of state.values) all.set(key, value);
  return all;
}

function message(error: unknown): string {
  return errorText(error);
}
