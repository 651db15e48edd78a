// Scheduled jobs with real processes and per-second schedules: they run on time, never overlap,
// time out with their whole process group, respect their guard, and stop with steward.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { baseEnv, harness, nextJobEvent, processGone, testGuard } from './fixtures/jobs-harness.ts';
import { until } from '../support/until.ts';

const EVERY_SECOND = '* * * * * *';
/** A schedule that never comes round during a test: runs are started with runNow. */
const NEVER_SOON = '0 0 1 1 *';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'steward-jobs-'));
}

describe('scheduled jobs', { concurrency: true }, () => {
  it('runs a job on its schedule and keeps exit status, duration and output tail in its history', async () => {
    const h = harness({
      env: baseEnv({
        STEWARD_JOB_HELLO_SCHEDULE: EVERY_SECOND,
        STEWARD_JOB_HELLO_COMMAND: `sh -c 'echo "hello from $STEWARD_JOB_NAME"; echo oops >&2; exit 3'`,
      }),
    });
    try {
      const first = await nextJobEvent(h.bus, 'job.finished', (r) => r.job === 'hello');
      const second = await nextJobEvent(h.bus, 'job.finished', (r) => r.job === 'hello');
      assert.equal(first.ok, false);
      assert.equal(first.exitCode, 3);
      assert.equal(first.failure, 'exit status 3');
      assert.equal(first.output, 'hello from hello\noops');
      assert.equal(first.trigger, 'schedule');
      assert.match(first.scheduledFor ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      // The run's own time, not a clock reading or seconds: within its start and finish (how long
      // a loaded machine takes to start a shell is not this test's business).
      const wall = Date.parse(first.finishedAt) - Date.parse(first.startedAt);
      assert.ok(first.durationMs >= 0 && first.durationMs <= wall + 1, `duration ${first.durationMs} ms, between start and finish ${wall} ms`);
      // One slot per second, one run per slot (a loaded machine may miss a slot, never share one).
      const gap = Date.parse(second.scheduledFor ?? '') - Date.parse(first.scheduledFor ?? '');
      assert.ok(gap >= 1000 && gap % 1000 === 0, `slots ${gap} ms apart`);
      const [status] = h.part.status();
      assert.equal(status?.name, 'hello');
      assert.ok((status?.runs ?? 0) >= 2 && status?.failures === status?.runs);
      assert.deepEqual(h.part.history('hello').slice(0, 2).map((r) => r.runId), [first.runId, second.runId]);
      assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg === 'job hello failed: exit status 3' && l.fields['output'] === 'hello from hello\noops'));
    } finally {
      await h.stop();
    }
  });

  it('never overlaps itself: a tick while the job runs is skipped and logged', async () => {
    const dir = scratch();
    const trace = join(dir, 'trace');
    const h = harness({
      env: baseEnv({
        STEWARD_JOB_SLOW_SCHEDULE: EVERY_SECOND,
        STEWARD_JOB_SLOW_COMMAND: `sh -c 'echo start >> ${trace}; sleep 1.4; echo end >> ${trace}'`,
      }),
    });
    try {
      const skipped = await nextJobEvent(h.bus, 'job.skipped', () => true);
      assert.equal(skipped.reason, 'still running');
      const record = await nextJobEvent(h.bus, 'job.finished', (r) => r.job === 'slow');
      assert.ok(record.ok);
      assert.ok(record.skippedTicks >= 1);
      assert.ok(h.logs.some((l) => l.level === 'warn' && /^job slow: the previous run \(started .*\) is still going; this run is skipped$/.test(l.msg)));
      assert.ok((h.part.status()[0]?.skippedRunning ?? 0) >= 1);
    } finally {
      await h.stop();
    }
    // Each start is followed by its end before the next start: never two at once.
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    lines.forEach((line, i) => assert.equal(line, i % 2 === 0 ? 'start' : 'end', `line ${i} of ${lines.join(',')}`));
  });

  it('stops a job at its timeout, with everything it started', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'pid');
    const h = harness({
      env: baseEnv({
        STEWARD_JOB_HANG_SCHEDULE: NEVER_SOON,
        STEWARD_JOB_HANG_TIMEOUT: '300ms',
        STEWARD_JOB_HANG_COMMAND: `sh -c 'sleep 30 & echo $! > ${pidFile}; wait'`,
      }),
    });
    try {
      const record = await h.part.runNow('hang');
      assert.ok(record !== undefined);
      assert.equal(record.timedOut, true);
      assert.equal(record.failure, 'timed out after 300ms');
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      await until(`the background sleep ${grandchild} to end`, () => processGone(grandchild));
    } finally {
      await h.stop();
    }
  });

  it('does not start a leader job without a permit, and passes the fencing token when it has one', async () => {
    const guard = testGuard();
    const h = harness({
      env: baseEnv({
        STEWARD_JOB_PRIMARY_SCHEDULE: NEVER_SOON,
        STEWARD_JOB_PRIMARY_WHEN: 'leader',
        STEWARD_JOB_PRIMARY_COMMAND: `sh -c 'echo "token=$STEWARD_FENCING_TOKEN"'`,
        STEWARD_FENCING_TOKEN: 'stale-from-the-environment',
      }),
      guards: { leader: guard, lock: () => undefined },
    });
    try {
      assert.equal(await h.part.runNow('primary'), undefined);
      assert.equal(await h.part.runNow('primary'), undefined);
      const skips = h.events.filter((e) => e.name === 'job.skipped');
      assert.deepEqual(skips.map((e) => e.name === 'job.skipped' && e.payload.reason), ['not permitted', 'not permitted']);
      assert.equal(h.events.filter((e) => e.name === 'job.started').length, 0);
      assert.equal(h.logs.filter((l) => l.level === 'info' && l.msg.startsWith('job primary: not run here, when = leader does not hold')).length, 1);

      guard.allow('42');
      const record = await h.part.runNow('primary');
      assert.equal(record?.output, 'token=42');
      assert.equal(record?.fencingToken, '42');

      guard.allow(undefined);
      assert.equal((await h.part.runNow('primary'))?.output, 'token=');
    } finally {
      await h.stop();
    }
  });

  it('stops a leader job when leadership is lost: SIGTERM to its group, SIGKILL after the stop timeout', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'pid');
    const guard = testGuard();
    guard.allow('7');
    const h = harness({
      env: baseEnv({
        STEWARD_JOB_PRIMARY_SCHEDULE: NEVER_SOON,
        STEWARD_JOB_PRIMARY_WHEN: 'leader',
        // Ignores SIGTERM (and so does the sleep it starts): only SIGKILL ends it.
        STEWARD_JOB_PRIMARY_COMMAND: `sh -c 'trap "" TERM; sleep 30 & echo $! > ${pidFile}; wait'`,
      }),
      guards: { leader: guard, lock: () => undefined },
      stopTimeoutMs: 400,
    });
    try {
      const started = nextJobEvent(h.bus, 'job.started');
      const run = h.part.runNow('primary');
      await started;
      await until('the job to start its sleep', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
      const lostAt = Date.now();
      guard.lose('session expired');
      const record = await run;
      const took = Date.now() - lostAt;
      assert.ok(record !== undefined);
      assert.equal(record.stoppedBy, 'leadership lost: session expired');
      assert.equal(record.failure, 'stopped (leadership lost: session expired)');
      assert.equal(record.signal, 'SIGKILL');
      assert.ok(took >= 350 && took < 2000, `took ${took}ms`);
      await until('the sleep to end', () => processGone(Number(readFileSync(pidFile, 'utf8'))));
      assert.equal(guard.subscribers, 0);
      assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg === 'job primary: leadership lost (session expired); stopping the run'));
    } finally {
      await h.stop();
    }
  });

  it('stops a running job on shutdown: SIGTERM at once, SIGKILL at the stop deadline', async () => {
    const trapped = join(scratch(), 'trapped');
    const h = harness({
      env: baseEnv({
        STEWARD_JOB_POLITE_SCHEDULE: NEVER_SOON,
        STEWARD_JOB_POLITE_COMMAND: 'sleep 30',
        STEWARD_JOB_STUBBORN_SCHEDULE: NEVER_SOON,
        STEWARD_JOB_STUBBORN_COMMAND: `sh -c 'trap "" TERM; touch ${trapped}; sleep 30'`,
      }),
    });
    const bothStarted = Promise.all([
      nextJobEvent(h.bus, 'job.started', (e) => e.job === 'polite'),
      nextJobEvent(h.bus, 'job.started', (e) => e.job === 'stubborn'),
    ]);
    const polite = h.part.runNow('polite');
    const stubborn = h.part.runNow('stubborn');
    await bothStarted;
    await until('the stubborn job to ignore SIGTERM', () => existsSync(trapped));
    const stopAt = Date.now();
    await h.stop(800);
    const took = Date.now() - stopAt;
    const [p, s] = await Promise.all([polite, stubborn]);
    assert.equal(p?.signal, 'SIGTERM');
    assert.equal(p?.stoppedBy, 'steward is stopping: the test is over');
    assert.equal(s?.signal, 'SIGKILL');
    assert.ok(took >= 750 && took < 1800, `stop took ${took}ms`);
    assert.equal(await h.part.runNow('polite'), undefined, 'nothing starts after the stop');
  });
});
