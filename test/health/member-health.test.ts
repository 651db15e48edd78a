// The election's member record carries this replica's health (none, starting, healthy,
// unhealthy), kept current from health.changed; templates see it through members().

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBus } from '../../src/core/bus.ts';
import type { Events } from '../../src/core/events.ts';
import { createElection } from '../../src/cluster/election.ts';
import { createClusterView } from '../../src/cluster/cluster-view.ts';
import { recordingLogger } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';
import { memoryStore } from '../support/memory-coordinator.ts';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('member record health', () => {
  it('starts as configured and follows health.changed; members() shows it', async () => {
    const clock = manualClock();
    const store = memoryStore(clock);
    const bus = createBus((name, error) => {
      throw new Error(`handler of ${name} failed: ${String(error)}`);
    });
    const seen: Events['members.changed'][] = [];
    bus.on('members.changed', (e) => seen.push(e));
    const election = createElection({
      coordinator: store.coordinator('a'),
      scope: 'steward/web',
      instanceId: 'a',
      host: 'a',
      address: 'a:80',
      ttlMs: 600,
      initialHealth: 'starting',
      bus,
      log: recordingLogger(),
      clock,
    });
    const view = createClusterView(() => () => {});
    view.bind(election);
    const members = view.extras['members'] as () => { id: string; health: string; state: string }[];
    try {
      await election.start(new AbortController().signal);
      await settle();
      assert.deepEqual(members().map((m) => [m.id, m.health, m.state]), [['a', 'starting', 'running']]);

      bus.emit('health.changed', { health: 'healthy', previous: 'starting', output: 'HTTP 200', failingStreak: 0 });
      for (let i = 0; i < 5 && members()[0]?.health !== 'healthy'; i++) await settle();
      assert.equal(members()[0]?.health, 'healthy');
      assert.equal(seen.at(-1)?.members[0]?.health, 'healthy', 'members.changed tells of a health change');

      bus.emit('health.changed', { health: 'unhealthy', previous: 'healthy', output: 'HTTP 503', failingStreak: 3 });
      for (let i = 0; i < 5 && members()[0]?.health !== 'unhealthy'; i++) await settle();
      assert.equal(members()[0]?.health, 'unhealthy');
    } finally {
      await election.close();
    }
  });

  it('is none without a health check', async () => {
    const clock = manualClock();
    const store = memoryStore(clock);
    const bus = createBus(() => {});
    const election = createElection({
      coordinator: store.coordinator('b'),
      scope: 'steward/web',
      instanceId: 'b',
      host: 'b',
      address: 'b:80',
      ttlMs: 600,
      bus,
      log: recordingLogger(),
      clock,
    });
    const view = createClusterView(() => () => {});
    view.bind(election);
    const members = view.extras['members'] as () => { health: string }[];
    try {
      await election.start(new AbortController().signal);
      await settle();
      assert.equal(members()[0]?.health, 'none');
    } finally {
      await election.close();
    }
  });
});
