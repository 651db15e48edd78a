// Rollouts against a real etcd: the template backend and the lock are both etcd.

import { after, before, describe } from 'node:test';
import { etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { rolloutScenarios } from './scenarios.ts';

describe('rollout (etcd)', { skip: etcdSkipReason() }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(() => etcd?.stop());
  rolloutScenarios('etcd', () => ({
    env: () => ({ CONFD_BACKEND: 'etcd', CONFD_NODE: etcd.endpoint, STEWARD_ELECTION_TTL: '2s' }),
    put: async (value) => {
      await etcd.put('/app/config', value);
    },
    loseLock: async () => {
      const { Etcd3 } = await import('etcd3');
      const client = new Etcd3({ hosts: etcd.endpoint });
      try {
        const keys = await client.getAll().prefix('/steward/rollout/web/slot-0/').exec();
        for (const kv of keys.kvs) await client.leaseClient.leaseRevoke({ ID: kv.lease });
      } finally {
        client.close();
      }
    },
  }));
});
