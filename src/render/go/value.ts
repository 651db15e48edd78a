// A small model of Go's runtime values, enough for text/template to behave as it does with
// confd's data: Go's int, float64 and string stay distinct, named types keep their names for
// error messages, slices share their backing arrays (confd's reverse and sortByLength work in
// place), and "no value" (an invalid reflect.Value) differs from a nil interface.
//
//   undefined      an invalid reflect.Value: prints "<no value>"
//   null           a nil interface{} (a missing []interface{} element, the nil keyword)
//   string         Go string          boolean   Go bool
//   number|bigint  Go int (bigint only outside the safe-integer range)
//   GoNum          any other numeric type (float64, uint8, uint16, int64, time.Month, ...)
//   GoSlice/GoMap/GoStruct/GoPtr/GoTimeValue   composite values carrying their Go type

import type { GoTime } from './time.ts';

export type Kind =
  | 'bool' | 'int' | 'int64' | 'uint8' | 'uint16' | 'float64' | 'complex128' | 'string'
  | 'slice' | 'map' | 'struct' | 'ptr' | 'interface' | 'reflect';

/** A method callable from a template: receives the receiver and the converted arguments. */
export interface GoMethod {
  readonly params: readonly GoType[];
  readonly variadic?: GoType;
  readonly call: (recv: GoValue, args: GoValue[]) => GoValue;
}

export class GoType {
  readonly kind: Kind;
  /** What reflect.Type.String() prints. */
  readonly str: string;
  /** Defined (named) types: predeclared ones like int too. */
  readonly named: boolean;
  readonly elem: GoType | undefined;
  readonly key: GoType | undefined;
  readonly fields: readonly { readonly name: string; readonly type: GoType }[];
  readonly methods: ReadonlyMap<string, GoMethod>;
  /** The type's underlying type (itself for unnamed composite types). */
  readonly underlying: GoType;

  constructor(
    kind: Kind,
    str: string,
    opts: {
      named?: boolean;
      elem?: GoType;
      key?: GoType;
      fields?: readonly { name: string; type: GoType }[];
      methods?: ReadonlyMap<string, GoMethod>;
      underlying?: GoType;
    } = {},
  ) {
    this.kind = kind;
    this.str = str;
    this.named = opts.named ?? false;
    this.elem = opts.elem;
    this.key = opts.key;
    this.fields = opts.fields ?? [];
    this.methods = opts.methods ?? new Map();
    this.underlying = opts.underlying ?? this;
  }

  fieldIndex(name: string): number {
    for (let i = 0; i < this.fields.length; i++) if ((this.fields[i] as { name: string }).name === name) return i;
    return -1;
  }
}

export const BOOL = new GoType('bool', 'bool', { named: true });
export const INT = new GoType('int', 'int', { named: true });
export const INT64 = new GoType('int64', 'int64', { named: true });
export const UINT8 = new GoType('uint8', 'uint8', { named: true });
export const UINT16 = new GoType('uint16', 'uint16', { named: true });
export const FLOAT64 = new GoType('float64', 'float64', { named: true });
export const COMPLEX128 = new GoType('complex128', 'complex128', { named: true });
export const STRING = new GoType('string', 'string', { named: true });
/** interface {} */
export const IFACE = new GoType('interface', 'interface {}');
/** Marks parameters declared as reflect.Value (the builtins receive values unconverted). */
export const REFLECT = new GoType('reflect', 'reflect.Value', { named: true });

// Unnamed composite types are compared by identity, so each one is created exactly once, here
// or next to the named type it belongs to.
export function sliceOf(elem: GoType): GoType {
  return new GoType('slice', '[]' + elem.str, { elem });
}

export function mapOf(key: GoType, elem: GoType): GoType {
  return new GoType('map', `map[${key.str}]${elem.str}`, { key, elem });
}

export function ptrTo(elem: GoType): GoType {
  return new GoType('ptr', '*' + elem.str, { elem });
}

export const STRINGS = sliceOf(STRING);
export const IFACES = sliceOf(IFACE);
export const INTS = sliceOf(INT);
export const MAP_STRING_IFACE = mapOf(STRING, IFACE);

/** Numeric values of types other than int. */
export class GoNum {
  readonly t: GoType;
  readonly v: number | bigint;
  constructor(t: GoType, v: number | bigint) {
    this.t = t;
    this.v = v;
  }
}

export class GoComplex {
  readonly t: GoType = COMPLEX128;
  readonly re: number;
  readonly im: number;
  constructor(re: number, im: number) {
    this.re = re;
    this.im = im;
  }
}

/** A slice header over a shared backing array. */
export class GoSlice {
  readonly t: GoType;
  readonly a: GoValue[];
  readonly off: number;
  readonly n: number;
  readonly cap: number;
  readonly isNil: boolean;
  constructor(t: GoType, a: GoValue[], off = 0, n = a.length - off, cap = a.length - off, isNil = false) {
    this.t = t;
    this.a = a;
    this.off = off;
    this.n = n;
    this.cap = cap;
    this.isNil = isNil;
  }
  at(i: number): GoValue {
    return this.a[this.off + i];
  }
  /** The same elements seen as another (assignable) slice type. */
  as(t: GoType): GoSlice {
    return t === this.t ? this : new GoSlice(t, this.a, this.off, this.n, this.cap, this.isNil);
  }
}

export type MapKey = string | number | bigint | boolean;

export class GoMap {
  readonly t: GoType;
  readonly m: Map<MapKey, GoValue>;
  readonly isNil: boolean;
  constructor(t: GoType, m: Map<MapKey, GoValue> = new Map(), isNil = false) {
    this.t = t;
    this.m = m;
    this.isNil = isNil;
  }
}

export class GoStruct {
  readonly t: GoType;
  readonly f: readonly GoValue[];
  constructor(t: GoType, f: readonly GoValue[]) {
    this.t = t;
    this.f = f;
  }
}

export class GoPtr {
  readonly t: GoType;
  readonly p: GoStruct | null;
  constructor(t: GoType, p: GoStruct | null) {
    this.t = t;
    this.p = p;
  }
}

export class GoTimeValue {
  readonly t: GoType;
  readonly time: GoTime;
  constructor(t: GoType, time: GoTime) {
    this.t = t;
    this.time = time;
  }
}

export type GoObject = GoNum | GoComplex | GoSlice | GoMap | GoStruct | GoPtr | GoTimeValue;
export type GoValue = undefined | null | string | boolean | number | bigint | GoObject;

/** The dynamic type of a valid, non-nil value. */
export function typeOf(v: Exclude<GoValue, undefined | null>): GoType {
  switch (typeof v) {
    case 'string': return STRING;
    case 'boolean': return BOOL;
    case 'number':
    case 'bigint': return INT;
    default: return v.t;
  }
}

/** Go's assignability for the types that occur here. */
export function assignable(v: GoType, t: GoType): boolean {
  if (v === t || t.kind === 'interface') return true;
  return v.underlying === t.underlying && (!v.named || !t.named);
}

export function canBeNil(t: GoType): boolean {
  switch (t.kind) {
    case 'slice': case 'map': case 'ptr': case 'interface': case 'reflect':
      return true;
  }
  return false;
}

/** reflect.Zero(t). */
export function zeroOf(t: GoType): GoValue {
  switch (t.kind) {
    case 'interface': return null;
    case 'reflect': return undefined;
    case 'slice': return new GoSlice(t, [], 0, 0, 0, true);
    case 'map': return new GoMap(t, new Map(), true);
    case 'ptr': return new GoPtr(t, null);
    case 'string': return '';
    case 'bool': return false;
    case 'int': return t === INT ? 0 : new GoNum(t, 0);
    case 'struct': return new GoStruct(t, t.fields.map((f) => zeroOf(f.type)));
    default: return new GoNum(t, 0);
  }
}

/** Go's truth (template.IsTrue) for if, with, and, or, not. */
export function truth(v: GoValue): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case 'string': return v.length > 0;
    case 'boolean': return v;
    case 'number': return v !== 0;
    case 'bigint': return v !== 0n;
  }
  if (v instanceof GoNum) return v.v !== 0 && v.v !== 0n;
  if (v instanceof GoSlice) return v.n > 0;
  if (v instanceof GoMap) return v.m.size > 0;
  if (v instanceof GoPtr) return v.p !== null;
  if (v instanceof GoComplex) return v.re !== 0 || v.im !== 0;
  return true; // structs are always true
}
