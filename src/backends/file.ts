// The file backend: YAML or JSON files (or directories of them) flattened into keys exactly as
// confd's file backend does (§3.3 of the confd notes: map keys and list indexes joined with "/",
// numbers and booleans printed the Go way, nulls dropped, later files overriding earlier ones,
// plain string-prefix matching), watched with chokidar.
//
// A watch re-reads every file after a change (confd does the same on every fsnotify event) and
// reports the difference as a delta. A file that does not parse leaves the last good values in
// place and is reported through the status, never as a partial update.

import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Backend, BackendOptions, Cursor, Snapshot, WatchListener } from './backend.ts';
import { exponentialBackoff, type BackoffOptions } from '../core/process-control/backoff.ts';
import { flattenDocument } from './file/flatten.ts';
import { describe, findFiles } from './file/lookup.ts';
import { diffValues, notify } from '../stores/updates.ts';
import { selectValues } from './file/updates.ts';
import { errorText } from '../core/error-text.ts';

export interface FileBackendTuning {
  /** Quiet time after a file event before re-reading (an editor's save is several events). */
  readonly debounceMs?: number;
  /** Retry delays while a file cannot be read or parsed (changes also trigger a retry). */
  readonly backoff?: BackoffOptions;
}

interface FileCursor {
  readonly kind: 'steward-file-cursor';
  /** What the reader was given: the values under the keys it read. */
  readonly values: ReadonlyMap<string, string>;
}

const DEFAULT_DEBOUNCE_MS = 30;
/** chokidar's own throttle of change events per path (index.js, `_throttle(EV.CHANGE, path, 50)`). */
const CHOKIDAR_CHANGE_THROTTLE_MS = 50;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };

function isFileCursor(cursor: Cursor): cursor is FileCursor {
  return typeof cursor === 'object' && cursor !== null && (cursor as { kind?: unknown }).kind === 'steward-file-cursor';
}

/** confd's file backend matches with strings.HasPrefix on the flattened key. */
function covers(requested: string, key: string): boolean {
  return key.startsWith(requested);
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

export function createFileBackend(options: BackendOptions, tuning: FileBackendTuning = {}): Backend {
  const files = [...options.files];
  const debounceMs = tuning.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const closing = new AbortController();
  const running = new Set<Promise<void>>();

  /** What identifies the files' current contents (inode, size, change time of each). */
  async function stamp(): Promise<string> {
    const parts: string[] = [];
    for (const configured of files) {
      try {
        for (const found of await findFiles(configured)) {
          const st = statSync(found.real, { throwIfNoEntry: false, bigint: true });
          parts.push(`${found.real}:${st?.ino}:${st?.size}:${st?.ctimeNs}:${st?.mtimeNs}`);
        }
      } catch {
        parts.push(`${configured}:unreadable`);
      }
    }
    return parts.join('|');
  }

  /** Every key of every file, later files overriding earlier ones. */
  async function loadAll(): Promise<Map<string, string>> {
    const yaml = await import('yaml');
    const values = new Map<string, string>();
    for (const configured of files) {
      for (const found of await findFiles(configured)) {
        let text: string;
        try {
          text = await readFile(found.real, 'utf8');
        } catch (error) {
          throw new Error(`${found.path}: ${describe(error)}`);
        }
        flattenDocument(yaml, found.path, text, values);
      }
    }
    return values;
  }

  async function runWatch(keys: readonly string[], from: Cursor, listener: WatchListener, stop: AbortSignal): Promise<void> {
    let last = isFileCursor(from) ? selectValues(from.values, keys, covers) : undefined;
    let failing: string | undefined;
    const backoff = exponentialBackoff(tuning.backoff ?? DEFAULT_BACKOFF);
    const { watch: watchPaths } = await import('chokidar');
    if (stop.aborted) return;
    // A file is watched through its directory: a watch on the file itself follows its inode, and
    // an editor's or a deploy's save (write a new file, rename it over the old) replaces that
    // inode, so a second quick save was missed. A configured directory is watched whole.
    const relevant = files.map((f) => resolve(f));
    const onlyThese = (path: string): boolean => relevant.some((f) => path === f || path.startsWith(`${f}/`));
    const watchers = [...new Set(relevant)].map((f) =>
      isDirectory(f)
        ? watchPaths(f, { ignoreInitial: true, persistent: true })
        : watchPaths(dirname(f), { ignoreInitial: true, persistent: true, depth: 0, ignored: (p: string) => p !== dirname(f) && !onlyThese(p) }),
    );

    let timer: NodeJS.Timeout | undefined;
    let reloading: Promise<void> | undefined;
    let again = false;
    let ready = false;
    let readStamp: string | undefined;
    let trailing: NodeJS.Timeout | undefined;

    const schedule = (ms: number): void => {
      if (stop.aborted) return;
      if (reloading !== undefined) {
        again = true;
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        reloading = reload().finally(async () => {
          if (!again && readStamp !== undefined && (await stamp()) !== readStamp) again = true;
          reloading = undefined;
          if (again) {
            again = false;
            schedule(debounceMs);
          }
        });
      }, ms);
    };

    const fail = (message: string): void => {
      const delay = backoff.next();
      if (failing !== message) {
        failing = message;
        notify(() => listener.status({ state: 'unreachable', error: message, retryInMs: delay }));
      }
      clearTimeout(timer);
      timer = setTimeout(() => schedule(0), delay);
    };

    const reload = async (): Promise<void> => {
      let values: Map<string, string>;
      // chokidar drops a second event for a path that comes within a few ms of the first: a file
      // whose stamp moved between this read and the end of the update it caused is read again.
      readStamp = await stamp();
      try {
        values = selectValues(await loadAll(), keys, covers);
      } catch (error) {
        if (!stop.aborted) fail(errorText(error));
        return;
      }
      if (stop.aborted) return;
      if (failing !== undefined) {
        failing = undefined;
        backoff.reset();
        notify(() => listener.status({ state: 'ok' }));
      }
      const previous = last;
      last = values;
      if (previous === undefined) {
        notify(() => listener.update({ kind: 'full', values }));
        return;
      }
      const delta = diffValues(previous, values);
      if (delta !== undefined) notify(() => listener.update(delta));
    };

    // Events before 'ready' are ignored: the read right after 'ready' sees their effect, and
    // also anything that changed between the caller's read() and this watch.
    let unready = watchers.length;
    for (const watcher of watchers) {
      watcher.on('all', (_event: string, path: string) => {
        if (!ready || !onlyThese(resolve(path))) return;
        schedule(debounceMs);
        // chokidar drops a second change of a path within 50 ms of the first: look again once
        // that window has passed, and read again if the files moved since the last read.
        trailing ??= setTimeout(() => {
          trailing = undefined;
          void stamp().then((now) => {
            if (readStamp !== undefined && now !== readStamp) schedule(0);
          });
        }, CHOKIDAR_CHANGE_THROTTLE_MS + 20);
      });
      watcher.on('ready', () => {
        if (--unready > 0) return;
        ready = true;
        schedule(0);
      });
      watcher.on('error', (error) => {
        fail(`watching ${files.join(', ')}: ${errorText(error)}`);
      });
    }

    await new Promise<void>((resolve) => {
      if (stop.aborted) resolve();
      else stop.addEventListener('abort', () => resolve(), { once: true });
    });
    clearTimeout(timer);
    clearTimeout(trailing);
    await Promise.all(watchers.map((w) => w.close()));
    await reloading;
  }

  return {
    name: 'file',
    source: files.join(', '),

    async read(keys: readonly string[], signal: AbortSignal): Promise<Snapshot> {
      if (closing.signal.aborted) throw new Error('the file backend is closed');
      signal.throwIfAborted();
      const all = await loadAll();
      signal.throwIfAborted();
      const values = selectValues(all, keys, covers);
      const cursor: FileCursor = { kind: 'steward-file-cursor', values };
      return { values, cursor };
    },

    watch(keys: readonly string[], from: Cursor, listener: WatchListener, signal: AbortSignal): void {
      const stop = AbortSignal.any([signal, closing.signal]);
      if (stop.aborted) return;
      const task = runWatch(keys, from, listener, stop).catch((error: unknown) => {
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
