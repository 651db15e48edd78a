// An in-memory Backend for tests of the templates part: values set by the test, updates pushed
// to watchers, reachability switched on and off. Matching is etcd's (key or below key + '/').

import type { Backend, BackendStatus, Snapshot, Update, WatchListener } from '../../src/backends/backend.ts';

export interface MemoryBackend extends Backend {
  readonly values: Map<string, string>;
  set(key: string, value: string): void;
  delete(key: string): void;
  /** While unreachable, read() rejects and watchers hear 'unreachable'. */
  setReachable(reachable: boolean): void;
  readonly reads: number;
}

export function memoryBackend(initial: Record<string, string> = {}): MemoryBackend {
  const values = new Map(Object.entries(initial));
  const listeners = new Set<WatchListener>();
  let reachable = true;
  let reads = 0;
  const covers = (requested: string, key: string): boolean =>
    key === requested || key.startsWith(requested.endsWith('/') ? requested : `${requested}/`);
  const push = (update: Update): void => {
    for (const l of listeners) l.update(update);
  };
  const status = (s: BackendStatus): void => {
    for (const l of listeners) l.status(s);
  };
  return {
    name: 'memory',
    source: 'memory',
    values,
    get reads() {
      return reads;
    },
    async read(keys): Promise<Snapshot> {
      reads++;
      if (!reachable) throw new Error('connection refused');
      const out = new Map<string, string>();
      for (const [k, v] of values) if (keys.some((r) => covers(r, k))) out.set(k, v);
      return { values: out, cursor: reads };
    },
    watch(_keys, _from, listener, signal) {
      listeners.add(listener);
      signal.addEventListener('abort', () => listeners.delete(listener), { once: true });
    },
    covers,
    async close() {
      listeners.clear();
    },
    set(key, value) {
      values.set(key, value);
      if (reachable) push({ kind: 'delta', set: new Map([[key, value]]), deleted: [] });
    },
    delete(key) {
      values.delete(key);
      if (reachable) push({ kind: 'delta', set: new Map(), deleted: [key] });
    },
    setReachable(next) {
      if (next === reachable) return;
      reachable = next;
      if (!next) status({ state: 'unreachable', error: 'connection refused', retryInMs: 100 });
      else {
        status({ state: 'ok' });
        push({ kind: 'full', values: new Map(values) });
      }
    },
  };
}
