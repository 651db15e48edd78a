// Watching the file backend's files with chokidar. A watch re-reads every file after a change
// (confd does the same on every fsnotify event) and reports the difference as a delta. A file
// that does not parse leaves the last good values in place and is reported through the status,
// never as a partial update; the read is retried with back-off, and on the next change.

import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FSWatcher, watch as chokidarWatch } from 'chokidar';
import type { Cursor, WatchListener } from '../backend.ts';
import { exponentialBackoff, type BackoffOptions } from '../../core/process-control/backoff.ts';
import { diffValues, notify } from '../../stores/updates.ts';
import { covers, isFileCursor, readAll, stampOf } from './read.ts';
import { selectValues } from './updates.ts';
import { errorText } from '../../core/error-text.ts';

export interface FileWatchOptions {
  readonly files: readonly string[];
  /** Quiet time after a file event before re-reading. */
  readonly debounceMs: number;
  /** Retry delays while a file cannot be read or parsed. */
  readonly backoff: BackoffOptions;
}

/** chokidar's own throttle of change events per path (index.js, `_throttle(EV.CHANGE, path, 50)`). */
const CHOKIDAR_CHANGE_THROTTLE_MS = 50;

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

/**
 * chokidar watchers for `files`, and whether a path is one of them or under one. A file is
 * watched through its directory: a watch on the file itself follows its inode, and an editor's or
 * a deploy's save (write a new file, rename it over the old) replaces that inode, so a second
 * quick save was missed. A configured directory is watched whole.
 */
function watchersFor(watchPaths: typeof chokidarWatch, files: readonly string[]): { readonly watchers: FSWatcher[]; readonly onlyThese: (path: string) => boolean } {
  const relevant = files.map((f) => resolve(f));
  const onlyThese = (path: string): boolean => relevant.some((f) => path === f || path.startsWith(`${f}/`));
  const watchers = [...new Set(relevant)].map((f) =>
    isDirectory(f)
      ? watchPaths(f, { ignoreInitial: true, persistent: true })
      : watchPaths(dirname(f), { ignoreInitial: true, persistent: true, depth: 0, ignored: (p: string) => p !== dirname(f) && !onlyThese(p) }),
  );
  return { watchers, onlyThese };
}

/** Reports changes of `keys` after `from` (a FileCursor) to `listener` until `stop` aborts. */
export async function watchFiles(o: FileWatchOptions, keys: readonly string[], from: Cursor, listener: WatchListener, stop: AbortSignal): Promise<void> {
  const { files, debounceMs } = o;
  let last = isFileCursor(from) ? selectValues(from.values, keys, covers) : undefined;
  let failing: string | undefined;
  const backoff = exponentialBackoff(o.backoff);
  const { watch: watchPaths } = await import('chokidar');
  if (stop.aborted) return;
  const { watchers, onlyThese } = watchersFor(watchPaths, files);

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
        if (!again && readStamp !== undefined && (await stampOf(files)) !== readStamp) again = true;
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
    readStamp = await stampOf(files);
    try {
      values = selectValues(await readAll(files), keys, covers);
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
        void stampOf(files).then((now) => {
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
