// The catalog over the shared directory: <STEWARD_LOCK_DIR>/services/<name>/<id> files, read
// again when inotify reports a change under services/, and when the oldest record's TTL runs
// out (a registrar that died stops refreshing its file, and nothing else would say so).

import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { errorText } from '../core/error-text.ts';
import type { Logger } from '../core/log.ts';
import { CatalogState, type Catalog } from './catalog.ts';
import type { HealthService } from './instance.ts';
import { parseStoredInstance } from './service-spec.ts';

/** Every live record under `root`, and when the first of them expires (epoch ms). */
async function scan(root: string, now: number): Promise<{ instances: HealthService[]; nextExpiry: number | undefined }> {
  const instances: HealthService[] = [];
  let nextExpiry: number | undefined;
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const files = await readdir(join(root, name)).catch(() => [] as string[]);
    for (const file of files) {
      if (file.startsWith('.')) continue;
      const path = join(root, name, file);
      try {
        const [info, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
        const record = parseStoredInstance(text);
        if (record === undefined || record.Name !== name) continue;
        const expires = info.mtimeMs + record.TTL;
        if (expires <= now) continue;
        nextExpiry = nextExpiry === undefined ? expires : Math.min(nextExpiry, expires);
        const { TTL: _ttl, ...instance } = record;
        instances.push(instance);
      } catch {
        // Gone between readdir and read: it is not there.
      }
    }
  }
  return { instances, nextExpiry };
}

export function fileCatalog(dir: string, clock: Clock, log: Logger): Catalog {
  const root = join(dir, 'services');
  const state = new CatalogState();
  let watcher: FSWatcher | undefined;
  let expiry: TimerHandle | undefined;
  let scanning: Promise<void> | undefined;
  let again = false;

  async function refresh(onChange: () => void, signal: AbortSignal): Promise<void> {
    if (scanning !== undefined) {
      again = true;
      return scanning;
    }
    scanning = (async () => {
      do {
        again = false;
        const { instances, nextExpiry } = await scan(root, clock.now());
        if (signal.aborted) return;
        expiry?.cancel();
        expiry = nextExpiry === undefined ? undefined : clock.setTimer(Math.max(0, nextExpiry - clock.now()) + 1, () => void refresh(onChange, signal));
        if (state.replaceAll(instances)) onChange();
      } while (again && !signal.aborted);
    })().finally(() => {
      scanning = undefined;
    });
    return scanning;
  }

  return {
    where: `${root}/`,
    instances: (name) => state.instances(name),
    services: () => state.services(),
    async start(onChange, signal) {
      mkdirSync(root, { recursive: true });
      watcher = watch(root, { recursive: true }, () => void refresh(onChange, signal).catch(() => {}));
      watcher.on('error', (error) => log.warn(`service catalog: cannot watch ${root}: ${errorText(error)}`));
      signal.addEventListener('abort', () => {
        watcher?.close();
        expiry?.cancel();
      }, { once: true });
      await refresh(onChange, signal);
    },
    async close() {
      watcher?.close();
      expiry?.cancel();
    },
  };
}
