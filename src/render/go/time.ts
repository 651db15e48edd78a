// Go's time package as templates meet it: time.Now() in the local zone that Go itself resolves
// (TZ unset -> /etc/localtime, TZ="" -> UTC, TZ=Name -> /usr/share/zoneinfo/Name, failure ->
// UTC), and time.Time's methods and Format. Node's Date would resolve zones from ICU instead,
// which disagrees with Go when the container has no zone files, so zones are read from the TZif
// files here, as Go does. (confd's `datetime` is time.Now().)

import { readFileSync } from 'node:fs';

export interface ZoneAt {
  readonly name: string;
  /** Seconds east of UTC. */
  readonly offset: number;
}

/** A time zone: what is in force at a given Unix second. */
export interface Zone {
  readonly name: string;
  at(unixSec: number): ZoneAt;
}

export const UTC: Zone = { name: 'UTC', at: () => ({ name: 'UTC', offset: 0 }) };

/** A fixed zone, e.g. for tests. */
export function fixedZone(name: string, offset: number): Zone {
  const z = { name, offset };
  return { name, at: () => z };
}

interface TzType {
  readonly name: string;
  readonly offset: number;
  readonly isDst: boolean;
}

interface Rule {
  readonly kind: 'J' | 'M' | 'D';
  readonly day: number;
  readonly week: number;
  readonly mon: number;
  readonly time: number;
}

const DAY = 86400;

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const daysBefore = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

function daysIn(mon: number, year: number): number {
  if (mon === 2 && isLeap(year)) return 29;
  return (daysBefore[mon] as number) - (daysBefore[mon - 1] as number);
}

function num(s: string, min: number, max: number): [number, string] | null {
  let i = 0;
  let n = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) {
    n = n * 10 + s.charCodeAt(i) - 0x30;
    if (n > max) return null;
    i++;
  }
  if (i === 0 || n < min) return null;
  return [n, s.slice(i)];
}

function tzName(s: string): [string, string] | null {
  if (s.length === 0) return null;
  if (s[0] === '<') {
    const i = s.indexOf('>');
    return i < 0 ? null : [s.slice(1, i), s.slice(i + 1)];
  }
  for (let i = 0; i < s.length; i++) {
    if ('0123456789,-+'.includes(s[i] as string)) return i < 3 ? null : [s.slice(0, i), s.slice(i)];
  }
  return s.length < 3 ? null : [s, ''];
}

function tzOffset(s: string): [number, string] | null {
  if (s.length === 0) return null;
  let neg = false;
  if (s[0] === '+') s = s.slice(1);
  else if (s[0] === '-') {
    s = s.slice(1);
    neg = true;
  }
  let r = num(s, 0, 24 * 7);
  if (r === null) return null;
  let off = r[0] * 3600;
  s = r[1];
  if (s[0] === ':') {
    r = num(s.slice(1), 0, 59);
    if (r === null) return null;
    off += r[0] * 60;
    s = r[1];
    if (s[0] === ':') {
      r = num(s.slice(1), 0, 59);
      if (r === null) return null;
      off += r[0];
      s = r[1];
    }
  }
  return [neg ? -off : off, s];
}

function tzRule(s: string): [Rule, string] | null {
  if (s.length === 0) return null;
  let kind: Rule['kind'];
  let day = 0;
  let week = 0;
  let mon = 0;
  if (s[0] === 'J') {
    const r = num(s.slice(1), 1, 365);
    if (r === null) return null;
    kind = 'J';
    [day, s] = r;
  } else if (s[0] === 'M') {
    const m = num(s.slice(1), 1, 12);
    if (m === null || m[1][0] !== '.') return null;
    const w = num(m[1].slice(1), 1, 5);
    if (w === null || w[1][0] !== '.') return null;
    const d = num(w[1].slice(1), 0, 6);
    if (d === null) return null;
    kind = 'M';
    mon = m[0];
    week = w[0];
    [day, s] = d;
  } else {
    const r = num(s, 0, 365);
    if (r === null) return null;
    kind = 'D';
    [day, s] = r;
  }
  let time = 2 * 3600;
  if (s[0] === '/') {
    const o = tzOffset(s.slice(1));
    if (o === null) return null;
    [time, s] = o;
  }
  return [{ kind, day, week, mon, time }, s];
}

function ruleTime(year: number, r: Rule, off: number): number {
  let s = 0;
  if (r.kind === 'J') {
    s = (r.day - 1) * DAY;
    if (isLeap(year) && r.day >= 60) s += DAY;
  } else if (r.kind === 'D') {
    s = r.day * DAY;
  } else {
    const m1 = ((r.mon + 9) % 12) + 1;
    let yy0 = year;
    if (r.mon <= 2) yy0--;
    const yy1 = Math.trunc(yy0 / 100);
    const yy2 = yy0 % 100;
    let dow = (Math.trunc((26 * m1 - 2) / 10) + 1 + yy2 + Math.trunc(yy2 / 4) + Math.trunc(yy1 / 4) - 2 * yy1) % 7;
    if (dow < 0) dow += 7;
    let d = r.day - dow;
    if (d < 0) d += 7;
    for (let i = 1; i < r.week; i++) {
      if (d + 7 >= daysIn(r.mon, year)) break;
      d += 7;
    }
    d += daysBefore[r.mon - 1] as number;
    if (isLeap(year) && r.mon > 2) d++;
    s = d * DAY;
  }
  return s + r.time - off;
}

// The POSIX TZ string at the end of a TZif file governs times after its last transition.
function tzset(spec: string, sec: number): ZoneAt | null {
  const std = tzName(spec);
  if (std === null) return null;
  let s = std[1];
  const so = tzOffset(s);
  if (so === null) return null;
  let stdName = std[0];
  let stdOffset = -so[0];
  s = so[1];
  if (s.length === 0 || s[0] === ',') return { name: stdName, offset: stdOffset };
  const dst = tzName(s);
  if (dst === null) return null;
  let dstName = dst[0];
  s = dst[1];
  let dstOffset: number;
  if (s.length === 0 || s[0] === ',') dstOffset = stdOffset + 3600;
  else {
    const o = tzOffset(s);
    if (o === null) return null;
    dstOffset = -o[0];
    s = o[1];
  }
  if (s.length === 0) s = ',M3.2.0,M11.1.0';
  if (s[0] !== ',' && s[0] !== ';') return null;
  const a = tzRule(s.slice(1));
  if (a === null || a[1][0] !== ',') return null;
  const b = tzRule(a[1].slice(1));
  if (b === null || b[1].length > 0) return null;
  const d = new Date(sec * 1000);
  const year = d.getUTCFullYear();
  const yday = Math.floor((Date.UTC(year, d.getUTCMonth(), d.getUTCDate()) - Date.UTC(year, 0, 1)) / (DAY * 1000));
  const ysec = yday * DAY + (((sec % DAY) + DAY) % DAY);
  let startSec = ruleTime(year, a[0], stdOffset);
  let endSec = ruleTime(year, b[0], dstOffset);
  if (endSec < startSec) {
    [startSec, endSec] = [endSec, startSec];
    [stdName, dstName] = [dstName, stdName];
    [stdOffset, dstOffset] = [dstOffset, stdOffset];
  }
  if (ysec < startSec || ysec >= endSec) return { name: stdName, offset: stdOffset };
  return { name: dstName, offset: dstOffset };
}

/** Parses a TZif (zoneinfo) file the way Go's LoadLocationFromTZData does; null if invalid. */
export function parseTzif(name: string, data: Uint8Array): Zone | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 44 || view.getUint32(0) !== 0x545a6966) return null; // "TZif"
  const version = data[4] as number;
  let p = 0;
  const counts = (at: number): number[] => [0, 1, 2, 3, 4, 5].map((i) => view.getUint32(at + 20 + 4 * i));
  let [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = counts(0) as [number, number, number, number, number, number];
  let timeSize = 4;
  p = 44;
  if (version >= 0x32) {
    // Skip the 32-bit block and use the 64-bit one.
    p += timecnt * 4 + timecnt + typecnt * 6 + charcnt + leapcnt * 8 + isstdcnt + isutcnt;
    if (data.length < p + 44) return null;
    [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = counts(p) as [number, number, number, number, number, number];
    p += 44;
    timeSize = 8;
  }
  const tx: number[] = [];
  for (let i = 0; i < timecnt; i++) {
    tx.push(timeSize === 8 ? Number(view.getBigInt64(p + i * 8)) : view.getInt32(p + i * 4));
  }
  p += timecnt * timeSize;
  const txType = Array.from(data.subarray(p, p + timecnt));
  p += timecnt;
  const raw: { off: number; dst: boolean; ai: number }[] = [];
  for (let i = 0; i < typecnt; i++) {
    raw.push({ off: view.getInt32(p), dst: data[p + 4] !== 0, ai: data[p + 5] as number });
    p += 6;
  }
  const chars = data.subarray(p, p + charcnt);
  p += charcnt + leapcnt * (timeSize + 4) + isstdcnt + isutcnt;
  const types: TzType[] = raw.map((t) => {
    let end = t.ai;
    while (end < chars.length && chars[end] !== 0) end++;
    return { name: Buffer.from(chars.subarray(t.ai, end)).toString('latin1'), offset: t.off, isDst: t.dst };
  });
  if (types.length === 0) return null;
  let extend = '';
  if (timeSize === 8 && data[p] === 0x0a) {
    const end = data.indexOf(0x0a, p + 1);
    if (end > p) extend = Buffer.from(data.subarray(p + 1, end)).toString('latin1');
  }
  if (tx.length === 0) {
    tx.push(-Infinity);
    txType.push(0);
  }
  const firstZone = (): number => {
    const used = txType.includes(0);
    if (!used) return 0;
    const first = types[txType[0] as number] as TzType;
    if (tx.length > 0 && first.isDst) {
      for (let zi = (txType[0] as number) - 1; zi >= 0; zi--) if (!(types[zi] as TzType).isDst) return zi;
    }
    const zi = types.findIndex((t) => !t.isDst);
    return zi < 0 ? 0 : zi;
  };
  return {
    name,
    at(sec: number): ZoneAt {
      if (sec < (tx[0] as number)) {
        const z = types[firstZone()] as TzType;
        return { name: z.name, offset: z.offset };
      }
      let lo = 0;
      let hi = tx.length;
      while (hi - lo > 1) {
        const m = lo + ((hi - lo) >> 1);
        if (sec < (tx[m] as number)) hi = m;
        else lo = m;
      }
      const z = types[txType[lo] as number] as TzType;
      if (lo === tx.length - 1 && extend !== '') {
        const e = tzset(extend, sec);
        if (e !== null) return e;
      }
      return { name: z.name, offset: z.offset };
    },
  };
}

function tryLoad(name: string, file: string, read: (p: string) => Uint8Array): Zone | null {
  try {
    return parseTzif(name, read(file));
  } catch {
    return null;
  }
}

/** Go's Local zone for this environment (TZ variable and zone files). */
export function loadLocalZone(
  tz: string | undefined = process.env['TZ'],
  read: (path: string) => Uint8Array = (p) => readFileSync(p),
): Zone {
  if (tz === undefined) return tryLoad('Local', '/etc/localtime', read) ?? UTC;
  if (tz.startsWith(':')) tz = tz.slice(1);
  if (tz.startsWith('/')) return tryLoad(tz === '/etc/localtime' ? 'Local' : tz, tz, read) ?? UTC;
  if (tz !== '' && tz !== 'UTC') {
    for (const dirName of ['/usr/share/zoneinfo/', '/usr/share/lib/zoneinfo/', '/usr/lib/locale/TZ/']) {
      const z = tryLoad(tz, dirName + tz, read);
      if (z !== null) return z;
    }
  }
  return UTC;
}

const longMonths = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function monthName(m: number): string {
  return longMonths[m - 1] ?? `%!Month(${m})`;
}

export function weekdayName(d: number): string {
  return longDays[d] ?? `%!Weekday(${d})`;
}

function pad(n: number, width: number): string {
  const neg = n < 0;
  let s = String(Math.abs(n));
  while (s.length < width) s = '0' + s;
  return neg ? '-' + s : s;
}

function startsWithLower(s: string): boolean {
  const c = s.charCodeAt(0);
  return c >= 0x61 && c <= 0x7a;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  yday: number;
  hour: number;
  min: number;
  sec: number;
  wday: number;
}

/** A Go time.Time: an instant, a zone and possibly a monotonic clock reading. */
export class GoTime {
  /** Seconds since the Unix epoch (an integer). */
  readonly unix: number;
  /** Nanoseconds within the second, 0..999999999. */
  readonly nsec: number;
  readonly zone: Zone;
  /** Monotonic reading in nanoseconds since process start, when Go would carry one. */
  readonly mono: number | undefined;
  #at: ZoneAt | undefined;
  #fields: Fields | undefined;

  constructor(unix: number, nsec: number, zone: Zone, mono?: number) {
    this.unix = unix;
    this.nsec = nsec;
    this.zone = zone;
    this.mono = mono;
  }

  #zoneAt(): ZoneAt {
    return (this.#at ??= this.zone.at(this.unix));
  }

  #f(): Fields {
    if (this.#fields !== undefined) return this.#fields;
    const local = this.unix + this.#zoneAt().offset;
    const d = new Date(local * 1000);
    const year = d.getUTCFullYear();
    const jan1 = new Date(0);
    jan1.setUTCFullYear(year, 0, 1);
    const mid = new Date(0);
    mid.setUTCFullYear(year, d.getUTCMonth(), d.getUTCDate());
    this.#fields = {
      year,
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      yday: Math.round((mid.getTime() - jan1.getTime()) / (DAY * 1000)) + 1,
      hour: d.getUTCHours(),
      min: d.getUTCMinutes(),
      sec: d.getUTCSeconds(),
      wday: d.getUTCDay(),
    };
    return this.#fields;
  }

  Year(): number { return this.#f().year; }
  Month(): number { return this.#f().month; }
  Day(): number { return this.#f().day; }
  Hour(): number { return this.#f().hour; }
  Minute(): number { return this.#f().min; }
  Second(): number { return this.#f().sec; }
  Nanosecond(): number { return this.nsec; }
  YearDay(): number { return this.#f().yday; }
  Weekday(): number { return this.#f().wday; }
  Unix(): number { return this.unix; }
  UnixMilli(): number { return this.unix * 1000 + Math.floor(this.nsec / 1e6); }
  UnixMicro(): number { return this.unix * 1e6 + Math.floor(this.nsec / 1e3); }
  UnixNano(): bigint { return BigInt(this.unix) * 1000000000n + BigInt(this.nsec); }
  IsZero(): boolean { return this.unix === -62135596800 && this.nsec === 0; }
  UTC(): GoTime { return new GoTime(this.unix, this.nsec, UTC); }
  In(zone: Zone): GoTime { return new GoTime(this.unix, this.nsec, zone); }
  Before(u: GoTime): boolean { return this.unix < u.unix || (this.unix === u.unix && this.nsec < u.nsec); }
  After(u: GoTime): boolean { return this.unix > u.unix || (this.unix === u.unix && this.nsec > u.nsec); }
  Equal(u: GoTime): boolean { return this.unix === u.unix && this.nsec === u.nsec; }

  /** Add a duration in nanoseconds; keeps the monotonic reading as Go does. */
  Add(ns: number | bigint): GoTime {
    const total = BigInt(this.nsec) + BigInt(ns);
    const carry = total >= 0n ? total / 1000000000n : (total - 999999999n) / 1000000000n;
    const mono = this.mono === undefined ? undefined : this.mono + Number(ns);
    return new GoTime(this.unix + Number(carry), Number(total - carry * 1000000000n), this.zone, mono);
  }

  AddDate(years: number, months: number, days: number): GoTime {
    const f = this.#f();
    const d = new Date(0);
    d.setUTCFullYear(f.year + years, f.month - 1 + months, f.day + days);
    d.setUTCHours(f.hour, f.min, f.sec);
    const local = Math.floor(d.getTime() / 1000);
    // Go normalises in the zone: take the offset in force near the new wall time.
    let unix = local - this.zone.at(local - this.#zoneAt().offset).offset;
    unix = local - this.zone.at(unix).offset;
    return new GoTime(unix, this.nsec, this.zone);
  }

  /** time.Time.Format with Go's reference-time layouts. */
  Format(layout: string): string {
    let out = '';
    let i = 0;
    let lit = 0;
    const L = layout;
    const emit = (s: string, len: number): void => {
      out += L.slice(lit, i) + s;
      i += len;
      lit = i;
    };
    while (i < L.length) {
      const c = L[i];
      const rest = L.slice(i);
      switch (c) {
        case 'J':
          if (rest.startsWith('January')) { emit(monthName(this.#f().month), 7); continue; }
          if (rest.startsWith('Jan') && !startsWithLower(L.slice(i + 3))) { emit(monthName(this.#f().month).slice(0, 3), 3); continue; }
          break;
        case 'M':
          if (rest.startsWith('Monday')) { emit(weekdayName(this.#f().wday), 6); continue; }
          if (rest.startsWith('Mon') && !startsWithLower(L.slice(i + 3))) { emit(weekdayName(this.#f().wday).slice(0, 3), 3); continue; }
          if (rest.startsWith('MST')) { emit(this.#tzName(), 3); continue; }
          break;
        case '0': {
          const n = L[i + 1];
          if (n !== undefined && n >= '1' && n <= '6') {
            const f = this.#f();
            const v = n === '1' ? pad(f.month, 2) : n === '2' ? pad(f.day, 2) : n === '3' ? pad(f.hour % 12 === 0 ? 12 : f.hour % 12, 2)
              : n === '4' ? pad(f.min, 2) : n === '5' ? pad(f.sec, 2) : pad(Math.abs(f.year) % 100, 2);
            emit(v, 2);
            continue;
          }
          if (rest.startsWith('002')) { emit(pad(this.#f().yday, 3), 3); continue; }
          break;
        }
        case '1':
          if (L[i + 1] === '5') { emit(pad(this.#f().hour, 2), 2); continue; }
          emit(String(this.#f().month), 1);
          continue;
        case '2':
          if (rest.startsWith('2006')) { emit(pad(this.#f().year, 4), 4); continue; }
          emit(String(this.#f().day), 1);
          continue;
        case '_':
          if (L[i + 1] === '2') {
            if (rest.startsWith('_2006')) {
              // "_" is literal here, then the year.
              out += L.slice(lit, i + 1);
              i += 1;
              lit = i;
              emit(pad(this.#f().year, 4), 4);
              continue;
            }
            const d = this.#f().day;
            emit((d < 10 ? ' ' : '') + String(d), 2);
            continue;
          }
          if (rest.startsWith('__2')) {
            const y = this.#f().yday;
            emit((y < 10 ? '  ' : y < 100 ? ' ' : '') + String(y), 3);
            continue;
          }
          break;
        case '3': {
          const h = this.#f().hour % 12;
          emit(String(h === 0 ? 12 : h), 1);
          continue;
        }
        case '4':
          emit(String(this.#f().min), 1);
          continue;
        case '5':
          emit(String(this.#f().sec), 1);
          continue;
        case 'P':
          if (L[i + 1] === 'M') { emit(this.#f().hour >= 12 ? 'PM' : 'AM', 2); continue; }
          break;
        case 'p':
          if (L[i + 1] === 'm') { emit(this.#f().hour >= 12 ? 'pm' : 'am', 2); continue; }
          break;
        case '-':
        case 'Z': {
          const m = /^[-Z](?:070000|07:00:00|0700|07:00|07)/.exec(rest);
          if (m !== null) {
            emit(this.#numTz(m[0]), m[0].length);
            continue;
          }
          break;
        }
        case '.':
        case ',': {
          const ch = L[i + 1];
          if (ch === '0' || ch === '9') {
            let j = i + 1;
            while (j < L.length && L[j] === ch) j++;
            const next = L.charCodeAt(j);
            if (!(next >= 0x30 && next <= 0x39)) {
              emit(this.#frac(c, ch, j - (i + 1)), j - i);
              continue;
            }
          }
          break;
        }
      }
      i++;
    }
    return out + L.slice(lit);
  }

  #tzName(): string {
    const z = this.#zoneAt();
    if (z.name !== '') return z.name;
    const m = Math.trunc(z.offset / 60);
    const a = Math.abs(m);
    return (m < 0 ? '-' : '+') + pad(Math.trunc(a / 60), 2) + pad(a % 60, 2);
  }

  #numTz(code: string): string {
    const offset = this.#zoneAt().offset;
    const iso = code[0] === 'Z';
    if (offset === 0 && iso) return 'Z';
    const spec = code.slice(1);
    let zone = Math.trunc(offset / 60);
    let abs = offset;
    let s = '';
    if (zone < 0) {
      s = '-';
      zone = -zone;
      abs = -abs;
    } else s = '+';
    s += pad(Math.trunc(zone / 60), 2);
    const colon = spec.includes(':');
    if (colon) s += ':';
    if (spec !== '07') s += pad(zone % 60, 2);
    if (spec === '070000' || spec === '07:00:00') {
      if (colon) s += ':';
      s += pad(abs % 60, 2);
    }
    return s;
  }

  #frac(sep: string, ch: string, digits: number): string {
    let n = Math.min(digits, 9);
    const buf = String(this.nsec).padStart(9, '0');
    if (ch === '9') {
      while (n > 0 && buf[n - 1] === '0') n--;
      if (n === 0) return '';
    }
    return sep + buf.slice(0, n);
  }

  /** time.Time.String, including the " m=+..." monotonic suffix when present. */
  String(): string {
    let s = this.Format('2006-01-02 15:04:05.999999999 -0700 MST');
    if (this.mono !== undefined) {
      const neg = this.mono < 0;
      const m = BigInt(Math.round(Math.abs(this.mono)));
      const m2 = m % 1000000000n;
      let m1 = m / 1000000000n;
      const m0 = m1 / 1000000000n;
      m1 %= 1000000000n;
      s += ' m=' + (neg ? '-' : '+');
      if (m0 !== 0n) s += String(m0) + String(m1).padStart(9, '0');
      else s += String(m1);
      s += '.' + String(m2).padStart(9, '0');
    }
    return s;
  }

  toString(): string {
    return this.String();
  }
}

/**
 * A clock like Go's time.Now in `zone` (default: Go's Local for this process): nanosecond
 * wall time with a monotonic reading counted from process start.
 */
export function systemClock(zone: Zone = loadLocalZone()): () => GoTime {
  const baseWallNs = BigInt(Date.now()) * 1000000n;
  const baseHr = process.hrtime.bigint();
  return () => {
    const ns = baseWallNs + (process.hrtime.bigint() - baseHr);
    const unix = ns / 1000000000n;
    return new GoTime(Number(unix), Number(ns - unix * 1000000000n), zone, Math.round(performance.now() * 1e6));
  };
}
