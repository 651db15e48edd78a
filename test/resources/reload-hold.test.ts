// The reload hold on a manual clock: a batch whose resources all installed reloads at once; one
// with a resource that could not be installed reloads when that resource is installed after
// all, or when STEWARD_RELOAD_HOLD has passed, and the log says which.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReloadHold } from '../../src/resources/reload-hold.ts';
import type { TemplateResource } from '../../src/resources/resource.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';
import { testResource } from '../support/test-resource.ts';

const HOLD_MS = 30_000;

function harness() {
  const clock = manualClock();
  const logs: Recorded[] = [];
  const released: string[][] = [];
  const hold = createReloadHold({ clock, log: recordingLogger(logs), holdMs: HOLD_MS, release: (rs: readonly TemplateResource[]) => released.push(rs.map((r) => r.name)) });
  return { clock, logs, released, hold };
}

describe('reload hold', () => {
  it('reloads a whole batch once its last resource has an outcome', () => {
    const h = harness();
    const [a, b] = [testResource('a'), testResource('b')];
    h.hold.due([a, b]);
    h.hold.settle(a, true, true);
    assert.deepEqual(h.released, [], 'b has not rendered yet');
    h.hold.settle(b, true, false);
    assert.deepEqual(h.released, [['a']]);
    assert.equal(h.clock.pending, 0);
  });

  it('holds the reload while a resource of the batch failed, and reloads when it is installed', () => {
    const h = harness();
    const [a, b] = [testResource('a'), testResource('b')];
    h.hold.due([a, b]);
    h.hold.settle(a, true, true);
    h.hold.settle(b, false, false);
    assert.deepEqual(h.released, []);
    assert.match(h.logs.at(-1)?.msg ?? '', /^holding the app's reload until \/out\/b is installed \(at most 30s, STEWARD_RELOAD_HOLD\); already installed: \/out\/a$/);
    h.clock.advance(4000);
    h.hold.settle(b, false, false);
    assert.deepEqual(h.released, [], 'a second failure keeps holding');
    h.clock.advance(4000);
    h.hold.settle(b, true, true);
    assert.deepEqual(h.released, [['a', 'b']]);
    assert.match(h.logs.at(-1)?.msg ?? '', /^every file of the batch is installed after 8s: reloading the app$/);
    assert.equal(h.clock.pending, 0, 'the hold timer is gone');
  });

  it('reloads on what changed when STEWARD_RELOAD_HOLD runs out, and says so', () => {
    const h = harness();
    const [a, b] = [testResource('a'), testResource('b')];
    h.hold.due([a, b]);
    h.hold.settle(b, false, false);
    h.hold.settle(a, true, true);
    h.clock.advance(HOLD_MS - 1);
    assert.deepEqual(h.released, []);
    h.clock.advance(1);
    assert.deepEqual(h.released, [['a']]);
    const last = h.logs.at(-1);
    assert.equal(last?.level, 'warn');
    assert.match(last?.msg ?? '', /^reloading the app after STEWARD_RELOAD_HOLD \(30s\) although \/out\/b could not be installed/);
    // b installed later asks for its own reload.
    h.hold.settle(b, true, true);
    assert.deepEqual(h.released, [['a'], ['b']]);
  });

  it('holds nothing when no file of the batch changed', () => {
    const h = harness();
    const [a, b] = [testResource('a'), testResource('b')];
    h.hold.due([a, b]);
    h.hold.settle(a, true, false);
    h.hold.settle(b, false, false);
    assert.equal(h.clock.pending, 0);
    assert.ok(!h.logs.some((l) => /holding/.test(l.msg)));
  });

  it('keeps a later batch apart from one that is held', () => {
    const h = harness();
    const [a, b, c] = [testResource('a'), testResource('b'), testResource('c')];
    h.hold.due([a, b]);
    h.hold.settle(a, true, true);
    h.hold.settle(b, false, false);
    h.hold.due([c]);
    h.hold.settle(c, true, true);
    assert.deepEqual(h.released, [['c']], 'c was not in the held batch');
  });

  it('joins changes that come while the batch renders, and reloads a resource outside any batch at once', () => {
    const h = harness();
    const [a, b, c] = [testResource('a'), testResource('b'), testResource('c')];
    h.hold.due([a]);
    h.hold.due([b]);
    h.hold.settle(a, true, true);
    assert.deepEqual(h.released, [], 'b joined the batch under way');
    h.hold.settle(b, true, true);
    assert.deepEqual(h.released, [['a', 'b']]);
    h.hold.settle(c, true, true);
    assert.deepEqual(h.released, [['a', 'b'], ['c']]);
  });

  it('clear drops held reloads when steward stops, and sends them when the resources are replaced', () => {
    const h = harness();
    const [a, b] = [testResource('a'), testResource('b')];
    h.hold.due([a, b]);
    h.hold.settle(a, true, true);
    h.hold.settle(b, false, false);
    h.hold.clear(false);
    assert.equal(h.clock.pending, 0);
    h.clock.advance(HOLD_MS);
    assert.deepEqual(h.released, []);
    h.hold.due([a, b]);
    h.hold.settle(a, true, true);
    h.hold.clear(true);
    assert.deepEqual(h.released, [['a']]);
  });
});
