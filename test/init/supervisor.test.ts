// The supervisor on its own, with a libc that has no processes behind it and a clock the test
// moves: restart policies, back-off, the restart limit, stop escalation (the polite signal, then
// SIGKILL to the app's group at the deadline), halt, and restarts asked for by the parts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RestartPolicy } from '../../src/config/options.ts';
import { signalNumber, type SignalName } from '../../src/config/values.ts';
import { createBus } from '../../src/core/bus.ts';
import type { Events } from '../../src/core/events.ts';
import type { AppExit } from '../../src/init/exit-status.ts';
import { createSupervisor, type Supervisor, type SupervisorOptions } from '../../src/init/supervisor.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { manualClock, type ManualClock } from '../support/manual-clock.ts';
import { fakeLibc, type FakeLibc } from './fixtures/fake-libc.ts';

/** Raw wait statuses, as the reaper hands them over. */
const exitedWith = (code: number): number => code << 8;
const killedBy = (signal: SignalName): number => signalNumber(signal);

interface Rig {
  readonly sup: Supervisor;
  readonly libc: FakeLibc;
  readonly clock: ManualClock;
  readonly logs: Recorded[];
  readonly started: Events['app.started'][];
  readonly exits: Events['app.exited'][];
  /** The running app's pid (fails when none runs). */
  pid(): number;
  /** The app exits with `status` (raw): as the reaper reports it, with its group gone. */
  exit(status: number): void;
  /** The supervisor's last exit once it will not start the app again; undefined while it may. */
  final(): Promise<AppExit | undefined>;
}

function rig(options: Partial<Omit<SupervisorOptions, 'libc' | 'bus' | 'log' | 'clock'>> & { tty?: boolean } = {}): Rig {
  const libc = fakeLibc({ tty: options.tty });
  const clock = manualClock(1_000_000);
  const logs: Recorded[] = [];
  const bus = createBus((name, error) => assert.fail(`a ${name} handler failed: ${String(error)}`));
  const started: Events['app.started'][] = [];
  const exits: Events['app.exited'][] = [];
  bus.on('app.started', (e) => started.push(e));
  bus.on('app.exited', (e) => exits.push(e));
  const sup = createSupervisor({
    libc,
    app: { command: ['app', '--serve'], env: { A: '1', B: undefined }, credentials: undefined, takeTerminal: options.tty === true },
    signalGroup: false,
    rewrite: new Map(),
    successCodes: new Set(),
    restart: 'never',
    restartLimit: 0,
    restartBackoff: 100,
    stopSignal: 'SIGTERM',
    stopTimeout: 500,
    bus,
    log: recordingLogger(logs),
    clock,
    ...options,
  });
  let final: AppExit | undefined;
  void sup.done.then((exit) => {
    final = exit;
  });
  return {
    sup,
    libc,
    clock,
    logs,
    started,
    exits,
    pid() {
      const app = sup.current();
      assert.ok(app !== undefined, 'the app is not running');
      return app.pid;
    },
    exit(status) {
      const pid = this.pid();
      libc.gone(pid);
      assert.equal(sup.handleReaped(pid, status), true);
    },
    async final() {
      // done resolves in a microtask of the call that ended the supervision.
      await new Promise((resolve) => setImmediate(resolve));
      return final;
    },
  };
}

function restartsOf(policy: RestartPolicy, status: number): Promise<number> {
  const r = rig({ restart: policy });
  r.sup.start();
  r.exit(status);
  r.clock.advance(100);
  return r.final().then((final) => (final === undefined ? r.libc.spawned.length - 1 : 0));
}

describe('supervisor restart policies', () => {
  it('starts the app with its command and environment, and reports the start', () => {
    const r = rig();
    r.sup.start();
    assert.equal(r.libc.spawned.length, 1);
    assert.deepEqual(r.libc.spawned[0]?.argv, ['app', '--serve']);
    assert.deepEqual(r.libc.spawned[0]?.env, ['A=1']);
    assert.equal(r.libc.spawned[0]?.ownProcessGroup, true);
    assert.deepEqual(r.started, [{ pid: r.pid(), attempt: 1 }]);
  });

  it('never: the first exit is the last, with its status', async () => {
    const r = rig({ restart: 'never' });
    r.sup.start();
    r.exit(exitedWith(3));
    r.clock.advance(10_000);
    assert.equal((await r.final())?.status, 3);
    assert.equal(r.libc.spawned.length, 1);
    assert.deepEqual(r.exits.map((e) => e.restarting), [false]);
    assert.ok(r.logs.some((l) => l.level === 'info' && l.msg === 'app exited with 3'));
  });

  it('on-failure restarts after a failure or a signal, not after success or a success code', async () => {
    assert.equal(await restartsOf('on-failure', exitedWith(3)), 1);
    assert.equal(await restartsOf('on-failure', killedBy('SIGSEGV')), 1);
    assert.equal(await restartsOf('on-failure', exitedWith(0)), 0);
    const r = rig({ restart: 'on-failure', successCodes: new Set([3]) });
    r.sup.start();
    r.exit(exitedWith(3));
    assert.equal((await r.final())?.status, 3);
  });

  it('always restarts after success too', async () => {
    assert.equal(await restartsOf('always', exitedWith(0)), 1);
    assert.equal(await restartsOf('never', exitedWith(1)), 0);
  });

  it('an app that cannot be started again ends the supervision with its last exit', async () => {
    const r = rig({ restart: 'always' });
    r.sup.start();
    r.libc.nextSpawn(-2);
    r.exit(exitedWith(1));
    r.clock.advance(100);
    assert.equal((await r.final())?.status, 1);
    assert.ok(r.logs.some((l) => l.level === 'error' && l.msg === 'app could not be restarted'));
  });
});

describe('supervisor back-off', () => {
  it('doubles the delay after each failure in a row, up to 30 times the first', async () => {
    const r = rig({ restart: 'on-failure', restartBackoff: 100 });
    r.sup.start();
    const delays: number[] = [];
    for (let failure = 0; failure < 7; failure++) {
      r.exit(exitedWith(1));
      const failedAt = r.clock.monotonic();
      const spawns = r.libc.spawned.length;
      while (r.libc.spawned.length === spawns) r.clock.advance(1);
      delays.push(r.clock.monotonic() - failedAt);
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3000, 3000]);
    assert.deepEqual(r.started.map((s) => s.attempt), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(await r.final(), undefined);
  });

  it('starts over once the app ran longer than the longest delay', () => {
    const r = rig({ restart: 'on-failure', restartBackoff: 100 });
    r.sup.start();
    r.exit(exitedWith(1));
    r.clock.advance(100);
    r.exit(exitedWith(1));
    r.clock.advance(200);
    assert.equal(r.libc.spawned.length, 3);
    // A healthy run: as long as the longest delay (30 x 100 ms).
    r.clock.advance(3000);
    r.exit(exitedWith(1));
    r.clock.advance(99);
    assert.equal(r.libc.spawned.length, 3);
    r.clock.advance(1);
    assert.equal(r.libc.spawned.length, 4);
  });

  it('gives up after the restart limit, with the last exit', async () => {
    const r = rig({ restart: 'always', restartLimit: 2, restartBackoff: 100 });
    r.sup.start();
    r.exit(exitedWith(4));
    r.clock.advance(100);
    r.exit(exitedWith(4));
    r.clock.advance(200);
    assert.equal(await r.final(), undefined);
    r.exit(exitedWith(5));
    assert.equal((await r.final())?.status, 5);
    assert.equal(r.libc.spawned.length, 3);
    assert.ok(r.logs.some((l) => l.level === 'error' && l.msg === 'app keeps exiting; restart limit reached' && l.fields['limit'] === 2));
  });
});

describe('supervisor stop', () => {
  it('sends the stop signal to the app, and SIGKILL to its group at the deadline', async () => {
    const r = rig({ restart: 'always' });
    r.sup.start();
    const pid = r.pid();
    r.sup.stop('SIGTERM', r.clock.monotonic() + 1000);
    assert.deepEqual(r.libc.sent, [{ pid, signal: 'SIGTERM' }]);
    r.clock.advance(999);
    assert.equal(r.libc.sent.length, 1);
    r.clock.advance(1);
    assert.deepEqual(r.libc.sent.at(-1), { pid: -pid, signal: 'SIGKILL' });
    assert.ok(r.logs.some((l) => l.level === 'warn' && l.msg === 'app did not stop in time; sending SIGKILL to its process group'));
    r.exit(killedBy('SIGKILL'));
    assert.equal((await r.final())?.status, 137);
    assert.equal(r.libc.spawned.length, 1, 'a stopped app is not restarted');
  });

  it('sends nothing more to an app that stopped in time', async () => {
    const r = rig();
    r.sup.start();
    r.sup.stop('SIGTERM', r.clock.monotonic() + 1000);
    r.clock.advance(300);
    r.exit(exitedWith(0));
    r.clock.advance(10_000);
    assert.deepEqual(r.libc.sent.map((s) => s.signal), ['SIGTERM']);
    assert.equal((await r.final())?.status, 0);
    assert.equal(r.clock.pending, 0);
  });

  it('signals the whole group with signalGroup, and sends no signal of its own when told none', () => {
    const grouped = rig({ signalGroup: true });
    grouped.sup.start();
    grouped.sup.stop('SIGQUIT', grouped.clock.monotonic() + 100);
    assert.deepEqual(grouped.libc.sent, [{ pid: -grouped.pid(), signal: 'SIGQUIT' }]);

    const silent = rig();
    silent.sup.start();
    silent.sup.stop(null, silent.clock.monotonic() + 100);
    assert.deepEqual(silent.libc.sent, []);
    silent.clock.advance(100);
    assert.deepEqual(silent.libc.sent, [{ pid: -silent.pid(), signal: 'SIGKILL' }]);
  });

  it('arms the deadline once: a second stop changes nothing', () => {
    const r = rig();
    r.sup.start();
    r.sup.stop('SIGTERM', r.clock.monotonic() + 1000);
    r.sup.stop('SIGINT', r.clock.monotonic() + 10);
    r.clock.advance(999);
    assert.deepEqual(r.libc.sent.map((s) => s.signal), ['SIGTERM']);
    r.clock.advance(1);
    assert.deepEqual(r.libc.sent.map((s) => s.signal), ['SIGTERM', 'SIGKILL']);
  });

  it('forwards signals after the rewrite, and turns job control into SIGSTOP', () => {
    const r = rig({ rewrite: new Map<SignalName, SignalName | null>([['SIGTERM', 'SIGQUIT'], ['SIGHUP', null]]) });
    r.sup.start();
    r.sup.forward('SIGTERM');
    r.sup.forward('SIGHUP');
    r.sup.forward('SIGTSTP');
    r.sup.forward('SIGUSR1');
    assert.deepEqual(r.libc.sent.map((s) => s.signal), ['SIGQUIT', 'SIGSTOP', 'SIGUSR1']);
  });

  it('hands the terminal to the app and takes it back when the app exits', () => {
    const r = rig({ tty: true });
    r.sup.start();
    const pid = r.pid();
    assert.equal(r.libc.foreground, pid);
    assert.deepEqual(r.libc.sent, [{ pid: -pid, signal: 'SIGCONT' }]);
    r.exit(exitedWith(0));
    assert.equal(r.libc.foreground, 1);
  });
});

describe('supervisor halt', () => {
  it('during a back-off: the app is not started again, and supervision ends with the last exit', async () => {
    const r = rig({ restart: 'always' });
    r.sup.start();
    r.exit(exitedWith(2));
    r.clock.advance(50);
    r.sup.halt();
    r.clock.advance(10_000);
    assert.equal(r.libc.spawned.length, 1);
    assert.equal((await r.final())?.status, 2);
  });

  it('while the app runs: it keeps running, and its exit is final', async () => {
    const r = rig({ restart: 'always' });
    r.sup.start();
    r.sup.halt();
    assert.deepEqual(r.libc.sent, []);
    assert.equal(await r.final(), undefined);
    r.exit(exitedWith(0));
    r.clock.advance(10_000);
    assert.equal(r.libc.spawned.length, 1);
    assert.deepEqual(r.exits.map((e) => e.restarting), [false]);
    assert.equal((await r.final())?.status, 0);
  });
});

describe('supervisor restartNow', () => {
  it('stops the app with the stop signal and starts it again at once, without counting a failure', async () => {
    const r = rig({ restart: 'never', stopSignal: 'SIGHUP', signalGroup: true });
    r.sup.start();
    const first = r.pid();
    r.sup.restartNow('a template changed');
    assert.deepEqual(r.libc.sent, [{ pid: -first, signal: 'SIGHUP' }]);
    r.exit(killedBy('SIGHUP'));
    assert.equal(r.libc.spawned.length, 2);
    assert.notEqual(r.pid(), first);
    assert.deepEqual(r.exits.map((e) => e.restarting), [true]);
    r.clock.advance(10_000);
    assert.equal(r.libc.sent.length, 1, 'no SIGKILL for the app that stopped in time');
    assert.equal(await r.final(), undefined);
    assert.ok(r.logs.some((l) => l.level === 'info' && l.msg === 'stopping app for a restart' && l.fields['reason'] === 'a template changed'));
  });

  it('kills the group of an app that does not stop within the stop timeout', () => {
    const r = rig({ stopTimeout: 500 });
    r.sup.start();
    const pid = r.pid();
    r.sup.restartNow('reload = "restart"');
    r.sup.restartNow('a second request while the first is under way');
    r.clock.advance(499);
    assert.deepEqual(r.libc.sent, [{ pid, signal: 'SIGTERM' }]);
    r.clock.advance(1);
    assert.deepEqual(r.libc.sent, [{ pid, signal: 'SIGTERM' }, { pid: -pid, signal: 'SIGKILL' }]);
    assert.ok(r.logs.some((l) => l.level === 'warn' && l.msg === 'app did not stop in time for its restart; sending SIGKILL'));
    r.exit(killedBy('SIGKILL'));
    assert.equal(r.libc.spawned.length, 2);
  });

  it('counts a repair as a failure: after the back-off, and not past the restart limit, whatever the policy', async () => {
    const r = rig({ restart: 'never', restartLimit: 1, restartBackoff: 100 });
    r.sup.start();
    r.sup.restartNow('unhealthy for 0s', true);
    r.exit(killedBy('SIGTERM'));
    assert.equal(r.libc.spawned.length, 1, 'not at once: after the back-off');
    r.clock.advance(100);
    assert.equal(r.libc.spawned.length, 2);
    r.sup.restartNow('unhealthy for 0s', true);
    r.exit(killedBy('SIGTERM'));
    assert.deepEqual(r.exits.map((e) => e.restarting), [true, false]);
    r.clock.advance(10_000);
    assert.equal(r.libc.spawned.length, 2, 'the limit of 1 restart holds');
    assert.equal((await r.final())?.status, 143);
    assert.ok(r.logs.some((l) => l.level === 'error' && l.msg === 'app stays unhealthy; restart limit reached'));
  });

  it('does nothing once the stop has begun', async () => {
    const r = rig();
    r.sup.start();
    r.sup.halt();
    r.sup.restartNow('too late');
    assert.deepEqual(r.libc.sent, []);
    r.exit(exitedWith(0));
    assert.equal(r.libc.spawned.length, 1);
    assert.equal((await r.final())?.status, 0);
  });
});
