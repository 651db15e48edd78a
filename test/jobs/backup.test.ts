// Rotating backups with real commands and real folders: what lands in DEST and under which name,
// what a failed run leaves (nothing), what retention deletes (only steward's own artifacts, by
// the policy, in STEWARD_TZ), docker-cluster-controller's variables, and the prune dry run.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArtifactName } from '../../src/jobs/artifact-name.ts';
import type { Guard } from '../../src/jobs/guards.ts';
import { pruneDryRun } from '../../src/jobs/prune-dry-run.ts';
import { baseEnv, harness, nextJobEvent, settableClock } from './fixtures/jobs-harness.ts';

const NEVER_SOON = '0 0 1 1 *';
const NOW = '2026-11-25T18:45:12.345Z';

function folder(files: Record<string, string> = {}, dirs: Record<string, Record<string, string>> = {}): string {
  const dest = join(mkdtempSync(join(tmpdir(), 'steward-backup-')), 'dest');
  mkdirSync(dest);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dest, name), text);
  for (const [name, inner] of Object.entries(dirs)) {
    mkdirSync(join(dest, name));
    for (const [file, text] of Object.entries(inner)) writeFileSync(join(dest, name, file), text);
  }
  return dest;
}

function listing(dest: string): string[] {
  return readdirSync(dest).sort();
}

function backupEnv(name: string, dest: string, command: string, more: Record<string, string> = {}): Record<string, string> {
  const prefix = `STEWARD_BACKUP_${name.toUpperCase()}_`;
  return baseEnv({ [`${prefix}SCHEDULE`]: NEVER_SOON, [`${prefix}COMMAND`]: command, [`${prefix}DEST`]: dest, ...more });
}

const WRITE_DATA = `sh -c 'printf data > "$STEWARD_BACKUP_FILE"'`;

/** Files a person or another tool put beside the artifacts of backup `db`: retention never touches them. */
const FOREIGN = {
  'notes.txt': 'mine',
  'latest.sql.gz': 'docker-cluster-controller',
  'db2-20261101T000000Z.sql.gz': 'another backup',
  'db-daily-20261101T000000Z.sql.gz': 'another backup',
  'DB-20261101T000000Z.sql.gz': 'another case',
  'db-20261101T000000Z.sql.gz.tmp': 'half-written elsewhere',
  'db-2026-11-01.sql.gz': 'another time format',
};

const OWN = {
  'db-20261123T100000Z.sql.gz': 'a',
  'db-20261124T100000Z.sql.gz': 'b',
  'db-20261124T230000Z.sql.gz': 'c',
  'db-20261125T090000Z.sql.gz': 'd',
  'db-20261125T100000Z.sql.gz': 'e',
};

describe('rotating backups', { concurrency: true }, () => {
  it('names the artifact after its completion time and writes it through a temporary that is never an artifact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-backup-'));
    const dest = join(dir, 'dest', 'not-yet-there');
    const seen = join(dir, 'seen');
    const clock = settableClock(NOW);
    const h = harness({
      env: backupEnv('db', dest, `sh -c 'echo "$STEWARD_BACKUP_FILE" >> ${seen}; printf "data" > "$STEWARD_BACKUP_FILE"'`, {
        STEWARD_BACKUP_DB_EXTENSION: 'sql.gz',
      }),
      clock,
    });
    try {
      const first = await h.part.runNow('db');
      assert.equal(first?.ok, true, first?.failure);
      assert.equal(first?.backup?.artifact, 'db-20261125T184512Z.sql.gz');
      assert.equal(readFileSync(join(dest, 'db-20261125T184512Z.sql.gz'), 'utf8'), 'data');
      const temporary = readFileSync(seen, 'utf8').trim();
      assert.match(basename(temporary), /^db-20261125T184512Z\.tmp\.[0-9a-f]{8}\.sql\.gz$/);
      assert.equal(parseArtifactName('db', basename(temporary)), undefined);

      // A second artifact completed in the same second gets the next suffix; nothing is replaced.
      const second = await h.part.runNow('db');
      assert.equal(second?.backup?.artifact, 'db-20261125T184512Z-2.sql.gz');
      assert.deepEqual(listing(dest), ['db-20261125T184512Z-2.sql.gz', 'db-20261125T184512Z.sql.gz']);
      assert.ok(h.logs.some((l) => l.level === 'info' && l.msg === 'backup db: wrote db-20261125T184512Z.sql.gz'));
    } finally {
      await h.stop();
    }
  });

  it('deletes nothing and leaves nothing artifact-like when the backup fails', async () => {
    const cases: [string, string, string][] = [
      ['fails', `sh -c 'printf partial > "$STEWARD_BACKUP_FILE"; exit 1'`, 'exit status 1'],
      ['writes nothing', 'true', 'the command exited 0 but wrote nothing to $STEWARD_BACKUP_FILE'],
      ['writes an empty file', `sh -c ': > "$STEWARD_BACKUP_FILE"'`, 'the command exited 0 but left an empty file at $STEWARD_BACKUP_FILE'],
      ['times out', `sh -c 'printf partial > "$STEWARD_BACKUP_FILE"; sleep 30'`, 'timed out after 2000ms'],
    ];
    for (const [what, command, failure] of cases) {
      const dest = folder(OWN);
      const h = harness({
        env: backupEnv('db', dest, command, { STEWARD_BACKUP_DB_EXTENSION: 'sql.gz', STEWARD_BACKUP_DB_KEEP_LAST: '1', STEWARD_BACKUP_DB_TIMEOUT: '2s' }),
        clock: settableClock(NOW),
      });
      try {
        const record = await h.part.runNow('db');
        assert.equal(record?.ok, false, what);
        assert.ok(record?.failure?.startsWith(failure), `${what}: ${record?.failure}`);
        assert.equal(record?.backup?.artifact, undefined);
        assert.deepEqual(record?.backup?.deleted, []);
        assert.deepEqual(listing(dest), Object.keys(OWN).sort(), what);
        assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg.startsWith('backup db failed: ') && l.msg.endsWith('; no artifact written, nothing deleted')));
      } finally {
        await h.stop();
      }
    }
  });

  it('deletes its own old artifacts by the policy and leaves every other file alone', async () => {
    const dest = folder({ ...OWN, ...FOREIGN, 'db-20261101T000000Z.tmp.deadbeef.sql.gz': 'interrupted' }, { hourly: { 'db_2026-11-25_10.sql.gz': 'x' } });
    const h = harness({
      env: backupEnv('db', dest, WRITE_DATA, { STEWARD_BACKUP_DB_EXTENSION: 'sql.gz', STEWARD_BACKUP_DB_KEEP_LAST: '1', STEWARD_BACKUP_DB_KEEP_DAILY: '2' }),
      clock: settableClock(NOW),
    });
    try {
      const record = await h.part.runNow('db');
      assert.equal(record?.ok, true, record?.failure);
      // Newest first: the new one (newest, last, daily 25th); 25th 10:00 and 09:00 share its day;
      // 24th 23:00 is the second day; the rest fall outside two days.
      assert.deepEqual(record?.backup?.kept, ['db-20261125T184512Z.sql.gz', 'db-20261124T230000Z.sql.gz']);
      assert.deepEqual(
        [...(record?.backup?.deleted ?? [])].sort(),
        ['db-20261123T100000Z.sql.gz', 'db-20261124T100000Z.sql.gz', 'db-20261125T090000Z.sql.gz', 'db-20261125T100000Z.sql.gz'],
      );
      assert.deepEqual(
        listing(dest),
        [...Object.keys(FOREIGN), 'db-20261101T000000Z.tmp.deadbeef.sql.gz', 'hourly', 'db-20261124T230000Z.sql.gz', 'db-20261125T184512Z.sql.gz'].sort(),
      );
      assert.ok(existsSync(join(dest, 'hourly', 'db_2026-11-25_10.sql.gz')));
      assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg.endsWith('db-20261101T000000Z.tmp.deadbeef.sql.gz is an unfinished artifact (an interrupted run, or a run in progress elsewhere); it is left alone')));
    } finally {
      await h.stop();
    }
  });

  it('does not count artifacts dated after now + STEWARD_BACKUP_FUTURE_TOLERANCE, leaves them alone and names them', async () => {
    // Planted (or written by a replica whose clock is years ahead): counted, they would be the
    // "last 2" and every run would delete the previous real backup.
    const planted = { 'db-20991231T000000Z.sql.gz': 'planted', 'db-20270101T000000Z.sql.gz': 'skewed' };
    const dest = folder({ ...OWN, ...planted });
    const h = harness({
      env: backupEnv('db', dest, WRITE_DATA, { STEWARD_BACKUP_DB_EXTENSION: 'sql.gz', STEWARD_BACKUP_DB_KEEP_LAST: '2' }),
      clock: settableClock(NOW),
    });
    try {
      const record = await h.part.runNow('db');
      assert.equal(record?.ok, true, record?.failure);
      assert.deepEqual(record?.backup?.kept, ['db-20261125T184512Z.sql.gz', 'db-20261125T100000Z.sql.gz']);
      assert.deepEqual(
        listing(dest),
        ['db-20261125T100000Z.sql.gz', 'db-20261125T184512Z.sql.gz', ...Object.keys(planted)].sort(),
      );
      assert.ok(
        h.logs.some((l) => l.level === 'warn' && l.msg.endsWith('dated later than now + 5m (STEWARD_BACKUP_FUTURE_TOLERANCE): db-20270101T000000Z.sql.gz, db-20991231T000000Z.sql.gz')),
        JSON.stringify(h.logs),
      );
    } finally {
      await h.stop();
    }
  });

  it('cuts periods in STEWARD_TZ', async () => {
    const dest = folder(OWN);
    const h = harness({
      env: backupEnv('db', dest, WRITE_DATA, { STEWARD_BACKUP_DB_EXTENSION: 'sql.gz', STEWARD_BACKUP_DB_KEEP_DAILY: '2' }),
      timeZone: 'Europe/Berlin',
      clock: settableClock(NOW),
    });
    try {
      const record = await h.part.runNow('db');
      // 2026-11-24T23:00Z is 00:00 on the 25th in Berlin, the new artifact's day; the 24th's
      // artifact in Berlin is 10:00Z (11:00 local).
      assert.deepEqual(record?.backup?.kept, ['db-20261125T184512Z.sql.gz', 'db-20261124T100000Z.sql.gz']);
    } finally {
      await h.stop();
    }
  });

  it('takes a directory as the artifact, and deletes old directory artifacts whole', async () => {
    const dest = folder({}, { 'site-20261120T000000Z': { 'index.html': 'old' } });
    const h = harness({
      env: backupEnv('site', dest, `sh -c 'mkdir "$STEWARD_BACKUP_FILE" && echo new > "$STEWARD_BACKUP_FILE/index.html"'`, {
        STEWARD_BACKUP_SITE_KEEP_LAST: '1',
      }),
      clock: settableClock(NOW),
    });
    try {
      const record = await h.part.runNow('site');
      assert.equal(record?.backup?.artifact, 'site-20261125T184512Z');
      assert.ok(statSync(join(dest, 'site-20261125T184512Z')).isDirectory());
      assert.equal(readFileSync(join(dest, 'site-20261125T184512Z', 'index.html'), 'utf8'), 'new\n');
      assert.deepEqual(listing(dest), ['site-20261125T184512Z']);
    } finally {
      await h.stop();
    }
  });

  it('does not prune when its guard no longer holds after the command', async () => {
    const dest = folder(OWN);
    // Allowed when the run starts and when its command is spawned; gone by the time it prunes.
    let calls = 0;
    const flaky: Guard = { permit: () => (++calls <= 2 ? { fencingToken: '9' } : undefined), onLost: () => () => {} };
    const h = harness({
      env: backupEnv('db', dest, WRITE_DATA, { STEWARD_BACKUP_DB_EXTENSION: 'sql.gz', STEWARD_BACKUP_DB_KEEP_LAST: '1', STEWARD_BACKUP_DB_WHEN: 'leader' }),
      guards: { leader: flaky, lock: () => undefined },
      clock: settableClock(NOW),
    });
    try {
      const record = await h.part.runNow('db');
      assert.equal(record?.ok, true);
      assert.equal(record?.backup?.artifact, 'db-20261125T184512Z.sql.gz');
      assert.equal(record?.backup?.pruneNote, 'old artifacts not pruned: leadership no longer holds');
      assert.deepEqual(listing(dest), [...Object.keys(OWN), 'db-20261125T184512Z.sql.gz'].sort());
      assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg === 'backup db: old artifacts not pruned: leadership no longer holds'));
    } finally {
      await h.stop();
    }
  });

  it("honours docker-cluster-controller's BACKUP_*_TO_KEEP and BACKUP_DESTINATION_FOLDER for the backup named backup", async () => {
    const dest = folder({
      'backup-20261125T170000Z.tar': '1',
      'backup-20261125T163000Z.tar': '2',
      'backup-20261125T160000Z.tar': '3',
      'backup-20261124T120000Z.tar': '4',
      'backup-20261123T120000Z.tar': '5',
      'latest.tar': 'left by docker-cluster-controller',
    });
    const h = harness({
      env: baseEnv({
        STEWARD_BACKUP_BACKUP_SCHEDULE: NEVER_SOON,
        STEWARD_BACKUP_BACKUP_COMMAND: WRITE_DATA,
        STEWARD_BACKUP_BACKUP_EXTENSION: 'tar',
        BACKUP_DESTINATION_FOLDER: dest,
        BACKUP_HOURS_TO_KEEP: '2',
        BACKUP_DAYS_TO_KEEP: '2',
        BACKUP_WEEKS_TO_KEEP: '0',
        BACKUP_MONTHS_TO_KEEP: '0',
      }),
      clock: settableClock(NOW),
    });
    try {
      const record = await h.part.runNow('backup');
      // hourly 2: 18h (new), 17h; daily 2: the 25th (new), the 24th.
      assert.deepEqual(record?.backup?.kept, ['backup-20261125T184512Z.tar', 'backup-20261125T170000Z.tar', 'backup-20261124T120000Z.tar']);
      assert.deepEqual(listing(dest), ['backup-20261124T120000Z.tar', 'backup-20261125T170000Z.tar', 'backup-20261125T184512Z.tar', 'latest.tar']);
    } finally {
      await h.stop();
    }
  });

  it('runs on its schedule', async () => {
    const dest = folder();
    const h = harness({ env: { ...backupEnv('db', dest, WRITE_DATA), STEWARD_BACKUP_DB_SCHEDULE: '* * * * * *' } });
    try {
      const record = await nextJobEvent(h.bus, 'job.finished', () => true);
      assert.equal(record.trigger, 'schedule');
      assert.match(record.backup?.artifact ?? '', /^db-\d{8}T\d{6}Z$/);
      assert.ok(existsSync(join(dest, record.backup?.artifact ?? '')));
    } finally {
      await h.stop();
    }
  });
});

describe('--prune-dry-run', () => {
  it('says per backup what would be kept, by which rule, and what would be deleted, and changes nothing', () => {
    const dest = folder({ ...OWN, ...FOREIGN, 'db-20261101T000000Z.tmp.deadbeef.sql.gz': 'interrupted' });
    const before = listing(dest);
    const missing = join(dest, '..', 'nowhere');
    const env = baseEnv({
      ...backupEnv('db', dest, WRITE_DATA, { STEWARD_BACKUP_DB_EXTENSION: 'sql.gz', STEWARD_BACKUP_DB_KEEP_LAST: '1', STEWARD_BACKUP_DB_KEEP_DAILY: '2' }),
      ...backupEnv('logs', missing, WRITE_DATA),
      STEWARD_JOB_VACUUM_SCHEDULE: '0 3 * * *',
      STEWARD_JOB_VACUUM_COMMAND: 'true',
    });
    const report = pruneDryRun({ env, configFile: undefined, timeZone: 'UTC' }, settableClock(NOW));
    assert.equal(
      report,
      [
        'prune dry run at 2026-11-25T18:45:12Z, periods in UTC; nothing is deleted',
        '',
        `backup db: ${dest}, keep last 1, daily 2`,
        '  KEEP    db-20261125T100000Z.sql.gz  newest, last, daily 2026-11-25',
        '  DELETE  db-20261125T090000Z.sql.gz',
        '  KEEP    db-20261124T230000Z.sql.gz  daily 2026-11-24',
        '  DELETE  db-20261124T100000Z.sql.gz',
        '  DELETE  db-20261123T100000Z.sql.gz',
        '  5 artifacts: 2 kept, 3 to delete; 1 unfinished (left alone); 7 other files (left alone)',
        '',
        `backup logs: ${missing}, no keep rules (everything is kept)`,
        `  ${missing} does not exist yet: nothing to prune`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(listing(dest), before);
  });

  it('in the prune dry run, counts an artifact within the future tolerance and sets apart one beyond it', () => {
    const dest = folder({ ...OWN, 'db-20261125T184900Z.sql.gz': 'a little ahead', 'db-20261125T190000Z.sql.gz': 'too far ahead' });
    const env = backupEnv('db', dest, WRITE_DATA, { STEWARD_BACKUP_DB_EXTENSION: 'sql.gz', STEWARD_BACKUP_DB_KEEP_LAST: '2' });
    const report = pruneDryRun({ env, configFile: undefined, timeZone: 'UTC' }, settableClock(NOW), 10 * 60_000);
    const lines = report.split('\n');
    assert.ok(lines.includes('  KEEP    db-20261125T184900Z.sql.gz  newest, last'), report);
    assert.ok(lines.includes('  KEEP    db-20261125T100000Z.sql.gz  last'), report);
    assert.ok(lines.includes('  FUTURE  db-20261125T190000Z.sql.gz  dated later than now + 10m: not counted, left alone'), report);
    assert.ok(lines.includes('  7 artifacts: 2 kept, 4 to delete; 1 dated in the future (left alone)'), report);
  });
});
