// The one render queue, driven by a manual clock and by renders the test finishes itself:
// start-up renders every resource at once and one at a time, live changes wait for their
// quiescence and render side by side, and a change during a render is rendered once more.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Wait } from '../../src/config/values.ts';
import type { ResourceOutcome } from '../../src/resources/pipeline.ts';
import { createRenderQueue, type RenderQueue } from '../../src/resources/render-queue.ts';
import type { TemplateResource } from '../../src/resources/resource.ts';
import { recordingLogger } from '../support/logs.ts';
import { manualClock, type ManualClock } from '../support/manual-clock.ts';
import { testResource } from '../support/test-resource.ts';

interface Harness {
  readonly queue: RenderQueue;
  readonly clock: ManualClock;
  /** Names of the renders started, in order. */
  readonly started: string[];
  /** Most renders under way at one moment. */
  readonly maxAtOnce: () => number;
  /** Finishes the oldest render under way of `name` with `outcome`. */
  finish(name: string, outcome?: ResourceOutcome): void;
  /** Resolves once `count` renders have started. */
  startedCount(count: number): Promise<void>;
}

function harness(resources: readonly TemplateResource[], wait: Wait = { minMs: 100, maxMs: 1000 }): Harness {
  const clock = manualClock();
  const started: string[] = [];
  const running = new Map<string, ((outcome: ResourceOutcome) => void)[]>();
  let atOnce = 0;
  let maxAtOnce = 0;
  const startWaiters: (() => void)[] = [];
  const queue = createRenderQueue({
    resources,
    clock,
    log: recordingLogger(),
    waitOf: (r) => r.wait ?? wait,
    render: (r) =>
      new Promise<ResourceOutcome>((resolve) => {
        started.push(r.name);
        atOnce++;
        maxAtOnce = Math.max(maxAtOnce, atOnce);
        running.set(r.name, [...(running.get(r.name) ?? []), resolve]);
        for (const wake of startWaiters.splice(0)) wake();
      }),
    onOutcome: () => {},
  });
  return {
    queue,
    clock,
    started,
    maxAtOnce: () => maxAtOnce,
    finish(name, outcome = { kind: 'unchanged' }) {
      const resolve = running.get(name)?.shift();
      assert.ok(resolve !== undefined, `${name} is not rendering`);
      atOnce--;
      resolve(outcome);
    },
    async startedCount(count) {
      while (started.length < count) await new Promise<void>((resolve) => startWaiters.push(resolve));
    },
  };
}

describe('render queue', () => {
  const a = testResource('a');
  const b = testResource('b');
  const c = testResource('c');

  it('renders nothing before it starts, whatever changes', async () => {
    const h = harness([a, b]);
    h.queue.changed(a);
    await h.queue.idle();
    assert.deepEqual(h.started, []);
    assert.equal(h.clock.pending, 0);
  });

  it('at start-up renders every resource at once, one at a time, in order', async () => {
    const h = harness([a, b, c]);
    h.queue.start();
    await h.startedCount(1);
    assert.deepEqual(h.started, ['a']);
    h.finish('a');
    await h.startedCount(2);
    h.finish('b');
    await h.startedCount(3);
    h.finish('c');
    await h.queue.idle();
    assert.deepEqual(h.started, ['a', 'b', 'c']);
    assert.equal(h.maxAtOnce(), 1);
    assert.equal(h.clock.pending, 0, 'no quiescence timer at start-up');
    assert.deepEqual(h.queue.outcome(b), { kind: 'unchanged' });
  });

  it('at start-up renders a changed resource again without quiescence, once however often it changed', async () => {
    const h = harness([a, b]);
    h.queue.start();
    await h.startedCount(1);
    h.queue.changed(a);
    h.queue.changed(a);
    h.queue.changed(a);
    h.finish('a');
    await h.startedCount(2);
    h.finish('b');
    await h.startedCount(3);
    h.finish('a');
    await h.queue.idle();
    assert.deepEqual(h.started, ['a', 'b', 'a']);
    assert.equal(h.clock.pending, 0);
  });

  it('live, renders after the quiescence: min after the last change of a burst', async () => {
    const h = harness([a, b]);
    h.queue.goLive();
    h.queue.changed(a);
    h.clock.advance(50);
    h.queue.changed(a);
    h.clock.advance(99);
    await h.queue.idle();
    assert.deepEqual(h.started, []);
    h.clock.advance(1);
    await h.startedCount(1);
    h.finish('a');
    await h.queue.idle();
    assert.deepEqual(h.started, ['a']);
    assert.equal(h.clock.pending, 0);
  });

  it('live, a resource with its own wait keeps it', async () => {
    const slow = testResource('slow', { wait: { minMs: 500, maxMs: 500 } });
    const h = harness([a, slow]);
    h.queue.goLive();
    h.queue.changed(a);
    h.queue.changed(slow);
    h.clock.advance(100);
    await h.startedCount(1);
    assert.deepEqual(h.started, ['a']);
    h.clock.advance(400);
    await h.startedCount(2);
    assert.deepEqual(h.started, ['a', 'slow']);
    h.finish('a');
    h.finish('slow');
    await h.queue.idle();
  });

  it('live, renders resources side by side, never one resource twice at once', async () => {
    const h = harness([a, b]);
    h.queue.goLive();
    h.queue.changed(a);
    h.queue.changed(b);
    h.clock.advance(100);
    await h.startedCount(2);
    assert.equal(h.maxAtOnce(), 2);
    // Changes while a renders: one more render of a, after this one.
    for (let i = 0; i < 5; i++) {
      h.queue.changed(a);
      h.clock.advance(100);
    }
    assert.deepEqual(h.started, ['a', 'b']);
    h.finish('a');
    await h.startedCount(3);
    h.finish('b');
    h.finish('a');
    await h.queue.idle();
    assert.deepEqual(h.started, ['a', 'b', 'a']);
  });

  it('clear forgets what is due and waiting; stop ignores every later change', async () => {
    const h = harness([a, b]);
    h.queue.goLive();
    h.queue.changed(a);
    h.queue.clear();
    h.clock.advance(1000);
    assert.deepEqual(h.started, []);
    h.queue.changed(b);
    h.clock.advance(100);
    await h.startedCount(1);
    h.queue.stop();
    h.queue.changed(a);
    h.queue.now(a);
    h.clock.advance(1000);
    h.finish('b');
    await h.queue.idle();
    assert.deepEqual(h.started, ['b']);
  });

  it('replace renders the new set from then on', async () => {
    const h = harness([a]);
    h.queue.goLive();
    await h.queue.replace([b, c]);
    assert.deepEqual(h.queue.resources, [b, c]);
    h.queue.changed(c);
    h.clock.advance(100);
    await h.startedCount(1);
    h.finish('c');
    await h.queue.idle();
    assert.deepEqual(h.started, ['c']);
  });
});
