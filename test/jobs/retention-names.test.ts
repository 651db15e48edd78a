import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkArtifactExtension,
  checkBackupName,
  formatArtifactName,
  nextArtifactName,
  parseArtifactName,
  temporaryArtifactName,
} from '../../src/jobs/artifact-name.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';
import { FOREIGN_FILES } from './fixtures/retention-cases.ts';

const at = (iso: string) => new Date(iso);

describe('formatArtifactName', () => {
  it('writes <name>-<UTC completion time, ISO 8601 basic>.<extension>', () => {
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12Z'), 'sql.gz'), 'db-20261125T184512Z.sql.gz');
  });

  it('drops fractions of a second (the name has whole seconds)', () => {
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12.999Z'), 'sql.gz'), 'db-20261125T184512Z.sql.gz');
  });

  it('writes no extension for a directory artifact', () => {
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12Z')), 'db-20261125T184512Z');
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12Z'), ''), 'db-20261125T184512Z');
  });

  it('accepts an extension written with its leading dot', () => {
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12Z'), '.tar.zst'), 'db-20261125T184512Z.tar.zst');
  });

  it('writes the UTC time whatever the local zone of the date', () => {
    assert.equal(formatArtifactName('db', at('2026-11-25T19:45:12+01:00'), 'sql.gz'), 'db-20261125T184512Z.sql.gz');
  });

  it('suffixes the second and later artifacts of one second with -2, -3, ...', () => {
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12Z'), 'sql.gz', 1), 'db-20261125T184512Z.sql.gz');
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12Z'), 'sql.gz', 2), 'db-20261125T184512Z-2.sql.gz');
    assert.equal(formatArtifactName('db', at('2026-11-25T18:45:12Z'), undefined, 12), 'db-20261125T184512Z-12');
  });

  it('refuses what would not parse back', () => {
    const t = at('2026-11-25T18:45:12Z');
    const refused: [() => unknown, RegExp][] = [
      [() => formatArtifactName('', t), /backup name/],
      [() => formatArtifactName('db/x', t), /"db\/x"/],
      [() => formatArtifactName('-db', t), /"-db"/],
      [() => formatArtifactName('db', t, 'sql.gz.tmp'), /"sql\.gz\.tmp"/],
      [() => formatArtifactName('db', t, 'sql..gz'), /"sql\.\.gz"/],
      [() => formatArtifactName('db', t, 'sql-gz'), /"sql-gz"/],
      [() => formatArtifactName('db', t, 'sql.gz', 0), /sequence/],
      [() => formatArtifactName('db', t, 'sql.gz', 1.5), /sequence/],
      [() => formatArtifactName('db', new Date(Number.NaN)), /time/],
      [() => formatArtifactName('db', at('+010000-01-01T00:00:00Z')), /time/],
    ];
    for (const [call, message] of refused) assert.throws(call, message);
  });
});

describe('parseArtifactName', () => {
  it('reads the time, the extension and the same-second suffix back', () => {
    assert.deepEqual(parseArtifactName('db', 'db-20261125T184512Z.sql.gz'), {
      time: at('2026-11-25T18:45:12Z'),
      sequence: 1,
      extension: 'sql.gz',
    });
    assert.deepEqual(parseArtifactName('db', 'db-20261125T184512Z-2.sql.gz'), {
      time: at('2026-11-25T18:45:12Z'),
      sequence: 2,
      extension: 'sql.gz',
    });
    assert.deepEqual(parseArtifactName('db', 'db-20261125T184512Z'), {
      time: at('2026-11-25T18:45:12Z'),
      sequence: 1,
      extension: undefined,
    });
    assert.deepEqual(parseArtifactName('db', 'db-20261125T184512Z-3'), {
      time: at('2026-11-25T18:45:12Z'),
      sequence: 3,
      extension: undefined,
    });
  });

  it('round-trips every name formatArtifactName writes', () => {
    const times = ['1970-01-01T00:00:00Z', '2000-02-29T23:59:59Z', '2026-12-31T23:59:59Z', '9999-12-31T23:59:59Z'];
    for (const name of ['db', 'db2', 'my.app_data-1', 'X']) {
      for (const iso of times) {
        for (const extension of [undefined, 'sql.gz', 'tar.zst', 'dump', '7z']) {
          for (const sequence of [1, 2, 10]) {
            const fileName = formatArtifactName(name, at(iso), extension, sequence);
            assert.deepEqual(parseArtifactName(name, fileName), { time: at(iso), sequence, extension }, fileName);
          }
        }
      }
    }
  });

  it('ignores files that are not steward artifacts of that backup name', () => {
    for (const f of FOREIGN_FILES) assert.equal(parseArtifactName('db', f), undefined, f);
  });

  it('keeps backups whose names share a prefix apart', () => {
    assert.equal(parseArtifactName('db', 'db2-20261125T184512Z.sql.gz'), undefined);
    assert.equal(parseArtifactName('db', 'db-daily-20261125T184512Z.sql.gz'), undefined);
    assert.notEqual(parseArtifactName('db-daily', 'db-daily-20261125T184512Z.sql.gz'), undefined);
    assert.equal(parseArtifactName('db-daily', 'db-20261125T184512Z.sql.gz'), undefined);
    // A backup whose name itself ends like a time stamp does not steal the artifacts of `db`...
    const odd = formatArtifactName('db-20261125T184512Z', at('2027-01-01T00:00:00Z'), 'sql.gz');
    assert.equal(parseArtifactName('db', odd), undefined);
    // ...nor the other way round.
    assert.equal(parseArtifactName('db-20261125T184512Z', 'db-20261125T184512Z.sql.gz'), undefined);
  });

  it('ignores half-written artifacts', () => {
    const final = formatArtifactName('db', at('2026-11-25T18:45:12Z'), 'sql.gz');
    assert.equal(parseArtifactName('db', temporaryArtifactName(final)), undefined);
    assert.equal(parseArtifactName('db', temporaryArtifactName('db-20261125T184512Z')), undefined);
    for (const suffix of ['.tmp', '.TMP', '.temp', '.part', '.partial']) {
      assert.equal(parseArtifactName('db', `${final}${suffix}`), undefined, suffix);
    }
  });

  it('ignores partial and malformed names', () => {
    const full = 'db-20261125T184512Z.sql.gz';
    for (let end = 0; end < 'db-20261125T184512Z'.length; end++) {
      assert.equal(parseArtifactName('db', full.slice(0, end)), undefined, full.slice(0, end));
    }
    for (const f of [
      'db-20261125T184512Z.sql.gz ',
      ' db-20261125T184512Z.sql.gz',
      'db-20261125T184512Z.sql.gz/',
      'db-20261125T184512.5Z.sql.gz',
      'db-20261125T184512+0100.sql.gz',
      'db-20260229T120000Z.sql.gz', // 2026 is not a leap year
      'db-20261125T184560Z.sql.gz', // second 60
      'db-20261125T184512Z-0.sql.gz',
      'db-20261125T184512Z-.sql.gz',
      'db-20261125T184512Z-2-3.sql.gz',
      'db-20261125T184512Z_2.sql.gz',
      'db-20261125T184512Z.sql.gz.',
      'db-20261125T184512Z..sql.gz',
      'db-20261125T184512Zsql.gz',
    ]) {
      assert.equal(parseArtifactName('db', f), undefined, f);
    }
  });

  it('refuses an invalid backup name instead of matching nothing', () => {
    assert.throws(() => parseArtifactName('db/..', 'db-20261125T184512Z.sql.gz'), ConfigError);
  });
});

describe('nextArtifactName', () => {
  const done = at('2026-11-25T18:45:12.400Z');

  it('needs no suffix when the second is free', () => {
    assert.equal(nextArtifactName('db', done, 'sql.gz', []), 'db-20261125T184512Z.sql.gz');
    assert.equal(
      nextArtifactName('db', done, 'sql.gz', ['db-20261125T184511Z.sql.gz', 'db-20261125T184513Z.sql.gz']),
      'db-20261125T184512Z.sql.gz',
    );
  });

  it('takes the suffix after the highest one already used in that second, whatever its extension', () => {
    assert.equal(nextArtifactName('db', done, 'sql.gz', ['db-20261125T184512Z.sql.gz']), 'db-20261125T184512Z-2.sql.gz');
    assert.equal(nextArtifactName('db', done, 'sql.gz', ['db-20261125T184512Z.tar']), 'db-20261125T184512Z-2.sql.gz');
    assert.equal(
      nextArtifactName('db', done, 'sql.gz', ['db-20261125T184512Z.sql.gz', 'db-20261125T184512Z-2.sql.gz']),
      'db-20261125T184512Z-3.sql.gz',
    );
    // Even when the first of that second was pruned: a later artifact must never sort as older.
    assert.equal(nextArtifactName('db', done, undefined, ['db-20261125T184512Z-4']), 'db-20261125T184512Z-5');
  });

  it('ignores files that are not artifacts of that backup', () => {
    assert.equal(
      nextArtifactName('db', done, 'sql.gz', [
        'db2-20261125T184512Z.sql.gz',
        'db-20261125T184512Z.sql.gz.tmp',
        'db-20261125T184512Z-1.sql.gz',
      ]),
      'db-20261125T184512Z.sql.gz',
    );
  });
});

describe('checkBackupName and checkArtifactExtension', () => {
  it('name the offending setting and what is accepted', () => {
    assert.throws(
      () => checkBackupName('my backup', 'STEWARD_BACKUP_NAME'),
      (e: unknown) =>
        e instanceof ConfigError && e.message.startsWith('STEWARD_BACKUP_NAME: ') && /letters, digits/.test(e.message),
    );
    assert.throws(
      () => checkArtifactExtension('gz.part', 'backup.db.extension'),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith('backup.db.extension: ') && /part/.test(e.message),
    );
  });

  it('return the accepted value, an extension without its leading dot', () => {
    assert.equal(checkBackupName('db_main.v2', 'name'), 'db_main.v2');
    assert.equal(checkArtifactExtension('.sql.gz', 'ext'), 'sql.gz');
    assert.equal(checkArtifactExtension('', 'ext'), undefined);
    assert.equal(checkArtifactExtension(undefined, 'ext'), undefined);
  });
});
