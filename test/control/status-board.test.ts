// The status board's health from bus events alone: the app's check decides when there is one;
// without one, the app running with every resource rendered is healthy.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStatusBoard } from '../../src/control/status-board.ts';
import { createBus } from '../../src/core/bus.ts';
import { manualClock } from '../support/manual-clock.ts';

function board(resources: readonly string[] = ['app.toml']) {
  const bus = createBus((name, error) => {
    throw new Error(`${name}: ${String(error)}`);
  });
  const views = { templates: { resources: () => resources.map((name) => ({ name, dest: `/etc/${name}` })), renderNow: async () => [] } };
  return { bus, board: createStatusBoard({ bus, clock: manualClock(1_800_000_000_000), version: '0.0.0', views }) };
}

const rendered = (outcome: 'written' | 'missing-key', error?: string) =>
  ({ resource: 'app.toml', dest: '/etc/app.toml', outcome, error, durationMs: 3, watchLatencyMs: undefined }) as const;

describe('the status board\'s health', () => {
  it('follows the app\'s check once there is one: starting, healthy, unhealthy', () => {
    const { bus, board: b } = board();
    bus.emit('resource.rendered', rendered('written'));
    bus.emit('app.started', { pid: 42, attempt: 1 });
    assert.equal(b.health().status, 'healthy');
    bus.emit('health.changed', { health: 'starting', previous: 'none', output: '', failingStreak: 0 });
    assert.deepEqual(b.health(), { status: 'starting', reason: 'health check: starting' });
    bus.emit('health.changed', { health: 'healthy', previous: 'starting', output: 'ok\n', failingStreak: 0 });
    assert.deepEqual(b.health(), { status: 'healthy', reason: 'health check: healthy (ok)' });
    bus.emit('health.changed', { health: 'unhealthy', previous: 'healthy', output: 'connection refused\n', failingStreak: 3 });
    assert.deepEqual(b.health(), { status: 'unhealthy', reason: 'health check: unhealthy (connection refused)' });
    assert.equal(b.document().app.health, 'unhealthy');
  });

  it('without a check: starting until every resource rendered once, and a later failure keeps it healthy', () => {
    const { bus, board: b } = board();
    bus.emit('app.started', { pid: 42, attempt: 1 });
    assert.deepEqual(b.health(), { status: 'starting', reason: 'not rendered yet: app.toml' });
    bus.emit('resource.rendered', rendered('written'));
    assert.equal(b.health().status, 'healthy');
    bus.emit('resource.rendered', rendered('missing-key', 'key /app/host is missing'));
    bus.emit('backend.status', { backend: 'etcd', state: 'unreachable', error: 'connection refused' });
    assert.equal(b.health().status, 'healthy');
    const doc = b.document();
    assert.deepEqual(doc.resources[0], {
      name: 'app.toml', dest: '/etc/app.toml', lastRender: doc.resources[0]?.lastRender, lastOutcome: 'missing-key', revision: 1,
      lastError: 'key /app/host is missing', reloads: 0,
    });
    assert.deepEqual(doc.backend, { name: 'etcd', connected: false, lastError: 'connection refused' });
  });

  it('shows whether this replica holds a fencing token, never the token', () => {
    const { bus, board: b } = board([]);
    bus.emit('role.changed', { role: 'leader', leader: 'a', fencingToken: '7587869431', reason: 'elected' });
    assert.deepEqual(b.document().election, { role: 'leader', leader: 'a', members: [], holdsFencingToken: true });
    assert.doesNotMatch(JSON.stringify(b.document()), /7587869431/);
    bus.emit('shutdown', { reason: 'received SIGTERM', status: 143 });
    assert.deepEqual(b.health(), { status: 'unhealthy', reason: 'steward is stopping (received SIGTERM)' });
  });
});
