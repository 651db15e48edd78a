// --watch-templates, for local development: edits to template resources (conf.d/) and templates
// (templates/) under the confdir are picked up without restarting steward.

import { join } from 'node:path';

const SETTLE_MS = 100;

/** Calls `onChange` once per burst of edits until `signal` aborts. */
export async function watchConfdir(confdir: string, onChange: () => void, signal: AbortSignal): Promise<void> {
  const { watch } = await import('chokidar');
  const watcher = watch([join(confdir, 'conf.d'), join(confdir, 'templates')], {
    ignoreInitial: true,
    // Editors and steward's own CONFD_* writer save through a temporary file and a rename.
    atomic: true,
    ignored: (path: string) => /\/\.[^/]*\.(tmp|swp)$|~$/.test(path),
  });
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(onChange, SETTLE_MS);
  };
  watcher.on('all', changed);
  // An edit made while the watcher was starting raised no event: look once when it is ready
  // (a look that finds nothing new renders nothing new).
  watcher.on('ready', changed);
  signal.addEventListener(
    'abort',
    () => {
      if (timer !== undefined) clearTimeout(timer);
      void watcher.close();
    },
    { once: true },
  );
}
