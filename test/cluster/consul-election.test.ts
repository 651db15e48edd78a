// Leader election through the Consul coordinator, against the Consul double with short TTLs
// (its sessionTtlMin plays Consul's session_ttl_min): who leads, how leadership moves on
// resign, on a leader that stops renewing and on a destroyed session, the fencing tokens
// (LockIndex) each leadership gets, lock-delay, and what observe() reports.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import type { Coordinator, Session } from '../../src/cluster/coordinator.ts';
import { createConsulCoordinator, type ConsulCoordinatorTuning } from '../../src/cluster/consul-coordinator.ts';
import { startConsulDouble, type ConsulDouble, type RecordedRequest } from '../support/consul/double.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { storeOptions } from '../support/backend-options.ts';

const TTL_MS = 600;
const KEY = 'steward/demo/leader';
const clock = systemClock();

let consul: ConsulDouble;
let proxy: TcpProxy | undefined;
let stop: AbortController;
const coordinators: Coordinator[] = [];

function coordinator(address: string, tuning: ConsulCoordinatorTuning = {}): Coordinator {
  const c = createConsulCoordinator(
    storeOptions({ nodes: [address] }),
    clock,
    { lockDelayMs: 200, waitMs: 5_000, requestTimeoutMs: 300, backoff: { initialMs: 50, maxMs: 200 }, ...tuning },
  );
  coordinators.push(c);
  return c;
}

function open(c: Coordinator, instanceId: string): Promise<Session> {
  return c.openSession({ ttlMs: TTL_MS, instanceId }, stop.signal);
}

/** Settles with 'pending' if `promise` has not settled once everything queued so far has run. */
async function state(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const pending = Symbol('pending');
  const outcome = await Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending))),
  ]);
  return outcome === pending ? 'pending' : outcome;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Values passed to a callback, with a way to await the next one that matches. */
function recorder<T>(): { seen: T[]; push(value: T): void; next(match: (value: T) => boolean, what: string): Promise<T> } {
  const seen: T[] = [];
  const waiters = new Set<() => void>();
  let read = 0;
  return {
    seen,
    push(value) {
      seen.push(value);
      for (const w of [...waiters]) w();
    },
    next(match, what) {
      return within(
        new Promise<T>((resolve) => {
          const check = (): void => {
            while (read < seen.length) {
              const value = seen[read++] as T;
              if (match(value)) {
                waiters.delete(check);
                resolve(value);
                return;
              }
            }
          };
          waiters.add(check);
          check();
        }),
        5_000,
        what,
      );
    },
  };
}

const acquiresBy = (id: string) => (r: RecordedRequest): boolean => r.method === 'PUT' && r.query['acquire'] === id;

beforeEach(async () => {
  stop = new AbortController();
  consul = await startConsulDouble({ sessionTtlMin: '100ms', blockingJitter: false });
});

afterEach(async () => {
  stop.abort();
  consul.resume();
  await proxy?.resume();
  for (const c of coordinators.splice(0)) await c.close();
  await proxy?.close();
  proxy = undefined;
  await consul.stop();
});

describe('Consul coordinator: election', () => {
  it('names itself and its agents', () => {
    const c = coordinator(consul.address);
    assert.equal(c.name, 'consul');
    assert.equal(c.source, `http://${consul.address}`);
  });

  it('creates TTL sessions with Behavior release, its lock-delay and no health checks', async () => {
    const a = await open(coordinator(consul.address), 'a');
    const record = consul.session(a.id);
    assert.equal(record?.ttl, `${TTL_MS}ms`);
    assert.equal(record?.behavior, 'release');
    assert.equal(record?.lockDelayNs, 200e6);
    assert.deepEqual(record?.nodeChecks, []);
    assert.equal(record?.name, 'steward a');
  });

  it('one session leads, the other waits on a blocking query, and resign hands over at once', async () => {
    const c = coordinator(consul.address, { lockDelayMs: 5_000 });
    const a = await open(c, 'a');
    const b = await open(c, 'b');
    const first = await a.campaign(KEY, 'a', stop.signal).elected;
    assert.equal(first.fencingToken, '1');
    assert.equal(consul.get(KEY)?.session, a.id);
    assert.equal(consul.get(KEY)?.value.toString(), 'a');

    const parked = consul.parkedQueries();
    const second = b.campaign(KEY, 'b', stop.signal).elected;
    await consul.waitForParked(parked + 1);
    assert.equal(await state(second), 'pending');
    assert.equal(consul.get(KEY)?.session, a.id);

    // Release starts no lock-delay (5 s here): the waiting campaign wins right away.
    const resignedAt = clock.monotonic();
    await a.resign(KEY);
    const { fencingToken } = await within(second, 1_000, 'the hand-over');
    assert.ok(clock.monotonic() - resignedAt < 1_000);
    assert.equal(fencingToken, '2');
    assert.equal(consul.get(KEY)?.session, b.id);
    assert.equal(consul.get(KEY)?.value.toString(), 'b');
  });

  it('elects the other session within 2 x TTL + lock-delay when the leader stops renewing; the old leader knows it has lost first', async () => {
    proxy = await startTcpProxy(consul.port);
    const lockDelayMs = 200;
    const a = await open(coordinator(proxy.address, { lockDelayMs }), 'a');
    const b = await open(coordinator(consul.address, { lockDelayMs }), 'b');
    const first = await a.campaign(KEY, 'a', stop.signal).elected;
    const parked = consul.parkedQueries();
    const second = b.campaign(KEY, 'b', stop.signal).elected;
    await consul.waitForParked(parked + 1);

    const invalidated = new Promise<string>((resolve) => {
      consul.events.on('session-invalidated', (inv) => {
        if (inv.id === a.id) resolve(inv.reason);
      });
    });
    const cutAt = clock.monotonic();
    await proxy.pause('hang');
    let lostAt = 0;
    const lost = a.lost.then((reason) => {
      lostAt = clock.monotonic();
      return reason;
    });
    const { fencingToken } = await within(second, 2 * TTL_MS + lockDelayMs + 1_000, 'the fail-over');
    const electedAt = clock.monotonic();

    assert.match(await lost, /no renewal of Consul session .* succeeded for its TTL of 600 ms/);
    assert.equal(await invalidated, 'ttl');
    assert.ok(lostAt > 0 && lostAt <= electedAt, 'the old leader learns it may have lost before anyone else leads');
    assert.ok(lostAt - a.lastRenewalSentAt() >= TTL_MS - 1, 'lost once no renewal succeeded for a whole TTL');
    assert.ok(electedAt - cutAt <= 2 * TTL_MS + lockDelayMs + 500, `elected ${Math.round(electedAt - cutAt)} ms after the cut`);
    assert.ok(Number(fencingToken) > Number(first.fencingToken), 'the fencing token grows');
    assert.equal(consul.get(KEY)?.session, b.id);
  });

  it('a campaign whose session is destroyed rejects and never leads later', async () => {
    const c = coordinator(consul.address);
    const a = await open(c, 'a');
    const b = await open(c, 'b');
    await a.campaign(KEY, 'a', stop.signal).elected;
    const parked = consul.parkedQueries();
    const doomed = b.campaign(KEY, 'b', stop.signal).elected;
    await consul.waitForParked(parked + 1);

    consul.expireSession(b.id);
    await assert.rejects(within(doomed, TTL_MS, 'the rejection'), /Consul session .* lost: .*404/);
    assert.match(await b.lost, /404/);
    const mark = consul.requests().at(-1)?.seq ?? -1;

    await a.resign(KEY);
    const d = await open(c, 'd');
    const { fencingToken } = await d.campaign(KEY, 'd', stop.signal).elected;
    assert.equal(fencingToken, '2');
    assert.equal(consul.get(KEY)?.session, d.id);
    assert.deepEqual(consul.requests((r) => r.seq > mark && acquiresBy(b.id)(r)), [], 'no acquire after the rejection');
  });

  it('an aborted campaign rejects with the reason, stops acquiring and never leads later', async () => {
    const c = coordinator(consul.address);
    const a = await open(c, 'a');
    const b = await open(c, 'b');
    await a.campaign(KEY, 'a', stop.signal).elected;
    const parked = consul.parkedQueries();
    const controller = new AbortController();
    const aborted = b.campaign(KEY, 'b', controller.signal).elected;
    await consul.waitForParked(parked + 1);
    const before = consul.requests(acquiresBy(b.id)).length;
    controller.abort(new Error('stepping back'));
    await assert.rejects(aborted, /stepping back/);

    await a.resign(KEY);
    const d = await open(c, 'd');
    await d.campaign(KEY, 'd', stop.signal).elected;
    assert.equal(consul.get(KEY)?.session, d.id);
    assert.equal(consul.requests(acquiresBy(b.id)).length, before, 'no acquire after the abort');
    assert.equal(await state(b.lost), 'pending', 'the session itself lives on');
  });

  it('an acquire that Consul applies while the campaign aborts is released again', async () => {
    const b = await open(coordinator(consul.address), 'b');
    const controller = new AbortController();
    consul.events.on('change', (change) => {
      if (change.keys.has(KEY) && consul.get(KEY)?.session === b.id) controller.abort(new Error('too late'));
    });
    const elected = b.campaign(KEY, 'b', controller.signal).elected;
    await assert.rejects(elected, /too late/);
    assert.equal(consul.get(KEY)?.session, '');
    assert.equal(await state(b.lost), 'pending');
  });

  it('a refused acquire during a lock-delay is retried after it, not in a tight loop', async () => {
    const lockDelayMs = 400;
    const c = coordinator(consul.address, { lockDelayMs });
    const a = await open(c, 'a');
    const b = await open(c, 'b');
    const first = await a.campaign(KEY, 'a', stop.signal).elected;
    const parked = consul.parkedQueries();
    const second = b.campaign(KEY, 'b', stop.signal).elected;
    await consul.waitForParked(parked + 1);
    const before = consul.requests(acquiresBy(b.id)).length;

    const expiredAt = clock.monotonic();
    consul.expireSession(a.id);
    const { fencingToken } = await within(second, lockDelayMs + 1_000, 'the election after the lock-delay');
    const waited = clock.monotonic() - expiredAt;
    assert.ok(waited >= lockDelayMs - 20, `elected ${Math.round(waited)} ms after the expiry, inside the lock-delay`);
    assert.ok(waited < lockDelayMs + 500, `elected ${Math.round(waited)} ms after the expiry`);
    const attempts = consul.requests(acquiresBy(b.id)).length - before;
    assert.ok(attempts >= 2 && attempts <= 3, `${attempts} acquires during a ${lockDelayMs} ms lock-delay`);
    assert.equal(fencingToken, String(Number(first.fencingToken) + 1));
  });

  it('fencing tokens are the LockIndex and grow with every new leader', async () => {
    const c = coordinator(consul.address);
    const tokens: number[] = [];
    for (const id of ['a', 'b', 'c']) {
      const s = await open(c, id);
      const { fencingToken } = await s.campaign(KEY, id, stop.signal).elected;
      assert.equal(Number(fencingToken), consul.get(KEY)?.lockIndex);
      tokens.push(Number(fencingToken));
      await s.resign(KEY);
    }
    assert.deepEqual(tokens, [1, 2, 3]);
  });

  it('campaigning again while leading keeps the leadership and its token', async () => {
    const a = await open(coordinator(consul.address), 'a');
    const first = await a.campaign(KEY, 'a', stop.signal).elected;
    const again = await a.campaign(KEY, 'a', stop.signal).elected;
    assert.equal(again.fencingToken, first.fencingToken);
  });

  it('observe reports the leader at once and on every change', async () => {
    const c = coordinator(consul.address);
    const watcher = await open(c, 'w');
    const leaders = recorder<string | undefined>();
    watcher.observe(`/${KEY}`, (leader) => leaders.push(leader), stop.signal);
    assert.equal(await leaders.next(() => true, 'the first report'), undefined);

    const a = await open(c, 'a');
    await a.campaign(KEY, 'a', stop.signal).elected;
    await leaders.next((l) => l === 'a', 'a as leader');
    await a.resign(KEY);
    await leaders.next((l) => l === undefined, 'no leader');
    const b = await open(c, 'b');
    await b.campaign(KEY, 'b', stop.signal).elected;
    await leaders.next((l) => l === 'b', 'b as leader');
    consul.expireSession(b.id);
    await leaders.next((l) => l === undefined, 'no leader after the expiry');
    assert.deepEqual(leaders.seen, [undefined, 'a', undefined, 'b', undefined]);
  });

  it('observe ignores keys that merely share the prefix and keeps working after the index goes back', async () => {
    const c = coordinator(consul.address, { waitMs: 300 });
    const watcher = await open(c, 'w');
    const leaders = recorder<string | undefined>();
    watcher.observe(KEY, (leader) => leaders.push(leader), stop.signal);
    await leaders.next(() => true, 'the first report');
    const other = consul.createSession({ ttl: '' });
    consul.acquire(`${KEY}-old`, other.id, 'not a leader');

    consul.restoreSnapshot(2);
    const a = await open(c, 'a');
    await a.campaign(KEY, 'a', stop.signal).elected;
    await leaders.next((l) => l === 'a', 'a as leader after the restore');
    assert.deepEqual(leaders.seen, [undefined, 'a']);
  });

  it('a campaign rejects when its session is closed, and close releases the lock without lock-delay', async () => {
    const c = coordinator(consul.address, { lockDelayMs: 5_000 });
    const a = await open(c, 'a');
    const b = await open(c, 'b');
    await a.campaign(KEY, 'a', stop.signal).elected;
    const parked = consul.parkedQueries();
    const waiting = b.campaign(KEY, 'b', stop.signal).elected;
    await consul.waitForParked(parked + 1);
    const e = await open(c, 'e');
    const third = e.campaign(KEY, 'e', stop.signal).elected;

    await b.close();
    await assert.rejects(waiting, /Consul session .* was closed/);
    assert.equal(await b.lost, 'the session was closed');
    const closedAt = clock.monotonic();
    await a.close();
    assert.equal(consul.session(a.id), undefined, 'destroyed');
    await within(third, 1_000, 'the election after close');
    assert.ok(clock.monotonic() - closedAt < 1_000, 'no lock-delay after a close');
  });
});
