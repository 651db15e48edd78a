// Records what a Backend watch reports, so that a test can await the next update or status
// matching a condition.

import type { BackendStatus, Update, WatchListener } from '../../src/backends/backend.ts';

export type Event = { readonly update: Update } | { readonly status: BackendStatus };

export function recorder(timeoutMs = 10_000): { listener: WatchListener; events: Event[]; next(what: string, match: (e: Event) => boolean): Promise<Event> } {
  const events: Event[] = [];
  const waiters = new Set<() => boolean>();
  let seen = 0;
  const push = (e: Event): void => {
    events.push(e);
    for (const w of [...waiters]) w();
  };
  return {
    listener: { update: (update) => push({ update }), status: (status) => push({ status }) },
    events,
    next(what, match) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          while (seen < events.length) {
            const e = events[seen++] as Event;
            if (match(e)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(e);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(events, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v))}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
  };
}

export const isUpdate = (e: Event): e is { update: Update } => 'update' in e;
export const isStatus = (e: Event): e is { status: BackendStatus } => 'status' in e;
