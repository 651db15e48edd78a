// confd's template function set (confd 0.17.0-dev, resource/template/template_funcs.go plus
// memkv's store functions) as plain JavaScript functions, for any engine. Values are plain:
// strings, numbers, booleans, arrays, { Key, Value } pairs, JSON objects. The nunjucks engine
// calls them directly; go-functions.ts gives the Go engine the same functions with Go's types.
// Strings here are Unicode text; the parts of ../go/ that work on byte strings (JSON, strconv)
// are reached through toBytes/fromBytes.

import { statSync } from 'node:fs';
import { fromBytes, toBytes } from '../go/bytes.ts';
import { GoError } from '../go/errors.ts';
import { decodeJsonArray, decodeJsonObject } from '../go/json.ts';
import type { JsonObject, JsonValue } from '../go/json.ts';
import { base, dir } from '../go/path.ts';
import { goSortArray } from '../go/sort.ts';
import { atoi, base64Decode, base64Encode, parseBool } from '../go/strconv.ts';
import { compareGo, goReplace, goSplit, goToLower, goToUpper, lessGo, utf8Length } from '../go/strings.ts';
import type { GoTime } from '../go/time.ts';
import type { SrvRecord, SyncResolver } from './dns.ts';
import type { KVPair, KvStore } from './store.ts';

/** Where confd's functions get the world from; tests replace the clock, files and DNS. */
export interface ConfdContext {
  readonly store: KvStore;
  /** Environment for getenv. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** time.Now for datetime. */
  readonly now: () => GoTime;
  /** os.Stat-based existence check for fileExists. */
  readonly fileExists: (path: string) => boolean;
  readonly dns: Pick<SyncResolver, 'lookupIP' | 'lookupSRV'>;
}

/**
 * confd's fileExists: true unless stat fails with "does not exist" (Go's os.IsNotExist only
 * matches ENOENT, so a permission error still counts as existing).
 */
export function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export type IntValue = number | bigint;

function int64(v: bigint): IntValue {
  const w = BigInt.asIntN(64, v);
  return w >= BigInt(Number.MIN_SAFE_INTEGER) && w <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(w) : w;
}

function intOp(a: IntValue, b: IntValue, op: '+' | '-' | '*' | '/' | '%'): IntValue {
  if (typeof a === 'number' && typeof b === 'number') {
    let r: number;
    switch (op) {
      case '+': r = a + b; break;
      case '-': r = a - b; break;
      case '*': r = a * b; break;
      case '/':
        if (b === 0) throw new GoError('runtime error: integer divide by zero');
        r = Math.trunc(a / b);
        break;
      case '%':
        if (b === 0) throw new GoError('runtime error: integer divide by zero');
        r = a % b;
        break;
    }
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  switch (op) {
    case '+': return int64(x + y);
    case '-': return int64(x - y);
    case '*': return int64(x * y);
    case '/':
      if (y === 0n) throw new GoError('runtime error: integer divide by zero');
      return int64(x / y);
    case '%':
      if (y === 0n) throw new GoError('runtime error: integer divide by zero');
      return int64(x % y);
  }
}

/** The arithmetic confd offers (Go int: 64-bit, wrapping, truncating division). */
export const intArith = {
  add: (a: IntValue, b: IntValue): IntValue => intOp(a, b, '+'),
  sub: (a: IntValue, b: IntValue): IntValue => intOp(a, b, '-'),
  mul: (a: IntValue, b: IntValue): IntValue => intOp(a, b, '*'),
  div: (a: IntValue, b: IntValue): IntValue => intOp(a, b, '/'),
  mod: (a: IntValue, b: IntValue): IntValue => intOp(a, b, '%'),
};

/** confd's seq: first..last inclusive, empty when first > last. */
export function seq(first: number, last: number): number[] {
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(i);
  return out;
}

/** confd's sortByLength: in place, by UTF-8 length, with Go's unstable sort.Sort. */
export function sortByLength(values: string[], off = 0, n = values.length - off): string[] {
  goSortArray(values, (a, b) => utf8Length(a) < utf8Length(b), off, n);
  return values;
}

/** confd's sortKVByLength: in place, by key length. */
export function sortKVByLength<T extends KVPair>(values: T[], off = 0, n = values.length - off): T[] {
  goSortArray(values, (a, b) => utf8Length(a.Key) < utf8Length(b.Key), off, n);
  return values;
}

/** Reverses arr[off:off+n] in place, as confd's reverse does for []string and []KVPair. */
export function reverseInPlace<T>(arr: T[], off = 0, n = arr.length - off): T[] {
  for (let l = off, r = off + n - 1; l < r; l++, r--) {
    const t = arr[l] as T;
    arr[l] = arr[r] as T;
    arr[r] = t;
  }
  return arr;
}

/** confd's lookupIP: sorted as strings; empty when the lookup fails. */
export function lookupIP(dns: ConfdContext['dns'], host: string): string[] {
  const ips = dns.lookupIP(host);
  if (ips === null) return [];
  const out = [...ips];
  goSortArray(out, lessGo);
  return out;
}

function srvSortKey(s: SrvRecord): string {
  return `${s.Target}${s.Port}${s.Priority}${s.Weight}`;
}

/** confd's lookupSRV: sorted by target+port+priority+weight as one string. */
export function lookupSRV(dns: ConfdContext['dns'], service: string, proto: string, name: string): SrvRecord[] {
  const recs = dns.lookupSRV(service, proto, name);
  if (recs === null) return [];
  const out = recs.map((r) => ({ ...r }));
  goSortArray(out, (a, b) => compareGo(srvSortKey(a), srvSortKey(b)) < 0);
  return out;
}

/** confd's getenv: the variable, or the default (or "") when it is unset or empty. */
export function getenv(env: ConfdContext['env'], key: string, ...defaults: string[]): string {
  const v = env[key];
  if (v === undefined || v === '') return defaults[0] ?? '';
  return v;
}

// A decoded JSON value with its byte strings turned back into text.
function jsonText<T extends JsonValue>(v: T): T {
  if (typeof v === 'string') return fromBytes(v) as T;
  if (Array.isArray(v)) return v.map(jsonText) as T;
  if (v === null || typeof v !== 'object') return v;
  // No prototype, as the decoder builds them: a "__proto__" key is just a key.
  const o = Object.create(null) as JsonObject;
  for (const k of Object.keys(v)) o[fromBytes(k)] = jsonText((v as JsonObject)[k] as JsonValue);
  return o as T;
}

// Runs a byte-string function on text, with its error message read back as text.
function onText<R>(f: (s: string) => R): (s: string) => R {
  return (s) => {
    try {
      return f(toBytes(s));
    } catch (e) {
      if (e instanceof GoError) throw new GoError(fromBytes(e.message));
      throw e;
    }
  };
}

/** confd's map: key/value arguments into an object; keys must be strings. */
export function createMap(...values: unknown[]): Record<string, unknown> {
  if (values.length % 2 !== 0) throw new GoError('invalid map call');
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (let i = 0; i < values.length; i += 2) {
    const k = values[i];
    if (typeof k !== 'string') throw new GoError('map keys must be strings');
    out[k] = values[i + 1];
  }
  return out;
}

export interface ConfdFunctions {
  getv(key: string, ...defaults: string[]): string;
  getvs(pattern: string): string[];
  get(key: string): KVPair;
  gets(pattern: string): KVPair[];
  exists(key: string): boolean;
  ls(path: string): string[];
  lsdir(path: string): string[];
  json(data: string): JsonObject | null;
  jsonArray(data: string): JsonValue[] | null;
  base(path: string): string;
  dir(path: string): string;
  split(s: string, sep: string): string[];
  join(values: readonly string[], sep: string): string;
  map(...values: unknown[]): Record<string, unknown>;
  getenv(key: string, ...defaults: string[]): string;
  datetime(): GoTime;
  toUpper(s: string): string;
  toLower(s: string): string;
  contains(s: string, substr: string): boolean;
  replace(s: string, old: string, repl: string, n: number): string;
  trimSuffix(s: string, suffix: string): string;
  lookupIP(host: string): string[];
  lookupIPV4(host: string): string[];
  lookupIPV6(host: string): string[];
  lookupSRV(service: string, proto: string, name: string): SrvRecord[];
  fileExists(path: string): boolean;
  base64Encode(s: string): string;
  base64Decode(s: string): string;
  parseBool(s: string): boolean;
  reverse<T>(values: T): T;
  sortByLength(values: string[]): string[];
  sortKVByLength(values: KVPair[]): KVPair[];
  add(a: IntValue, b: IntValue): IntValue;
  sub(a: IntValue, b: IntValue): IntValue;
  mul(a: IntValue, b: IntValue): IntValue;
  div(a: IntValue, b: IntValue): IntValue;
  mod(a: IntValue, b: IntValue): IntValue;
  seq(first: number, last: number): number[];
  atoi(s: string): IntValue;
}

/**
 * confd's functions bound to one render's context. Errors are thrown as GoError with the
 * message Go's error would print (e.g. "key does not exist: /db/host").
 */
export function createConfdFunctions(ctx: ConfdContext): ConfdFunctions {
  const { store } = ctx;
  return {
    getv: (key, ...defaults) => store.getv(key, ...defaults),
    getvs: (pattern) => store.getvs(pattern),
    get: (key) => store.get(key),
    gets: (pattern) => store.gets(pattern),
    exists: (key) => store.exists(key),
    ls: (path) => store.ls(path),
    lsdir: (path) => store.lsdir(path),
    json: onText((data) => {
      const v = decodeJsonObject(data);
      return v === null ? null : jsonText(v);
    }),
    jsonArray: onText((data) => {
      const v = decodeJsonArray(data);
      return v === null ? null : jsonText(v);
    }),
    base,
    dir,
    split: goSplit,
    join: (values, sep) => values.join(sep),
    map: createMap,
    getenv: (key, ...defaults) => getenv(ctx.env, key, ...defaults),
    datetime: () => ctx.now(),
    toUpper: goToUpper,
    toLower: goToLower,
    contains: (s, substr) => s.includes(substr),
    replace: goReplace,
    trimSuffix: (s, suffix) => (suffix !== '' && s.endsWith(suffix) ? s.slice(0, s.length - suffix.length) : s),
    lookupIP: (host) => lookupIP(ctx.dns, host),
    lookupIPV4: (host) => lookupIP(ctx.dns, host).filter((ip) => ip.includes('.')),
    lookupIPV6: (host) => lookupIP(ctx.dns, host).filter((ip) => ip.includes(':')),
    lookupSRV: (service, proto, name) => lookupSRV(ctx.dns, service, proto, name),
    fileExists: (path) => ctx.fileExists(path),
    base64Encode,
    base64Decode,
    parseBool: onText(parseBool),
    // In Go, confd's reverse only touches []string and []memkv.KVPair, so the memkv.KVPairs
    // that gets returns come back unreversed; plain arrays carry no such type, so any array is
    // reversed here (the Go engine keeps confd's behaviour).
    reverse: <T>(values: T): T => {
      if (Array.isArray(values)) reverseInPlace(values);
      return values;
    },
    sortByLength: (values) => sortByLength(values),
    sortKVByLength: (values) => sortKVByLength(values),
    ...intArith,
    seq,
    atoi: onText(atoi),
  };
}
