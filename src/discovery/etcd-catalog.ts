// The catalog over etcd: every record under <STEWARD_KEY_PREFIX>/services/, read once and then
// watched from that revision through the etcd backend (which handles reconnects and compaction).
// A record goes away with its registrar's lease.

import type { Backend } from '../backends/backend.ts';
import type { Logger } from '../core/log.ts';
import { CatalogState, type Catalog } from './catalog.ts';
import { parseStoredInstance } from './service-spec.ts';

export function etcdCatalog(backend: Backend, keyPrefix: string, log: Logger): Catalog {
  const root = `${keyPrefix.replace(/\/+$/, '')}/services`;
  const state = new CatalogState();
  const values = new Map<string, string>();

  function rebuild(): boolean {
    const instances = [...values.entries()]
      .filter(([key]) => key.startsWith(`${root}/`))
      .flatMap(([, value]) => parseStoredInstance(value) ?? []);
    return state.replaceAll(instances);
  }

  return {
    where: `etcd ${backend.source} (${root}/)`,
    instances: (name) => state.instances(name),
    services: () => state.services(),
    async start(onChange, signal) {
      const snapshot = await backend.read([root], signal);
      for (const [k, v] of snapshot.values) values.set(k, v);
      rebuild();
      backend.watch([root], snapshot.cursor, {
        update(update) {
          if (update.kind === 'full') {
            values.clear();
            for (const [k, v] of update.values) values.set(k, v);
          } else {
            for (const [k, v] of update.set) values.set(k, v);
            for (const k of update.deleted) values.delete(k);
          }
          if (rebuild()) onChange();
        },
        status(status) {
          if (status.state === 'ok') log.info('service catalog: etcd reachable again');
          else log.warn(`service catalog: etcd unreachable (${status.error}); templates keep the last catalog`);
        },
      }, signal);
    },
    close: () => backend.close(),
  };
}
