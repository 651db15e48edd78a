// Write retries on a manual clock: a transient write error renders the resource again after a
// back-off that doubles from 1 s and stops growing at one minute; a success, or a failure that
// no retry mends, ends the retries.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceOutcome } from '../../src/resources/pipeline.ts';
import { createWriteRetries } from '../../src/resources/write-retries.ts';
import { manualClock } from '../support/manual-clock.ts';
import { testResource } from '../support/test-resource.ts';

const enospc: ResourceOutcome = { kind: 'write-failed', message: 'ENOSPC: no space left on device', code: 'ENOSPC' };

function harness() {
  const clock = manualClock();
  const retried: string[] = [];
  // No jitter: the delays are exact.
  const retries = createWriteRetries({ clock, retry: (r) => retried.push(r.name), backoff: { initialMs: 1000, maxMs: 60_000, jitter: 0 } });
  return { clock, retried, retries };
}

describe('write retries', () => {
  it('retries a full disk with a back-off capped at one minute', () => {
    const h = harness();
    const a = testResource('a');
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 9; i++) {
      const delay = h.retries.after(a, enospc);
      delays.push(delay);
      h.clock.advance((delay ?? 0) - 1);
      assert.equal(h.retried.length, i, 'not before the delay');
      h.clock.advance(1);
      assert.equal(h.retried.length, i + 1);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('never waits longer than a minute, jitter included', () => {
    const clock = manualClock();
    const retries = createWriteRetries({ clock, retry: () => {} });
    const a = testResource('a');
    for (let i = 0; i < 12; i++) assert.ok((retries.after(a, enospc) ?? Infinity) <= 60_000);
    retries.stop();
    assert.equal(clock.pending, 0);
  });

  it('starts again from 1 s after a success', () => {
    const h = harness();
    const a = testResource('a');
    h.retries.after(a, enospc);
    h.retries.after(a, enospc);
    assert.equal(h.retries.after(a, { kind: 'written', differences: ['content'], inPlace: false }), undefined);
    assert.equal(h.clock.pending, 0, 'the retry under way is cancelled');
    assert.equal(h.retries.after(a, enospc), 1000);
  });

  it('retries EROFS, EIO and EACCES, but not what no retry mends', () => {
    const h = harness();
    const a = testResource('a');
    for (const code of ['EROFS', 'EIO', 'EACCES']) assert.equal(h.retries.after(testResource(code), { kind: 'write-failed', message: code, code }), 1000);
    h.retries.clear();
    assert.equal(h.retries.after(a, { kind: 'write-failed', message: 'ENOTDIR', code: 'ENOTDIR' }), undefined);
    assert.equal(h.retries.after(a, { kind: 'check-failed', message: 'check_cmd failed', output: '', digest: 'x' }), undefined);
    assert.equal(h.retries.after(a, { kind: 'render-failed', message: 'bad template' }), undefined);
    assert.equal(h.clock.pending, 0);
  });

  it('schedules nothing once stopped', () => {
    const h = harness();
    h.retries.stop();
    assert.equal(h.retries.after(testResource('a'), enospc), undefined);
    assert.equal(h.clock.pending, 0);
  });
});
