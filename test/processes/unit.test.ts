// One supervised sidecar on a manual clock, with a spawn that starts nothing and a kill that
// records: the restart policies and their back-off, the restart limit, a stop whose grace the
// stop budget caps, a restart asked for, and reloads spaced by RELOAD_SPACING.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBus } from '../../src/core/bus.ts';
import type { Events } from '../../src/core/events.ts';
import type { ChildEnd, SpawnedChild } from '../../src/core/spawn-child.ts';
import type { ProcessSpec } from '../../src/processes/spec.ts';
import { createUnit } from '../../src/processes/unit.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';

const SPEC: ProcessSpec = {
  name: 'side',
  origin: 'STEWARD_PROCESS_SIDE_*',
  argv: ['side'],
  restart: 'always',
  restartBackoffMs: 100,
  restartLimit: 0,
  user: undefined,
  userSource: 'STEWARD_PROCESS_SIDE_USER',
  reloadSignal: 'SIGHUP',
  reloadSpacingMs: 1000,
  stopSignal: 'SIGTERM',
  stopTimeoutMs: 5000,
  after: undefined,
  health: undefined,
  required: false,
  output: 'capture',
};

/** Lets the promise callbacks of a turn run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function rig(spec: Partial<ProcessSpec> = {}) {
  const clock = manualClock(1_000_000);
  const bus = createBus((name, error) => assert.fail(`a ${name} handler failed: ${String(error)}`));
  const logs: Recorded[] = [];
  const runs: { pid: number; end: (e: ChildEnd) => void }[] = [];
  const alive = new Set<number>();
  const sent: string[] = [];
  const exits: Events['process.exited'][] = [];
  bus.on('process.exited', (e) => exits.push(e));
  let nextPid = 100;
  const unit = createUnit({
    spec: { ...SPEC, ...spec },
    spawn: (): SpawnedChild => {
      const pid = nextPid++;
      alive.add(pid);
      let end: (e: ChildEnd) => void = () => {};
      const exited = new Promise<ChildEnd>((resolve) => (end = resolve));
      runs.push({ pid, end });
      return { pid, exited };
    },
    env: {},
    user: undefined,
    bus,
    log: recordingLogger(logs),
    clock,
    kill: (pid, signal) => {
      const target = Math.abs(pid);
      if (!alive.has(target)) throw new Error('ESRCH');
      if (signal !== 0) sent.push(`${pid < 0 ? 'group' : 'pid'} ${target} ${signal}`);
    },
  });
  return {
    unit,
    clock,
    logs,
    runs,
    sent,
    exits,
    /** The latest run exits (its group with it). */
    async exit(end: ChildEnd): Promise<void> {
      const run = runs.at(-1);
      assert.ok(run !== undefined);
      alive.delete(run.pid);
      run.end(end);
      await settle();
    },
  };
}

describe('a supervised sidecar', () => {
  it('restarts after a crash with a doubling back-off', async () => {
    const r = rig();
    await r.unit.start();
    await r.exit({ code: 1, signal: null });
    assert.equal(r.unit.state, 'waiting');
    r.clock.advance(99);
    assert.equal(r.runs.length, 1);
    r.clock.advance(1);
    await settle();
    assert.equal(r.runs.length, 2);
    await r.exit({ code: 1, signal: null });
    r.clock.advance(199);
    assert.equal(r.runs.length, 2);
    r.clock.advance(1);
    await settle();
    assert.equal(r.runs.length, 3);
    assert.deepEqual(r.exits.map((e) => e.restarting), [true, true]);
  });

  it('on-failure leaves a clean exit alone; never leaves any', async () => {
    const clean = rig({ restart: 'on-failure' });
    await clean.unit.start();
    await clean.exit({ code: 0, signal: null });
    assert.equal(clean.unit.state, 'stopped');
    assert.deepEqual(clean.exits.map((e) => [e.restarting, e.final]), [[false, true]]);
    const never = rig({ restart: 'never', required: true });
    await never.unit.start();
    await never.exit({ code: null, signal: 'SIGSEGV' });
    assert.deepEqual(never.exits.map((e) => [e.exit.status, e.final, e.required]), [[139, true, true]]);
  });

  it('gives up at the restart limit, and says the exit was final', async () => {
    const r = rig({ restartLimit: 1 });
    await r.unit.start();
    await r.exit({ code: 2, signal: null });
    r.clock.advance(100);
    await settle();
    await r.exit({ code: 2, signal: null });
    assert.equal(r.runs.length, 2);
    assert.deepEqual(r.exits.map((e) => e.final), [false, true]);
    assert.ok(r.logs.some((l) => l.msg === 'process side keeps exiting; restart limit reached'));
  });

  it('stops with its stop signal to its process and SIGKILL to its group at the budget\'s deadline', async () => {
    const r = rig({ stopSignal: 'SIGQUIT', stopTimeoutMs: 60_000 });
    await r.unit.start();
    const pid = r.runs[0]?.pid;
    const stopped = r.unit.stop(r.clock.monotonic() + 2000);
    assert.deepEqual(r.sent, [`pid ${pid} SIGQUIT`]);
    r.clock.advance(1999);
    assert.equal(r.sent.length, 1);
    r.clock.advance(1);
    assert.deepEqual(r.sent, [`pid ${pid} SIGQUIT`, `group ${pid} SIGKILL`]);
    await r.exit({ code: null, signal: 'SIGKILL' });
    await stopped;
    assert.equal(r.unit.state, 'stopped');
    r.clock.advance(10_000);
    assert.equal(r.runs.length, 1, 'not started again');
  });

  it('a stop cancels a restart that waits for its back-off', async () => {
    const r = rig();
    await r.unit.start();
    await r.exit({ code: 1, signal: null });
    await r.unit.stop(r.clock.monotonic() + 1000);
    r.clock.advance(10_000);
    await settle();
    assert.equal(r.runs.length, 1);
  });

  it('a restart asked for stops it and starts it again at once, not counted', async () => {
    const r = rig({ restartBackoffMs: 5000 });
    await r.unit.start();
    r.unit.restart('changed: /etc/x');
    assert.deepEqual(r.sent, ['pid 100 SIGTERM']);
    await r.exit({ code: 0, signal: null });
    assert.equal(r.runs.length, 2);
    assert.deepEqual(r.exits.map((e) => e.restarting), [true]);
  });

  it('spaces reloads: one within the spacing waits, and those meanwhile make one', async () => {
    const r = rig();
    await r.unit.start();
    assert.equal(r.unit.reload('SIGUSR2'), 'sent');
    r.clock.advance(200);
    assert.equal(r.unit.reload('SIGUSR2'), 'held');
    assert.equal(r.unit.reload('SIGUSR2'), 'held');
    assert.deepEqual(r.sent, ['pid 100 SIGUSR2']);
    r.clock.advance(799);
    assert.equal(r.sent.length, 1);
    r.clock.advance(1);
    assert.deepEqual(r.sent, ['pid 100 SIGUSR2', 'pid 100 SIGUSR2']);
    r.clock.advance(5000);
    assert.equal(r.unit.reload('SIGHUP'), 'sent');
    assert.equal(r.sent.length, 3);
  });

  it('does not reload what is not running', async () => {
    const r = rig();
    assert.equal(r.unit.reload('SIGHUP'), 'not running');
    await r.unit.start();
    await r.exit({ code: 1, signal: null });
    assert.equal(r.unit.reload('SIGHUP'), 'not running');
  });
});
