import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTimeZone, isoWeek, wallClock } from '../../src/jobs/calendar.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';

describe('isoWeek', () => {
  it('numbers weeks in the ISO week-year', () => {
    const cases: [string, number, number][] = [
      ['2026-12-27', 2026, 52], // Sunday
      ['2026-12-28', 2026, 53], // Monday: 2026 starts on a Thursday, so it has 53 weeks
      ['2026-12-31', 2026, 53],
      ['2027-01-01', 2026, 53],
      ['2027-01-03', 2026, 53],
      ['2027-01-04', 2027, 1],
      ['2025-12-28', 2025, 52],
      ['2025-12-29', 2026, 1], // Monday of the week that holds Thursday 2026-01-01
      ['2026-01-01', 2026, 1],
      ['2020-12-31', 2020, 53], // 2020 is a leap year starting on a Wednesday: 53 weeks
      ['2021-01-03', 2020, 53],
      ['2021-01-04', 2021, 1],
      ['2015-12-31', 2015, 53],
      ['2016-01-03', 2015, 53],
      ['2019-12-30', 2020, 1],
      ['2021-01-01', 2020, 53],
      ['2022-01-01', 2021, 52],
      ['2023-01-01', 2022, 52],
      ['2024-12-30', 2025, 1],
      ['2026-11-25', 2026, 48],
      ['2026-02-15', 2026, 7],
    ];
    for (const [date, weekYear, week] of cases) {
      const [y, m, d] = date.split('-').map(Number) as [number, number, number];
      assert.deepEqual(isoWeek(y, m, d), { weekYear, week }, date);
    }
  });

  it('starts a week on every Monday and only on Mondays, 2000 to 2040', () => {
    const day = 86_400_000;
    let previous = isoWeek(1999, 12, 31);
    let weeksInYear = 0;
    for (let t = Date.UTC(2000, 0, 1); t < Date.UTC(2041, 0, 1); t += day) {
      const date = new Date(t);
      const current = isoWeek(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate());
      const isMonday = date.getUTCDay() === 1;
      if (!isMonday) {
        assert.deepEqual(current, previous, date.toISOString());
        continue;
      }
      if (current.weekYear === previous.weekYear) {
        assert.equal(current.week, previous.week + 1, date.toISOString());
      } else {
        assert.equal(current.weekYear, previous.weekYear + 1, date.toISOString());
        assert.equal(current.week, 1, date.toISOString());
        if (weeksInYear > 0) {
          // A year has 53 weeks when it starts on a Thursday, or on a Wednesday in a leap year.
          const y = previous.weekYear;
          const jan1 = new Date(Date.UTC(y, 0, 1)).getUTCDay();
          const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
          assert.equal(previous.week, jan1 === 4 || (leap && jan1 === 3) ? 53 : 52, String(y));
        }
        weeksInYear = 0;
      }
      weeksInYear++;
      previous = current;
    }
  });
});

describe('wallClock', () => {
  const at = (iso: string) => new Date(iso);

  it('reads UTC fields in UTC, with midnight as hour 0', () => {
    const utc = wallClock('UTC');
    assert.deepEqual(utc(at('2027-01-01T00:00:00Z')), { year: 2027, month: 1, day: 1, hour: 0 });
    assert.deepEqual(utc(at('2026-12-31T23:59:59.999Z')), { year: 2026, month: 12, day: 31, hour: 23 });
  });

  it('reads Berlin wall time: the hour 02 happens twice when clocks fall back', () => {
    const berlin = wallClock('Europe/Berlin');
    assert.deepEqual(berlin(at('2026-10-25T00:15:00Z')), { year: 2026, month: 10, day: 25, hour: 2 }); // CEST
    assert.deepEqual(berlin(at('2026-10-25T01:15:00Z')), { year: 2026, month: 10, day: 25, hour: 2 }); // CET
    assert.deepEqual(berlin(at('2026-10-25T02:15:00Z')), { year: 2026, month: 10, day: 25, hour: 3 });
  });

  it('reads Berlin wall time: the hour 02 never happens when clocks spring forward', () => {
    const berlin = wallClock('Europe/Berlin');
    assert.deepEqual(berlin(at('2026-03-29T00:59:59Z')), { year: 2026, month: 3, day: 29, hour: 1 });
    assert.deepEqual(berlin(at('2026-03-29T01:00:00Z')), { year: 2026, month: 3, day: 29, hour: 3 });
  });

  it('moves late-evening UTC times to the next local day, month and year', () => {
    const berlin = wallClock('Europe/Berlin');
    assert.deepEqual(berlin(at('2026-12-31T23:00:00Z')), { year: 2027, month: 1, day: 1, hour: 0 });
    const kolkata = wallClock('Asia/Kolkata'); // UTC+05:30
    assert.deepEqual(kolkata(at('2026-01-01T18:29:59Z')), { year: 2026, month: 1, day: 1, hour: 23 });
    assert.deepEqual(kolkata(at('2026-01-01T18:30:00Z')), { year: 2026, month: 1, day: 2, hour: 0 });
  });

  it('refuses an unknown time zone, naming it', () => {
    assert.throws(
      () => wallClock('Mars/Olympus_Mons'),
      (e: unknown) => e instanceof ConfigError && /Mars\/Olympus_Mons/.test(e.message) && /IANA/.test(e.message),
    );
  });
});

describe('checkTimeZone', () => {
  it('returns the canonical name of a zone', () => {
    assert.equal(checkTimeZone('Europe/Berlin', 'STEWARD_BACKUP_TIME_ZONE'), 'Europe/Berlin');
    assert.equal(checkTimeZone('UTC', 'tz'), 'UTC');
  });

  it('names the setting and the rejected value', () => {
    assert.throws(
      () => checkTimeZone('CEST+2', 'STEWARD_BACKUP_TIME_ZONE'),
      (e: unknown) =>
        e instanceof ConfigError && e.message.startsWith('STEWARD_BACKUP_TIME_ZONE: ') && /"CEST\+2"/.test(e.message),
    );
    assert.throws(() => checkTimeZone('', 'tz'), ConfigError);
  });
});
