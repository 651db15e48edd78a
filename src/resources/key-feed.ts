// The backend side of the templates part: reads the keys the resources need into the key cache
// (retrying until the config timeout while steward starts), watches them from that read, reports
// the backend's health, re-reads on CONFD_INTERVAL, and reads and watches a new set of keys when
// --watch-templates loads new resources. Whoever listens hears only which keys changed.

import type { Backend, BackendStatus, Cursor, Snapshot, Update } from '../backends/backend.ts';
import { formatDuration } from '../config/values.ts';
import { exponentialBackoff } from '../core/process-control/backoff.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { ConfigError, UnavailableError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import { pause, timeoutSignal } from '../core/process-control/clock-waits.ts';
import type { KeyCache } from './key-cache.ts';
import { errorText } from '../core/error-text.ts';

/** Deadline of one read (at start-up, on re-sync, on new keys). */
const READ_ATTEMPT_MS = 5000;

export interface KeyFeedOptions {
  readonly cache: KeyCache;
  readonly clock: Clock;
  readonly log: Logger;
  /** The store to read; else `openBackend` opens one when some resource reads keys. */
  readonly backend: Backend | undefined;
  readonly openBackend: (() => Promise<Backend>) | undefined;
  /** STEWARD_CONFIG_TIMEOUT, for the message when the store never answers. */
  readonly configTimeoutMs: number;
  /** Keys whose value appeared, changed or disappeared; the cache already has the new values. */
  readonly onChange: (keys: readonly string[]) => void;
  /** The store became unreachable or reachable again. */
  readonly onStatus: (status: BackendStatus) => void;
}

export interface KeyFeed {
  /** Undefined until `start`. */
  readonly backend: Backend | undefined;
  readonly status: BackendStatus;
  /** Opens the store for `keys` (none when no key is needed). */
  open(keys: readonly string[]): Promise<Backend>;
  /** Reads the keys into the cache, retrying until `deadline`, and watches them from that read. */
  start(deadline: number, abort: AbortSignal): Promise<void>;
  /** Reads everything again every `everyMs` (CONFD_INTERVAL), for stores that cannot push. */
  resyncEvery(everyMs: number): void;
  /** Reads and watches `keys` instead; throws, keeping the old ones, when they cannot be read. */
  rekey(keys: readonly string[]): Promise<void>;
  /** Stops the watch and the re-syncs. */
  stop(): void;
  /** Closes the store's connection. */
  close(): Promise<void>;
}

/** The backend of resources that read no keys: nothing to read, nothing to watch. */
function noKeysBackend(): Backend {
  return {
    name: 'none',
    source: 'no keys',
    read: async () => ({ values: new Map(), cursor: undefined }),
    watch: () => {},
    covers: () => false,
    close: async () => {},
  };
}

export function createKeyFeed(o: KeyFeedOptions): KeyFeed {
  const { cache, clock, log } = o;
  const closed = new AbortController();
  let watching = new AbortController();
  let backend: Backend | undefined;
  let keys: readonly string[] = [];
  let status: BackendStatus = { state: 'ok' };
  let resyncTimer: TimerHandle | undefined;

  async function open(forKeys: readonly string[]): Promise<Backend> {
    // Resources that read no keys (only getenv, role(), ...) need no store at all.
    if (o.backend !== undefined) return o.backend;
    if (forKeys.length === 0) return noKeysBackend();
    if (o.openBackend === undefined) throw new Error('the templates part was given no backend to read keys from');
    return o.openBackend();
  }

  async function readOnce(b: Backend, which: readonly string[], abort: AbortSignal): Promise<Snapshot> {
    const attempt = timeoutSignal(clock, READ_ATTEMPT_MS, abort);
    try {
      return await b.read(which, attempt.signal);
    } finally {
      attempt.release();
    }
  }

  async function readUntil(b: Backend, deadline: number, abort: AbortSignal): Promise<Snapshot> {
    const backoff = exponentialBackoff({ initialMs: 200, maxMs: 5000 });
    for (;;) {
      try {
        return await readOnce(b, keys, abort);
      } catch (error) {
        // A store that refuses the credentials refuses them again: exit 78 at once.
        if (abort.aborted || error instanceof ConfigError) throw error;
        const lastError = errorText(error);
        const left = deadline - clock.monotonic();
        if (left <= 0) {
          throw new UnavailableError(`cannot reach the ${b.name} backend at ${b.source} within ${formatDuration(o.configTimeoutMs)}: ${lastError}`);
        }
        const delay = Math.min(backoff.next(), left);
        if (backoff.attempts === 1) log.warn(`cannot reach the ${b.name} backend yet; retrying`, { source: b.source, error: lastError });
        await pause(clock, delay, abort);
        abort.throwIfAborted();
      }
    }
  }

  function onUpdate(update: Update): void {
    const changed = cache.apply(update);
    if (changed.length === 0) return;
    log.debug('keys changed', { keys: changed.length <= 20 ? changed : `${changed.length} keys` });
    o.onChange(changed);
  }

  function onStatus(next: BackendStatus): void {
    const name = backend?.name ?? 'backend';
    if (next.state === 'unreachable' && status.state === 'ok') {
      log.warn(`${name} unreachable; the app keeps its last good files`, { error: next.error, retryIn: formatDuration(next.retryInMs) });
    } else if (next.state === 'ok' && status.state === 'unreachable') {
      log.info(`${name} reachable again; re-syncing`);
    }
    status = next;
    o.onStatus(next);
  }

  // The watch starts from the read's cursor: a change landing after the read is not lost.
  function watchFrom(b: Backend, cursor: Cursor): void {
    watching.abort();
    watching = new AbortController();
    b.watch(keys, cursor, { update: onUpdate, status: onStatus }, AbortSignal.any([closed.signal, watching.signal]));
  }

  function stop(): void {
    closed.abort();
    resyncTimer?.cancel();
  }

  return {
    get backend() {
      return backend;
    },
    get status() {
      return status;
    },
    async open(wanted) {
      keys = wanted;
      backend = await open(keys);
      return backend;
    },
    async start(deadline, abort) {
      if (backend === undefined) throw new Error('key feed started before it was opened');
      const b = backend;
      const snapshot = await readUntil(b, deadline, abort);
      cache.apply({ kind: 'full', values: snapshot.values });
      watchFrom(b, snapshot.cursor);
    },
    resyncEvery(everyMs) {
      const tick = (): void => {
        const b = backend;
        if (b === undefined || closed.signal.aborted) return;
        log.debug('periodic re-sync');
        readOnce(b, keys, closed.signal).then(
          (s) => {
            // The read may be older than a change the watch already delivered: the watch
            // starts again from the read's own cursor, so such a change comes again after it.
            onUpdate({ kind: 'full', values: s.values });
            watchFrom(b, s.cursor);
          },
          (error: unknown) => log.warn('periodic re-sync failed', { error: String(error) }),
        );
        resyncTimer = clock.setTimer(everyMs, tick);
      };
      resyncTimer = clock.setTimer(everyMs, tick);
    },
    async rekey(next) {
      if (next.join('\n') === keys.join('\n')) return;
      // Resources that read keys now, where none did before, need the real store.
      const b = backend?.name === 'none' && next.length > 0 ? await open(next) : backend;
      if (b === undefined) return;
      let snapshot: Snapshot;
      try {
        snapshot = await readOnce(b, next, closed.signal);
      } catch (error) {
        if (b !== backend) await b.close().catch(() => {});
        throw error;
      }
      if (b !== backend) await backend?.close().catch(() => {});
      backend = b;
      keys = next;
      cache.apply({ kind: 'full', values: snapshot.values });
      watchFrom(b, snapshot.cursor);
    },
    stop,
    async close() {
      stop();
      await backend?.close().catch(() => {});
    },
  };
}
