// Sidecars end to end, with steward as PID 1: each runs in its own process group, is restarted
// with back-off, a required one ends the container, _AFTER orders the starts, the stop goes in
// reverse within one budget, and what a run left in its group is stopped before the next run.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { APP, NODE, ROOT, logRecords, processState, runSteward, startSteward, stopAllStewards, type RunningSteward } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

const SIDECAR = join(ROOT, 'test', 'processes', 'fixtures', 'sidecar.mjs');

/** STEWARD_PROCESS_<NAME>_COMMAND running the fixture, its output straight through to stdout. */
function sidecar(name: string, args = '', fields: Record<string, string> = {}): Record<string, string> {
  const prefix = `STEWARD_PROCESS_${name.toUpperCase()}_`;
  const env: Record<string, string> = { [`${prefix}COMMAND`]: `'${NODE}' '${SIDECAR}' ${name} ${args}`, [`${prefix}OUTPUT`]: 'inherit' };
  for (const [field, value] of Object.entries(fields)) env[`${prefix}${field}`] = value;
  return env;
}

const BASE = { STEWARD_CONTROL_SOCKET: 'off' };

function records(s: RunningSteward): Record<string, unknown>[] {
  return logRecords(s.stderr());
}

/** The pid in a `NAME ready pid=N ...` line. */
function pidOf(line: string): number {
  return Number(/pid=(\d+)/.exec(line)?.[1]);
}

function pgidOf(line: string): number {
  return Number(/pgid=(\d+)/.exec(line)?.[1]);
}

describe('sidecars', () => {
  it('runs each sidecar in its own process group, apart from the app and from each other', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, ...sidecar('one'), ...sidecar('two') } });
    const one = await s.line(/^one ready/);
    const two = await s.line(/^two ready/);
    const app = await s.line(/^ready/);
    assert.equal(pgidOf(one), pidOf(one));
    assert.equal(pgidOf(two), pidOf(two));
    assert.equal(pgidOf(app), pidOf(app));
    assert.equal(new Set([pgidOf(one), pgidOf(two), pgidOf(app)]).size, 3);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('TERM to steward (docker stop) reaches every sidecar and the app; the app\'s status is the exit', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, APP_EXIT_ON: 'SIGTERM:7', ...sidecar('one'), ...sidecar('two', '', { AFTER: 'app:started' }) } });
    await s.line(/^one ready/);
    await s.line(/^two ready/);
    await s.line(/^ready/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 7);
    const out = s.stdoutLines();
    for (const line of ['one got SIGTERM', 'two got SIGTERM', 'got SIGTERM']) assert.ok(out.includes(line), `${line} in ${out.join('\n')}`);
  });

  it('restarts a crashing sidecar with a doubling back-off; the app runs on', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, ...sidecar('crash', '--exit 3', { RESTART_BACKOFF: '200ms' }) } });
    await s.line(/^ready/);
    const delays = await until('three restarts', () => {
      const d = records(s).filter((r) => /^process crash exited with 3; restarting in/.test(String(r['msg']))).map((r) => Number(/in (\d+)ms/.exec(String(r['msg']))?.[1]));
      return d.length >= 3 ? d : undefined;
    }, 30_000);
    assert.deepEqual(delays.slice(0, 3), [200, 400, 800]);
    assert.ok(!s.stdoutLines().some((l) => /^got /.test(l)), 'the app was never signalled');
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('a required sidecar that fails for good ends the container with its status', async () => {
    const s = startSteward([NODE, APP], {
      env: { ...BASE, ...sidecar('db', '--exit 5', { REQUIRED: 'true', RESTART: 'on-failure', RESTART_BACKOFF: '100ms', RESTART_LIMIT: '1' }) },
    });
    const exit = await s.exited;
    assert.equal(exit.code, 5, s.stderr());
    // The app may still be starting when the sidecar fails for good (on a loaded machine it has
    // not yet set its handlers): stopped is either its own line or its exit by the signal.
    const appStopped = s.stdoutLines().includes('got SIGTERM')
      || records(s).some((r) => typeof r['msg'] === 'string' && r['msg'].startsWith('app ') && r['signal'] === 'SIGTERM');
    assert.ok(appStopped, 'the app was stopped');
    assert.ok(records(s).some((r) => r['msg'] === 'required process db failed (status 5); stopping'));
  });

  it('a sidecar that is not required may fail for good; the app runs on', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, ...sidecar('once', '--exit 4', { RESTART: 'never' }) } });
    await s.line(/^ready/);
    await until('the sidecar to fail', () => records(s).some((r) => r['msg'] === 'process once exited with 4'));
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('starts in _AFTER order: app:started, <name>:running and <name>:healthy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-after-'));
    const flag = join(dir, 'healthy');
    const s = startSteward([NODE, APP], {
      env: {
        ...BASE,
        ...sidecar('base', '', { HEALTH_CMD: `test -e ${flag}`, HEALTH_START_INTERVAL: '100ms', HEALTH_INTERVAL: '100ms' }),
        ...sidecar('next', '', { AFTER: 'base:running' }),
        ...sidecar('late', '', { AFTER: 'app:started' }),
        ...sidecar('waits', '', { AFTER: 'base:healthy' }),
      },
    });
    const base = pidOf(await s.line(/^base ready/));
    const next = pidOf(await s.line(/^next ready/));
    const app = pidOf(await s.line(/^ready/));
    const late = pidOf(await s.line(/^late ready/));
    // pids in a new pid namespace count up: they show the order of the spawns.
    assert.ok(base < next && next < app && app < late, `base ${base} < next ${next} < app ${app} < late ${late}`);
    assert.ok(!s.stdoutLines().some((l) => l.startsWith('waits ')), 'waits started before base was healthy');
    writeFileSync(flag, '');
    await s.line(/^waits ready/);
    assert.ok(records(s).some((r) => r['msg'] === 'process base is healthy'));
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('stops in reverse start order, the app in its place', async () => {
    const s = startSteward([NODE, APP], {
      env: { ...BASE, ...sidecar('first'), ...sidecar('second', '', { AFTER: 'first:running' }), ...sidecar('third', '', { AFTER: 'app:started' }) },
    });
    await s.line(/^third ready/);
    await s.line(/^ready/);
    await s.line(/^second ready/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
    const order = s.stdoutLines().filter((l) => /got SIGTERM$/.test(l));
    assert.deepEqual(order, ['third got SIGTERM', 'got SIGTERM', 'second got SIGTERM', 'first got SIGTERM']);
  });

  it('keeps every sidecar within the one stop budget, whatever its own stop timeout', async () => {
    const s = startSteward([NODE, APP], {
      env: { ...BASE, STEWARD_STOP_TIMEOUT: '1s', ...sidecar('stubborn', '--ignore SIGTERM', { STOP_TIMEOUT: '60s' }) },
    });
    const stubborn = pidOf(await s.line(/^stubborn ready/));
    await s.line(/^ready/);
    const began = performance.now();
    await s.signal('SIGTERM');
    const exit = await s.exited;
    const took = performance.now() - began;
    assert.equal(exit.code, 0);
    assert.ok(s.stdoutLines().includes('stubborn got SIGTERM'));
    assert.ok(records(s).some((r) => r['msg'] === 'process stubborn did not stop in time; sending SIGKILL to its group'));
    // Its own 60s would have kept steward waiting a minute; the budget is 1s (slack for a loaded machine).
    assert.ok(took < 20_000, `stopped in ${Math.round(took)}ms`);
    assert.ok(stubborn > 0);
  });

  it('stops what a sidecar left in its group before starting it again, naming the pids', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, STEWARD_LOG_LEVEL: 'info', ...sidecar('leaky', '--leave-child --exit 1', { RESTART_BACKOFF: '100ms', RESTART_LIMIT: '1', RESTART: 'on-failure' }) } });
    const left = Number(/left (\d+)/.exec(await s.line(/^leaky left/))?.[1]);
    const warning = await until('the leftovers warning', () =>
      records(s).find((r) => r['msg'] === 'process leaky left processes in its process group; stopping them before it starts again'),
    );
    // The warning names pids as steward's namespace sees them; the fixture printed the same.
    assert.deepEqual(warning['pids'], [left]);
    await until('the second run', () => s.stdoutLines().filter((l) => /^leaky ready/.test(l)).length >= 2);
    // The second run started only after the warning, and the leftover went at the stop signal.
    const msgs = records(s).map((r) => `${String(r['msg'])} ${String(r['attempt'] ?? '')}`);
    const warned = msgs.indexOf(`${String(warning['msg'])} `);
    const second = msgs.indexOf('process leaky started 2');
    assert.ok(warned >= 0 && warned < second, msgs.join('\n'));
    assert.ok(!msgs.some((m) => m.startsWith('processes process leaky left did not stop in time')));
    await s.signal('SIGTERM');
    await s.exited;
  });

  it("stops what the app left in its group before restarting it", async () => {
    const s = startSteward(['sh', '-c', 'sleep 1000 & echo "left $!"; exit 1'], {
      env: { ...BASE, STEWARD_RESTART: 'on-failure', STEWARD_RESTART_LIMIT: '1', STEWARD_RESTART_BACKOFF: '100ms' },
    });
    const left = Number(/left (\d+)/.exec(await s.line(/^left/))?.[1]);
    const exit = await s.exited;
    assert.equal(exit.code, 1);
    const warning = records(s).find((r) => r['msg'] === 'app left processes in its process group; stopping them before it starts again');
    assert.ok(warning !== undefined, s.stderr());
    assert.deepEqual(warning['pids'], [left]);
    // The second run printed its own leftover only after the first was stopped.
    const lefts = s.stdoutLines().filter((l) => l.startsWith('left '));
    assert.equal(lefts.length, 2);
  });

  it('runs a sidecar as the app\'s user unless its USER says otherwise, without steward\'s secrets', async () => {
    const s = startSteward([NODE, APP], {
      env: { ...BASE, STEWARD_USER: 'nobody', STEWARD_PASSWORD: 'hunter2', ...sidecar('app_user', '--env STEWARD_PASSWORD'), ...sidecar('root_user', '', { USER: 'root' }) },
    });
    const appUser = await s.line(/^app_user ready/);
    const rootUser = await s.line(/^root_user ready/);
    assert.match(appUser, / uid=65534 /);
    assert.match(rootUser, / uid=0 home=\/root$/);
    assert.ok(s.stdoutLines().includes('app_user env STEWARD_PASSWORD=unset'));
    await s.line(/^ready/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('reads sidecars from STEWARD_PROCESS_DIR files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-processes-'));
    writeFileSync(join(dir, 'worker.toml'), `command = ["${NODE}", "${SIDECAR}", "worker"]\noutput = "inherit"\nrestart = "always"\n`);
    writeFileSync(join(dir, 'README'), 'not a sidecar\n');
    const s = startSteward([NODE, APP], { env: { ...BASE, STEWARD_PROCESS_DIR: dir } });
    await s.line(/^worker ready/);
    await s.line(/^ready/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
    assert.ok(s.stdoutLines().includes('worker got SIGTERM'));
  });

  it('captures sidecar output into the log, naming the process', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, STEWARD_PROCESS_TALK_COMMAND: `'${NODE}' '${SIDECAR}' talk` } });
    await s.line(/^ready/);
    const record = await until('the captured line', () => records(s).find((r) => typeof r['msg'] === 'string' && (r['msg'] as string).startsWith('talk ready')));
    assert.equal(record['child'], 'process');
    assert.equal(record['name'], 'talk');
    assert.equal(record['stream'], 'stdout');
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('refuses an _AFTER that names no sidecar, with exit 78', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, ...sidecar('lonely', '', { AFTER: 'ghost:running' }) } });
    const exit = await s.exited;
    assert.equal(exit.code, 78);
    assert.match(s.stderr(), /no sidecar named "ghost"/);
  });

  it('--check validates the sidecars\' settings without starting any', async () => {
    const r = await runSteward(['--check'], { env: { ...BASE, ...sidecar('bad', '', { RESTART: 'sometimes' }) }, pid1: false });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /STEWARD_PROCESS_BAD_RESTART/);
    assert.ok(!r.stdout.some((l) => l.startsWith('bad ')), 'nothing was started');
  });

  it('leaves no sidecar process behind once steward is gone', async () => {
    const s = startSteward([NODE, APP], { env: { ...BASE, ...sidecar('one', '--leave-child') } });
    await s.line(/^one left/);
    await s.line(/^ready/);
    const steward = await s.stewardPid();
    await s.signal('SIGTERM');
    await s.exited;
    assert.equal(processState(steward), undefined);
    assert.equal(existsSync(`/proc/${steward}`), false);
  });
});
