// Calendar arithmetic for retention buckets: the wall-clock fields of an instant in an IANA time
// zone (through Intl, so the zone data is the runtime's own and no dependency is needed) and ISO
// 8601 week numbers. Buckets are built from wall-clock fields, as restic does; what that means
// around DST changes is spelled out in retention.ts.

import { ConfigError } from '../core/exit-codes.ts';

/** The local calendar fields of an instant (month and day from 1, hour from 0 to 23). */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
}

export interface IsoWeek {
  readonly weekYear: number;
  readonly week: number;
}

const ZONE_HINT = 'expected an IANA time zone name such as UTC or Europe/Berlin';

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  // The locale is pinned so that the fields come back as Gregorian years and Latin digits whatever
  // the host's default locale; h23 because some runtimes print midnight as hour 24 with hour12:false.
  return new Intl.DateTimeFormat('en-US-u-ca-gregory-nu-latn', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
  });
}

/** Checks a time zone setting; returns the runtime's canonical name for it. */
export function checkTimeZone(timeZone: string, source: string): string {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') {
    throw new ConfigError(`${source}: invalid time zone ${JSON.stringify(timeZone)} (${ZONE_HINT})`);
  }
  try {
    return formatterFor(timeZone).resolvedOptions().timeZone;
  } catch {
    throw new ConfigError(`${source}: unknown time zone ${JSON.stringify(timeZone)} (${ZONE_HINT})`);
  }
}

/**
 * Returns a function that reads the wall-clock fields of an instant in `timeZone`. Building the
 * formatter is the slow part, so it is built once per zone by the caller, not once per instant.
 */
export function wallClock(timeZone: string): (time: Date) => WallTime {
  checkTimeZone(timeZone, 'retention time zone');
  const formatter = formatterFor(timeZone);
  return (time) => {
    const fields: Record<string, number> = {};
    for (const part of formatter.formatToParts(time)) {
      if (part.type !== 'literal') fields[part.type] = Number(part.value);
    }
    const { year, month, day, hour } = fields;
    if (year === undefined || month === undefined || day === undefined || hour === undefined) {
      throw new RangeError(`cannot read the local time of ${time.toISOString()} in ${timeZone}`);
    }
    return { year, month, day, hour };
  };
}

/**
 * ISO 8601 week of a calendar date: weeks run Monday to Sunday and belong to the year that holds
 * their Thursday, so 2027-01-01 (a Friday) is in 2026-W53 and 2025-12-29 (a Monday) in 2026-W01.
 */
export function isoWeek(year: number, month: number, day: number): IsoWeek {
  const dayMs = 86_400_000;
  const date = utcDate(year, month, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  const thursday = new Date(date + (3 - weekday) * dayMs);
  const weekYear = thursday.getUTCFullYear();
  const dayOfYear = (thursday.getTime() - utcDate(weekYear, 1, 1)) / dayMs;
  return { weekYear, week: Math.floor(dayOfYear / 7) + 1 };
}

// Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear does not.
function utcDate(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}
