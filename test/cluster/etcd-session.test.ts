// The etcd coordinator's session against a real etcd: a lease steward renews itself, reported
// lost when etcd says it is gone or when renewals have failed for a whole TTL, and calls that
// never outlive their deadline, even against a frozen etcd (SIGSTOP) or a partition (a TCP
// proxy that stops forwarding while both sides stay up).

import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Etcd3 } from 'etcd3';
import { createEtcdCoordinator, type EtcdCoordinatorTuning } from '../../src/cluster/etcd-coordinator.ts';
import type { Coordinator, Session } from '../../src/cluster/coordinator.ts';
import { systemClock } from '../../src/core/clock.ts';
import { etcdBackendOptions, etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
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
/** What a loaded machine may add to a timer or a round trip. */
const SLACK_MS = 400;

function decimal(hexId: string): string {
  return BigInt(`0x${hexId}`).toString();
}

/** Where a promise stands, without awaiting it. */
function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; settledAt: number; promise: Promise<T> } {
  const t = { state: 'pending' as 'pending' | 'resolved' | 'rejected', settledAt: NaN, promise };
  promise.then(
    () => Object.assign(t, { state: 'resolved', settledAt: clock.monotonic() }),
    () => Object.assign(t, { state: 'rejected', settledAt: clock.monotonic() }),
  );
  return t;
}

describe('etcd coordinator session', { skip }, () => {
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

  function coordinator(nodes: readonly string[], tuning: Partial<EtcdCoordinatorTuning> = fast): Coordinator {
    const c = createEtcdCoordinator(etcdBackendOptions(nodes), clock, tuning);
    cleanups.push(() => c.close());
    return c;
  }

  async function proxy(): Promise<TcpProxy> {
    const p = await startTcpProxy(etcd.clientPort);
    cleanups.push(() => p.close());
    return p;
  }

  async function leaseTtl(session: Session): Promise<number> {
    return Number((await admin.leaseClient.leaseTimeToLive({ ID: decimal(session.id) })).TTL);
  }

  it('grants a lease of the TTL and renews it every third of the TTL, each renewal moving lastRenewalSentAt', async () => {
    const before = clock.monotonic();
    const s = await coordinator([etcd.endpoint]).openSession({ ttlMs: 1500, instanceId: 'r1' }, stop.signal);
    const created = s.lastRenewalSentAt();
    assert.ok(created >= before && created <= clock.monotonic(), 'the grant counts as the first renewal, sent when it was sent');
    assert.match(s.id, /^[0-9a-f]+$/);
    const granted = await admin.leaseClient.leaseTimeToLive({ ID: decimal(s.id) });
    assert.equal(granted.grantedTTL, '2', 'etcd takes whole seconds: 1500 ms rounds up');
    const seen = [created];
    await until('three renewals', () => {
      if (s.lastRenewalSentAt() !== seen.at(-1)) seen.push(s.lastRenewalSentAt());
      return seen.length >= 4;
    });
    const gaps = seen.slice(1).map((v, i) => v - seen[i]!);
    for (const gap of gaps) assert.ok(gap >= 490 && gap < 500 + SLACK_MS, `renewals every 500 ms, got gaps ${gaps.join(', ')}`);
    await s.close();
  });

  it('reports a lease revoked from outside as lost at the next renewal, once, and stops renewing', async () => {
    const s = await coordinator([etcd.endpoint]).openSession({ ttlMs: 1200, instanceId: 'r2' }, stop.signal);
    let resolutions = 0;
    void s.lost.then(() => resolutions++);
    const revokedAt = clock.monotonic();
    await admin.leaseClient.leaseRevoke({ ID: decimal(s.id) });
    const reason = await s.lost;
    assert.match(reason, /TTL 0|revoked/);
    assert.ok(clock.monotonic() - revokedAt < 400 + SLACK_MS, 'found at the next renewal, a third of the TTL later at most');
    const last = s.lastRenewalSentAt();
    await quietFor(1000);
    assert.equal(s.lastRenewalSentAt(), last, 'no renewal after the loss');
    assert.equal(resolutions, 1);
    await assert.rejects(s.register('/s2/member', 'x'), /session \(lease [0-9a-f]+\) is lost/);
    await s.close();
  });

  it('presumes the lease expired exactly one TTL after the last good renewal was sent, when partitioned from etcd', async (t: TestContext) => {
    const p = await proxy();
    const s = await coordinator([p.address]).openSession({ ttlMs: 1000, instanceId: 'r3' }, stop.signal);
    const created = s.lastRenewalSentAt();
    await until('a renewal through the proxy', () => s.lastRenewalSentAt() > created);
    await p.pause('hang');
    const partitionedAt = clock.monotonic();
    const reason = await s.lost;
    const lostAt = clock.monotonic();
    t.diagnostic(`lost ${(lostAt - s.lastRenewalSentAt()).toFixed(1)} ms after the last good renewal, ${(lostAt - partitionedAt).toFixed(1)} ms after the partition`);
    const last = s.lastRenewalSentAt();
    assert.ok(last <= partitionedAt, 'no renewal counted as good while partitioned');
    assert.match(reason, /no keep-alive succeeded for 1000 ms .* presumed expired/);
    assert.ok(lostAt >= last + 1000, `not before the TTL (lost ${lostAt - last} ms after the last good renewal)`);
    assert.ok(lostAt < last + 1000 + SLACK_MS, `at the TTL, not at 2 x TTL (lost ${lostAt - last} ms after the last good renewal)`);
    await p.resume();
    await quietFor(700);
    assert.equal(s.lastRenewalSentAt(), last, 'no renewal after the loss, even with etcd reachable again');
    await s.close();
  });

  it('keeps the session through a partition shorter than the TTL, counting only renewals that got through', async () => {
    const p = await proxy();
    const s = await coordinator([p.address]).openSession({ ttlMs: 3000, instanceId: 'r4' }, stop.signal);
    const lost = track(s.lost);
    const created = s.lastRenewalSentAt();
    await until('a renewal through the proxy', () => s.lastRenewalSentAt() > created);
    await p.pause('hang');
    const partitionedAt = clock.monotonic();
    await quietFor(1500);
    assert.ok(s.lastRenewalSentAt() <= partitionedAt, 'renewals sent during the partition failed and do not count');
    await p.resume();
    await until('a renewal after the partition healed', () => s.lastRenewalSentAt() > partitionedAt + 1500);
    assert.equal(lost.state, 'pending');
    assert.ok((await leaseTtl(s)) > 0);
    await s.close();
  });

  it('survives an etcd restart shorter than the TTL', async () => {
    const s = await coordinator([etcd.endpoint]).openSession({ ttlMs: 5000, instanceId: 'r5' }, stop.signal);
    const lost = track(s.lost);
    assert.equal(await s.register('/s5/member', 'v'), true);
    await etcd.kill();
    const downAt = clock.monotonic();
    await etcd.restart();
    await until('a renewal after the restart', () => s.lastRenewalSentAt() > downAt);
    assert.equal(lost.state, 'pending');
    assert.equal(await etcd.get('/s5/member'), 'v');
    await s.close();
  });

  it('close revokes the lease: the keys bound to it go at once, and nothing is left running', async () => {
    const c = coordinator([etcd.endpoint]);
    const s = await c.openSession({ ttlMs: 3000, instanceId: 'r6' }, stop.signal);
    assert.equal(await s.register('/s6/member', 'v'), true);
    const observed: (string | undefined)[] = [];
    s.observe('/s6/election', (l) => observed.push(l), stop.signal);
    s.watchPrefix('/s6/', () => {}, stop.signal);
    await s.close();
    assert.equal(await etcd.get('/s6/member'), undefined);
    assert.equal(await leaseTtl(s), -1);
    const last = s.lastRenewalSentAt();
    await s.close();
    await quietFor(600);
    assert.equal(s.lastRenewalSentAt(), last);
    await assert.rejects(s.campaign('/s6/election', 'x', stop.signal).elected, /closed/);
    await c.close();
    await assert.rejects(c.openSession({ ttlMs: 3000, instanceId: 'r6b' }, stop.signal), /closed/);
  });

  it('refuses a TTL that is not a positive number of milliseconds', async () => {
    const c = coordinator([etcd.endpoint]);
    await assert.rejects(c.openSession({ ttlMs: 0, instanceId: 'r8' }, stop.signal), /TTL must be a positive number of ms, not 0/);
    await assert.rejects(c.openSession({ ttlMs: NaN, instanceId: 'r8' }, stop.signal), /not NaN/);
  });
});

describe('etcd coordinator against a frozen etcd (SIGSTOP)', { skip }, () => {
  let etcd: EtcdServer;
  const stop = new AbortController();
  before(async () => {
    etcd = await startEtcd({ extraArgs: ['--grpc-keepalive-min-time=500ms'] });
  });
  after(async () => {
    stop.abort();
    if (etcd?.running) await etcd.resume().catch(() => {});
    await etcd?.stop();
  });

  it('rejects every call within its deadline, loses the session at its TTL and closes within the deadline', async (t: TestContext) => {
    const deadline = 700;
    const c = createEtcdCoordinator(etcdBackendOptions([etcd.endpoint]), clock, { ...fast, requestTimeoutMs: deadline });
    const s = await c.openSession({ ttlMs: 2000, instanceId: 'f1' }, stop.signal);
    assert.equal(await s.register('/f1/member', 'a'), true);
    const observed: (string | undefined)[] = [];
    s.observe('/f1/election', (l) => observed.push(l), stop.signal);
    await until('the first observation', () => observed.length === 1);
    await etcd.pause();
    try {
      const timed = async (what: string, call: () => Promise<unknown>, expected: RegExp, budget = deadline): Promise<void> => {
        const t0 = clock.monotonic();
        await assert.rejects(call(), expected, what);
        const took = clock.monotonic() - t0;
        t.diagnostic(`${what} rejected after ${took.toFixed(0)} ms`);
        assert.ok(took < budget + SLACK_MS, `${what} took ${Math.round(took)} ms, beyond its ${budget} ms deadline`);
      };
      const campaign = track(s.campaign('/f1/election', 'a', stop.signal).elected);
      await Promise.all([
        timed('openSession', () => c.openSession({ ttlMs: 2000, instanceId: 'f2' }, stop.signal), /cannot grant a lease/),
        timed('register', () => s.register('/f1/other', 'b'), /cannot register \/f1\/other/),
        timed('update', () => s.update('/f1/member', 'b'), /cannot update \/f1\/member/),
        timed('resign', () => s.resign('/f1/other-election'), /cannot resign from \/f1\/other-election/),
      ]);
      const reason = await s.lost;
      t.diagnostic(`lost ${(clock.monotonic() - s.lastRenewalSentAt()).toFixed(0)} ms after the last good renewal`);
      assert.match(reason, /presumed expired/);
      assert.ok(clock.monotonic() < s.lastRenewalSentAt() + 2000 + SLACK_MS, 'lost at the TTL after the last good renewal');
      await until('the campaign rejected', () => campaign.state === 'rejected', 1000);
      await assert.rejects(campaign.promise, /session \(lease [0-9a-f]+\) is lost/);
      const t0 = clock.monotonic();
      await c.close();
      t.diagnostic(`close took ${(clock.monotonic() - t0).toFixed(0)} ms`);
      assert.ok(clock.monotonic() - t0 < deadline + SLACK_MS, 'close waits for the revoke no longer than its deadline');
      assert.deepEqual(observed, [undefined]);
    } finally {
      await etcd.resume();
    }
  });
});
