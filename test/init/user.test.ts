// STEWARD_USER runs the app as another user, gosu-style: that user's uid, primary group,
// supplementary groups and HOME, with no way back to root, while steward stays root.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, before, describe, it } from 'node:test';
import { APP, NODE, appPid, runSteward, startSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

const USER = 'steward-test';

function ensureTestUser(): { uid: number; gid: number; groups: number[] } {
  const exists = (() => {
    try {
      execFileSync('id', [USER], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!exists) execFileSync('useradd', ['-M', '-d', '/home/steward-test', '-G', 'users,audio', USER]);
  const id = (flag: string): string => execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim();
  return { uid: Number(id('-u')), gid: Number(id('-g')), groups: id('-G').split(' ').map(Number).sort((a, b) => a - b) };
}

function field(line: string, name: string): string {
  return new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(line)?.[1] ?? '';
}

describe('STEWARD_USER', () => {
  let expected: { uid: number; gid: number; groups: number[] };
  before(() => {
    expected = ensureTestUser();
  });

  it('runs the app as a named user with its groups and HOME, and no capabilities', async () => {
    const s = startSteward([NODE, APP], { env: { STEWARD_USER: USER } });
    const ready = await s.line(/^ready/);
    assert.equal(Number(field(ready, 'uid')), expected.uid);
    assert.equal(Number(field(ready, 'gid')), expected.gid);
    assert.deepEqual(field(ready, 'groups').split(',').map(Number).sort((a, b) => a - b), expected.groups);
    assert.equal(field(ready, 'home'), '/home/steward-test');
    const status = readFileSync(`/proc/${await appPid(s)}/status`, 'utf8');
    // Real, effective, saved and filesystem ids are all the user's: setuid(0) cannot succeed.
    assert.match(status, new RegExp(`^Uid:\\t${expected.uid}\\t${expected.uid}\\t${expected.uid}\\t${expected.uid}$`, 'm'));
    assert.match(status, new RegExp(`^Gid:\\t${expected.gid}\\t${expected.gid}\\t${expected.gid}\\t${expected.gid}$`, 'm'));
    assert.match(status, /^CapEff:\t0000000000000000$/m);
    assert.match(status, /^CapPrm:\t0000000000000000$/m);
    // steward itself is still root.
    assert.match(readFileSync(`/proc/${await s.stewardPid()}/status`, 'utf8'), /^Uid:\t0\t0\t0\t0$/m);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('accepts uid:gid, which means exactly that group', async () => {
    const s = startSteward([NODE, APP], { env: { STEWARD_USER: '4321:4322' } });
    const ready = await s.line(/^ready/);
    assert.equal(field(ready, 'uid'), '4321');
    assert.equal(field(ready, 'gid'), '4322');
    assert.equal(field(ready, 'groups'), '4322');
    assert.equal(field(ready, 'home'), '/');
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('rejects an unknown user name with 78, naming the variable, and starts nothing', async () => {
    const r = await runSteward(['sh', '-c', 'echo started'], { env: { STEWARD_USER: 'no-such-user-xyz' } });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /^steward: STEWARD_USER: no user named "no-such-user-xyz"/);
    assert.deepEqual(r.stdout, []);
  });

  it('a --user flag wins over the variable', async () => {
    const r = await runSteward(['--user', '4321', 'sh', '-c', 'id -u'], { env: { STEWARD_USER: 'no-such-user-xyz' } });
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout, ['4321']);
  });
});
