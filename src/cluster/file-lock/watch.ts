// fs.watch on one directory, reduced to "something in it may have changed". Lock waiters and
// record watchers re-read the directory on every notice, so a lost or coalesced event costs
// nothing as long as a timer also fires at the next moment a record would expire.

import { statSync, watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

export interface DirectoryWatch {
  /** True once the watch stopped working (the directory vanished): the owner recreates it. */
  readonly broken: boolean;
  close(): void;
}

/** Calls `onNotice(name)` for every change inside `path` and `onNotice(undefined)` when the watch breaks. */
export function watchDirectory(path: string, onNotice: (name: string | undefined) => void): DirectoryWatch {
  let watcher: FSWatcher | undefined;
  let broken = false;
  const fail = (): void => {
    if (broken) return;
    broken = true;
    watcher?.close();
    onNotice(undefined);
  };
  try {
    const ino = statSync(path).ino;
    const own = basename(path);
    // Not persistent: whoever waits also holds a timer or a heartbeat, which keeps the process up.
    watcher = watch(path, { persistent: false }, (event, name) => {
      onNotice(name ?? undefined);
      // inotify reports the watched directory's own removal as a rename named after the
      // directory itself (an entry inside could bear the same name: look before concluding).
      if (event === 'rename' && (name === null || name === own)) {
        stat(path).then(
          (st) => {
            if (st.ino !== ino) fail();
          },
          fail,
        );
      }
    });
    watcher.on('error', fail);
  } catch {
    broken = true;
  }
  return {
    get broken() {
      return broken;
    },
    close() {
      broken = true;
      watcher?.close();
    },
  };
}
