import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createQuiescence } from '../../src/resources/quiescence.ts';
import { manualClock } from '../support/manual-clock.ts';

describe('quiescence', () => {
  it('fires once, min after the last change', () => {
    const clock = manualClock();
    const fired: number[] = [];
    const q = createQuiescence({ minMs: 100, maxMs: 1000 }, clock, () => fired.push(clock.monotonic()));
    q.trigger();
    clock.advance(50);
    q.trigger();
    clock.advance(50);
    q.trigger();
    clock.advance(99);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [200]);
    clock.advance(2000);
    assert.deepEqual(fired, [200]);
  });

  it('fires at max after the first change when changes keep coming', () => {
    const clock = manualClock();
    const fired: number[] = [];
    const q = createQuiescence({ minMs: 100, maxMs: 300 }, clock, () => fired.push(clock.monotonic()));
    for (let t = 0; t < 1000; t += 50) {
      q.trigger();
      clock.advance(50);
    }
    assert.deepEqual(fired.slice(0, 3), [300, 600, 900]);
  });

  it('fires at once with a zero wait', () => {
    const clock = manualClock();
    let fired = 0;
    const q = createQuiescence({ minMs: 0, maxMs: 0 }, clock, () => fired++);
    q.trigger();
    q.trigger();
    assert.equal(fired, 2);
  });
});
