// Reading jobs and backups from variables and from the TOML file: what a valid configuration
// becomes, and that every mistake is a ConfigError in one line naming the variable, or the file
// and key, and what is accepted.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBus } from '../../src/core/bus.ts';
import { systemClock } from '../../src/core/clock.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';
import { loadJobsConfig, type BackupSpec, type JobsConfig } from '../../src/jobs/config.ts';
import { ALWAYS, type Guards } from '../../src/jobs/guards.ts';
import { hasJobs } from '../../src/jobs/has-jobs.ts';
import { createJobsPart } from '../../src/jobs/jobs-part.ts';
import { childUsers } from '../support/child-users.ts';
import { recordingLogger } from '../support/logs.ts';
import { NO_GUARDS } from './fixtures/jobs-harness.ts';

function load(env: Record<string, string>, configFile?: string, timeZone = 'UTC'): JobsConfig {
  return loadJobsConfig({ env, configFile, timeZone });
}

function tomlFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'steward-jobs-toml-')), 'steward.toml');
  writeFileSync(path, text);
  return path;
}

/** Asserts a ConfigError with exactly this message, in one line. */
function rejects(run: () => unknown, message: string | RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.ok(!error.message.includes('\n'), `more than one line: ${error.message}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const JOB = { STEWARD_JOB_DB_VACUUM_SCHEDULE: '0 3 * * *', STEWARD_JOB_DB_VACUUM_COMMAND: 'vacuumdb --all' };
const BACKUP = { STEWARD_BACKUP_DB_SCHEDULE: '0 * * * *', STEWARD_BACKUP_DB_COMMAND: 'pg_dump', STEWARD_BACKUP_DB_DEST: '/backups/db' };

describe('jobs configuration from variables', () => {
  it('reads a job: name in lower case, command split into words as a shell would, without expanding anything', () => {
    const config = load({
      STEWARD_JOB_DB_VACUUM_SCHEDULE: '  */10   * * * * * ',
      STEWARD_JOB_DB_VACUUM_COMMAND: `sh -c 'vacuumdb --all --analyze "$DB"' "two words" $HOME`,
      STEWARD_JOB_DB_VACUUM_TIMEOUT: '1m30s',
      STEWARD_JOB_DB_VACUUM_WHEN: 'lock:/shared/locks/db',
    });
    assert.deepEqual(config.tasks, [
      {
        kind: 'job',
        name: 'db_vacuum',
        schedule: '*/10 * * * * *',
        argv: ['sh', '-c', 'vacuumdb --all --analyze "$DB"', 'two words', '$HOME'],
        timeoutMs: 90_000,
        when: { kind: 'lock', path: '/shared/locks/db' },
        origin: 'STEWARD_JOB_DB_VACUUM_*',
        whenSource: 'STEWARD_JOB_DB_VACUUM_WHEN',
        user: undefined,
        userSource: 'STEWARD_JOB_DB_VACUUM_USER',
      },
    ]);
    assert.equal(config.timeZone, 'UTC');
  });

  it('reads a backup with its retention policy, extension and an absolute DEST', () => {
    const config = load({
      ...BACKUP,
      STEWARD_BACKUP_DB_EXTENSION: '.sql.gz',
      STEWARD_BACKUP_DB_KEEP_LAST: '3',
      STEWARD_BACKUP_DB_KEEP_HOURLY: '24',
      STEWARD_BACKUP_DB_KEEP_DAILY: '7',
      STEWARD_BACKUP_DB_KEEP_WEEKLY: '4',
      STEWARD_BACKUP_DB_KEEP_MONTHLY: '12',
      STEWARD_BACKUP_DB_KEEP_YEARLY: '0',
      STEWARD_BACKUP_DB_WHEN: 'Leader',
      STEWARD_BACKUP_DB_TIMEOUT: '0',
    });
    const backup = config.tasks[0] as BackupSpec;
    assert.equal(backup.kind, 'backup');
    assert.equal(backup.dest, '/backups/db');
    assert.equal(backup.extension, 'sql.gz');
    assert.deepEqual(backup.policy, { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 0 });
    assert.deepEqual(backup.when, { kind: 'leader' });
    assert.equal(backup.timeoutMs, undefined);
    const relative = load({ ...BACKUP, STEWARD_BACKUP_DB_DEST: 'relative/dir' }).tasks[0] as BackupSpec;
    assert.equal(relative.dest, join(process.cwd(), 'relative/dir'));
  });

  it('lists jobs before backups, each by name; an empty SCHEDULE disables, other empty values are unset', () => {
    const config = load({
      ...BACKUP,
      ...JOB,
      STEWARD_JOB_A_SCHEDULE: '* * * * *',
      STEWARD_JOB_A_COMMAND: 'true',
      STEWARD_JOB_A_TIMEOUT: '',
      STEWARD_JOB_OFF_SCHEDULE: '',
      STEWARD_JOB_OFF_COMMAND: 'true',
      STEWARD_JOB_BLANK_COMMAND: '',
    });
    assert.deepEqual(config.tasks.map((t) => `${t.kind} ${t.name}`), ['job a', 'job db_vacuum', 'backup db']);
    assert.deepEqual(config.disabled, ['off']);
    assert.equal(config.tasks[0]?.timeoutMs, undefined);
  });

  it('ignores the variables steward sets for the commands it runs', () => {
    const env = { STEWARD_JOB_NAME: 'x', STEWARD_JOB_RUN_ID: 'y', STEWARD_BACKUP_FILE: '/tmp/z' };
    assert.deepEqual(load(env).tasks, []);
    assert.equal(hasJobs(env), false);
  });

  it('names the variable in every error, with what it accepts', () => {
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_SCHEDULE: '61 * * * *' }),
      'STEWARD_JOB_DB_VACUUM_SCHEDULE: invalid cron expression "61 * * * *" (bad minute field "61"; expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, such as "0 3 * * *" or "*/10 * * * * *")');
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_SCHEDULE: 'hourly' }), /^STEWARD_JOB_DB_VACUUM_SCHEDULE: invalid cron expression "hourly" \(expected 5 or 6 fields but got 1; /);
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_WHEN: 'sometimes' }),
      'STEWARD_JOB_DB_VACUUM_WHEN: invalid value "sometimes" (expected always, leader, healthy or lock:<path>)');
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_WHEN: 'lock:' }), /^STEWARD_JOB_DB_VACUUM_WHEN: invalid value "lock:" \(expected lock:<path>/);
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_TIMEOUT: 'soon' }), /^STEWARD_JOB_DB_VACUUM_TIMEOUT: invalid duration "soon"/);
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_COMMAND: `sh -c 'unterminated` }),
      `STEWARD_JOB_DB_VACUUM_COMMAND: unterminated single quote at position 7 in "sh -c 'unterminated"`);
    rejects(() => load({ STEWARD_JOB_DB_VACUUM_SCHEDULE: '0 3 * * *' }),
      `STEWARD_JOB_DB_VACUUM_COMMAND is missing (the command to run, e.g. "sh -c 'vacuumdb --all'")`);
    rejects(() => load({ STEWARD_JOB_DB_VACUUM_COMMAND: 'true' }), /^STEWARD_JOB_DB_VACUUM_SCHEDULE is missing \(a cron expression/);
    rejects(() => load({ ...BACKUP, STEWARD_BACKUP_DB_DEST: '' }), 'STEWARD_BACKUP_DB_DEST is missing (the folder the artifacts are written to)');
    rejects(() => load({ ...BACKUP, STEWARD_BACKUP_DB_KEEP_DAILY: '-1' }),
      'STEWARD_BACKUP_DB_KEEP_DAILY: invalid value "-1" (expected a whole number of 0 or more)');
    rejects(() => load({ ...BACKUP, STEWARD_BACKUP_DB_KEEP_DAILY: 'seven' }),
      'STEWARD_BACKUP_DB_KEEP_DAILY: invalid value "seven" (expected a whole number of 0 or more)');
    rejects(() => load({ ...BACKUP, STEWARD_BACKUP_DB_EXTENSION: 'sql.tmp' }), /^STEWARD_BACKUP_DB_EXTENSION: "sql.tmp" is not a valid artifact extension/);
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_SHEDULE: '* * * * *' }),
      'STEWARD_JOB_DB_VACUUM_SHEDULE: unknown setting (expected STEWARD_JOB_<NAME>_ followed by one of: SCHEDULE, COMMAND, TIMEOUT, WHEN, USER)');
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_KEEP_LAST: '3' }), /^STEWARD_JOB_DB_VACUUM_KEEP_LAST: unknown setting/);
    rejects(() => load({ STEWARD_JOB__X_SCHEDULE: '* * * * *' }), /^STEWARD_JOB__X_\*: "_x" is not a valid name/);
    rejects(() => load({ ...JOB }, undefined, 'Mars/Olympus'), /^STEWARD_TZ: unknown time zone "Mars\/Olympus"/);
    rejects(() => load({ ...BACKUP, STEWARD_JOB_DB_SCHEDULE: '* * * * *', STEWARD_JOB_DB_COMMAND: 'true' }),
      '"db" is defined twice, by STEWARD_BACKUP_DB_* and by STEWARD_JOB_DB_* (names are unique across jobs and backups)');
  });
});

describe('jobs configuration from the TOML file', () => {
  it('reads [job.<name>] and [backup.<name>] tables with the same fields in lower case', () => {
    const path = tomlFile(`
[job.vacuum]
schedule = "0 3 * * *"
command = ["vacuumdb", "--all"]
timeout = 600
when = "leader"

[backup.db]
schedule = "0 * * * *"
command = "sh -c 'pg_dump app | gzip > \\"$STEWARD_BACKUP_FILE\\"'"
dest = "/backups/db"
extension = "sql.gz"
keep_hourly = 24
keep_daily = 7
`);
    const config = load({ ...JOB }, path);
    assert.deepEqual(config.tasks.map((t) => `${t.kind} ${t.name} ${t.origin}`), [
      'job db_vacuum STEWARD_JOB_DB_VACUUM_*',
      `job vacuum ${path} [job.vacuum]`,
      `backup db ${path} [backup.db]`,
    ]);
    const vacuum = config.tasks[1];
    assert.deepEqual(vacuum?.argv, ['vacuumdb', '--all']);
    assert.equal(vacuum?.timeoutMs, 600_000);
    assert.equal(vacuum?.whenSource, `${path}: job.vacuum.when`);
    const db = config.tasks[2] as BackupSpec;
    assert.deepEqual(db.argv, ['sh', '-c', 'pg_dump app | gzip > "$STEWARD_BACKUP_FILE"']);
    assert.deepEqual(db.policy, { hourly: 24, daily: 7 });
  });

  it('names the file and key in every error', () => {
    const check = (text: string, message: string | RegExp): void => {
      const path = tomlFile(text);
      rejects(() => load({}, path), typeof message === 'string' ? message.replaceAll('$FILE', path) : message);
    };
    check('[backup.db]\nschedule = "0 * * * *"\ncommand = "true"\ndest = "/b"\nkeep_dayly = 7\n',
      '$FILE: backup.db.keep_dayly: unknown key (expected one of: schedule, command, timeout, when, user, dest, extension, keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly)');
    check('[backup.db]\nschedule = "0 * * * *"\ncommand = "true"\ndest = "/b"\nkeep_daily = -1\n',
      '$FILE: backup.db.keep_daily: invalid value -1 (expected a whole number of 0 or more)');
    check('[backup.db]\nschedule = "0 * * * *"\ncommand = "true"\n', '$FILE: backup.db.dest is missing (the folder the artifacts are written to)');
    check('[job.x]\nschedule = "0 * * * *"\n', `$FILE: job.x.command is missing (the command to run, e.g. "sh -c 'vacuumdb --all'")`);
    check('[job.x]\nschedule = "0 25 * * *"\ncommand = "true"\n', /^.*steward\.toml: job\.x\.schedule: invalid cron expression "0 25 \* \* \*" \(bad hour field "25"; /);
    check('[job.x]\nschedule = 5\ncommand = "true"\n', '$FILE: job.x: schedule must be a cron expression, e.g. "0 3 * * *" or "*/10 * * * * *" with seconds, not 5');
    check('[job.x]\nschedule = "0 * * * *"\ncommand = ["sleep", 5]\n', '$FILE: job.x: command must be a command line, or in the file a list of words, not ["sleep",5]');
    check('[job.x]\nschedule = "0 * * * *"\ncommand = "true"\nwhen = "never"\n', '$FILE: job.x.when: invalid value "never" (expected always, leader, healthy or lock:<path>)');
    check('[jobs.x]\nschedule = "0 * * * *"\n', '$FILE: unknown key "jobs" (expected [job.<name>] and [backup.<name>] tables)');
    check('[job]\nx = 1\n', '$FILE: job.x: expected a table [job.x], found 1');
    check('[job.x]\nschedule = "0 * * * *\n', /^\/.*\/steward\.toml:2:\d+: Invalid TOML document: /);
    rejects(() => load({}, '/nonexistent/steward.toml'), 'STEWARD_CONFIG: cannot read /nonexistent/steward.toml (ENOENT)');
    const twice = tomlFile('[job.db_vacuum]\nschedule = "0 * * * *"\ncommand = "true"\n');
    rejects(() => load({ ...JOB }, twice), `"db_vacuum" is defined twice, by STEWARD_JOB_DB_VACUUM_* and by ${twice} [job.db_vacuum] (names are unique across jobs and backups)`);
  });

  it('leaves tables that other parts read from the same file to them', () => {
    const path = tomlFile('[locks]\npaths = ["/x"]\n\n[job.x]\nschedule = "0 * * * *"\ncommand = "true"\n');
    assert.equal(loadJobsConfig({ env: {}, configFile: path, timeZone: 'UTC', otherTables: ['locks'] }).tasks.length, 1);
  });
});

describe("docker-cluster-controller's backup variables", () => {
  const legacy = {
    BACKUP_HOURS_TO_KEEP: '24',
    BACKUP_DAYS_TO_KEEP: '14',
    BACKUP_WEEKS_TO_KEEP: '4',
    BACKUP_MONTHS_TO_KEEP: '3',
    BACKUP_DESTINATION_FOLDER: '/var/backups/app',
  };
  const own = { STEWARD_BACKUP_BACKUP_SCHEDULE: '0 * * * *', STEWARD_BACKUP_BACKUP_COMMAND: 'backup_command -x' };

  it('fill in the backup named backup', () => {
    const backup = load({ ...own, ...legacy }).tasks[0] as BackupSpec;
    assert.equal(backup.name, 'backup');
    assert.equal(backup.dest, '/var/backups/app');
    assert.deepEqual(backup.policy, { hourly: 24, daily: 14, weekly: 4, monthly: 3 });
  });

  it("give way to the backup's own variables", () => {
    const backup = load({ ...own, ...legacy, STEWARD_BACKUP_BACKUP_KEEP_DAILY: '7', STEWARD_BACKUP_BACKUP_DEST: '/elsewhere' }).tasks[0] as BackupSpec;
    assert.equal(backup.dest, '/elsewhere');
    assert.deepEqual(backup.policy, { hourly: 24, daily: 7, weekly: 4, monthly: 3 });
  });

  it('are named in errors', () => {
    rejects(() => load({ ...own, ...legacy, BACKUP_DAYS_TO_KEEP: '-2' }), 'BACKUP_DAYS_TO_KEEP: invalid value "-2" (expected a whole number of 0 or more)');
  });

  it('are reported when no backup named backup takes them', () => {
    const config = load({ ...JOB, ...legacy });
    assert.deepEqual(config.notices, [
      'BACKUP_DESTINATION_FOLDER, BACKUP_HOURS_TO_KEEP, BACKUP_DAYS_TO_KEEP, BACKUP_WEEKS_TO_KEEP, BACKUP_MONTHS_TO_KEEP are set, but no backup named "backup" is defined (set STEWARD_BACKUP_BACKUP_SCHEDULE and STEWARD_BACKUP_BACKUP_COMMAND to take them over from docker-cluster-controller)',
    ]);
  });
});

describe('guards and the jobs part', () => {
  const part = (env: Record<string, string>, guards: Guards) =>
    createJobsPart({ env, users: childUsers(), configFile: undefined, timeZone: 'UTC', guards, bus: createBus(() => {}), log: recordingLogger(), clock: systemClock(), stopTimeoutMs: 1000 });

  it('refuses a leader job when no election is configured, naming where `when` was set', () => {
    rejects(() => part({ ...JOB, STEWARD_JOB_DB_VACUUM_WHEN: 'leader' }, NO_GUARDS),
      'STEWARD_JOB_DB_VACUUM_WHEN: "leader" needs a leader election, and none is configured (or use always or lock:<path>)');
    assert.doesNotThrow(() => part({ ...JOB, STEWARD_JOB_DB_VACUUM_WHEN: 'leader' }, { leader: ALWAYS, lock: () => undefined }));
  });

  it("reads a job's USER from its variable or its file key, and refuses a user that does not exist, naming where it was set", () => {
    assert.equal(load({ ...JOB, STEWARD_JOB_DB_VACUUM_USER: 'daemon' }).tasks[0]?.user, 'daemon');
    const file = tomlFile('[backup.db]\nschedule = "0 * * * *"\ncommand = "pg_dump"\ndest = "/backups/db"\nuser = "nobody"\n');
    assert.deepEqual(load({}, file).tasks.map((t) => [t.user, t.userSource]), [['nobody', `${file}: backup.db.user`]]);
    assert.doesNotThrow(() => part({ ...JOB, STEWARD_JOB_DB_VACUUM_USER: 'daemon' }, NO_GUARDS));
    rejects(() => part({ ...JOB, STEWARD_JOB_DB_VACUUM_USER: 'no-such-user' }, NO_GUARDS),
      'STEWARD_JOB_DB_VACUUM_USER: no user named "no-such-user" in the user database (use a numeric uid to run as a user without an entry)');
    rejects(() => load({ ...JOB, STEWARD_JOB_DB_VACUUM_USER: ' ' }), 'STEWARD_JOB_DB_VACUUM_USER: invalid value " " (expected a user: name, uid, name:group or uid:gid)');
  });

  it('refuses a lock job whose lock steward does not hold', () => {
    rejects(() => part({ ...JOB, STEWARD_JOB_DB_VACUUM_WHEN: 'lock:/shared/db' }, { leader: undefined, lock: (p) => (p === '/shared/other' ? ALWAYS : undefined) }),
      'STEWARD_JOB_DB_VACUUM_WHEN: "lock:/shared/db" is not a filesystem lock steward holds (expected one of the paths in STEWARD_FS_LOCKS)');
  });

  it('is needed only when a job, a backup or a configuration file is set', () => {
    assert.equal(hasJobs({ PATH: '/bin', STEWARD_STOP_TIMEOUT: '5s', BACKUP_DAYS_TO_KEEP: '3' }), false);
    assert.equal(hasJobs({ STEWARD_JOB_X_SCHEDULE: '* * * * *' }), true);
    assert.equal(hasJobs({ STEWARD_BACKUP_X_DEST: '/b' }), true);
    assert.equal(hasJobs({ STEWARD_CONFIG: '/etc/steward.toml' }), true);
    assert.equal(hasJobs({ STEWARD_CONFIG: '' }), false);
    assert.equal(hasJobs({}, '/etc/steward.toml'), true);
  });
});
