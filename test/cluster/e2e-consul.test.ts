// Election end to end against the Consul double (sessions with a TTL below Consul's 10 s
// minimum, as the agent's session_ttl_min allows), one TCP proxy per replica to cut one off.

import { after, before, describe } from 'node:test';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { electionScenarios, TTL_MS } from './e2e-scenarios.ts';

describe('election end to end (Consul double)', () => {
  let consul: ConsulDouble;
  const proxies = new Map<string, TcpProxy>();
  before(async () => {
    consul = await startConsulDouble({ sessionTtlMin: '100ms' });
  });
  after(async () => {
    for (const p of proxies.values()) await p.close();
    await consul?.stop();
  });
  electionScenarios('consul', () => ({
    env: (id, election) => {
      const proxy = proxies.get(id);
      if (proxy === undefined) throw new Error(`no proxy for ${id}`);
      return { STEWARD_ELECTION: election, STEWARD_ELECTION_BACKEND: 'consul', CONFD_NODE: proxy.address, STEWARD_ELECTION_TTL: `${TTL_MS}ms` };
    },
    partition: async (id) => proxies.get(id)?.pause('hang'),
    heal: async (id) => proxies.get(id)?.resume(),
    // Consul may take up to 2 x TTL to invalidate a session, then the lock-delay (1 s).
    failoverBoundMs: 2 * TTL_MS + 1000 + 2000,
  }));
  before(async () => {
    for (const id of ['a', 'b']) proxies.set(id, await startTcpProxy(consul.port));
  });
});
