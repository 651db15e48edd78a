// time.Time as templates see it: a named struct type whose methods (.Year, .Format, .Add, ...)
// a template can call, with time.Month and time.Weekday printing their names.

import { GoTime, monthName, weekdayName } from './time.ts';
import { GoNum, GoTimeValue, GoType, INT, INT64, STRING } from './value.ts';
import type { GoMethod, GoValue } from './value.ts';

function method(params: GoType[], call: (recv: GoValue, args: GoValue[]) => GoValue): GoMethod {
  return { params, call };
}

const MONTH = new GoType('int', 'time.Month', {
  named: true,
  underlying: INT,
  methods: new Map([['String', method([], (r) => monthName(Number((r as GoNum).v)))]]),
});
const WEEKDAY = new GoType('int', 'time.Weekday', {
  named: true,
  underlying: INT,
  methods: new Map([['String', method([], (r) => weekdayName(Number((r as GoNum).v)))]]),
});
const DURATION = new GoType('int64', 'time.Duration', { named: true, underlying: INT64 });

function t(r: GoValue): GoTime {
  return (r as GoTimeValue).time;
}

function int64(v: number | bigint): GoNum {
  return new GoNum(INT64, v);
}

const timeMethods = new Map<string, GoMethod>();
export const TIME = new GoType('struct', 'time.Time', { named: true, methods: timeMethods });

/** A GoTime as a Go time.Time value. */
export function timeValue(x: GoTime): GoValue {
  return new GoTimeValue(TIME, x);
}

const timeMethodList: [string, GoMethod][] = [
  ['String', method([], (r) => t(r).String())],
  ['Format', method([STRING], (r, [l]) => t(r).Format(l as string))],
  ['Year', method([], (r) => t(r).Year())],
  ['Month', method([], (r) => new GoNum(MONTH, t(r).Month()))],
  ['Day', method([], (r) => t(r).Day())],
  ['Hour', method([], (r) => t(r).Hour())],
  ['Minute', method([], (r) => t(r).Minute())],
  ['Second', method([], (r) => t(r).Second())],
  ['Nanosecond', method([], (r) => t(r).Nanosecond())],
  ['YearDay', method([], (r) => t(r).YearDay())],
  ['Weekday', method([], (r) => new GoNum(WEEKDAY, t(r).Weekday()))],
  ['Unix', method([], (r) => int64(t(r).Unix()))],
  ['UnixMilli', method([], (r) => int64(t(r).UnixMilli()))],
  ['UnixMicro', method([], (r) => int64(t(r).UnixMicro()))],
  ['UnixNano', method([], (r) => int64(t(r).UnixNano()))],
  ['UTC', method([], (r) => timeValue(t(r).UTC()))],
  ['Local', method([], (r) => timeValue(new GoTime(t(r).unix, t(r).nsec, t(r).zone)))],
  ['IsZero', method([], (r) => t(r).IsZero())],
  ['Add', method([DURATION], (r, [d]) => timeValue(t(r).Add((d as GoNum).v)))],
  ['AddDate', method([INT, INT, INT], (r, [y, m, d]) => timeValue(t(r).AddDate(Number(y), Number(m), Number(d))))],
  ['Before', method([TIME], (r, [u]) => t(r).Before(t(u)))],
  ['After', method([TIME], (r, [u]) => t(r).After(t(u)))],
  ['Equal', method([TIME], (r, [u]) => t(r).Equal(t(u)))],
];
for (const [name, m] of timeMethodList) timeMethods.set(name, m);
