// The control socket: where it is, who may use it, a second steward beside the first, a stale
// socket left by a killed one, and `steward --health` through a run's states.

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { client, fileConfig, socketDir } from '../support/operator.ts';
import { APP, NODE, runSteward, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

describe('the control socket', () => {
  it('is created owned by steward\'s user with mode 0600, and removed when steward exits', async () => {
    const { socket } = socketDir();
    const s = startSteward([NODE, APP], { env: { STEWARD_CONTROL_SOCKET: socket } });
    await s.line(/^ready/);
    await until('the socket', () => existsSync(socket));
    const st = statSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, process.getuid?.());
    assert.equal((await client(socket, '--health')).code, 0);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
    assert.equal(existsSync(socket), false);
  });

  it('a second steward finds it in use, runs without one and leaves it to the first', async () => {
    const { socket } = socketDir();
    const first = startSteward([NODE, APP], { env: { STEWARD_CONTROL_SOCKET: socket } });
    await first.line(/^ready/);
    await until('the socket', () => existsSync(socket));
    const second = await runSteward(['--log-level', 'debug', '--', 'true'], { env: { STEWARD_CONTROL_SOCKET: socket } });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /control socket .* is in use by another steward; running without one/);
    assert.ok(existsSync(socket), 'the first steward keeps its socket');
    const health = await client(socket, '--status', '--json');
    assert.equal((JSON.parse(health.out) as { app: { pid: number } }).app.pid > 0, true);
    await first.signal('SIGTERM');
    await first.exited;
  });

  it('replaces a stale socket that nobody answers on', async () => {
    const { socket } = socketDir();
    // A socket file whose listener is gone, as a SIGKILLed steward leaves it.
    spawnSync(NODE, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(existsSync(socket), 'a stale socket file is left');
    const s = startSteward([NODE, APP], { env: { STEWARD_CONTROL_SOCKET: socket, STEWARD_LOG_LEVEL: 'debug' } });
    await s.line(/^ready/);
    await until('the new socket to answer', async () => (await client(socket, '--health')).code === 0);
    assert.match(s.stderr(), /replaced the stale control socket/);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('--health fails with one line when no steward listens', async () => {
    const { socket } = socketDir();
    const r = await client(socket, '--health');
    assert.equal(r.code, 1);
    assert.match(r.out, /^unhealthy: no steward answers at .*steward\.sock \(ENOENT\)$/);
  });
});

describe('steward --health through a run', () => {
  it('is starting while the first render waits for a key, then healthy', async () => {
    const { socket } = socketDir();
    const c = fileConfig('other: 1\n');
    const s = startSteward([NODE, APP], { env: { ...c.env, STEWARD_CONTROL_SOCKET: socket } });
    const starting = await until('the socket to answer', async () => {
      const r = await client(socket, '--health');
      return /no steward answers/.test(r.out) ? undefined : r;
    });
    assert.equal(starting.code, 1);
    assert.match(starting.out, /^starting: the app has not started yet$/);
    c.setValues('app:\n  host: db1\n');
    await s.line(/^ready/);
    const healthy = await client(socket, '--health');
    assert.equal(healthy.code, 0, healthy.out);
    assert.match(healthy.out, /^healthy: the app is running and 1 resource\(s\) are rendered$/);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('stays healthy on the last good file while the backend is down', async () => {
    const { socket } = socketDir();
    const c = fileConfig('app:\n  host: db1\n');
    const s = startSteward([NODE, APP], { env: { ...c.env, STEWARD_CONTROL_SOCKET: socket } });
    await s.line(/^ready/);
    c.setValues('app: [unterminated\n');
    await until('the backend to be reported down', async () => {
      const status = JSON.parse((await client(socket, '--status', '--json')).out) as { backend: { connected: boolean } | null };
      return status.backend?.connected === false;
    });
    const r = await client(socket, '--health');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^healthy: /);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('is unhealthy once the app exited', async () => {
    const { socket } = socketDir();
    // A long back-off keeps steward up after the app's exit, between two attempts.
    const s = startSteward(['--restart', 'always', '--restart-backoff', '30s', '--', 'sh', '-c', 'echo ready; exit 3'], { env: { STEWARD_CONTROL_SOCKET: socket } });
    await s.line(/^ready/);
    const r = await until('the exit to be seen', async () => {
      const h = await client(socket, '--health');
      return /exited/.test(h.out) ? h : undefined;
    });
    assert.equal(r.code, 1);
    assert.equal(r.out, 'unhealthy: the app exited with status 3');
    const status = JSON.parse((await client(socket, '--status', '--json')).out) as { app: { pid: number | null; lastExit: { code: number } } };
    assert.equal(status.app.pid, null);
    assert.equal(status.app.lastExit.code, 3);
    await s.signal('SIGTERM');
    await s.exited;
  });
});
