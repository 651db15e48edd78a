// Election end to end against a real etcd, one TCP proxy per replica to cut one off.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterLog, leaders, overlaps, rolesOf, startedUp, startReplica, type LogEntry } from '../support/cluster.ts';
import { etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { electionScenarios, TTL_MS } from './e2e-scenarios.ts';

describe('election end to end (etcd)', { skip: etcdSkipReason() }, () => {
  let etcd: EtcdServer;
  const proxies = new Map<string, TcpProxy>();
  before(async () => {
    etcd = await startEtcd();
    for (const id of ['a', 'b']) proxies.set(id, await startTcpProxy(etcd.clientPort));
  });
  after(async () => {
    for (const p of proxies.values()) await p.close();
    await etcd?.stop();
  });
  const env = (id: string, election: string): Record<string, string> => {
    const proxy = proxies.get(id);
    if (proxy === undefined) throw new Error(`no proxy for ${id}`);
    return { STEWARD_ELECTION: election, STEWARD_ELECTION_BACKEND: 'etcd', CONFD_NODE: proxy.address, STEWARD_ELECTION_TTL: `${TTL_MS}ms` };
  };
  electionScenarios('etcd', () => ({
    env,
    partition: async (id) => proxies.get(id)?.pause('hang'),
    heal: async (id) => proxies.get(id)?.resume(),
    // etcd expires a lease at its TTL (rounded up to whole seconds); the issue asks for TTL + 2 s.
    failoverBoundMs: TTL_MS + 2000,
  }));

  it('etcd: a lease revoked from outside makes the leader step down and someone lead again', async () => {
    const log = clusterLog();
    const a = startReplica('a', env('a', 'revoked'), log);
    await log.until('a to lead', (e) => leaders(e).includes('a'));
    const b = startReplica('b', env('b', 'revoked'), log);
    // The bound below is on how fast a running leader notices, not on its start-up work.
    await Promise.all([startedUp(a), startedUp(b)]);
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: etcd.endpoint });
    let revokedAt = 0;
    try {
      // The clock starts right before the revocation is sent: the test's own client connects
      // first, so that its connection set-up (seconds for a starved test process) is not
      // counted as a's time to notice.
      await client.get('warm-up').string();
      // The lease of a's current leadership. On a loaded machine a may have let that lease go on
      // its own a moment ago (its fence passed): etcd then no longer knows it; take the next one.
      const tried = new Set<string>();
      const tokenOfA = (e: readonly LogEntry[]): string => e.filter((x) => x.id === 'a' && x.event === 'leader').at(-1)?.token ?? '';
      for (let attempt = 1; revokedAt === 0; attempt++) {
        const entries = await log.until('b to follow while a leads', (e) => rolesOf(e).get('b') === 'follower' && leaders(e).join() === 'a' && !tried.has(tokenOfA(e)));
        const token = tokenOfA(entries);
        tried.add(token);
        log.mark('a', 'revoked');
        const at = Date.now();
        try {
          await client.leaseClient.leaseRevoke({ ID: BigInt(`0x${token}`).toString() });
          revokedAt = at;
        } catch (error) {
          if (!/requested lease not found/.test(String(error)) || attempt === 5) throw error;
        }
      }
    } finally {
      client.close();
    }
    // Two things, awaited in turn: a steps down, and one replica leads on a lease taken after the
    // revocation, which may be a again. The new leader need not come after a's step-down: etcd
    // tells both replicas of the deletion at once, and b may win its campaign before a has
    // processed the event (a's leadership ends at the revocation; overlaps() holds every action
    // against that).
    const stepped = await log.until('a to step down', (e) => e.some((x) => x.id === 'a' && x.event === 'follower' && x.at >= revokedAt));
    const aFollows = stepped.find((x) => x.id === 'a' && x.event === 'follower' && x.at >= revokedAt);
    assert.ok(aFollows !== undefined && aFollows.at - revokedAt < TTL_MS / 2, `a noticed ${aFollows === undefined ? 'never' : `${Math.round(aFollows.at - revokedAt)} ms after the revocation`}`);
    const after = await log.until('one replica to lead after the revocation, a having stepped down', (e) => e.some((x) => x.event === 'leader' && x.at > revokedAt) && leaders(e).length === 1);
    assert.deepEqual(overlaps(after), []);
  });

  it('etcd: a restart of etcd leaves exactly one leader and no overlap', async () => {
    const log = clusterLog();
    startReplica('a', env('a', 'restart'), log);
    await log.until('a to lead', (e) => leaders(e).includes('a'));
    startReplica('b', env('b', 'restart'), log);
    await log.until('b to follow', (e) => rolesOf(e).get('b') === 'follower');
    await etcd.restart();
    // Leases survive a quick restart; a leader that could not renew in time steps down.
    await new Promise((r) => setTimeout(r, 2 * TTL_MS));
    const entries = await log.until('one leader', (e) => leaders(e).length === 1, 15_000);
    assert.deepEqual(overlaps(entries), []);
  });
});
