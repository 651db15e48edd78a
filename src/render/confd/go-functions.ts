// confd's function map with the Go signatures confd registers, so arguments are checked and
// converted as text/template would, and results carry confd's Go types (memkv.KVPairs,
// []string, map[string]interface{} with float64 numbers, []*net.SRV, time.Time, ...).

import type { GoFunc, GoFunctions } from '../go/funcs.ts';
import { GoError } from '../go/errors.ts';
import { decodeJsonArray, decodeJsonObject } from '../go/json.ts';
import { base, dir } from '../go/path.ts';
import { jsonToGo } from '../go/plain.ts';
import { goSortArray } from '../go/sort.ts';
import { fromBytes, toBytes } from '../go/bytes.ts';
import { atoi, base64DecodeBytes, base64EncodeBytes, parseBool } from '../go/strconv.ts';
import { replaceBytes, splitBytes, toLowerBytes, toUpperBytes } from '../go/strings.ts';
import { timeValue } from '../go/time-value.ts';
import {
  GoMap, GoNum, GoPtr, GoSlice, GoStruct, GoType, IFACE, IFACES, INT, INTS, MAP_STRING_IFACE, STRING, STRINGS,
  UINT16, ptrTo, sliceOf,
} from '../go/value.ts';
import type { GoMethod, GoValue, MapKey } from '../go/value.ts';
import { intArith, lookupIP, lookupSRV, reverseInPlace } from './functions.ts';
import type { ConfdContext, IntValue } from './functions.ts';
import type { KVPair } from './store.ts';

function method(params: GoType[], call: (recv: GoValue, args: GoValue[]) => GoValue): GoMethod {
  return { params, call };
}

const KVPAIR = new GoType('struct', 'memkv.KVPair', {
  named: true,
  fields: [{ name: 'Key', type: STRING }, { name: 'Value', type: STRING }],
  // memkv's KVPair.Depth: the number of "/" in the key.
  methods: new Map([['Depth', method([], (r) => ((r as GoStruct).f[0] as string).split('/').length - 1)]]),
});
const KVPAIR_SLICE = sliceOf(KVPAIR);
const KVPAIRS = new GoType('slice', 'memkv.KVPairs', { named: true, elem: KVPAIR, underlying: KVPAIR_SLICE });

const SRV = new GoType('struct', 'net.SRV', {
  named: true,
  fields: [
    { name: 'Target', type: STRING },
    { name: 'Port', type: UINT16 },
    { name: 'Priority', type: UINT16 },
    { name: 'Weight', type: UINT16 },
  ],
});
const SRV_PTR = ptrTo(SRV);
const SRV_PTRS = sliceOf(SRV_PTR);

function kvPair(p: KVPair): GoStruct {
  return new GoStruct(KVPAIR, [p.Key, p.Value]);
}

function strings(a: string[], isNil = false): GoSlice {
  return new GoSlice(STRINGS, a, 0, a.length, a.length, isNil);
}

/** steward's functions return memkv.KVPair as a plain { Key, Value } object. */
export function kvPairOf(o: Record<string, unknown>): GoStruct | undefined {
  const keys = Object.keys(o);
  if (keys.length === 2 && typeof o['Key'] === 'string' && typeof o['Value'] === 'string') {
    return new GoStruct(KVPAIR, [toBytes(o['Key']), toBytes(o['Value'])]);
  }
  return undefined;
}

// ---- the function map ----

const S = STRING;

type ConfdFunc = GoFunc<ConfdContext>;

function fn(params: GoType[], call: (args: GoValue[], rc: ConfdContext) => GoValue, variadic?: GoType): ConfdFunc {
  return variadic === undefined ? { params, call } : { params, variadic, call };
}

function str(v: GoValue): string {
  return v as string;
}

function intArg(v: GoValue): IntValue {
  return v as IntValue;
}

function lookupIPs(rc: ConfdContext, host: string, keep?: string): GoSlice {
  const ips = rc.dns.lookupIP(host);
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
export const confdGoFunctions: GoFunctions<ConfdContext> = new Map<string, ConfdFunc>([
  // memkv's store functions
  ['exists', fn([S], ([k], rc) => rc.store.exists(str(k)))],
  ['ls', fn([S], ([p], rc) => strings(rc.store.ls(str(p))))],
  ['lsdir', fn([S], ([p], rc) => strings(rc.store.lsdir(str(p))))],
  ['get', fn([S], ([k], rc) => kvPair(rc.store.get(str(k))))],
  ['gets', fn([S], ([p], rc) => {
    const pairs = rc.store.gets(str(p)).map(kvPair);
    return new GoSlice(KVPAIRS, pairs);
  })],
  ['getv', fn([S], ([k, ...d], rc) => rc.store.getv(str(k), ...(d as string[])), S)],
  ['getvs', fn([S], ([p], rc) => strings(rc.store.getvs(str(p))))],
  // template_funcs.go
  ['base', fn([S], ([p]) => base(str(p)))],
  ['split', fn([S, S], ([s, sep]) => strings(splitBytes(str(s), str(sep))))],
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
    if (values.length % 2 !== 0) throw new GoError('invalid map call');
    const m = new Map<MapKey, GoValue>();
    for (let i = 0; i < values.length; i += 2) {
      const k = values[i];
      if (typeof k !== 'string') throw new GoError('map keys must be strings');
      m.set(k, values[i + 1]);
    }
    return new GoMap(MAP_STRING_IFACE, m);
  }, IFACE)],
  // The environment is Unicode text (Node decoded it): names are looked up as text, the value
  // comes back as its UTF-8 bytes.
  ['getenv', fn([S], ([k, ...d], rc) => {
    const v = rc.env[fromBytes(str(k))];
    return v === undefined || v === '' ? ((d[0] as string | undefined) ?? '') : toBytes(v);
  }, S)],
  ['join', fn([STRINGS, S], ([a, sep]) => {
    const s = a as GoSlice;
    const parts: string[] = [];
    for (let i = 0; i < s.n; i++) parts.push(s.at(i) as string);
    return parts.join(str(sep));
  })],
  ['datetime', fn([], (_a, rc) => timeValue(rc.now()))],
  ['toUpper', fn([S], ([s]) => toUpperBytes(str(s)))],
  ['toLower', fn([S], ([s]) => toLowerBytes(str(s)))],
  ['contains', fn([S, S], ([s, sub]) => str(s).includes(str(sub)))],
  ['replace', fn([S, S, S, INT], ([s, o, n, c]) => replaceBytes(str(s), str(o), str(n), Number(c)))],
  ['trimSuffix', fn([S, S], ([s, suf]) => {
    const x = str(s);
    const y = str(suf);
    return y !== '' && x.endsWith(y) ? x.slice(0, x.length - y.length) : x;
  })],
  ['lookupIP', fn([S], ([h], rc) => lookupIPs(rc, fromBytes(str(h))))],
  ['lookupIPV4', fn([S], ([h], rc) => lookupIPs(rc, fromBytes(str(h)), '.'))],
  ['lookupIPV6', fn([S], ([h], rc) => lookupIPs(rc, fromBytes(str(h)), ':'))],
  ['lookupSRV', fn([S, S, S], ([svc, proto, name], rc) => {
    const recs = lookupSRV(rc.dns, fromBytes(str(svc)), fromBytes(str(proto)), fromBytes(str(name)));
    return new GoSlice(SRV_PTRS, recs.map((r) => new GoPtr(SRV_PTR, new GoStruct(SRV, [
      toBytes(r.Target), new GoNum(UINT16, r.Port), new GoNum(UINT16, r.Priority), new GoNum(UINT16, r.Weight),
    ]))));
  })],
  ['fileExists', fn([S], ([p], rc) => rc.fileExists(fromBytes(str(p))))],
  ['base64Encode', fn([S], ([s]) => base64EncodeBytes(str(s)))],
  ['base64Decode', fn([S], ([s]) => base64DecodeBytes(str(s)))],
  ['parseBool', fn([S], ([s]) => parseBool(str(s)))],
  // A type switch on []string and []memkv.KVPair: memkv.KVPairs (what gets returns) is
  // neither, so confd leaves it as it is.
  ['reverse', fn([IFACE], ([v]) => {
    if (v instanceof GoSlice && (v.t === STRINGS || v.t === KVPAIR_SLICE)) reverseInPlace(...sliceWindow(v));
    return v;
  })],
  ['sortByLength', fn([STRINGS], ([v]) => {
    const s = v as GoSlice;
    goSortArray(s.a as string[], (x, y) => x.length < y.length, s.off, s.n);
    return s;
  })],
  ['sortKVByLength', fn([KVPAIR_SLICE], ([v]) => {
    const s = v as GoSlice;
    goSortArray(s.a as GoStruct[], (x, y) => (x.f[0] as string).length < (y.f[0] as string).length, s.off, s.n);
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
