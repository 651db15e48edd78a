// datetime's zones: read from zoneinfo files the way Go's time package reads them (including
// the POSIX rule that governs times after the last transition). Expected strings are Go 1.19's.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { GoTime, UTC, loadLocalZone } from '../../src/render/go/time.ts';

const layout = '2006-01-02 15:04:05.999999999 -0700 MST';
const haveZoneinfo = existsSync('/usr/share/zoneinfo/Europe/Berlin');

test('zones from zoneinfo files match Go, before and after their last transition', { skip: !haveZoneinfo && 'no /usr/share/zoneinfo' }, () => {
  const cases: [string, number, string][] = [
    ['America/New_York', 1711846800, '2024-03-30 21:00:00.000000005 -0400 EDT'],
    ['America/New_York', 1730595600, '2024-11-02 21:00:00.000000005 -0400 EDT'],
    ['America/New_York', 4102444800, '2099-12-31 19:00:00.000000005 -0500 EST'],
    ['Europe/Berlin', 1711846800, '2024-03-31 03:00:00.000000005 +0200 CEST'],
    ['Europe/Berlin', 2500000000, '2049-03-22 05:26:40.000000005 +0100 CET'],
    ['Australia/Sydney', 1700000000, '2023-11-15 09:13:20.000000005 +1100 AEDT'],
    ['Australia/Sydney', 2000000000, '2033-05-18 13:33:20.000000005 +1000 AEST'],
    ['Asia/Kolkata', 0, '1970-01-01 05:30:00.000000005 +0530 IST'],
    ['Asia/Tehran', 1000000000, '2001-09-09 06:16:40.000000005 +0430 +0430'],
    ['Pacific/Chatham', 1700000000, '2023-11-15 11:58:20.000000005 +1345 +1345'],
  ];
  for (const [tz, sec, want] of cases) {
    assert.equal(new GoTime(sec, 5, loadLocalZone(tz)).Format(layout), want, `${tz} at ${sec}`);
  }
});

test("TZ as Go reads it: empty or unknown means UTC; unset means /etc/localtime", () => {
  assert.equal(loadLocalZone(''), UTC);
  assert.equal(loadLocalZone('UTC'), UTC);
  assert.equal(loadLocalZone('No/Such_Zone', () => { throw new Error('ENOENT'); }), UTC);
  const z = loadLocalZone(undefined, (p) => {
    assert.equal(p, '/etc/localtime');
    throw new Error('ENOENT');
  });
  assert.equal(z, UTC);
});
