// The etcd coordinator's election against a real etcd, each replica with a coordinator of its
// own, as in a cluster. Besides the election itself, these tests pin down the etcd3 Election
// defects the coordinator must not let through: a campaign whose lease was revoked electing
// later anyway, "campaign again on error" multiplying campaigns, and leadership lost without
// the old leader knowing before the new one is elected.

import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Etcd3, type IKeyValue } from 'etcd3';
import { createEtcdCoordinator, type EtcdCoordinatorTuning } from '../../src/cluster/etcd-coordinator.ts';
import type { Session } from '../../src/cluster/coordinator.ts';
import { systemClock } from '../../src/core/clock.ts';
import { etcdBackendOptions, etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { quietFor, until } from '../support/until.ts';

/** The replicas' lease TTL: a keep-alive is due every third of it, which a loaded machine must be able to send. */
const TTL_MS = 2000;
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

interface Tracked<T> {
  state: 'pending' | 'resolved' | 'rejected';
  settledAt: number;
  readonly promise: Promise<T>;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { state: 'pending', settledAt: NaN, promise };
  promise.then(
    () => Object.assign(t, { state: 'resolved', settledAt: clock.monotonic() }),
    () => Object.assign(t, { state: 'rejected', settledAt: clock.monotonic() }),
  );
  return t;
}

/** Values pushed by observe()/watchPrefix(), with a way to await one. */
function recorder<T>(): { readonly values: T[]; push(value: T): void; until(what: string, condition: (values: readonly T[]) => boolean, timeoutMs?: number): Promise<void> } {
  const values: T[] = [];
  const waiters = new Set<() => void>();
  return {
    values,
    push(value) {
      values.push(value);
      for (const check of [...waiters]) check();
    },
    until(what, condition, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!condition(values)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(values)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

describe('etcd coordinator election', { skip }, () => {
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

  /** A replica: a coordinator of its own and one session. */
  async function replica(name: string, ttlMs = TTL_MS, nodes: readonly string[] = [etcd.endpoint]): Promise<Session> {
    const c = createEtcdCoordinator(etcdBackendOptions(nodes), clock, fast);
    cleanups.push(() => c.close());
    return c.openSession({ ttlMs, instanceId: name }, stop.signal);
  }

  async function candidates(electionKey: string): Promise<IKeyValue[]> {
    return (await admin.getAll().prefix(`${electionKey}/`).sort('Create', 'Ascend').exec()).kvs;
  }

  async function revoke(session: Session): Promise<void> {
    await admin.leaseClient.leaseRevoke({ ID: decimal(session.id) });
  }

  it('elects one replica; the other waits behind it; resign hands over at once', async (t: TestContext) => {
    const a = await replica('a');
    const b = await replica('b');
    const elected = await a.campaign('/e1', 'a', stop.signal).elected;
    assert.deepEqual(elected, { fencingToken: a.id }, 'the fencing token is the lease id in hex, the session id');
    const waiting = track(b.campaign('/e1', 'b', stop.signal).elected);
    await until("b's candidate key", async () => (await candidates('/e1')).length === 2);
    assert.deepEqual(
      (await candidates('/e1')).map((kv) => [kv.key.toString(), kv.value.toString(), kv.lease]),
      [
        [`/e1/${a.id}`, 'a', decimal(a.id)],
        [`/e1/${b.id}`, 'b', decimal(b.id)],
      ],
    );
    assert.equal(waiting.state, 'pending');
    const resignedAt = clock.monotonic();
    await a.resign('/e1');
    assert.deepEqual(await waiting.promise, { fencingToken: b.id });
    const handover = waiting.settledAt - resignedAt;
    t.diagnostic(`handover after resign: ${handover.toFixed(1)} ms`);
    assert.ok(handover < 500, `b elected ${handover} ms after a resigned`);
    assert.deepEqual(
      (await candidates('/e1')).map((kv) => kv.value.toString()),
      ['b'],
    );
  });

  it('elects the waiting replica when the leader lease is revoked from outside', async (t: TestContext) => {
    const a = await replica('a');
    const b = await replica('b');
    await a.campaign('/e2', 'a', stop.signal).elected;
    const waiting = track(b.campaign('/e2', 'b', stop.signal).elected);
    await until("b's candidate key", async () => (await candidates('/e2')).length === 2);
    const revokedAt = clock.monotonic();
    await revoke(a);
    assert.deepEqual(await waiting.promise, { fencingToken: b.id });
    t.diagnostic(`elected ${(waiting.settledAt - revokedAt).toFixed(1)} ms after the leader's lease was revoked`);
    assert.ok(waiting.settledAt - revokedAt < 500);
    assert.match(await a.lost, /revoked/);
  });

  it('tells a partitioned leader that its session is lost before etcd lets anyone else lead', async (t: TestContext) => {
    const p = await startTcpProxy(etcd.clientPort);
    cleanups.push(() => p.close());
    const a = await replica('a', 1000, [p.address]);
    const b = await replica('b', 3000);
    await a.campaign('/e3', 'a', stop.signal).elected;
    const waiting = track(b.campaign('/e3', 'b', stop.signal).elected);
    await until("b's candidate key", async () => (await candidates('/e3')).length === 2);
    await p.pause('hang');
    const lost = track(a.lost);
    await waiting.promise;
    await until("a's loss", () => lost.state === 'resolved', 2000);
    t.diagnostic(`a lost ${(lost.settledAt - a.lastRenewalSentAt()).toFixed(1)} ms after its last good renewal; b elected ${(waiting.settledAt - lost.settledAt).toFixed(1)} ms later`);
    assert.ok(lost.settledAt < waiting.settledAt, 'the old leader knew it had lost before the new one was elected');
  });

  it('a campaign whose lease is revoked from outside rejects and never elects later (etcd3 defect)', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.campaign('/e4', 'a', stop.signal).elected;
    const leaders = recorder<string | undefined>();
    a.observe('/e4', (l) => leaders.push(l), stop.signal);
    await leaders.until('a leads', (v) => v.at(-1) === 'a');
    const campaign = track(b.campaign('/e4', 'b', stop.signal).elected);
    await until("b's candidate key", async () => (await candidates('/e4')).length === 2);
    await revoke(b);
    await assert.rejects(campaign.promise, /key \/e4\/[0-9a-f]+ was deleted|session \(lease [0-9a-f]+\) is lost/);
    assert.match(await b.lost, /revoked/);
    // The seat frees up: with etcd3 the revoked campaign could still report 'elected' now.
    await a.resign('/e4');
    await leaders.until('no leader', (v) => v.at(-1) === undefined);
    await quietFor(2 * TTL_MS + 500);
    assert.equal(campaign.state, 'rejected');
    assert.deepEqual(await candidates('/e4'), []);
    assert.deepEqual(leaders.values, ['a', undefined]);
  });

  it('"campaign again after an error" does not multiply campaigns (etcd3 defect)', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.campaign('/e5', 'a', stop.signal).elected;
    let puts = 0;
    let deletes = 0;
    const watcher = await admin.watch().prefix('/e5/').create();
    cleanups.push(() => watcher.cancel());
    watcher.on('put', () => puts++);
    watcher.on('delete', () => deletes++);
    const rounds = 10;
    let last: Tracked<{ readonly fencingToken: string }> | undefined;
    // b's key of the round before: each round must put a key of its own.
    let seat = '0';
    const newSeat = async (): Promise<boolean> => {
      const mine = (await candidates('/e5')).find((kv) => kv.lease === decimal(b.id));
      if (mine === undefined || mine.create_revision === seat) return false;
      seat = mine.create_revision;
      return true;
    };
    for (let i = 0; i < rounds; i++) {
      // As etcd3 documents it: campaign again as soon as the campaign failed.
      const giveUp = new AbortController();
      last = track(b.campaign('/e5', 'b', AbortSignal.any([stop.signal, giveUp.signal])).elected);
      await until(`round ${i}: b's candidate key`, newSeat);
      giveUp.abort(new Error(`gave up in round ${i}`));
      await assert.rejects(last.promise, new RegExp(`gave up in round ${i}`));
    }
    last = track(b.campaign('/e5', 'b', stop.signal).elected);
    await until("the last round's candidate key", newSeat);
    assert.equal((await candidates('/e5')).length, 2, 'one key per replica');
    await until('every withdrawal seen', () => puts === rounds + 1 && deletes === rounds);
    await quietFor(2 * TTL_MS);
    assert.deepEqual({ puts, deletes }, { puts: rounds + 1, deletes: rounds }, 'one write to enter and one to withdraw per campaign; no hidden retries');
    assert.equal(last.state, 'pending');
    await a.resign('/e5');
    assert.deepEqual(await last.promise, { fencingToken: b.id });
  });

  it('runs one campaign per election and session: a second one while the first waits is refused', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.campaign('/e6', 'a', stop.signal).elected;
    const first = track(b.campaign('/e6', 'b', stop.signal).elected);
    await assert.rejects(b.campaign('/e6', 'b', stop.signal).elected, /a campaign for \/e6 is already running in this session/);
    await until("b's candidate key", async () => (await candidates('/e6')).length === 2);
    assert.equal((await candidates('/e6')).length, 2);
    assert.equal(first.state, 'pending');
    // Campaigning again while leading keeps the seat (and its create revision) and updates the value.
    const seat = (await candidates('/e6'))[0]!.create_revision;
    assert.deepEqual(await a.campaign('/e6', 'a2', stop.signal).elected, { fencingToken: a.id });
    assert.deepEqual(
      (await candidates('/e6')).map((kv) => [kv.value.toString(), kv.create_revision]),
      [
        ['a2', seat],
        ['b', (await candidates('/e6'))[1]!.create_revision],
      ],
    );
  });

  it('a waiting campaign that is aborted rejects at once and takes its key back', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.campaign('/e7', 'a', stop.signal).elected;
    const giveUp = new AbortController();
    const campaign = track(b.campaign('/e7', 'b', giveUp.signal).elected);
    await until("b's candidate key", async () => (await candidates('/e7')).length === 2);
    const abortedAt = clock.monotonic();
    giveUp.abort(new Error('stopping'));
    await assert.rejects(campaign.promise, /stopping/);
    assert.ok(campaign.settledAt - abortedAt < 50, 'rejected at once');
    await until("b's key withdrawn", async () => (await candidates('/e7')).length === 1);
    // Resigning a waiting campaign withdraws it just the same.
    const again = track(b.campaign('/e7', 'b', stop.signal).elected);
    await until("b's candidate key again", async () => (await candidates('/e7')).length === 2);
    await b.resign('/e7');
    await assert.rejects(again.promise, /resigned from \/e7/);
    assert.deepEqual((await candidates('/e7')).map((kv) => kv.value.toString()), ['a']);
    // A signal that is already aborted never even enters.
    await assert.rejects(b.campaign('/e7', 'b', AbortSignal.abort(new Error('too late'))).elected, /too late/);
    assert.equal((await candidates('/e7')).length, 1);
  });

  it('observe reports the leader at once and every change of it, and stops when its signal aborts', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const watcher = await replica('w', 3000);
    const leaders = recorder<string | undefined>();
    const stopObserving = new AbortController();
    watcher.observe('/e8', (l) => leaders.push(l), stopObserving.signal);
    await leaders.until('no leader yet', (v) => v.length === 1);
    await a.campaign('/e8', 'a', stop.signal).elected;
    await leaders.until('a', (v) => v.at(-1) === 'a');
    const waiting = b.campaign('/e8', 'b', stop.signal).elected;
    await until("b's candidate key", async () => (await candidates('/e8')).length === 2);
    await a.resign('/e8');
    await waiting;
    await leaders.until('b', (v) => v.at(-1) === 'b');
    // A compacted history does not stop the observation.
    await etcd.compact();
    await b.resign('/e8');
    await leaders.until('no leader', (v) => v.at(-1) === undefined);
    assert.deepEqual(leaders.values, [undefined, 'a', 'b', undefined]);
    stopObserving.abort();
    await a.campaign('/e8', 'a', stop.signal).elected;
    await quietFor(300);
    assert.deepEqual(leaders.values, [undefined, 'a', 'b', undefined]);
  });
});
