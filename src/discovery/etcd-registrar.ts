// Registration in etcd: the record under <STEWARD_KEY_PREFIX>/services/<name>/<id>, bound to a
// lease of the check's TTL, rewritten with the health state every half TTL (the lease renewed
// at the same time). A steward that dies leaves a lease nobody renews: the record goes with it.

import type { EtcdClient } from '../stores/etcd/client.ts';
import type { Registrar } from './registrar.ts';
import { storedInstance, type ServiceSpec } from './service-spec.ts';

const REQUEST_TIMEOUT_MS = 5000;

export function serviceKey(keyPrefix: string, spec: Pick<ServiceSpec, 'name' | 'id'>): string {
  return `${keyPrefix.replace(/\/+$/, '')}/services/${spec.name}/${spec.id}`;
}

export function etcdRegistrar(spec: ServiceSpec, keyPrefix: string, client: EtcdClient, where: string): Registrar {
  const key = serviceKey(keyPrefix, spec);
  let lease: string | undefined;
  const deadline = () => Date.now() + REQUEST_TIMEOUT_MS;

  async function liveLease(): Promise<string> {
    if (lease !== undefined) {
      const ttl = await client.keepAliveOnce(lease, deadline()).catch(() => 0);
      if (ttl > 0) return lease;
    }
    lease = await client.grantLease(Math.max(1, Math.ceil(spec.ttlMs / 1000)), deadline());
    return lease;
  }

  return {
    where: `etcd ${where} (${key})`,
    async put(state) {
      const id = await liveLease();
      await client.txn({ compare: [], success: [{ put: { key, value: JSON.stringify(storedInstance(spec, state)), lease: id } }], failure: [] }, deadline());
    },
    async deregister() {
      const id = lease;
      lease = undefined;
      await client.txn({ compare: [], success: [{ delete: key }], failure: [] }, deadline());
      if (id !== undefined) await client.revokeLease(id, deadline()).catch(() => undefined);
    },
    async close() {
      client.close();
    },
  };
}
