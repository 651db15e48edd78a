// text/template's builtin functions (funcs.go): and, or, not, len, index, slice, print,
// printf, println, html, js, urlquery, call, eq, ne, lt, le, gt, ge, with Go's error texts.

import { decodeRuneAt } from './bytes.ts';
import { compareGo, isPrint } from './strings.ts';
import { formatValue, sprint, sprintf, sprintln } from './fmt.ts';
import { GoError } from './errors.ts';
import type { GoFunc } from './funcs.ts';
import {
  GoComplex, GoMap, GoNum, GoPtr, GoSlice, GoStruct, GoTimeValue, IFACE, INT, REFLECT, STRING, UINT8,
  assignable, canBeNil, truth, typeOf, zeroOf,
} from './value.ts';
import type { GoType, GoValue, MapKey } from './value.ts';

type BasicKind = 'invalid' | 'bool' | 'complex' | 'int' | 'float' | 'string' | 'uint';

function fail(msg: string): never {
  throw new GoError(msg);
}

const ZERO_VALUE_TYPE = 'reflect: call of reflect.Value.Type on zero Value';

function indirectInterface(v: GoValue): GoValue {
  return v === null ? undefined : v;
}

function basicKind(v: GoValue): BasicKind {
  if (v === undefined || v === null) return 'invalid';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'number':
    case 'bigint': return 'int';
    case 'string': return 'string';
  }
  if (v instanceof GoNum) {
    switch (v.t.kind) {
      case 'float64': return 'float';
      case 'uint8':
      case 'uint16': return 'uint';
      default: return 'int';
    }
  }
  if (v instanceof GoComplex) return 'complex';
  return 'invalid';
}

function num(v: GoValue): number | bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (v instanceof GoNum) return v.v;
  return 0;
}

function kindName(v: GoValue): string {
  if (v === undefined) return 'invalid';
  if (v === null) return 'interface';
  if (typeof v !== 'object') return typeof v;
  if (v instanceof GoSlice) return 'slice';
  if (v instanceof GoMap) return 'map';
  if (v instanceof GoPtr) return 'ptr';
  return 'struct';
}

function isNil(v: GoValue): boolean {
  if (v === undefined || v === null) return true;
  if (v instanceof GoSlice || v instanceof GoMap) return v.isNil;
  if (v instanceof GoPtr) return v.p === null;
  return false;
}

function comparable(v: GoValue): boolean {
  return !(v instanceof GoSlice || v instanceof GoMap);
}

function deepEqualComparable(a: GoValue, b: GoValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a.t !== b.t) return false;
  if (a instanceof GoStruct && b instanceof GoStruct) return a.f.every((x, i) => deepEqualComparable(x, b.f[i]));
  if (a instanceof GoPtr && b instanceof GoPtr) return a.p === b.p;
  if (a instanceof GoTimeValue && b instanceof GoTimeValue) {
    return a.time.unix === b.time.unix && a.time.nsec === b.time.nsec && a.time.zone === b.time.zone && a.time.mono === b.time.mono;
  }
  if (a instanceof GoNum && b instanceof GoNum) return a.v === b.v;
  return false;
}

function typeStr(v: GoValue): string {
  if (v === undefined) fail(ZERO_VALUE_TYPE);
  return v === null ? 'interface {}' : typeOf(v).str;
}

function eq(arg1: GoValue, rest: GoValue[]): boolean {
  arg1 = indirectInterface(arg1);
  if (rest.length === 0) fail('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (let arg of rest) {
    arg = indirectInterface(arg);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (k1 === 'int' && k2 === 'uint') {
        const a = BigInt(num(arg1));
        truth = a >= 0n && a === BigInt(num(arg));
      } else if (k1 === 'uint' && k2 === 'int') {
        const b = BigInt(num(arg));
        truth = b >= 0n && BigInt(num(arg1)) === b;
      } else if (arg1 !== undefined && arg !== undefined) {
        fail('incompatible types for comparison');
      }
    } else {
      switch (k1) {
        case 'bool':
        case 'string':
          truth = arg1 === arg;
          break;
        case 'int':
        case 'uint':
          truth = BigInt(num(arg1)) === BigInt(num(arg));
          break;
        case 'float':
          truth = num(arg1) === num(arg);
          break;
        case 'complex':
          truth = (arg1 as GoComplex).re === (arg as GoComplex).re && (arg1 as GoComplex).im === (arg as GoComplex).im;
          break;
        default: {
          const ka = kindName(arg1);
          const kb = kindName(arg);
          if (ka !== kb && ka !== 'invalid' && kb !== 'invalid') {
            fail(`non-comparable types ${formatValue(arg1, 's')}: ${typeStr(arg1)}, ${typeStr(arg)}: ${formatValue(arg)}`);
          }
          if (isNil(arg1) || isNil(arg)) truth = isNil(arg) === isNil(arg1);
          else {
            if (!comparable(arg)) fail(`non-comparable type ${formatValue(arg, 's')}: ${typeStr(arg)}`);
            truth = deepEqualComparable(arg1, arg);
          }
        }
      }
    }
    if (truth) return true;
  }
  return false;
}

function lt(arg1: GoValue, arg2: GoValue): boolean {
  arg1 = indirectInterface(arg1);
  const k1 = basicKind(arg1);
  if (k1 === 'invalid') fail('invalid type for comparison');
  arg2 = indirectInterface(arg2);
  const k2 = basicKind(arg2);
  if (k2 === 'invalid') fail('invalid type for comparison');
  if (k1 !== k2) {
    if (k1 === 'int' && k2 === 'uint') {
      const a = BigInt(num(arg1));
      return a < 0n || a < BigInt(num(arg2));
    }
    if (k1 === 'uint' && k2 === 'int') {
      const b = BigInt(num(arg2));
      return b >= 0n && BigInt(num(arg1)) < b;
    }
    fail('incompatible types for comparison');
  }
  switch (k1) {
    case 'bool':
    case 'complex':
      fail('invalid type for comparison');
    // falls through (fail never returns)
    case 'float':
      return num(arg1) < num(arg2);
    case 'int':
    case 'uint':
      return BigInt(num(arg1)) < BigInt(num(arg2));
    default:
      return compareGo(arg1 as string, arg2 as string) < 0;
  }
}

function le(a: GoValue, b: GoValue): boolean {
  return lt(a, b) || eq(a, [b]);
}

function indexArg(index: GoValue, cap: number): number {
  let x: bigint;
  index = indirectInterface(index);
  if (index === undefined) fail('cannot index slice/array with nil');
  const k = basicKind(index);
  if (k === 'int' || k === 'uint') x = BigInt(num(index));
  else fail(`cannot index slice/array with type ${typeStr(index)}`);
  if (x < 0n || x > BigInt(cap)) fail(`index out of range: ${x}`);
  return Number(x);
}

function prepareArg(value: GoValue, argType: GoType): GoValue {
  if (value === undefined) {
    if (!canBeNil(argType)) fail(`value is nil; should be of type ${argType.str}`);
    return zeroOf(argType);
  }
  if (value === null) {
    if (argType.kind === 'interface') return null;
    fail(`value has type interface {}; should be ${argType.str}`);
  }
  const vt = typeOf(value);
  if (assignable(vt, argType)) return value;
  const intLike = (k: string): boolean => k === 'int' || k === 'int64' || k === 'uint8' || k === 'uint16';
  if (intLike(vt.kind) && intLike(argType.kind)) return argType === INT ? Number(num(value)) : new GoNum(argType, num(value));
  fail(`value has type ${vt.str}; should be ${argType.str}`);
}

function mapKey(v: GoValue): MapKey {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  if (v instanceof GoNum) return v.v;
  return String(v);
}

function index(item: GoValue, indexes: GoValue[]): GoValue {
  item = indirectInterface(item);
  if (item === undefined) fail('index of untyped nil');
  for (let idx of indexes) {
    idx = indirectInterface(idx);
    if (item === null || (item instanceof GoPtr && item.p === null)) fail('index of nil pointer');
    if (item instanceof GoPtr) item = item.p;
    if (typeof item === 'string') {
      const x = indexArg(idx, item.length);
      if (x === item.length) fail('reflect: string index out of range');
      item = new GoNum(UINT8, item.charCodeAt(x));
    } else if (item instanceof GoSlice) {
      const x = indexArg(idx, item.n);
      if (x === item.n) fail('reflect: slice index out of range');
      item = item.at(x);
    } else if (item instanceof GoMap) {
      const k = prepareArg(idx, item.t.key as GoType);
      const v = item.m.get(mapKey(k));
      item = v !== undefined || item.m.has(mapKey(k)) ? v : zeroOf(item.t.elem as GoType);
    } else {
      fail(`can't index item of type ${typeStr(item)}`);
    }
  }
  return item;
}

function slice(item: GoValue, indexes: GoValue[]): GoValue {
  item = indirectInterface(item);
  if (item === undefined) fail('slice of untyped nil');
  if (indexes.length > 3) fail(`too many slice indexes: ${indexes.length}`);
  let cap: number;
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) fail('cannot 3-index slice a string');
    cap = len = item.length;
  } else if (item instanceof GoSlice) {
    cap = item.cap;
    len = item.n;
  } else {
    fail(`can't slice item of type ${typeStr(item)}`);
  }
  const idx = [0, len, 0];
  indexes.forEach((x, i) => {
    idx[i] = indexArg(x, cap);
  });
  const [i, j, k] = idx as [number, number, number];
  if (i > j) fail(`invalid slice index: ${i} > ${j}`);
  if (typeof item === 'string') return item.slice(i, j);
  const s = item as GoSlice;
  if (indexes.length < 3) return new GoSlice(s.t, s.a, s.off + i, j - i, s.cap - i);
  if (j > k) fail(`invalid slice index: ${j} > ${k}`);
  return new GoSlice(s.t, s.a, s.off + i, j - i, k - i);
}

function length(item: GoValue): number {
  if (item === undefined) fail(ZERO_VALUE_TYPE);
  if (item === null || (item instanceof GoPtr && item.p === null)) fail('len of nil pointer');
  if (item instanceof GoPtr) item = item.p;
  if (typeof item === 'string') return item.length;
  if (item instanceof GoSlice) return item.n;
  if (item instanceof GoMap) return item.m.size;
  fail(`len of type ${typeStr(item)}`);
}

/** printableValue over `any` arguments, then Sprint, as html/js/urlquery do. */
function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(
    args.map((a) => {
      if (a instanceof GoPtr && a.p !== null) return a.p;
      return a === null || a === undefined ? '<no value>' : a;
    }),
  );
}

export function htmlEscape(s: string): string {
  if (!/['"&<>\0]/.test(s)) return s;
  return s.replace(/['"&<>\0]/g, (c) => {
    switch (c) {
      case '"': return '&#34;';
      case "'": return '&#39;';
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      default: return '\xef\xbf\xbd';
    }
  });
}

export function jsEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; ) {
    const d = s.charCodeAt(i) < 0x80 ? s.charCodeAt(i) * 8 + 1 : decodeRuneAt(s, i);
    const r = d >>> 3;
    const ch = s.slice(i, i + (d & 7));
    i += d & 7;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (r < 0x20) out += '\\u00' + r.toString(16).toUpperCase().padStart(2, '0');
    else if (r < 0x80 || isPrint(r)) out += ch;
    else out += '\\u' + r.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

export function urlQueryEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const b = s.charCodeAt(i);
    const c = s[i] as string;
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const R = REFLECT;

export const builtins: ReadonlyMap<string, GoFunc> = new Map<string, GoFunc>([
  ['and', { params: [R], variadic: R, call: () => undefined }],
  ['or', { params: [R], variadic: R, call: () => undefined }],
  ['not', { params: [R], call: ([a]) => !truth(a) }],
  ['len', { params: [R], call: ([a]) => length(a) }],
  ['index', { params: [R], variadic: R, call: ([item, ...idx]) => index(item, idx) }],
  ['slice', { params: [R], variadic: R, call: ([item, ...idx]) => slice(item, idx) }],
  ['print', { params: [], variadic: IFACE, call: (args) => sprint(args) }],
  ['printf', { params: [STRING], variadic: IFACE, call: ([f, ...args]) => sprintf(f as string, args) }],
  ['println', { params: [], variadic: IFACE, call: (args) => sprintln(args) }],
  ['html', { params: [], variadic: IFACE, call: (args) => htmlEscape(evalArgs(args)) }],
  ['js', { params: [], variadic: IFACE, call: (args) => jsEscape(evalArgs(args)) }],
  ['urlquery', { params: [], variadic: IFACE, call: (args) => urlQueryEscape(evalArgs(args)) }],
  ['call', {
    params: [R], variadic: R,
    call: ([fn]) => {
      const f = indirectInterface(fn);
      if (f === undefined) fail('call of nil');
      fail(`non-function of type ${typeStr(f)}`);
    },
  }],
  ['eq', { params: [R], variadic: R, call: ([a, ...rest]) => eq(a, rest) }],
  ['ne', { params: [R, R], call: ([a, b]) => !eq(a, [b]) }],
  ['lt', { params: [R, R], call: ([a, b]) => lt(a, b) }],
  ['le', { params: [R, R], call: ([a, b]) => le(a, b) }],
  ['gt', { params: [R, R], call: ([a, b]) => !le(a, b) }],
  ['ge', { params: [R, R], call: ([a, b]) => !lt(a, b) }],
]);
