// The three registries as the tests see them: how steward is pointed at one, and what it holds
// for an instance (its status, or undefined when it is not registered).

import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { startEtcd, type EtcdServer } from '../support/etcd.ts';
import { aggregatedStatus } from '../../src/discovery/instance.ts';
import { fileRecord, tempDir } from './harness.ts';

export interface TestStore {
  readonly name: string;
  readonly env: Record<string, string>;
  /** The instance's aggregated status in the registry, undefined when it is not there. */
  status(service: string, id: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

export function fileStore(): TestStore {
  const dir = tempDir();
  return {
    name: 'file',
    env: { STEWARD_SERVICE_BACKEND: 'file', STEWARD_LOCK_DIR: dir },
    status: async (service, id) => fileRecord(dir, service, id)?.['Status'] as string | undefined,
    stop: async () => {},
  };
}

export async function consulStore(): Promise<TestStore & { readonly consul: ConsulDouble }> {
  const consul = await startConsulDouble();
  return {
    name: 'consul',
    consul,
    env: { STEWARD_SERVICE_BACKEND: 'consul', STEWARD_CONSUL_ADDR: consul.address },
    status: async (_service, id) => {
      if (consul.catalog.service(id) === undefined) return undefined;
      return aggregatedStatus(consul.catalog.checksOf(id));
    },
    stop: () => consul.stop(),
  };
}

export async function etcdStore(): Promise<TestStore & { readonly etcd: EtcdServer }> {
  const etcd = await startEtcd();
  return {
    name: 'etcd',
    etcd,
    env: { STEWARD_SERVICE_BACKEND: 'etcd', CONFD_NODE: etcd.endpoint, STEWARD_KEY_PREFIX: '/disco' },
    status: async (service, id) => {
      const text = await etcd.get(`/disco/services/${service}/${id}`);
      return text === undefined ? undefined : (JSON.parse(text) as { Status: string }).Status;
    },
    stop: () => etcd.stop(),
  };
}
