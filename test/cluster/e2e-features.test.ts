// What the role does to the app and its files, on the shared-directory backend: role file, role
// signal, templates that follow the election, membership hooks, duplicate ids, wait-for
// conditions; and filesystem locks guarding jobs.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { APP, NODE, runSteward, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('election features (shared directory)', () => {
  const lockDir = (): string => mkdtempSync(join(tmpdir(), 'steward-lockdir-'));
  const base = (dir: string, election: string) => ({ STEWARD_ELECTION: election, STEWARD_LOCK_DIR: dir, STEWARD_ELECTION_TTL: '2s' });

  it('writes the role file, signals the app on role changes, and renders role() and members() into templates', async () => {
    const dir = lockDir();
    const c = makeConfdir(
      { 'role.toml': '[template]\nsrc = "role.tmpl"\ndest = "$OUT/role.conf"\nreload = "none"\n' },
      { 'role.tmpl': 'role={{ role }} leader={{ leader }} primary={{ if isLeader }}yes{{ else }}no{{ end }} members={{ range members }}{{ .id }},{{ end }}\n' },
    );
    const env = (id: string) => ({
      ...base(dir, 'features'),
      STEWARD_INSTANCE_ID: id,
      CONFD_CONFDIR: c.dir,
      STEWARD_ROLE_FILE: join(c.out, `${id}.role`),
      STEWARD_ROLE_SIGNAL: 'USR2',
      APP_WATCH_FILE: join(c.out, 'role.conf'),
    });
    // Two replicas share one confdir here only for brevity: each renders its own view in turn.
    const a = startSteward([NODE, APP], { env: env('a') });
    await a.line(/^file=role=leader leader=a primary=yes members=a,\|$/);
    assert.equal(read(join(c.out, 'a.role')), 'leader\n');
    const b = startSteward([NODE, APP], { env: { ...env('b'), CONFD_CONFDIR: makeConfdir({ 'role.toml': `[template]\nsrc = "role.tmpl"\ndest = "${c.out}/role-b.conf"\nreload = "none"\n` }, { 'role.tmpl': 'role={{ role }} members={{ range members }}{{ .id }},{{ end }}\n' }).dir } });
    await b.line(/^ready/);
    await until("b's render with both members", () => read(join(c.out, 'role-b.conf')) === 'role=follower members=a,b,\n');
    await until("a's render to see b join", () => read(join(c.out, 'role.conf')).includes('members=a,b,'));
    assert.equal(read(join(c.out, 'b.role')), 'follower\n');
    await a.signal('SIGTERM');
    await b.line(/^got SIGUSR2$/);
    await until("b's role file to say leader", () => read(join(c.out, 'b.role')) === 'leader\n');
    await until("b's render as leader", () => read(join(c.out, 'role-b.conf')) === 'role=leader members=b,\n');
  });

  it('runs the members hook when replicas join and leave', async () => {
    const dir = lockDir();
    const log = join(mkdtempSync(join(tmpdir(), 'steward-members-')), 'members.log');
    const hook = `sh -c 'echo "$STEWARD_INSTANCE_ID sees $STEWARD_MEMBERS" >> ${log}'`;
    startSteward([NODE, APP], { env: { ...base(dir, 'members'), STEWARD_INSTANCE_ID: 'a', STEWARD_ON_MEMBERS_CHANGE: hook } });
    await until('a to see itself', () => read(log).includes('a sees a'));
    const b = startSteward([NODE, APP], { env: { ...base(dir, 'members'), STEWARD_INSTANCE_ID: 'b' } });
    await until('a to see b join', () => read(log).includes('a sees a,b'));
    await b.signal('SIGTERM');
    await b.exited;
    await until('a to see b leave', () => read(log).trim().split('\n').at(-1) === 'a sees a');
  });

  it('refuses a second replica with the same instance id (78), naming STEWARD_INSTANCE_ID', async () => {
    const dir = lockDir();
    const first = startSteward([NODE, APP], { env: { ...base(dir, 'dup'), STEWARD_INSTANCE_ID: 'same' } });
    await first.line(/^ready/);
    const second = await runSteward(['sh', '-c', 'echo started'], { env: { ...base(dir, 'dup'), STEWARD_INSTANCE_ID: 'same' } });
    assert.equal(second.code, 78);
    assert.match(second.stderr, /instance id "same" is already registered by a live replica.*set STEWARD_INSTANCE_ID/);
    assert.deepEqual(second.stdout, []);
  });

  it('waits for a leader and a TCP port before starting the app', async () => {
    const dir = lockDir();
    // A port nobody listens on yet: the kernel's pick, released until the test listens on it.
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const tcp = `tcp:127.0.0.1:${port}`;
    const s = startSteward([NODE, APP], {
      env: { ...base(dir, 'waiter'), STEWARD_ELECTION: 'other', STEWARD_INSTANCE_ID: 'w', STEWARD_WAIT_FOR: `leader:target,${tcp}`, STEWARD_WAIT_FOR_TIMEOUT: '30s' },
    });
    const stderrHas = (text: string) => () => s.stderr().includes(text);
    await until('steward to wait for both conditions', stderrHas(`waiting for leader:target, ${tcp}`));
    startSteward([NODE, APP], { env: { ...base(dir, 'target'), STEWARD_INSTANCE_ID: 't' } });
    await until('the leader condition to hold', stderrHas('leader:target holds'));
    assert.equal(s.stdoutLines().length, 0, 'not started: a leader, but no port yet');
    assert.ok(!s.stderr().includes(`${tcp} holds`));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    await s.line(/^ready/);
    assert.ok(s.stderr().includes(`${tcp} holds`));
    server.close();
  });

  it('does not count a leader condition as met when the election store cannot be reached', async () => {
    const r = await runSteward(['sh', '-c', 'echo started'], {
      env: { STEWARD_WAIT_FOR: 'leader:other', STEWARD_ELECTION_BACKEND: 'etcd', CONFD_NODE: '127.0.0.1:1', STEWARD_WAIT_FOR_TIMEOUT: '1500ms' },
    });
    assert.equal(r.code, 69);
    assert.match(r.stderr, /still waiting after 1\.5s \(STEWARD_WAIT_FOR_TIMEOUT\) for: leader:other/);
    assert.deepEqual(r.stdout, []);
  });

  it('a leader-only job still running at shutdown ends before the next leader starts', async () => {
    const dir = lockDir();
    const log = join(mkdtempSync(join(tmpdir(), 'steward-handover-')), 'log');
    const env = (id: string) => ({
      ...base(dir, 'slowjob'),
      STEWARD_INSTANCE_ID: id,
      STEWARD_ON_LEADER: `sh -c 'echo $(date +%s%N) ${id} leader >> ${log}'`,
      STEWARD_ON_FOLLOWER: `sh -c 'echo $(date +%s%N) ${id} follower >> ${log}'`,
      STEWARD_JOB_SLOW_SCHEDULE: '* * * * * *',
      STEWARD_JOB_SLOW_WHEN: 'leader',
      // On SIGTERM the job takes another 1.5 s to finish, then says so.
      STEWARD_JOB_SLOW_COMMAND: `sh -c 'trap "sleep 1.5; echo $(date +%s%N) ${id} job-end >> ${log}; exit 0" TERM; echo $(date +%s%N) ${id} job-start >> ${log}; while :; do sleep 0.05; done'`,
    });
    const a = startSteward([NODE, APP], { env: env('a') });
    await until("a's job to start", () => / a job-start/.test(read(log)));
    startSteward([NODE, APP], { env: env('b') });
    await until('b to follow', () => / b follower/.test(read(log)));
    await a.signal('SIGTERM');
    await until('b to lead', () => / b leader/.test(read(log)));
    const at = (what: string): number => Number(read(log).split('\n').find((l) => l.endsWith(what))?.split(' ')[0] ?? NaN);
    assert.ok(at(' a job-end') < at(' b leader'), `a's job ended before b led:\n${read(log)}`);
  });

  it('a replica that is stopping never becomes leader', async () => {
    const dir = lockDir();
    const log = join(mkdtempSync(join(tmpdir(), 'steward-stopping-')), 'log');
    const env = (id: string) => ({ ...base(dir, 'stopping'), STEWARD_INSTANCE_ID: id, STEWARD_ON_LEADER: `sh -c 'echo ${id} leader >> ${log}'`, APP_IGNORE: 'SIGTERM', STEWARD_STOP_TIMEOUT: '3s' });
    const a = startSteward([NODE, APP], { env: env('a') });
    await until('a to lead', () => read(log).includes('a leader'));
    const b = startSteward([NODE, APP], { env: env('b') });
    await b.line(/^ready/);
    // b is stopping (its app ignores TERM, so it takes the whole budget) when a goes away.
    await b.signal('SIGTERM');
    await b.line(/^got SIGTERM$/);
    await a.signal('SIGTERM');
    await a.exited;
    await b.exited;
    // Only a ever led (a loaded machine may make a step down and lead again; b never leads).
    assert.match(read(log), /^a leader$/m);
    assert.doesNotMatch(read(log), /^b /m);
  });

  it('a SIGTERM while joining an unreachable election stops steward within the stop budget', async () => {
    const s = startSteward(['sh', '-c', 'echo started'], {
      env: { STEWARD_ELECTION: 'x', STEWARD_ELECTION_BACKEND: 'etcd', CONFD_NODE: '127.0.0.1:1', STEWARD_ELECTION_TTL: '15s', STEWARD_STOP_TIMEOUT: '2s' },
    });
    // Signalled once it is joining (it listens for signals from its first moment, before that).
    await until('steward to join the election', () => s.stderr().includes('joining election x as '));
    const sent = Date.now();
    await s.signal('SIGTERM');
    const exit = await s.exited;
    assert.equal(exit.code, 143);
    assert.ok(Date.now() - sent < 2500, `stopped after ${Date.now() - sent} ms`);
    assert.deepEqual(s.stdoutLines(), []);
  });

  it('--check and --noop neither join the election nor run hooks', async () => {
    const dir = lockDir();
    const marker = join(mkdtempSync(join(tmpdir(), 'steward-modes-')), 'hook-ran');
    const c = makeConfdir({ 'a.toml': '[template]\nsrc = "a.tmpl"\ndest = "$OUT/a"\n' }, { 'a.tmpl': 'x\n' });
    for (const mode of ['--check', '--noop']) {
      const r = await runSteward([mode], { pid1: false, env: { ...base(dir, 'modes'), CONFD_CONFDIR: c.dir, STEWARD_ON_LEADER: `touch ${marker}` } });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(existsSync(marker), false);
  });

  it('exits 69 when a condition is still missing at STEWARD_WAIT_FOR_TIMEOUT, naming it', async () => {
    const r = await runSteward(['sh', '-c', 'echo started'], { env: { STEWARD_WAIT_FOR: 'tcp:127.0.0.1:1', STEWARD_WAIT_FOR_TIMEOUT: '500ms' } });
    assert.equal(r.code, 69);
    assert.match(r.stderr, /still waiting after 500ms \(STEWARD_WAIT_FOR_TIMEOUT\) for: tcp:127\.0\.0\.1:1/);
    assert.deepEqual(r.stdout, []);
  });
});

describe('filesystem locks', () => {
  it('one replica holds the lock and runs the lock job; the other takes over when it stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-fslock-'));
    const lock = join(dir, 'work.lock');
    const log = join(dir, 'jobs.log');
    const env = (id: string) => ({
      STEWARD_INSTANCE_ID: id,
      STEWARD_FS_LOCKS: lock,
      STEWARD_FS_LOCK_TTL: '2s',
      STEWARD_JOB_WORK_SCHEDULE: '* * * * * *',
      STEWARD_JOB_WORK_COMMAND: `sh -c 'echo ${id} $STEWARD_FENCING_TOKEN >> ${log}'`,
      STEWARD_JOB_WORK_WHEN: `lock:${lock}`,
      STEWARD_ON_LOCK_ACQUIRED: `sh -c 'echo ${id} acquired >> ${log}'`,
    });
    // The fencing tokens (lock generations) each replica's job ran with: a loaded machine may make
    // a lose and take the lock again, but b's must all come after a's.
    const generations = (id: string): number[] => [...read(log).matchAll(new RegExp(`^${id} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
    const a = startSteward([NODE, APP], { env: env('a') });
    await a.line(/^ready/);
    await until("a's lock job", () => generations('a').length > 0);
    const b = startSteward([NODE, APP], { env: env('b') });
    await b.line(/^ready/);
    // What must not happen: b running the job during 1.5 s (a run a second) while a holds the lock.
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(read(log), /^b /m, 'b does not run the job while a holds the lock');
    await a.signal('SIGTERM');
    await a.exited;
    await until("b's lock job", () => generations('b').length > 0);
    assert.ok(Math.min(...generations('b')) > Math.max(...generations('a')), `b's generations ${generations('b').join()} after a's ${generations('a').join()}`);
    assert.match(read(log), /^b acquired$/m);
    assert.ok(existsSync(lock));
  });
});
