// Docker's HEALTHCHECK timing, on a manual clock with a check the test answers: when checks
// run, which failures count, and when the app turns healthy or unhealthy.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Events } from '../../src/core/events.ts';
import type { CheckResult } from '../../src/health/check.ts';
import { createMonitor, type MonitorTiming } from '../../src/health/monitor.ts';
import { manualClock } from '../support/manual-clock.ts';

const TIMING: MonitorTiming = { intervalMs: 10_000, timeoutMs: 5000, retries: 3, startPeriodMs: 0, startIntervalMs: 1000 };
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setUp(timing: Partial<MonitorTiming> = {}, notify = false) {
  const clock = manualClock();
  const runs: number[] = [];
  const answers: boolean[] = [];
  const changes: Events['health.changed'][] = [];
  const monitor = createMonitor({
    ...TIMING,
    ...timing,
    notify,
    clock,
    onChange: (c) => changes.push(c),
    check: {
      description: 'test',
      async run(): Promise<CheckResult> {
        runs.push(clock.monotonic());
        const ok = answers.shift() ?? false;
        return { ok, output: ok ? 'fine' : 'broken' };
      },
    },
  });
  /** Moves time on by `ms`, a millisecond at a time, letting each check that falls due finish in its millisecond. */
  const pass = async (ms: number): Promise<void> => {
    const end = clock.monotonic() + ms;
    for (;;) {
      // Timers due now fire now, and their checks finish within this millisecond.
      clock.advance(0);
      await settle();
      const step = Math.min(1, end - clock.monotonic());
      if (step <= 0) return;
      clock.advance(step);
    }
  };
  return { clock, runs, answers, changes, monitor, pass, states: () => changes.map((c) => c.health) };
}

describe('health monitor', () => {
  it('checks as soon as the app is spawned, then every INTERVAL after the start period', async () => {
    const t = setUp();
    t.monitor.appStarted(42);
    await t.pass(25_000);
    assert.deepEqual(t.runs, [0, 10_000, 20_000]);
    assert.deepEqual(t.states(), ['starting', 'unhealthy']);
    assert.equal(t.changes[1]?.failingStreak, 3);
    assert.equal(t.changes[1]?.output, 'broken');
  });

  it('checks every START_INTERVAL during the start period, where failures do not count', async () => {
    const t = setUp({ startPeriodMs: 5000, retries: 1 });
    t.monitor.appStarted(42);
    await t.pass(4500);
    assert.deepEqual(t.runs, [0, 1000, 2000, 3000, 4000]);
    assert.deepEqual(t.states(), ['starting']);
    await t.pass(1000);
    // The check at 5000 is past the start period: one failure with RETRIES=1 counts.
    assert.deepEqual(t.states(), ['starting', 'unhealthy']);
  });

  it('is healthy after one success, which also ends the start period', async () => {
    const t = setUp({ startPeriodMs: 60_000, retries: 2 });
    t.answers.push(false, true);
    t.monitor.appStarted(42);
    await t.pass(1500);
    assert.deepEqual(t.states(), ['starting', 'healthy']);
    await t.pass(20_000);
    // Every INTERVAL from the success on, not START_INTERVAL; two failures make it unhealthy.
    assert.deepEqual(t.runs, [0, 1000, 11_000, 21_000]);
    assert.deepEqual(t.states(), ['starting', 'healthy', 'unhealthy']);
  });

  it('needs RETRIES failures in a row: a success between them starts the count over', async () => {
    const t = setUp({ retries: 2, intervalMs: 100 });
    t.answers.push(true, false, true, false, false);
    t.monitor.appStarted(42);
    await t.pass(450);
    assert.deepEqual(t.states(), ['starting', 'healthy', 'unhealthy']);
    assert.equal(t.runs.length, 5);
  });

  it('starts over with each run of the app and stops checking when it exits', async () => {
    const t = setUp({ intervalMs: 100, retries: 1 });
    t.monitor.appStarted(42);
    await t.pass(50);
    assert.deepEqual(t.states(), ['starting', 'unhealthy']);
    t.monitor.appStopped();
    await t.pass(1000);
    assert.equal(t.runs.length, 1);
    t.answers.push(true);
    t.monitor.appStarted(43);
    await t.pass(50);
    assert.deepEqual(t.states(), ['starting', 'unhealthy', 'starting', 'healthy']);
  });

  it('with notification, checks only from READY=1 on', async () => {
    const t = setUp({ retries: 1 }, true);
    t.monitor.appStarted(42);
    await t.pass(30_000);
    assert.deepEqual(t.runs, []);
    t.answers.push(true);
    t.monitor.ready();
    await t.pass(10);
    assert.deepEqual(t.runs, [30_000]);
    assert.deepEqual(t.states(), ['starting', 'healthy']);
  });
});
