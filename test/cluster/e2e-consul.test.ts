// Election end to end against the Consul double (sessions with a TTL below Consul's 10 s
// minimum, as the agent's session_ttl_min allows), one TCP proxy per replica to cut one off.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterLog, leaders, overlaps, rolesOf, startReplica } from '../support/cluster.ts';
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

  it('consul: a session destroyed from outside makes the leader step down and someone lead again', async () => {
    const env = (id: string) => ({ STEWARD_ELECTION: 'destroyed', STEWARD_ELECTION_BACKEND: 'consul', CONFD_NODE: proxies.get(id)?.address ?? '', STEWARD_ELECTION_TTL: `${TTL_MS}ms` });
    const log = clusterLog();
    startReplica('a', env('a'), log);
    await log.until('a to lead', (e) => leaders(e).includes('a'));
    startReplica('b', env('b'), log);
    await log.until('b to follow while a leads', (e) => rolesOf(e).get('b') === 'follower' && leaders(e).join() === 'a');
    const session = consul.get('steward/destroyed/leader')?.session ?? '';
    assert.notEqual(session, '');
    log.mark('a', 'revoked');
    const destroyedAt = Date.now();
    assert.ok(consul.expireSession(session));
    // Two things in turn, not at one moment: a steps down, then one replica leads (after the
    // lock-delay), which may be a again on a fresh session.
    const stepped = await log.until('a to step down', (e) => e.some((x) => x.id === 'a' && x.event === 'follower' && x.at >= destroyedAt));
    const aFollows = stepped.find((x) => x.id === 'a' && x.event === 'follower' && x.at >= destroyedAt);
    assert.ok(aFollows !== undefined && aFollows.at - destroyedAt < TTL_MS, `a noticed ${aFollows === undefined ? 'never' : `${Math.round(aFollows.at - destroyedAt)} ms after the destruction`}`);
    const entries = await log.until('one replica to lead after a stepped down', (e) => e.some((x) => x.event === 'leader' && x.at > (aFollows?.at ?? 0)) && leaders(e).length === 1, 4 * TTL_MS + 5000);
    assert.deepEqual(overlaps(entries), []);
  });
});
