// Member records through the Consul coordinator: register (create-if-absent, or ours, through
// ?acquire), duplicates, update, watchPrefix with joins and leaves, and what becomes of a record
// when its session is closed (deleted) or ends without steward (released, so gone to watchers,
// and taken over by the next session that registers it once the lock-delay is over).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import type { Coordinator, Session } from '../../src/cluster/coordinator.ts';
import { createConsulCoordinator } from '../../src/cluster/consul-coordinator.ts';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { storeOptions } from '../support/backend-options.ts';

const TTL_MS = 600;
const LOCK_DELAY_MS = 300;
const PREFIX = '/steward/demo/members/';
const clock = systemClock();

let consul: ConsulDouble;
let stop: AbortController;
let coordinator: Coordinator;

function open(instanceId: string): Promise<Session> {
  return coordinator.openSession({ ttlMs: TTL_MS, instanceId }, stop.signal);
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

type Members = Record<string, string>;

/** watchPrefix reports, as plain objects, with a way to await the next one that matches. */
function members(): { seen: Members[]; push(entries: ReadonlyMap<string, string>): void; next(expected: Members): Promise<void> } {
  const seen: Members[] = [];
  const waiters = new Set<() => void>();
  let read = 0;
  return {
    seen,
    push(entries) {
      seen.push(Object.fromEntries(entries));
      for (const w of [...waiters]) w();
    },
    next(expected) {
      return within(
        new Promise<void>((resolve) => {
          const check = (): void => {
            while (read < seen.length) {
              if (JSON.stringify(seen[read++]) === JSON.stringify(expected)) {
                waiters.delete(check);
                resolve();
                return;
              }
            }
          };
          waiters.add(check);
          check();
        }),
        5_000,
        `the members ${JSON.stringify(expected)} (seen ${JSON.stringify(seen)})`,
      );
    },
  };
}

beforeEach(async () => {
  stop = new AbortController();
  consul = await startConsulDouble({ sessionTtlMin: '100ms', blockingJitter: false });
  coordinator = createConsulCoordinator(
    storeOptions({ nodes: [consul.address] }),
    clock,
    { lockDelayMs: LOCK_DELAY_MS, waitMs: 5_000, requestTimeoutMs: 300, backoff: { initialMs: 50, maxMs: 200 } },
  );
});

afterEach(async () => {
  stop.abort();
  await coordinator.close();
  await consul.stop();
});

describe('Consul coordinator: members', () => {
  it('registers a record bound to the session; a second live session gets false for the same key', async () => {
    const a = await open('a');
    const b = await open('b');
    assert.equal(await a.register(`${PREFIX}x`, 'from a'), true);
    const record = consul.get('steward/demo/members/x');
    assert.equal(record?.session, a.id);
    assert.equal(record?.value.toString(), 'from a');

    assert.equal(await b.register(`${PREFIX}x`, 'from b'), false);
    assert.equal(consul.get('steward/demo/members/x')?.value.toString(), 'from a');
    assert.equal(await a.register(`${PREFIX}x`, 'again'), true, 'its own record is no duplicate');
    assert.equal(consul.get('steward/demo/members/x')?.value.toString(), 'again');
  });

  it('update rewrites its own record and refuses keys it did not register', async () => {
    const a = await open('a');
    await a.register(`${PREFIX}a`, 'v1');
    await a.update(`${PREFIX}a`, 'v2');
    assert.equal(consul.get('steward/demo/members/a')?.value.toString(), 'v2');
    assert.equal(consul.get('steward/demo/members/a')?.session, a.id);
    await assert.rejects(a.update(`${PREFIX}b`, 'v'), /Consul key \/steward\/demo\/members\/b: not registered by session/);
  });

  it('watchPrefix reports at once, then every join, change and leave', async () => {
    const watcher = await open('w');
    const seen = members();
    watcher.watchPrefix(PREFIX, (entries) => seen.push(entries), stop.signal);
    await seen.next({});

    const a = await open('a');
    await a.register(`${PREFIX}a`, 'A');
    await seen.next({ [`${PREFIX}a`]: 'A' });
    const b = await open('b');
    await b.register(`${PREFIX}b`, 'B');
    await seen.next({ [`${PREFIX}a`]: 'A', [`${PREFIX}b`]: 'B' });
    await a.update(`${PREFIX}a`, 'A2');
    await seen.next({ [`${PREFIX}a`]: 'A2', [`${PREFIX}b`]: 'B' });

    // Closed: the record is deleted.
    await b.close();
    await seen.next({ [`${PREFIX}a`]: 'A2' });
    assert.equal(consul.get('steward/demo/members/b'), undefined);

    // Ended without steward (TTL, destroy): Consul releases the record; it is gone to watchers.
    consul.expireSession(a.id);
    await seen.next({});
    assert.equal(consul.get('steward/demo/members/a')?.session, '');
    assert.deepEqual(seen.seen.at(-1), {});
  });

  it('reports keys in the form of the prefix it was given', async () => {
    const watcher = await open('w');
    const seen = members();
    watcher.watchPrefix('steward/demo/members/', (entries) => seen.push(entries), stop.signal);
    await seen.next({});
    await watcher.register('steward/demo/members/w', 'W');
    await seen.next({ 'steward/demo/members/w': 'W' });
  });

  it('a record left behind by an ended session is taken over after the lock-delay, not reported as a duplicate', async () => {
    const a = await open('a');
    await a.register(`${PREFIX}same`, 'first life');
    const expiredAt = clock.monotonic();
    consul.expireSession(a.id);
    const again = await open('a');
    assert.equal(await again.register(`${PREFIX}same`, 'second life'), true);
    assert.ok(clock.monotonic() - expiredAt >= LOCK_DELAY_MS - 20, 'waited out the lock-delay');
    assert.equal(consul.get('steward/demo/members/same')?.session, again.id);
  });

  it('close deletes its own records and leaves the others', async () => {
    const a = await open('a');
    const b = await open('b');
    await a.register(`${PREFIX}a`, 'A');
    await b.register(`${PREFIX}b`, 'B');
    await a.close();
    assert.deepEqual(consul.list('steward/demo/members/').map((e) => e.key), ['steward/demo/members/b']);
    // Gone, not released: registering it again needs no lock-delay.
    const c = await open('c');
    const start = clock.monotonic();
    assert.equal(await c.register(`${PREFIX}a`, 'C'), true);
    assert.ok(clock.monotonic() - start < LOCK_DELAY_MS);
  });
});
