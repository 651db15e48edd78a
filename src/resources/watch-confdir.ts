// --watch-templates, for local development: edits to template resources (conf.d/) and templates
// (templates/) under the confdir are picked up without restarting steward.

import { join } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.ts';

const SETTLE_MS = 100;

/** Calls `onChange` once per burst of edits until `signal` aborts. */
export async function watchConfdir(confdir: string, onChange: () => void, signal: AbortSignal, clock: Clock): Promise<void> {
  const { watch } = await import('chokidar');
  const watcher = watch([join(confdir, 'conf.d'), join(confdir, 'templates')], {
    ignoreInitial: true,
    // Editors and steward's own CONFD_* writer save through a temporary file and a rename.
    atomic: true,
    ignored: (path: string) => /\/\.[^/]*\.(tmp|swp)$|~$/.test(path),
  });
  let timer: TimerHandle | undefined;
  const changed = (): void => {
    timer?.cancel();
    timer = clock.setTimer(SETTLE_MS, onChange);
  };
  watcher.on('all', changed);
  // An edit made while the watcher was starting raised no event: look once when it is ready
  // (a look that finds nothing new renders nothing new).
  watcher.on('ready', changed);
  signal.addEventListener(
    'abort',
    () => {
      timer?.cancel();
      void watcher.close();
    },
    { once: true },
  );
}
