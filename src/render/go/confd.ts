// confd's function map with the Go signatures confd registers, so arguments are checked and
// converted as text/template would, and results carry confd's Go types (memkv.KVPairs,
// []string, map[string]interface{} with float64 numbers, []*net.SRV, time.Time, ...).

import { ConfdError } from '../confd/errors.ts';
import { getenv, intArith, lookupIP, lookupSRV, reverseInPlace, sortByLength } from '../confd/functions.ts';
import type { IntValue } from '../confd/functions.ts';
import { base, dir } from '../confd/gopath.ts';
import { decodeJsonArray, decodeJsonObject } from '../confd/gojson.ts';
import type { JsonValue } from '../confd/gojson.ts';
import { goReplace, goSplit, goToLower, goToUpper, utf8Length } from '../confd/gostrings.ts';
import { goSortArray } from '../confd/gosort.ts';
import type { KVPair } from '../confd/store.ts';
import { atoi, base64Decode, base64Encode, parseBool } from '../confd/strconv.ts';
import { GoTime, monthName, weekdayName } from '../confd/time.ts';
import type { GoFunc, RunContext } from './funcs.ts';
import {
  FLOAT64, GoMap, GoNum, GoPtr, GoSlice, GoStruct, GoTimeValue, GoType, IFACE, IFACES, INT, INT64, INTS,
  MAP_STRING_IFACE, STRING, STRINGS, UINT16, ptrTo, sliceOf,
} from './value.ts';
import type { GoMethod, GoValue, MapKey } from './value.ts';

function method(params: GoType[], call: (recv: GoValue, args: GoValue[]) => GoValue, variadic?: GoType): GoMethod {
  return variadic === undefined ? { params, call } : { params, variadic, call };
}

export const KVPAIR = new GoType('struct', 'memkv.KVPair', {
  named: true,
  fields: [{ name: 'Key', type: STRING }, { name: 'Value', type: STRING }],
  // memkv's KVPair.Depth: the number of "/" in the key.
  methods: new Map([['Depth', method([], (r) => ((r as GoStruct).f[0] as string).split('/').length - 1)]]),
});
export const KVPAIR_SLICE = sliceOf(KVPAIR);
export const KVPAIRS = new GoType('slice', 'memkv.KVPairs', { named: true, elem: KVPAIR, underlying: KVPAIR_SLICE });

export const SRV = new GoType('struct', 'net.SRV', {
  named: true,
  fields: [
    { name: 'Target', type: STRING },
    { name: 'Port', type: UINT16 },
    { name: 'Priority', type: UINT16 },
    { name: 'Weight', type: UINT16 },
  ],
});
export const SRV_PTR = ptrTo(SRV);
export const SRV_PTRS = sliceOf(SRV_PTR);

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
const wrapTime = (x: GoTime): GoValue => new GoTimeValue(TIME, x);
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
  ['UTC', method([], (r) => wrapTime(t(r).UTC()))],
  ['Local', method([], (r) => wrapTime(new GoTime(t(r).unix, t(r).nsec, t(r).zone)))],
  ['IsZero', method([], (r) => t(r).IsZero())],
  ['Add', method([DURATION], (r, [d]) => wrapTime(t(r).Add((d as GoNum).v)))],
  ['AddDate', method([INT, INT, INT], (r, [y, m, d]) => wrapTime(t(r).AddDate(Number(y), Number(m), Number(d))))],
  ['Before', method([TIME], (r, [u]) => t(r).Before(t(u)))],
  ['After', method([TIME], (r, [u]) => t(r).After(t(u)))],
  ['Equal', method([TIME], (r, [u]) => t(r).Equal(t(u)))],
];
for (const [name, m] of timeMethodList) timeMethods.set(name, m);

// ---- conversions ----

export function kvPair(p: KVPair): GoStruct {
  return new GoStruct(KVPAIR, [p.Key, p.Value]);
}

function strings(a: string[], isNil = false): GoSlice {
  return new GoSlice(STRINGS, a, 0, a.length, a.length, isNil);
}

/** A decoded JSON value as Go's encoding/json builds it for interface{}. */
export function jsonToGo(v: JsonValue): GoValue {
  if (v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return new GoNum(FLOAT64, v);
  }
  if (Array.isArray(v)) return new GoSlice(IFACES, v.map(jsonToGo));
  const m = new Map<MapKey, GoValue>();
  for (const k of Object.keys(v)) m.set(k, jsonToGo(v[k] as JsonValue));
  return new GoMap(MAP_STRING_IFACE, m);
}

/** A Go value as a plain JavaScript value (for steward's extra functions). */
export function goToPlain(v: GoValue): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') return v;
  if (v instanceof GoNum) return typeof v.v === 'bigint' ? v.v : v.v;
  if (v instanceof GoSlice) {
    const out: unknown[] = [];
    for (let i = 0; i < v.n; i++) out.push(goToPlain(v.at(i)));
    return out;
  }
  if (v instanceof GoMap) {
    const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, x] of v.m) o[String(k)] = goToPlain(x);
    return o;
  }
  if (v instanceof GoStruct) {
    const o: Record<string, unknown> = {};
    v.t.fields.forEach((f, i) => (o[f.name] = goToPlain(v.f[i])));
    return o;
  }
  if (v instanceof GoPtr) return v.p === null ? null : goToPlain(v.p);
  if (v instanceof GoTimeValue) return v.time;
  return null;
}

/**
 * A plain JavaScript value as a Go value: integers become int, other numbers float64, arrays
 * of strings (and empty arrays) []string, other arrays []interface{}, {Key, Value} objects
 * memkv.KVPair, other objects map[string]interface{}.
 */
export function plainToGo(v: unknown): GoValue {
  if (v === undefined || v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return v;
    case 'number':
      return Number.isInteger(v) ? v : new GoNum(FLOAT64, v);
    case 'function':
    case 'symbol':
      return null;
  }
  if (v instanceof GoTime) return wrapTime(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return strings([...v] as string[]);
    return new GoSlice(IFACES, v.map(plainToGo));
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 2 && typeof o['Key'] === 'string' && typeof o['Value'] === 'string') {
    return new GoStruct(KVPAIR, [o['Key'], o['Value']]);
  }
  const m = new Map<MapKey, GoValue>();
  for (const k of keys) m.set(k, plainToGo(o[k]));
  return new GoMap(MAP_STRING_IFACE, m);
}

// ---- the function map ----

const S = STRING;

function fn(params: GoType[], call: (args: GoValue[], rc: RunContext) => GoValue, variadic?: GoType): GoFunc {
  return variadic === undefined ? { params, call } : { params, variadic, call };
}

function str(v: GoValue): string {
  return v as string;
}

function intArg(v: GoValue): IntValue {
  return v as IntValue;
}

function lookupIPs(rc: RunContext, host: string, keep?: string): GoSlice {
  const ips = rc.confd.dns.lookupIP(host);
  if (ips === null) return strings([], true);
  const sorted = lookupIP({ lookupIP: () => ips, lookupSRV: () => null }, host);
  if (keep === undefined) return strings(sorted);
  const filtered = sorted.filter((ip) => ip.includes(keep));
  return strings(filtered, filtered.length === 0);
}

function sliceWindow(s: GoSlice): [GoValue[], number, number] {
  return [s.a as GoValue[], s.off, s.n];
}

/** confd's functions, keyed by name, as confd 0.17.0-dev registers them. */
export const confdGoFunctions: ReadonlyMap<string, GoFunc> = new Map<string, GoFunc>([
  // memkv's store functions
  ['exists', fn([S], ([k], rc) => rc.confd.store.exists(str(k)))],
  ['ls', fn([S], ([p], rc) => strings(rc.confd.store.ls(str(p))))],
  ['lsdir', fn([S], ([p], rc) => strings(rc.confd.store.lsdir(str(p))))],
  ['get', fn([S], ([k], rc) => kvPair(rc.confd.store.get(str(k))))],
  ['gets', fn([S], ([p], rc) => {
    const pairs = rc.confd.store.gets(str(p)).map(kvPair);
    return new GoSlice(KVPAIRS, pairs);
  })],
  ['getv', fn([S], ([k, ...d], rc) => rc.confd.store.getv(str(k), ...(d as string[])), S)],
  ['getvs', fn([S], ([p], rc) => strings(rc.confd.store.getvs(str(p))))],
  // template_funcs.go
  ['base', fn([S], ([p]) => base(str(p)))],
  ['split', fn([S, S], ([s, sep]) => strings(goSplit(str(s), str(sep))))],
  ['json', fn([S], ([d]) => {
    const v = decodeJsonObject(str(d));
    return v === null ? new GoMap(MAP_STRING_IFACE, new Map(), true) : jsonToGo(v);
  })],
  ['jsonArray', fn([S], ([d]) => {
    const v = decodeJsonArray(str(d));
    return v === null ? new GoSlice(IFACES, [], 0, 0, 0, true) : jsonToGo(v);
  })],
  ['dir', fn([S], ([p]) => dir(str(p)))],
  ['map', fn([], (values) => {
    if (values.length % 2 !== 0) throw new ConfdError('invalid map call');
    const m = new Map<MapKey, GoValue>();
    for (let i = 0; i < values.length; i += 2) {
      const k = values[i];
      if (typeof k !== 'string') throw new ConfdError('map keys must be strings');
      m.set(k, values[i + 1]);
    }
    return new GoMap(MAP_STRING_IFACE, m);
  }, IFACE)],
  ['getenv', fn([S], ([k, ...d], rc) => getenv(rc.confd.env, str(k), ...(d as string[])), S)],
  ['join', fn([STRINGS, S], ([a, sep]) => {
    const s = a as GoSlice;
    const parts: string[] = [];
    for (let i = 0; i < s.n; i++) parts.push(s.at(i) as string);
    return parts.join(str(sep));
  })],
  ['datetime', fn([], (_a, rc) => wrapTime(rc.confd.now()))],
  ['toUpper', fn([S], ([s]) => goToUpper(str(s)))],
  ['toLower', fn([S], ([s]) => goToLower(str(s)))],
  ['contains', fn([S, S], ([s, sub]) => str(s).includes(str(sub)))],
  ['replace', fn([S, S, S, INT], ([s, o, n, c]) => goReplace(str(s), str(o), str(n), Number(c)))],
  ['trimSuffix', fn([S, S], ([s, suf]) => {
    const x = str(s);
    const y = str(suf);
    return y !== '' && x.endsWith(y) ? x.slice(0, x.length - y.length) : x;
  })],
  ['lookupIP', fn([S], ([h], rc) => lookupIPs(rc, str(h)))],
  ['lookupIPV4', fn([S], ([h], rc) => lookupIPs(rc, str(h), '.'))],
  ['lookupIPV6', fn([S], ([h], rc) => lookupIPs(rc, str(h), ':'))],
  ['lookupSRV', fn([S, S, S], ([svc, proto, name], rc) => {
    const recs = lookupSRV(rc.confd.dns, str(svc), str(proto), str(name));
    return new GoSlice(SRV_PTRS, recs.map((r) => new GoPtr(SRV_PTR, new GoStruct(SRV, [
      r.Target, new GoNum(UINT16, r.Port), new GoNum(UINT16, r.Priority), new GoNum(UINT16, r.Weight),
    ]))));
  })],
  ['fileExists', fn([S], ([p], rc) => rc.confd.fileExists(str(p)))],
  ['base64Encode', fn([S], ([s]) => base64Encode(str(s)))],
  ['base64Decode', fn([S], ([s]) => base64Decode(str(s)))],
  ['parseBool', fn([S], ([s]) => parseBool(str(s)))],
  // A type switch on []string and []memkv.KVPair: memkv.KVPairs (what gets returns) is
  // neither, so confd leaves it as it is.
  ['reverse', fn([IFACE], ([v]) => {
    if (v instanceof GoSlice && (v.t === STRINGS || v.t === KVPAIR_SLICE)) reverseInPlace(...sliceWindow(v));
    return v;
  })],
  ['sortByLength', fn([STRINGS], ([v]) => {
    const s = v as GoSlice;
    sortByLength(s.a as string[], s.off, s.n);
    return s;
  })],
  ['sortKVByLength', fn([KVPAIR_SLICE], ([v]) => {
    const s = v as GoSlice;
    goSortArray(s.a as GoStruct[], (x, y) => utf8Length(x.f[0] as string) < utf8Length(y.f[0] as string), s.off, s.n);
    return s;
  })],
  ['add', fn([INT, INT], ([a, b]) => intArith.add(intArg(a), intArg(b)))],
  ['sub', fn([INT, INT], ([a, b]) => intArith.sub(intArg(a), intArg(b)))],
  ['div', fn([INT, INT], ([a, b]) => intArith.div(intArg(a), intArg(b)))],
  ['mod', fn([INT, INT], ([a, b]) => intArith.mod(intArg(a), intArg(b)))],
  ['mul', fn([INT, INT], ([a, b]) => intArith.mul(intArg(a), intArg(b)))],
  ['seq', fn([INT, INT], ([a, b]) => {
    const out: GoValue[] = [];
    const last = Number(b);
    for (let i = Number(a); i <= last; i++) out.push(i);
    return new GoSlice(INTS, out, 0, out.length, out.length, out.length === 0);
  })],
  ['atoi', fn([S], ([s]) => atoi(str(s)))],
]);
