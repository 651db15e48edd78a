// The file backend: YAML or JSON files (or directories of them) flattened into keys exactly as
// confd's file backend does (file/read.ts), and watched with chokidar (file/watch.ts).

import type { Backend, BackendOptions, Cursor, Snapshot, WatchListener } from './backend.ts';
import type { BackoffOptions } from '../core/process-control/backoff.ts';
import { notify } from '../stores/updates.ts';
import { covers, readAll, type FileCursor } from './file/read.ts';
import { selectValues } from './file/updates.ts';
import { watchFiles } from './file/watch.ts';

export interface FileBackendTuning {
  /** Quiet time after a file event before re-reading (an editor's save is several events). */
  readonly debounceMs?: number;
  /** Retry delays while a file cannot be read or parsed (changes also trigger a retry). */
  readonly backoff?: BackoffOptions;
}

const DEFAULT_DEBOUNCE_MS = 30;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };

export function createFileBackend(options: BackendOptions, tuning: FileBackendTuning = {}): Backend {
  const files = [...options.files];
  const watching = { files, debounceMs: tuning.debounceMs ?? DEFAULT_DEBOUNCE_MS, backoff: tuning.backoff ?? DEFAULT_BACKOFF };
  const closing = new AbortController();
  const running = new Set<Promise<void>>();

  return {
    name: 'file',
    source: files.join(', '),

    async read(keys: readonly string[], signal: AbortSignal): Promise<Snapshot> {
      if (closing.signal.aborted) throw new Error('the file backend is closed');
      signal.throwIfAborted();
      const all = await readAll(files);
      signal.throwIfAborted();
      const values = selectValues(all, keys, covers);
      const cursor: FileCursor = { kind: 'steward-file-cursor', values };
      return { values, cursor };
    },

    watch(keys: readonly string[], from: Cursor, listener: WatchListener, signal: AbortSignal): void {
      const stop = AbortSignal.any([signal, closing.signal]);
      if (stop.aborted) return;
      const task = watchFiles(watching, keys, from, listener, stop).catch((error: unknown) => {
        // Only the import of chokidar or the watcher's start can end up here.
        if (!stop.aborted) notify(() => listener.status({ state: 'unreachable', error: String(error), retryInMs: 0 }));
      });
      running.add(task);
      void task.finally(() => running.delete(task));
    },

    covers,

    async close(): Promise<void> {
      closing.abort();
      await Promise.allSettled([...running]);
    },
  };
}
