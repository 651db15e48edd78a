// Process control without processes: what reaches kill(2), and when.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pollUntil, settlesWithin } from '../../src/core/process-control/deadline.ts';
import { sendSignal, type Kill } from '../../src/core/process-control/signal.ts';
import { terminate, terminateAll } from '../../src/core/process-control/terminate.ts';
import { manualClock } from '../support/manual-clock.ts';

function recordingKill(alive: Set<number>): Kill & { sent: [number, NodeJS.Signals | 0][] } {
  const sent: [number, NodeJS.Signals | 0][] = [];
  const kill = (pid: number, signal: NodeJS.Signals | 0): void => {
    if (!alive.has(Math.abs(pid)) && pid !== -1) throw new Error('ESRCH');
    sent.push([pid, signal]);
  };
  return Object.assign(kill, { sent });
}

describe('sendSignal', () => {
  it('reaches a pid, a group or everyone, and reports a target that is gone without throwing', () => {
    const kill = recordingKill(new Set([7]));
    assert.equal(sendSignal({ pid: 7 }, 'SIGHUP', kill), true);
    assert.equal(sendSignal({ group: 7 }, 'SIGTERM', kill), true);
    assert.equal(sendSignal({ everyone: true }, 'SIGKILL', kill), true);
    assert.equal(sendSignal({ pid: 8 }, 0, kill), false);
    assert.deepEqual(kill.sent, [[7, 'SIGHUP'], [-7, 'SIGTERM'], [-1, 'SIGKILL']]);
  });
});

describe('terminate', () => {
  it('sends the polite signal at once and SIGKILL when the grace runs out', () => {
    const clock = manualClock();
    const kill = recordingKill(new Set([7]));
    terminate({ target: { pid: 7 }, signal: 'SIGTERM', killTarget: { group: 7 }, graceMs: 500, clock, kill });
    assert.deepEqual(kill.sent, [[7, 'SIGTERM']]);
    clock.advance(499);
    assert.equal(kill.sent.length, 1);
    clock.advance(1);
    assert.deepEqual(kill.sent, [[7, 'SIGTERM'], [-7, 'SIGKILL']]);
  });

  it('sends nothing more once cancelled, and SIGKILL only once', () => {
    const clock = manualClock();
    const kill = recordingKill(new Set([7]));
    const cancelled = terminate({ target: { group: 7 }, signal: 'SIGTERM', graceMs: 500, clock, kill });
    cancelled.cancel();
    cancelled.killNow();
    clock.advance(1000);
    assert.deepEqual(kill.sent, [[-7, 'SIGTERM']]);

    const t = terminate({ target: { group: 7 }, signal: null, clock, kill });
    t.killAfter(100);
    t.killAfter(10);
    clock.advance(99);
    t.killNow();
    clock.advance(100);
    assert.deepEqual(kill.sent.slice(1), [[-7, 'SIGKILL']]);
    assert.equal(clock.pending, 0);
  });

  it('lets the caller call off SIGKILL when the grace runs out', () => {
    const clock = manualClock();
    const kill = recordingKill(new Set([7]));
    terminate({ target: { pid: 7 }, signal: 'SIGTERM', graceMs: 10, clock, kill, onGraceOver: () => false });
    clock.advance(10);
    assert.deepEqual(kill.sent, [[7, 'SIGTERM']]);
  });
});

describe('terminateAll', () => {
  it('signals whoever is left, and SIGKILLs what is still there at the deadline', async () => {
    const clock = manualClock();
    const alive = new Set([7, 8]);
    const kill = recordingKill(alive);
    let warned = false;
    const done = terminateAll({
      targets: () => [...alive].map((pid) => ({ pid })),
      gone: () => alive.size === 0,
      signal: 'SIGTERM',
      deadline: 1000,
      killWaitMs: 50,
      pollMs: 10,
      clock,
      kill,
      onGraceOver: () => {
        warned = true;
      },
    });
    assert.deepEqual(kill.sent, [[7, 'SIGTERM'], [8, 'SIGTERM']]);
    alive.delete(7);
    // Each poll waits on a timer of the manual clock: move it on, then let the poll run.
    const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 200 && !warned; i++) {
      clock.advance(10);
      await flush();
    }
    assert.equal(clock.monotonic(), 1000, 'SIGKILL at the deadline, not before');
    assert.ok(warned);
    assert.deepEqual(kill.sent.slice(2), [[8, 'SIGKILL']]);
    alive.delete(8);
    clock.advance(10);
    await flush();
    await done;
  });
});

describe('deadlines', () => {
  it('settlesWithin tells whether a promise settled in time, either way', async () => {
    const clock = manualClock();
    assert.equal(await settlesWithin(Promise.reject(new Error('no')), 10, clock), true);
    const late = settlesWithin(new Promise(() => {}), 10, clock);
    clock.advance(10);
    assert.equal(await late, false);
  });

  it('pollUntil checks at least once, even past the deadline', async () => {
    const clock = manualClock(100);
    assert.equal(await pollUntil(() => true, 0, clock, 10), true);
    assert.equal(await pollUntil(() => false, 0, clock, 10), false);
  });
});
