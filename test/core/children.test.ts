// The one rule for every child steward starts (docs/children.md), seen as a user of the container
// sees it: what hooks, jobs, backups and check_cmd find in their environment, which user they run
// as, and their output in steward's log.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { APP, NODE, logRecords, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

/** A directory any user may write to, for children that run as nobody. */
function sharedDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-children-'));
  chmodSync(dir, 0o777);
  return dir;
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** A resource whose check_cmd runs `command` before it checks the stage file. */
function checkedResource(command: string) {
  return makeConfdir(
    { 'app.toml': `[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\ncheck_cmd = "${command}; test -s {{.src}}"\n` },
    { 'app.tmpl': 'content\n' },
  );
}

const SECRETS = { CONFD_PASSWORD: 'confd-secret', STEWARD_TOKEN: 'steward-token', CONSUL_HTTP_TOKEN: 'consul-token', KEEP_ME: 'yes' };

describe('every child follows one rule', () => {
  afterEach(stopAllStewards);

  it("hooks, jobs and check_cmd get steward's environment without its secret settings, CONSUL_HTTP_TOKEN kept", async () => {
    const dir = sharedDir();
    const c = checkedResource(`env > ${dir}/check.env`);
    const s = startSteward([NODE, APP], {
      env: {
        ...SECRETS,
        CONFD_CONFDIR: c.dir,
        STEWARD_BACKEND: 'env',
        STEWARD_FS_LOCKS: join(dir, 'work.lock'),
        STEWARD_ON_LOCK_ACQUIRED: `sh -c 'env > ${dir}/hook.env'`,
        STEWARD_JOB_DUMP_SCHEDULE: '* * * * * *',
        STEWARD_JOB_DUMP_COMMAND: `sh -c 'env > ${dir}/job.env'`,
      },
    });
    await s.line(/^ready/);
    const files = ['check.env', 'hook.env', 'job.env'].map((f) => join(dir, f));
    await until('the three children to dump their environments', () => files.every((f) => read(f).includes('KEEP_ME=yes')));
    for (const file of files) {
      const env = read(file);
      assert.match(env, /^CONSUL_HTTP_TOKEN=consul-token$/m, file);
      assert.doesNotMatch(env, /^(CONFD_PASSWORD|STEWARD_PASSWORD|STEWARD_TOKEN)(_FILE)?=/m, `${file}:\n${env}`);
      assert.doesNotMatch(env, /confd-secret|steward-token/, file);
    }
  });

  it("runs hooks, jobs and backups as the app's user with its HOME, a job's USER over it, check_cmd as steward", async () => {
    const dir = sharedDir();
    const dest = join(dir, 'backups', 'db');
    const c = checkedResource(`id -u > ${dir}/check.id`);
    const s = startSteward([NODE, APP], {
      env: {
        CONFD_CONFDIR: c.dir,
        STEWARD_BACKEND: 'env',
        STEWARD_USER: 'nobody',
        STEWARD_FS_LOCKS: join(dir, 'work.lock'),
        STEWARD_ON_LOCK_ACQUIRED: `sh -c 'echo $(id -u) $HOME > ${dir}/hook.id'`,
        STEWARD_JOB_ASAPP_SCHEDULE: '* * * * * *',
        STEWARD_JOB_ASAPP_COMMAND: `sh -c 'echo $(id -u) $(id -g) $HOME > ${dir}/asapp.id'`,
        STEWARD_JOB_ASDAEMON_SCHEDULE: '* * * * * *',
        STEWARD_JOB_ASDAEMON_COMMAND: `sh -c 'echo $(id -u) $HOME > ${dir}/asdaemon.id'`,
        STEWARD_JOB_ASDAEMON_USER: 'daemon',
        STEWARD_BACKUP_DB_SCHEDULE: '* * * * * *',
        STEWARD_BACKUP_DB_COMMAND: `sh -c 'id -u > "$STEWARD_BACKUP_FILE"'`,
        STEWARD_BACKUP_DB_DEST: dest,
        STEWARD_BACKUP_DB_KEEP_LAST: '2',
      },
    });
    // A ceiling for a loaded machine: the resource renders and its check runs before the app starts.
    await s.line(/^ready .*uid=65534/, 30_000);
    await until('every child to say who it is', () =>
      ['check.id', 'hook.id', 'asapp.id', 'asdaemon.id'].every((f) => read(join(dir, f)) !== '') && existsSync(dest) && readdirSync(dest).some((n) => !n.includes('.tmp.')),
    );
    assert.equal(read(join(dir, 'check.id')), '0\n', 'check_cmd runs as steward');
    assert.equal(read(join(dir, 'hook.id')), '65534 /nonexistent\n');
    assert.equal(read(join(dir, 'asapp.id')), '65534 65534 /nonexistent\n');
    assert.equal(read(join(dir, 'asdaemon.id')), '1 /usr/sbin\n');
    for (const folder of [join(dir, 'backups'), dest]) {
      const info = statSync(folder);
      assert.deepEqual([info.uid, info.gid], [65534, 65534], `${folder} is owned by the backup's user`);
    }
    const artifact = readdirSync(dest).find((n) => !n.includes('.tmp.')) ?? '';
    assert.equal(read(join(dest, artifact)), '65534\n');
  });

  it('runs hooks as STEWARD_HOOK_USER when it is set', async () => {
    const dir = sharedDir();
    const s = startSteward([NODE, APP], {
      env: {
        STEWARD_USER: 'nobody',
        STEWARD_HOOK_USER: 'daemon',
        STEWARD_FS_LOCKS: join(dir, 'work.lock'),
        STEWARD_ON_LOCK_ACQUIRED: `sh -c 'echo $(id -u) $HOME > ${dir}/hook.id'`,
      },
    });
    // A ceiling for a loaded machine, not a promise about start-up time.
    await s.line(/^ready .*uid=65534/, 30_000);
    await until('the hook to say who it is', () => read(join(dir, 'hook.id')) !== '');
    assert.equal(read(join(dir, 'hook.id')), '1 /usr/sbin\n');
  });

  it("logs a hook's output line by line under its name: stdout at info, stderr at warn", async () => {
    const dir = sharedDir();
    const s = startSteward([NODE, APP], {
      env: {
        STEWARD_FS_LOCKS: join(dir, 'work.lock'),
        STEWARD_ON_LOCK_ACQUIRED: `sh -c 'echo hello from the hook; echo second line; echo something odd >&2'`,
        STEWARD_JOB_SAY_SCHEDULE: '* * * * * *',
        STEWARD_JOB_SAY_COMMAND: `sh -c 'echo job says hi'`,
      },
    });
    await s.line(/^ready/);
    const byMessage = (msg: string) => logRecords(s.stderr()).find((r) => r['msg'] === msg);
    await until('the hook and the job output in the log', () => byMessage('something odd') !== undefined && byMessage('job says hi') !== undefined);
    assert.deepEqual(
      ['hello from the hook', 'second line', 'something odd'].map((msg) => {
        const r = byMessage(msg) ?? {};
        return { level: r['level'], child: r['child'], name: r['name'], stream: r['stream'] };
      }),
      [
        { level: 30, child: 'hook', name: 'on-lock-acquired', stream: 'stdout' },
        { level: 30, child: 'hook', name: 'on-lock-acquired', stream: 'stdout' },
        { level: 40, child: 'hook', name: 'on-lock-acquired', stream: 'stderr' },
      ],
    );
    const job = byMessage('job says hi') ?? {};
    assert.deepEqual([job['level'], job['child'], job['name'], job['stream']], [30, 'job', 'say', 'stdout']);
    // The app's own output is not captured: it reaches steward's stdout untouched.
    assert.equal(logRecords(s.stderr()).some((r) => String(r['msg']).startsWith('ready')), false);
  });
});
