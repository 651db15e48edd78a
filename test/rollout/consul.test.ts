// Rollouts against the Consul double: the template backend and the lock (a session) are Consul.

import { after, before, describe } from 'node:test';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { rolloutScenarios } from './scenarios.ts';

describe('rollout (Consul double)', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble({ sessionTtlMin: '100ms' });
  });
  after(() => consul?.stop());
  rolloutScenarios('consul', () => ({
    env: () => ({ CONFD_BACKEND: 'consul', CONFD_NODE: `127.0.0.1:${consul.port}`, STEWARD_ELECTION_TTL: '2s' }),
    put: async (value) => {
      consul.put('app/config', value);
    },
    loseLock: async () => {
      const session = consul.get('steward/rollout/web/slot-0')?.session;
      if (session === undefined || !consul.expireSession(session)) throw new Error('no session holds the rollout lock');
    },
  }));
});
