// Which store the replicas coordinate through, and loading it: etcd and Consul reuse the
// template backend's connection options (CONFD_NODE, TLS, credentials: stores/options.ts); the file backend needs STEWARD_LOCK_DIR.

import { existsSync, statSync } from 'node:fs';
import type { ElectionBackendName, OptionKey, Settings } from '../config/options.ts';
import type { SettingSource } from '../config/settings.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { storeOptions } from '../stores/options.ts';
import type { Coordinator } from './coordinator.ts';

export function electionBackend(settings: Settings, sources: ReadonlyMap<OptionKey, SettingSource>): ElectionBackendName {
  if (settings.electionBackend !== undefined) return settings.electionBackend;
  // CONFD_BACKEND counts only when someone set it: its default (consul) is confd-sidecar's.
  if (sources.get('backend')?.kind !== 'default') {
    if (settings.backend === 'etcd' || settings.backend === 'etcdv3') return 'etcd';
    if (settings.backend === 'consul') return 'consul';
  }
  return 'file';
}

export async function createCoordinator(
  settings: Settings,
  sources: ReadonlyMap<OptionKey, SettingSource>,
  clock: Clock,
): Promise<Coordinator> {
  const backend = electionBackend(settings, sources);
  switch (backend) {
    case 'etcd': {
      const { createEtcdCoordinator } = await import('./etcd-coordinator.ts');
      return createEtcdCoordinator(storeOptions(settings), clock);
    }
    case 'consul': {
      const { createConsulCoordinator } = await import('./consul-coordinator.ts');
      // With no CONFD_NODE, the agent services register with (STEWARD_CONSUL_ADDR, CONSUL_HTTP_ADDR).
      const options = storeOptions(settings);
      const nodes = options.nodes.length === 0 && settings.consulAddr !== undefined ? [settings.consulAddr] : options.nodes;
      return createConsulCoordinator({ ...options, nodes }, clock);
    }
    case 'file': {
      const dir = settings.lockDir;
      if (dir === undefined) {
        throw new ConfigError('STEWARD_LOCK_DIR: the file election backend needs a directory on a volume shared by the replicas (or set STEWARD_ELECTION_BACKEND=etcd|consul)');
      }
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`STEWARD_LOCK_DIR: ${dir} is not a directory`);
      const { createFileCoordinator } = await import('./file-coordinator.ts');
      return createFileCoordinator({ dir, clock });
    }
  }
}
