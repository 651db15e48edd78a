// Go values to and from plain JavaScript values: JSON as encoding/json decodes it into
// interface{}, and the arguments and results of functions written in JavaScript (steward's own
// template functions), which take and return plain values. Go strings are byte strings
// (bytes.ts); plain strings are Unicode text, converted on the way in and out.

import { fromBytes, toBytes } from './bytes.ts';
import type { JsonValue } from './json.ts';
import { GoTime } from './time.ts';
import { timeValue } from './time-value.ts';
import { FLOAT64, GoMap, GoNum, GoPtr, GoSlice, GoStruct, GoTimeValue, IFACES, MAP_STRING_IFACE, STRINGS } from './value.ts';
import type { GoValue, MapKey } from './value.ts';

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
  if (typeof v === 'string') return fromBytes(v);
  if (typeof v !== 'object') return v;
  if (v instanceof GoNum) return typeof v.v === 'bigint' ? v.v : v.v;
  if (v instanceof GoSlice) {
    const out: unknown[] = [];
    for (let i = 0; i < v.n; i++) out.push(goToPlain(v.at(i)));
    return out;
  }
  if (v instanceof GoMap) {
    const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, x] of v.m) o[typeof k === 'string' ? fromBytes(k) : String(k)] = goToPlain(x);
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
 * of strings (and empty arrays) []string, other arrays []interface{}, objects what `asStruct`
 * makes of them (a dialect's struct types) or else map[string]interface{}.
 */
export function plainToGo(v: unknown, asStruct?: (o: Record<string, unknown>) => GoStruct | undefined): GoValue {
  if (v === undefined || v === null) return null;
  switch (typeof v) {
    case 'string':
      return toBytes(v);
    case 'boolean':
    case 'bigint':
      return v;
    case 'number':
      return Number.isInteger(v) ? v : new GoNum(FLOAT64, v);
    case 'function':
    case 'symbol':
      return null;
  }
  if (v instanceof GoTime) return timeValue(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) {
      const a = (v as string[]).map(toBytes);
      return new GoSlice(STRINGS, a, 0, a.length, a.length, false);
    }
    return new GoSlice(IFACES, v.map((x) => plainToGo(x, asStruct)));
  }
  const o = v as Record<string, unknown>;
  const s = asStruct?.(o);
  if (s !== undefined) return s;
  const m = new Map<MapKey, GoValue>();
  for (const k of Object.keys(o)) m.set(toBytes(k), plainToGo(o[k], asStruct));
  return new GoMap(MAP_STRING_IFACE, m);
}
