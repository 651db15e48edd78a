// The memory keeper trims native memory when the resident size has grown since its last trim,
// and leaves a steady process alone.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEEPER_GROWTH_BYTES, KEEPER_INTERVAL_MS, keepMemoryTrimmed } from '../../src/init/memory.ts';
import { manualClock } from '../support/manual-clock.ts';

const MB = 1024 * 1024;

function rig(trims = true) {
  const clock = manualClock();
  let rss = 60 * MB;
  let trimmed = 0;
  const keeper = keepMemoryTrimmed({
    clock,
    resident: () => rss,
    libc: {
      trimMemory() {
        trimmed++;
        // What glibc gives back: the growth, here.
        if (trims) rss = 60 * MB;
        return trims;
      },
    },
  });
  return {
    clock,
    keeper,
    setRss: (bytes: number) => (rss = bytes),
    trimmed: () => trimmed,
  };
}

describe('the memory keeper', () => {
  it('trims once the resident size has grown by the threshold since the last trim, not before', () => {
    const r = rig();
    r.setRss(60 * MB + KEEPER_GROWTH_BYTES - 1);
    r.clock.advance(KEEPER_INTERVAL_MS);
    assert.equal(r.trimmed(), 0);
    r.setRss(60 * MB + KEEPER_GROWTH_BYTES);
    r.clock.advance(KEEPER_INTERVAL_MS);
    assert.equal(r.trimmed(), 1);
    // Back at 60 MB after the trim: nothing more to do while it stays there.
    r.clock.advance(10 * KEEPER_INTERVAL_MS);
    assert.equal(r.trimmed(), 1);
    r.setRss(70 * MB);
    r.clock.advance(KEEPER_INTERVAL_MS);
    assert.equal(r.trimmed(), 2);
    r.keeper.stop();
    assert.equal(r.clock.pending, 0);
  });

  it('measures growth from the lowest size seen, and stops looking where malloc_trim does not exist', () => {
    const r = rig(false);
    r.setRss(50 * MB);
    r.clock.advance(KEEPER_INTERVAL_MS);
    r.setRss(50 * MB + KEEPER_GROWTH_BYTES);
    r.clock.advance(KEEPER_INTERVAL_MS);
    assert.equal(r.trimmed(), 1);
    assert.equal(r.clock.pending, 0, 'no libc trim: no more timers');
  });
});
