// The rollout's semaphore on an in-memory coordinator: PARALLEL holders at most, the next one in
// once a holder releases, and a revoked session reported as a lost slot. And the start-up check
// that start-first can tell the new process from the old one.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';
import { checkRolloutSettings, type RolloutSettings } from '../../src/rollout/rollout-part.ts';
import { createSemaphore, type HeldSlot } from '../../src/rollout/semaphore.ts';
import { recordingLogger } from '../support/logs.ts';
import { memoryStore } from '../support/memory-coordinator.ts';

function semaphores(slots: number, ids: readonly string[]) {
  const clock = systemClock();
  const store = memoryStore(clock);
  return {
    store,
    list: ids.map((id) =>
      createSemaphore({ open: async () => store.coordinator(id), scope: '/steward/rollout/web', slots, instanceId: id, ttlMs: 10_000, clock, log: recordingLogger() }),
    ),
  };
}

describe('rollout semaphore', () => {
  it('lets PARALLEL replicas hold it at once, and the next one in once a holder releases', async () => {
    const { list } = semaphores(2, ['a', 'b', 'c']);
    const abort = new AbortController();
    const held = new Map<number, HeldSlot>();
    const waits = list.map((s, i) => s.acquire(abort.signal).then((slot) => held.set(i, slot)));
    await Promise.race([Promise.all([waits[0], waits[1]]), Promise.all([waits[0], waits[2]]), Promise.all([waits[1], waits[2]])]);
    assert.equal(held.size, 2);
    const keys = [...held.values()].map((s) => s.key).sort();
    assert.deepEqual(keys, ['/steward/rollout/web/slot-0', '/steward/rollout/web/slot-1']);
    const [first] = [...held.keys()];
    const waiting = [0, 1, 2].find((i) => !held.has(i)) ?? -1;
    const firstSlot = held.get(first ?? -1);
    assert.ok(firstSlot !== undefined);
    await list[first ?? 0]?.release(firstSlot);
    await waits[waiting];
    assert.equal(held.get(waiting)?.key, firstSlot.key);
    abort.abort();
    for (const s of list) await s.close();
  });

  it('reports the slot lost when its session is revoked', async () => {
    const { list, store } = semaphores(1, ['a']);
    const s = list[0];
    assert.ok(s !== undefined);
    const slot = await s.acquire(new AbortController().signal);
    const [session] = store.sessionsOf('a');
    assert.ok(session !== undefined);
    store.revoke(session);
    assert.match(await slot.lost, /./);
    assert.equal(slot.held(), false);
    await s.close();
  });
});

describe('start-first settings', () => {
  const base = { rolloutOrder: 'start-first', healthNotify: false, healthCmd: undefined, healthHttp: undefined, healthTcp: [] } as unknown as RolloutSettings;
  it('refuses start-first with only an HTTP or TCP check (exit 78)', () => {
    assert.throws(() => checkRolloutSettings({ ...base, healthHttp: 'http://127.0.0.1:1/' }), (e: unknown) => e instanceof ConfigError && /start-first/.test(e.message));
  });
  it('accepts READY=1 or a command check with {pid}', () => {
    checkRolloutSettings({ ...base, healthNotify: true });
    checkRolloutSettings({ ...base, healthCmd: 'check --pid {pid}' });
  });
});
