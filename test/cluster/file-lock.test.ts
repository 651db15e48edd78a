import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { acquireLock, readLock, tryAcquireLock, type HeldLock } from '../../src/cluster/file-lock.ts';
import { claimSlot, inspectLock } from '../../src/cluster/file-lock/slots.ts';
import { systemClock } from '../../src/core/clock.ts';
import { pausableClock } from './fixtures/file-clock.ts';
import { until } from '../support/until.ts';

const clock = systemClock();
let dir = '';
const held: HeldLock[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steward-file-lock-'));
});

afterEach(async () => {
  for (const lock of held.splice(0)) await lock.release().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

function keep<T extends HeldLock | undefined>(lock: T): T {
  if (lock !== undefined) held.push(lock);
  return lock;
}

async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
}

/** A lock whose holder stopped heartbeating (its clock is paused) and is now past its TTL. */
async function staleLock(path: string, ttlMs: number, owner = 'frozen'): Promise<{ lock: HeldLock; resume: () => void }> {
  const frozenClock = pausableClock();
  const lock = keep(await tryAcquireLock({ path, ttlMs, owner, clock: frozenClock }));
  assert.ok(lock);
  frozenClock.pause();
  await until('the frozen lock to turn stale', async () => (await readLock(path))?.stale === true);
  return { lock, resume: () => frozenClock.resume() };
}

describe('file lock', { timeout: 30_000 }, () => {
  it('takes a free lock, shows its holder to others, refuses a second owner, and releases', async () => {
    const path = join(dir, 'leader');
    const a = keep(await tryAcquireLock({ path, ttlMs: 2000, owner: 'a', clock, data: 'a:8080' }));
    assert.ok(a);
    assert.equal(a.generation, 1);
    const info = await readLock(path);
    assert.equal(info?.owner, 'a');
    assert.equal(info?.generation, 1);
    assert.equal(info?.stale, false);
    assert.equal(info?.data, 'a:8080');
    assert.equal(await tryAcquireLock({ path, ttlMs: 2000, owner: 'b', clock }), undefined);

    await a.publish('a:9090');
    assert.equal((await readLock(path))?.data, 'a:9090');

    await a.release();
    assert.equal(await readLock(path), undefined, 'a released lock has no holder');
    const b = keep(await tryAcquireLock({ path, ttlMs: 2000, owner: 'b', clock }));
    assert.equal(b?.generation, 2);
    assert.equal(await isSettled(a.lost), false, 'release is not a loss');
  });

  it('stays held past its TTL while the heartbeat runs', async () => {
    const path = join(dir, 'leader');
    // A TTL a loaded machine can keep: a process starved past a 150 ms TTL rightly loses the
    // lock at its next heartbeat (see 'heartbeat came ... past the TTL'), which is not this test.
    const a = keep(await tryAcquireLock({ path, ttlMs: 1000, owner: 'a', clock }));
    assert.ok(a);
    const acquiredAt = a.lastRefreshSentAt();
    await until('three TTLs of heartbeats', () => a.lastRefreshSentAt() > acquiredAt + 3000);
    assert.equal(await tryAcquireLock({ path, ttlMs: 1000, owner: 'b', clock }), undefined);
    assert.equal((await readLock(path))?.stale, false);
    assert.equal(await isSettled(a.lost), false);
  });

  it('wakes a waiter as soon as the holder releases', async () => {
    const path = join(dir, 'leader');
    const a = await tryAcquireLock({ path, ttlMs: 10_000, owner: 'a', clock });
    assert.ok(a);
    const waiting = acquireLock({ path, ttlMs: 10_000, owner: 'b', clock });
    assert.equal(await isSettled(waiting), false);
    const releasedAt = clock.monotonic();
    await a.release();
    const b = keep(await waiting);
    // Far below the TTL: the waiter was woken by the release, not by a timer or a poll.
    assert.ok(clock.monotonic() - releasedAt < 1000, `woken after ${clock.monotonic() - releasedAt} ms`);
    assert.equal(b.generation, 2);
  });

  it('takes over a holder that stopped heartbeating once its TTL has passed, and the holder learns it lost', async () => {
    const path = join(dir, 'leader');
    const ttlMs = 300;
    const frozenClock = pausableClock();
    const a = keep(await tryAcquireLock({ path, ttlMs, owner: 'a', clock: frozenClock }));
    assert.ok(a);
    frozenClock.pause();
    const b = keep(await acquireLock({ path, ttlMs, owner: 'b', clock }));
    const tookOverAt = clock.monotonic();
    // Timestamps are stored with microsecond precision; allow for that and nothing more.
    assert.ok(tookOverAt >= a.lastRefreshSentAt() + ttlMs - 1, `taken over ${tookOverAt - a.lastRefreshSentAt()} ms after the last heartbeat`);
    assert.ok(tookOverAt < a.lastRefreshSentAt() + 2 * ttlMs, 'the waiter woke when the holder turned stale');
    assert.equal(b.generation, 2);

    frozenClock.resume();
    const reason = await a.lost;
    assert.match(reason, /leader.*TTL/);
    assert.ok(clock.monotonic() >= a.lastRefreshSentAt() + ttlMs, 'the old holder is past its fence deadline');
    assert.equal((await readLock(path))?.owner, 'b');
    assert.equal(await isSettled(b.lost), false);
  });

  it('a holder that was taken over and has not noticed yet cannot release the new holder', async () => {
    const path = join(dir, 'leader');
    const { lock: a } = await staleLock(path, 200, 'a');
    const b = keep(await tryAcquireLock({ path, ttlMs: 200, owner: 'b', clock }));
    assert.ok(b);
    await a.release();
    const releasedAt = clock.monotonic();
    assert.equal((await readLock(path))?.owner, 'b');
    assert.equal(await tryAcquireLock({ path, ttlMs: 200, owner: 'c', clock }), undefined);
    await until("b's next heartbeat", () => b.lastRefreshSentAt() > releasedAt);
    assert.equal(await isSettled(b.lost), false);
    assert.deepEqual(await readdir(path), ['2']);
  });

  it('a heartbeat that comes after the TTL reports the lock lost even when nobody took it over', async () => {
    const path = join(dir, 'leader');
    const { lock: a, resume } = await staleLock(path, 150, 'a');
    resume();
    assert.match(await a.lost, /came \d+ ms after the last one, past the 150 ms TTL/);
    // It let go on the way out: the next contender need not wait.
    assert.equal(await readLock(path), undefined);
    assert.equal(keep(await tryAcquireLock({ path, ttlMs: 150, owner: 'b', clock }))?.generation, 2);
  });

  it('generations strictly increase across releases and takeovers', async () => {
    const path = join(dir, 'leader');
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) {
        const lock = await tryAcquireLock({ path, ttlMs: 100, owner: `r${i}`, clock });
        assert.ok(lock);
        seen.push(lock.generation);
        await lock.release();
      } else {
        const { lock } = await staleLock(path, 100, `t${i}`);
        seen.push(lock.generation);
      }
    }
    const last = keep(await acquireLock({ path, ttlMs: 100, owner: 'last', clock }));
    seen.push(last.generation);
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
  });

  it('two contenders that judged the same lock stale: the second cannot take the fresh lock (ABA)', async () => {
    const path = join(dir, 'leader');
    const request = (owner: string) => ({ owner, ttlMs: 200, data: undefined, clock });
    await staleLock(path, 200);
    const viewB = await inspectLock(path, clock, 200);
    const viewC = await inspectLock(path, clock, 200);
    assert.equal(viewB.state, 'stale');
    assert.equal(viewC.generation, viewB.generation);

    // B takes over first and creates a fresh lock; C then acts on its judgement of the old one.
    const claimB = await claimSlot(viewB, request('b'));
    assert.ok(claimB);
    try {
      assert.equal(await claimSlot(viewC, request('c')), undefined);
      const info = await readLock(path);
      assert.equal(info?.owner, 'b');
      assert.equal(info?.stale, false);
      assert.equal(info?.generation, 2);
      assert.deepEqual(await readdir(path), ['2'], 'the stale slot was pruned and nothing of c is left');
    } finally {
      await claimB.handle.close();
    }
  });

  it('twenty contenders acting on the same stale view: exactly one wins', async () => {
    const path = join(dir, 'leader');
    await staleLock(path, 200);
    const view = await inspectLock(path, clock, 200);
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => claimSlot(view, { owner: `c${i}`, ttlMs: 200, data: undefined, clock })));
    const winners = claims.filter((c) => c !== undefined);
    assert.equal(winners.length, 1);
    for (const w of winners) await w.handle.close();

    // And through the public API, each contender judging for itself.
    await rm(path, { recursive: true });
    await staleLock(path, 200);
    // The contenders' own TTL is long: with 200 ms, a winner starved past it on a loaded machine
    // is rightly taken over by a later contender, which is a takeover, not the race under test.
    const locks = await Promise.all(Array.from({ length: 20 }, (_, i) => tryAcquireLock({ path, ttlMs: 60_000, owner: `t${i}`, clock })));
    const holders = locks.filter((l) => l !== undefined);
    for (const h of holders) keep(h);
    assert.equal(holders.length, 1);
    assert.equal(holders[0]?.generation, 2);
  });

  it('a contender acting on a view from several holders ago leaves no trace', async () => {
    const path = join(dir, 'leader');
    await staleLock(path, 200);
    const oldView = await inspectLock(path, clock, 200);
    const b = await tryAcquireLock({ path, ttlMs: 200, owner: 'b', clock });
    assert.ok(b);
    await b.release();
    const c = keep(await tryAcquireLock({ path, ttlMs: 200, owner: 'c', clock }));
    assert.equal(c?.generation, 3);
    assert.deepEqual(await readdir(path), ['3'], 'slots 1 and 2 were pruned, so the name 2 is free again');

    assert.equal(await claimSlot(oldView, { owner: 'late', ttlMs: 200, data: undefined, clock }), undefined);
    assert.deepEqual(await readdir(path), ['3']);
    assert.equal((await readLock(path))?.owner, 'c');
    const checkedAt = clock.monotonic();
    await until("c's next heartbeat", () => (c?.lastRefreshSentAt() ?? 0) > checkedAt);
    assert.equal(await isSettled(c!.lost), false);
  });

  it('judges staleness by the holder\'s TTL, not the contender\'s', async () => {
    const path = join(dir, 'leader');
    const a = keep(await tryAcquireLock({ path, ttlMs: 5000, owner: 'a', clock }));
    assert.ok(a);
    // Make the slot look 1 s old: stale for a 300 ms contender, not for the 5 s holder.
    const past = (Date.now() - 1000) / 1000;
    await utimes(join(path, '1'), past, past);
    assert.equal(await tryAcquireLock({ path, ttlMs: 300, owner: 'b', clock }), undefined);
  });

  it('a waiter whose lock directory vanishes under it recreates it and takes the lock at once', async () => {
    const path = join(dir, 'member');
    const a = keep(await tryAcquireLock({ path, ttlMs: 3000, owner: 'a', clock }));
    assert.ok(a);
    const waiting = acquireLock({ path, ttlMs: 3000, owner: 'b', clock });
    assert.equal(await isSettled(waiting), false);
    const removedAt = clock.monotonic();
    await rm(path, { recursive: true });
    const b = keep(await waiting);
    assert.ok(clock.monotonic() - removedAt < 2000, 'woken by the removal, not by the TTL');
    assert.equal(b.generation, 1, 'a removed lock restarts its generations');
    assert.equal((await readLock(path))?.owner, 'b');
    assert.match(await a.lost, /member.*removed/);
  });

  it('release with forget removes the lock when nobody else is in it', async () => {
    const path = join(dir, 'member');
    const a = await tryAcquireLock({ path, ttlMs: 10_000, owner: 'a', clock });
    assert.ok(a);
    await a.release({ forget: true });
    assert.deepEqual(await readdir(dir), []);
  });

  it('a missing directory is an error naming the path, never a lock', async () => {
    const path = join(dir, 'gone', 'leader');
    await assert.rejects(tryAcquireLock({ path, ttlMs: 200, owner: 'a', clock }), /lock directory .*gone does not exist \(lock .*gone\/leader\)/);
    await assert.rejects(acquireLock({ path, ttlMs: 200, owner: 'a', clock }), /gone does not exist/);
    await assert.rejects(readLock(path), /gone does not exist/);
  });

  it('a held lock whose directory disappears reports it lost, naming the path', async () => {
    const volume = join(dir, 'volume');
    const path = join(volume, 'leader');
    await mkdir(volume);
    const a = keep(await tryAcquireLock({ path, ttlMs: 300, owner: 'a', clock }));
    assert.ok(a);
    await rm(volume, { recursive: true });
    assert.match(await a.lost, /volume\/leader.*removed/);
    await assert.rejects(tryAcquireLock({ path, ttlMs: 300, owner: 'b', clock }), /volume does not exist/);
  });

  it('an aborted acquireLock rejects with its reason and never takes the lock later', async () => {
    const path = join(dir, 'leader');
    const a = await tryAcquireLock({ path, ttlMs: 5000, owner: 'a', clock });
    assert.ok(a);
    const controller = new AbortController();
    const waiting = acquireLock({ path, ttlMs: 5000, owner: 'b', clock }, controller.signal);
    controller.abort(new Error('shutting down'));
    await assert.rejects(waiting, /shutting down/);
    await a.release();
    const c = keep(await tryAcquireLock({ path, ttlMs: 5000, owner: 'c', clock }));
    assert.equal(c?.generation, 2, 'the aborted waiter took nothing');
  });

  it('rejects a heartbeat that is not below the TTL', async () => {
    await assert.rejects(tryAcquireLock({ path: join(dir, 'x'), ttlMs: 100, heartbeatMs: 100, owner: 'a', clock }), /heartbeatMs must be above 0 and below ttlMs/);
  });
});
