// Late and missed runs, provoked by blocking the event loop as a stuck synchronous call (or a
// paused container) would. In a file of its own: a blocked loop would upset the timing of any
// test running beside it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseEnv, harness, nextJobEvent } from './fixtures/jobs-harness.ts';

function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // Nothing else runs meanwhile: no timer fires, no child is reaped.
  }
}

describe('late and missed runs', () => {
  it('logs runs missed while the event loop was blocked, in one line per wake-up, and does not make them up', async () => {
    const h = harness({ env: baseEnv({ STEWARD_JOB_TICK_SCHEDULE: '* * * * * *', STEWARD_JOB_TICK_COMMAND: 'true' }) });
    try {
      await nextJobEvent(h.bus, 'job.finished', () => true);
      const missed = nextJobEvent(h.bus, 'job.missed', () => true, 6000);
      blockFor(2600);
      const activity = await missed;
      assert.ok(activity.slots.length >= 1, JSON.stringify(activity));
      const lines = h.logs.filter((l) => l.level === 'warn' && l.msg.startsWith('job tick: missed '));
      assert.equal(lines.length, 1);
      assert.match(
        lines[0]?.msg ?? '',
        /^job tick: missed \d runs? due (at|from) .* \(steward was paused or its event loop blocked\); missed runs are not made up$/,
      );
      assert.equal(h.part.status()[0]?.missed, activity.slots.length);
    } finally {
      await h.stop();
    }
  });

  it('still starts a run that is late by less than its period, and says it is late', async () => {
    const h = harness({ env: baseEnv({ STEWARD_JOB_EVEN_SCHEDULE: '*/2 * * * * *', STEWARD_JOB_EVEN_COMMAND: 'true' }) });
    try {
      const slot = Date.parse((await nextJobEvent(h.bus, 'job.finished', () => true)).scheduledFor ?? '');
      const late = nextJobEvent(h.bus, 'job.finished', () => true, 6000);
      // Past the next slot (slot + 2s) by about 1.2s, which is less than the 2s period.
      blockFor(slot + 3200 - Date.now());
      const record = await late;
      assert.equal(record.scheduledFor, new Date(slot + 2000).toISOString());
      assert.ok(
        h.logs.some((l) => l.level === 'warn' && /^job even: starting 1\.\d+s late \(due at .*\); steward was paused or busy$/.test(l.msg)),
        JSON.stringify(h.logs.map((l) => l.msg)),
      );
      assert.equal(h.part.status()[0]?.missed, 0);
    } finally {
      await h.stop();
    }
  });
});
