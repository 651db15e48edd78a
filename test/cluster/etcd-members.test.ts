// Member records of the etcd coordinator against a real etcd: bound to the session's lease,
// created only if absent, and watched under a prefix through joins, leaves, compaction and an
// etcd restart.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { createEtcdCoordinator, type EtcdCoordinatorTuning } from '../../src/cluster/etcd-coordinator.ts';
import type { Session } from '../../src/cluster/coordinator.ts';
import { systemClock } from '../../src/core/clock.ts';
import { etcdBackendOptions, etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { quietFor, until } from '../support/until.ts';

const skip = etcdSkipReason();
const clock = systemClock();
const fast: Partial<EtcdCoordinatorTuning> = {
  requestTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  keepaliveTimeMs: 1000,
  keepaliveTimeoutMs: 1000,
  backoff: { initialMs: 50, maxMs: 200 },
};

function decimal(hexId: string): string {
  return BigInt(`0x${hexId}`).toString();
}

type Entries = ReadonlyMap<string, string>;

/** What watchPrefix() reported, with a way to await a state. */
function membersRecorder(): { readonly seen: Entries[]; readonly last: Entries | undefined; push(e: Entries): void; until(what: string, condition: (e: Entries) => boolean, timeoutMs?: number): Promise<void> } {
  const seen: Entries[] = [];
  const waiters = new Set<() => void>();
  return {
    seen,
    get last() {
      return seen.at(-1);
    },
    push(entries) {
      seen.push(entries);
      for (const check of [...waiters]) check();
    },
    until(what, condition, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const last = seen.at(-1);
          if (last === undefined || !condition(last)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw ${JSON.stringify(seen.map((e) => [...e]))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

describe('etcd coordinator members', { skip }, () => {
  let etcd: EtcdServer;
  let admin: Etcd3;
  const stop = new AbortController();
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    etcd = await startEtcd({ extraArgs: ['--grpc-keepalive-min-time=500ms'] });
    admin = new Etcd3({ hosts: etcd.endpoint, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 }) });
  });
  after(async () => {
    stop.abort();
    for (const cleanup of cleanups.reverse()) await cleanup();
    admin?.close();
    await etcd?.stop();
  });

  async function replica(name: string, ttlMs = 2000): Promise<Session> {
    const c = createEtcdCoordinator(etcdBackendOptions([etcd.endpoint]), clock, fast);
    cleanups.push(() => c.close());
    return c.openSession({ ttlMs, instanceId: name }, stop.signal);
  }

  it('registers a key bound to the lease, refuses it to another live session, and lets only its holder update it', async () => {
    const a = await replica('a');
    const b = await replica('b');
    assert.equal(await a.register('/m1/members/x', 'a'), true);
    assert.equal(await b.register('/m1/members/x', 'b'), false, 'another live session holds it: a duplicate instance id');
    assert.equal(await a.register('/m1/members/x', 'a'), true, 'its holder may register it again');
    const record = (await admin.get('/m1/members/x').exec()).kvs[0]!;
    assert.equal(record.value.toString(), 'a');
    assert.equal(record.lease, decimal(a.id));
    await a.update('/m1/members/x', 'a, updated');
    assert.equal(await etcd.get('/m1/members/x'), 'a, updated');
    await assert.rejects(b.update('/m1/members/x', 'b'), /cannot update etcd key \/m1\/members\/x: this session \(lease [0-9a-f]+\) does not hold it/);
    await assert.rejects(b.update('/m1/members/nobody', 'b'), /does not hold it/);
    assert.equal(await etcd.get('/m1/members/nobody'), undefined);
    // A record written by hand, without a lease, is held for good.
    await etcd.put('/m1/members/static', 'by hand');
    assert.equal(await a.register('/m1/members/static', 'a'), false);
    // Once the holder's lease is gone, the key is free.
    await admin.leaseClient.leaseRevoke({ ID: decimal(a.id) });
    assert.equal(await b.register('/m1/members/x', 'b'), true);
  });

  it('watchPrefix reports the members at once and on every join, change and leave (a revoked lease removes its record)', async () => {
    const watcher = await replica('w', 3000);
    const a = await replica('a');
    const b = await replica('b');
    assert.equal(await a.register('/m2/members/a', 'A'), true);
    await etcd.put('/m2/membersx', 'not under the prefix');
    const members = membersRecorder();
    const stopWatching = new AbortController();
    watcher.watchPrefix('/m2/members', (e) => members.push(e), stopWatching.signal);
    await members.until('a', (e) => e.size === 1);
    assert.deepEqual([...members.seen[0]!], [['/m2/members/a', 'A']]);
    assert.equal(await b.register('/m2/members/b', 'B'), true);
    await members.until('a and b', (e) => e.size === 2);
    await b.update('/m2/members/b', 'B2');
    await members.until("b's new value", (e) => e.get('/m2/members/b') === 'B2');
    await admin.leaseClient.leaseRevoke({ ID: decimal(a.id) });
    await members.until('a gone with its lease', (e) => !e.has('/m2/members/a'));
    await b.close();
    await members.until('b gone with its closed session', (e) => e.size === 0);
    assert.deepEqual(
      members.seen.map((e) => [...e]),
      [[['/m2/members/a', 'A']], [['/m2/members/a', 'A'], ['/m2/members/b', 'B']], [['/m2/members/a', 'A'], ['/m2/members/b', 'B2']], [['/m2/members/b', 'B2']], []],
    );
    stopWatching.abort();
    await etcd.put('/m2/members/late', 'x');
    await quietFor(300);
    assert.equal(members.seen.length, 5, 'nothing after the signal aborted');
  });

  it('watchPrefix goes on through compaction and an etcd restart', async () => {
    const watcher = await replica('w', 5000);
    const members = membersRecorder();
    watcher.watchPrefix('/m3/', (e) => members.push(e), stop.signal);
    await members.until('the first report', () => true);
    await etcd.put('/m3/one', '1');
    await members.until('one', (e) => e.get('/m3/one') === '1');
    await etcd.compact();
    await etcd.put('/m3/two', '2');
    await members.until('two, after compaction', (e) => e.get('/m3/two') === '2');
    await etcd.kill();
    await etcd.restart();
    await etcd.put('/m3/three', '3');
    await members.until('three, after the restart', (e) => e.get('/m3/three') === '3');
    assert.deepEqual([...members.last!].sort(), [['/m3/one', '1'], ['/m3/three', '3'], ['/m3/two', '2']]);
  });
});

describe('etcd coordinator over TLS with client certificates and a password', { skip }, () => {
  let etcd: EtcdServer;
  const stop = new AbortController();
  before(async () => {
    etcd = await startEtcd({ tls: { clientCertAuth: true } });
    await etcd.enableAuth('root', 'secret');
  });
  after(async () => {
    stop.abort();
    await etcd?.stop();
  });

  it('keeps a session, campaigns, registers and watches with the backend settings', async () => {
    const tls = etcd.tls!;
    const options = etcdBackendOptions([`127.0.0.1:${etcd.clientPort}`], {
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key },
      username: 'root',
      password: 'secret',
    });
    const c = createEtcdCoordinator(options, clock, fast);
    try {
      assert.equal(c.source, `https://127.0.0.1:${etcd.clientPort}`);
      const s = await c.openSession({ ttlMs: 5000, instanceId: 't' }, stop.signal);
      const created = s.lastRenewalSentAt();
      const members = membersRecorder();
      s.watchPrefix('/t1/members/', (e) => members.push(e), stop.signal);
      await members.until('the first report', () => true);
      assert.equal(await s.register('/t1/members/t', 'T'), true);
      await members.until('t', (e) => e.get('/t1/members/t') === 'T');
      assert.deepEqual(await s.campaign('/t1/election', 'T', stop.signal).elected, { fencingToken: s.id });
      const leaders: (string | undefined)[] = [];
      s.observe('/t1/election', (l) => leaders.push(l), stop.signal);
      await until('the leader observed', () => leaders.length === 1);
      await until('a renewal', () => s.lastRenewalSentAt() > created);
      assert.deepEqual(leaders, ['T']);
      // A restarted etcd has forgotten every login token: renewals and watches log in again.
      await etcd.restart();
      const restartedAt = clock.monotonic();
      await until('a renewal after the restart', () => s.lastRenewalSentAt() > restartedAt);
      assert.equal(await s.register('/t1/members/u', 'U'), true);
      await members.until('u, after the restart', (e) => e.get('/t1/members/u') === 'U');
      await s.close();
      assert.equal(await etcd.get('/t1/members/t'), undefined);
    } finally {
      await c.close();
    }
  });
});
