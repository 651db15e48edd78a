// The commands that change something, through the socket: --reload renders every resource now and
// reloads as each says; --run-job runs a job now; --rollout-release has nothing to release.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { client, fileConfig, socketDir } from '../support/operator.ts';
import { APP, NODE, startSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

describe('control commands', () => {
  it('--reload renders every resource now: a file changed by hand is put back and the app reloads', async () => {
    const { socket } = socketDir();
    const c = fileConfig('app:\n  host: db1\n');
    const s = startSteward([NODE, APP], { env: { ...c.env, STEWARD_CONTROL_SOCKET: socket } });
    await s.line(/^ready/);
    const same = await client(socket, '--reload');
    assert.equal(same.code, 0, same.out);
    assert.equal(same.out, `app.toml: unchanged (${c.dest})`);
    writeFileSync(c.dest, 'host=edited\n');
    const put = await client(socket, '--reload');
    assert.equal(put.code, 0, put.out);
    assert.equal(put.out, `app.toml: written (${c.dest})`);
    assert.equal(readFileSync(c.dest, 'utf8'), 'host=db1\n');
    await s.line(/^got SIGHUP$/);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('--run-job runs a job now and names one that does not exist', async () => {
    const { socket } = socketDir();
    const s = startSteward([NODE, APP], {
      env: {
        STEWARD_CONTROL_SOCKET: socket,
        STEWARD_JOB_NIGHTLY_SCHEDULE: '0 0 1 1 *',
        STEWARD_JOB_NIGHTLY_COMMAND: 'true',
      },
    });
    await s.line(/^ready/);
    const ok = await client(socket, '--run-job', 'nightly');
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^nightly ok in \d+\.\ds$/);
    const missing = await client(socket, '--run-job', 'weekly');
    assert.equal(missing.code, 1);
    assert.equal(missing.out, 'no job or backup is named "weekly"');
    const release = await client(socket, '--rollout-release');
    assert.deepEqual(release, { code: 0, out: 'no rollout lock is held' });
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('--reload without template resources says so', async () => {
    const { socket } = socketDir();
    const s = startSteward([NODE, APP], { env: { STEWARD_CONTROL_SOCKET: socket } });
    await s.line(/^ready/);
    assert.deepEqual(await client(socket, '--reload'), { code: 1, out: 'no template resources to render' });
    await s.signal('SIGTERM');
    await s.exited;
  });
});
