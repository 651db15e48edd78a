// The run's phases: what a stop signal does in each, and the one `shutdown` event.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SignalName } from '../../src/config/values.ts';
import { createBus } from '../../src/core/bus.ts';
import type { Events } from '../../src/core/events.ts';
import { createLifecycle, type RunningApp } from '../../src/core/lifecycle.ts';
import type { StopContext } from '../../src/core/part.ts';
import { recordingLogger } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';

function rig() {
  const bus = createBus((name, error) => assert.fail(`a ${name} handler failed: ${String(error)}`));
  const shutdowns: Events['shutdown'][] = [];
  bus.on('shutdown', (e) => shutdowns.push(e));
  const clock = manualClock(5000);
  const lifecycle = createLifecycle({ stopTimeout: 8000, bus, log: recordingLogger(), clock });
  const forwarded: SignalName[] = [];
  const stops: { ctx: StopContext; signal: SignalName | undefined }[] = [];
  let finishStop: () => void = () => {};
  const app: RunningApp = {
    forward: (signal) => void forwarded.push(signal),
    stop(ctx, signal) {
      stops.push({ ctx, signal });
      return new Promise((resolve) => {
        finishStop = resolve;
      });
    },
  };
  return { lifecycle, shutdowns, clock, app, forwarded, stops, finishStop: () => finishStop() };
}

describe('lifecycle', () => {
  it('a stop signal while preparing aborts the preparations; the app never starts', () => {
    const r = rig();
    assert.equal(r.lifecycle.phase, 'preparing');
    r.lifecycle.stopSignal('SIGINT');
    r.lifecycle.stopSignal('SIGTERM');
    assert.equal(r.lifecycle.preparation.aborted, true);
    assert.equal(r.lifecycle.stoppedWhilePreparing, 'SIGINT');
    assert.deepEqual(r.shutdowns, [], 'the stop begins once the preparations are over');
    const ctx = r.lifecycle.stopWithoutApp('received SIGINT', 130);
    assert.equal(r.lifecycle.phase, 'stopping');
    assert.deepEqual(ctx, { deadline: 13_000, reason: 'received SIGINT' });
    assert.deepEqual(r.shutdowns, [{ reason: 'received SIGINT', status: 130 }]);
    r.lifecycle.stopped();
    assert.equal(r.lifecycle.phase, 'stopped');
  });

  it('a stop signal while running stops through the app; another one is passed on to it', async () => {
    const r = rig();
    r.lifecycle.appStarted(r.app);
    assert.equal(r.lifecycle.phase, 'running');
    r.lifecycle.stopSignal('SIGTERM');
    assert.equal(r.lifecycle.phase, 'stopping');
    assert.deepEqual(r.stops, [{ ctx: { deadline: 13_000, reason: 'received SIGTERM' }, signal: 'SIGTERM' }]);
    assert.deepEqual(r.shutdowns, [{ reason: 'received SIGTERM', status: 143 }]);
    r.clock.advance(100);
    r.lifecycle.stopSignal('SIGINT');
    assert.deepEqual(r.forwarded, ['SIGINT']);
    // The app exits while the stop is still under way: its context is the stop's, once it is done.
    let exited: StopContext | undefined;
    const ctx = r.lifecycle.appExited(0).then((c) => (exited = c));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(exited, undefined);
    r.finishStop();
    assert.deepEqual(await ctx, { deadline: 13_000, reason: 'received SIGTERM' });
    assert.equal(r.shutdowns.length, 1);
  });

  it('an app that exits by itself begins the stop, without a signal, with its status', async () => {
    const r = rig();
    r.lifecycle.appStarted(r.app);
    r.clock.advance(1000);
    const ctx = r.lifecycle.appExited(3);
    assert.deepEqual(r.stops, [{ ctx: { deadline: 14_000, reason: 'app exited' }, signal: undefined }]);
    r.finishStop();
    assert.deepEqual(await ctx, { deadline: 14_000, reason: 'app exited' });
    assert.deepEqual(r.shutdowns, [{ reason: 'app exited', status: 3 }]);
  });

  it('a failure gives the parts a stop budget of their own, and announces the shutdown once', () => {
    const r = rig();
    r.lifecycle.appStarted(r.app);
    r.lifecycle.stopSignal('SIGTERM');
    r.clock.advance(2000);
    assert.deepEqual(r.lifecycle.failed('a part failed', 70), { deadline: 15_000, reason: 'a part failed' });
    assert.deepEqual(r.shutdowns.map((s) => s.reason), ['received SIGTERM']);
  });
});
