// Go's fmt printing (Sprint, Sprintln, Sprintf) over the Go value model: verbs, flags, width,
// precision, argument indexes, and Go's error forms (%!d(string=hi), %!v(MISSING), ...).

import { decodeRuneAt, encodeRune, runeCount } from './bytes.ts';
import { canBackquote, compareGo, isPrint, quote, quoteRune } from './strings.ts';
import { formatFloat } from './ftoa.ts';
import type { FloatFormat } from './ftoa.ts';
import {
  GoComplex, GoMap, GoNum, GoPtr, GoSlice, GoStruct, GoTimeValue, typeOf,
} from './value.ts';
import type { GoType, GoValue, MapKey } from './value.ts';

const ldigits = '0123456789abcdefx';
const udigits = '0123456789ABCDEFX';

/** A type's String method (time.Time, time.Month, time.Weekday), if it has one. */
export function stringer(v: GoValue): string | undefined {
  if (v === null || v === undefined || typeof v !== 'object') return undefined;
  const m = v.t.methods.get('String');
  if (m === undefined || m.params.length > 0) return undefined;
  return m.call(v, []) as string;
}

function isStringKind(v: GoValue): boolean {
  return typeof v === 'string';
}

/** Orders map keys as internal/fmtsort does. */
export function compareKeys(a: MapKey, b: MapKey): number {
  if (typeof a === 'string' && typeof b === 'string') return compareGo(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
    if (Number.isNaN(b)) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = typeof a === 'bigint' || typeof a === 'number' ? a : 0;
  const y = typeof b === 'bigint' || typeof b === 'number' ? b : 0;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function sortedKeys(m: GoMap): MapKey[] {
  const keys = [...m.m.keys()];
  keys.sort(compareKeys);
  return keys;
}

/** The value a map key stands for, with the map's key type. */
export function keyValue(m: GoMap, k: MapKey): GoValue {
  const kt = m.t.key as GoType;
  if (kt.kind === 'string' || kt.kind === 'bool' || kt.str === 'int') return k;
  return new GoNum(kt, k as number);
}

function fakePointer(): string {
  return '0xc000010000';
}

class Printer {
  buf = '';
  // flags
  widPresent = false;
  precPresent = false;
  minus = false;
  plus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  wid = 0;
  prec = 0;
  // the argument being printed, for error forms
  arg: GoValue = undefined;
  argIsValue = false;
  erroring = false;

  clearFlags(): void {
    this.widPresent = this.precPresent = this.minus = this.plus = this.sharp = false;
    this.space = this.zero = this.plusV = this.sharpV = false;
    this.wid = 0;
    this.prec = 0;
  }

  writePadding(n: number): void {
    if (n <= 0) return;
    this.buf += (this.zero ? '0' : ' ').repeat(n);
  }

  pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  fmtBoolean(v: boolean): void {
    this.pad(v ? 'true' : 'false');
  }

  fmtUnicode(u: bigint): void {
    let prec = 4;
    if (this.precPresent && this.prec > 4) prec = this.prec;
    let hex = u.toString(16).toUpperCase();
    if (hex.length < prec) hex = '0'.repeat(prec - hex.length) + hex;
    let s = 'U+' + hex;
    const r = Number(u);
    if (this.sharp && u <= 0x10ffffn && isPrint(r)) s += " '" + encodeRune(r) + "'";
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  fmtInteger(v: bigint, base: number, signed: boolean, verb: string, digits: string): void {
    let u = v;
    const negative = signed && u < 0n;
    if (negative) u = -u;
    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = oldZero;
        return;
      }
    } else if (this.zero && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--;
    }
    let s = u.toString(base);
    if (digits === udigits) s = s.toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    if (this.sharp) {
      if (base === 2) s = '0b' + s;
      else if (base === 8) {
        if (s[0] !== '0') s = '0' + s;
      } else if (base === 16) s = '0' + digits[16] + s;
    }
    if (verb === 'O') s = '0o' + s;
    if (negative) s = '-' + s;
    else if (this.plus) s = '+' + s;
    else if (this.space) s = ' ' + s;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  truncate(s: string): string {
    if (this.precPresent) {
      let n = this.prec;
      for (let i = 0; i < s.length; ) {
        n--;
        if (n < 0) return s.slice(0, i);
        i += s.charCodeAt(i) < 0x80 ? 1 : decodeRuneAt(s, i) & 7;
      }
    }
    return s;
  }

  fmtS(s: string): void {
    this.pad(this.truncate(s));
  }

  fmtSx(s: string, digits: string): void {
    let length = s.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) width += 2;
    } else {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    let out = '';
    if (this.sharp) out += '0' + digits[16];
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += ' ';
        if (this.sharp) out += '0' + digits[16];
      }
      const c = s.charCodeAt(i);
      out += (digits[c >> 4] as string) + (digits[c & 0xf] as string);
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  fmtQ(s: string): void {
    s = this.truncate(s);
    if (this.sharp && canBackquote(s)) {
      this.pad('`' + s + '`');
      return;
    }
    this.pad(quote(s, this.plus));
  }

  fmtC(u: bigint): void {
    let r = u > 0x10ffffn ? 0xfffd : Number(u);
    if (r >= 0xd800 && r <= 0xdfff) r = 0xfffd;
    this.pad(encodeRune(r));
  }

  fmtQc(u: bigint): void {
    const r = u > 0x10ffffn ? 0xfffd : Number(u);
    this.pad(quoteRune(r, this.plus));
  }

  fmtFloatNum(v: number, verb: string, prec: number): void {
    if (this.precPresent) prec = this.prec;
    let num = formatFloat(v, verb as FloatFormat, prec);
    if (num[0] === '-' || num[0] === '+') {
      // keep sign
    } else num = '+' + num;
    if (this.space && num[0] === '+' && !this.plus) num = ' ' + num.slice(1);
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = this.zero;
      this.zero = false;
      if (num[1] === 'N' && !this.space && !this.plus) num = num.slice(1);
      this.pad(num);
      this.zero = oldZero;
      return;
    }
    if (this.sharp && verb !== 'b') {
      let digits = 0;
      if (verb === 'v' || verb === 'g' || verb === 'G' || verb === 'x') {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = '';
      let body = num;
      const ePos = body.search(verb === 'x' || verb === 'X' ? /[pP]/ : /[eEpP]/);
      if (ePos >= 0) {
        tail = body.slice(ePos);
        body = body.slice(0, ePos);
      }
      let hasDot = false;
      let sawNonzero = false;
      for (let i = 1; i < body.length; i++) {
        const ch = body[i];
        if (ch === '.') {
          hasDot = true;
          continue;
        }
        if (ch !== '0') sawNonzero = true;
        if (sawNonzero) digits--;
      }
      if (!hasDot) {
        if (body.length === 2 && body[1] === '0') digits--;
        body += '.';
      }
      while (digits > 0) {
        body += '0';
        digits--;
      }
      num = body + tail;
    }
    if (this.plus || num[0] !== '+') {
      if (this.zero && this.widPresent && this.wid > num.length) {
        this.buf += num[0];
        this.writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  badVerb(verb: string): void {
    this.erroring = true;
    this.buf += '%!' + verb + '(';
    const a = this.arg;
    if (a !== null && a !== undefined) {
      this.buf += typeOf(a).str + '=';
      this.printArg(a, 'v');
    } else {
      this.buf += '<nil>';
    }
    this.buf += ')';
    this.erroring = false;
  }

  fmtBool(v: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.fmtBoolean(v);
    else this.badVerb(verb);
  }

  fmtIntegerVerb(v: bigint, signed: boolean, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.sharpV && !signed) {
          const sharp = this.sharp;
          this.sharp = true;
          this.fmtInteger(v, 16, false, 'v', ldigits);
          this.sharp = sharp;
        } else this.fmtInteger(v, 10, signed, verb, ldigits);
        return;
      case 'd': this.fmtInteger(v, 10, signed, verb, ldigits); return;
      case 'b': this.fmtInteger(v, 2, signed, verb, ldigits); return;
      case 'o':
      case 'O': this.fmtInteger(v, 8, signed, verb, ldigits); return;
      case 'x': this.fmtInteger(v, 16, signed, verb, ldigits); return;
      case 'X': this.fmtInteger(v, 16, signed, verb, udigits); return;
      case 'c': this.fmtC(BigInt.asUintN(64, v)); return;
      case 'q': this.fmtQc(BigInt.asUintN(64, v)); return;
      case 'U': this.fmtUnicode(BigInt.asUintN(64, v)); return;
      default: this.badVerb(verb);
    }
  }

  fmtFloatVerb(v: number, verb: string): void {
    switch (verb) {
      case 'v': this.fmtFloatNum(v, 'g', -1); return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X': this.fmtFloatNum(v, verb, -1); return;
      case 'f':
      case 'e':
      case 'E': this.fmtFloatNum(v, verb, 6); return;
      case 'F': this.fmtFloatNum(v, 'f', 6); return;
      default: this.badVerb(verb);
    }
  }

  fmtComplex(c: GoComplex, verb: string): void {
    switch (verb) {
      case 'v': case 'b': case 'g': case 'G': case 'x': case 'X': case 'f': case 'F': case 'e': case 'E': {
        const oldPlus = this.plus;
        this.buf += '(';
        this.fmtFloatVerb(c.re, verb);
        this.plus = true;
        this.fmtFloatVerb(c.im, verb);
        this.buf += 'i)';
        this.plus = oldPlus;
        return;
      }
      default: this.badVerb(verb);
    }
  }

  fmtString(v: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.sharpV) this.fmtQ(v);
        else this.fmtS(v);
        return;
      case 's': this.fmtS(v); return;
      case 'x': this.fmtSx(v, ldigits); return;
      case 'X': this.fmtSx(v, udigits); return;
      case 'q': this.fmtQ(v); return;
      default: this.badVerb(verb);
    }
  }

  fmtPointer(v: GoValue, verb: string): void {
    let isNil = false;
    if (v instanceof GoPtr) isNil = v.p === null;
    else if (v instanceof GoSlice || v instanceof GoMap) isNil = v.isNil;
    else {
      this.badVerb(verb);
      return;
    }
    switch (verb) {
      case 'v':
        if (this.sharpV) this.buf += '(' + (v as GoPtr).t.str + ')(' + (isNil ? 'nil' : fakePointer()) + ')';
        else if (isNil) this.pad('<nil>');
        else this.pad(this.sharp ? fakePointer().slice(2) : fakePointer());
        return;
      case 'p':
        this.pad(this.sharp ? fakePointer().slice(2) : fakePointer());
        return;
      default:
        this.badVerb(verb);
    }
  }

  handleMethods(v: GoValue, verb: string): boolean {
    if (this.erroring) return false;
    if (this.sharpV) return false;
    if (verb === 'v' || verb === 's' || verb === 'x' || verb === 'X' || verb === 'q') {
      const s = stringer(v);
      if (s !== undefined) {
        this.fmtString(s, verb);
        return true;
      }
    }
    return false;
  }

  printArg(arg: GoValue, verb: string): void {
    this.arg = arg;
    if (arg === null || arg === undefined) {
      if (verb === 'T' || verb === 'v') this.pad('<nil>');
      else this.badVerb(verb);
      return;
    }
    if (verb === 'T') {
      this.fmtS(typeOf(arg).str);
      return;
    }
    if (verb === 'p') {
      this.fmtPointer(arg, 'p');
      return;
    }
    switch (typeof arg) {
      case 'boolean': this.fmtBool(arg, verb); return;
      case 'number': this.fmtIntegerVerb(BigInt(arg), true, verb); return;
      case 'bigint': this.fmtIntegerVerb(arg, true, verb); return;
      case 'string': this.fmtString(arg, verb); return;
    }
    if (this.handleMethods(arg, verb)) return;
    this.printValue(arg, verb, 0);
  }

  printValue(v: GoValue, verb: string, depth: number): void {
    if (depth > 0 && v !== undefined && v !== null) {
      this.arg = v;
      if (this.handleMethods(v, verb)) return;
    }
    this.arg = undefined;
    if (v === undefined) {
      if (depth === 0) this.buf += '<invalid reflect.Value>';
      else if (verb === 'v') this.buf += '<nil>';
      else this.badVerb(verb);
      return;
    }
    if (v === null) {
      // a nil interface{} inside a container
      if (this.sharpV) this.buf += 'interface {}(nil)';
      else this.buf += '<nil>';
      return;
    }
    this.arg = v;
    switch (typeof v) {
      case 'boolean': this.fmtBool(v, verb); return;
      case 'number': this.fmtIntegerVerb(BigInt(v), true, verb); return;
      case 'bigint': this.fmtIntegerVerb(v, true, verb); return;
      case 'string': this.fmtString(v, verb); return;
    }
    if (v instanceof GoNum) {
      const k = v.t.kind;
      if (k === 'float64') this.fmtFloatVerb(v.v as number, verb);
      else this.fmtIntegerVerb(BigInt(v.v), k === 'int' || k === 'int64', verb);
      return;
    }
    if (v instanceof GoComplex) {
      this.fmtComplex(v, verb);
      return;
    }
    if (v instanceof GoMap) {
      if (this.sharpV) {
        this.buf += v.t.str;
        if (v.isNil) {
          this.buf += '(nil)';
          return;
        }
        this.buf += '{';
      } else this.buf += 'map[';
      const keys = sortedKeys(v);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
        const k = keys[i] as MapKey;
        this.printValue(keyValue(v, k), verb, depth + 1);
        this.buf += ':';
        this.printValue(v.m.get(k), verb, depth + 1);
      }
      this.buf += this.sharpV ? '}' : ']';
      return;
    }
    if (v instanceof GoStruct || v instanceof GoTimeValue) {
      const fields = v instanceof GoStruct ? v.f : [];
      if (this.sharpV) this.buf += v.t.str;
      this.buf += '{';
      for (let i = 0; i < fields.length; i++) {
        if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
        if (this.plusV || this.sharpV) this.buf += (v.t.fields[i] as { name: string }).name + ':';
        this.printValue(fields[i], verb, depth + 1);
      }
      this.buf += '}';
      return;
    }
    if (v instanceof GoSlice) {
      if ((verb === 's' || verb === 'q' || verb === 'x' || verb === 'X') && v.t.elem?.kind === 'uint8') {
        let s = '';
        for (let i = 0; i < v.n; i++) s += String.fromCharCode(Number((v.at(i) as GoNum).v) & 0xff);
        if (verb === 'x' || verb === 'X') this.fmtSx(s, verb === 'x' ? ldigits : udigits);
        else this.fmtString(s, verb);
        return;
      }
      if (this.sharpV) {
        this.buf += v.t.str;
        if (v.isNil) {
          this.buf += '(nil)';
          return;
        }
        this.buf += '{';
        for (let i = 0; i < v.n; i++) {
          if (i > 0) this.buf += ', ';
          this.printValue(v.at(i), verb, depth + 1);
        }
        this.buf += '}';
      } else {
        this.buf += '[';
        for (let i = 0; i < v.n; i++) {
          if (i > 0) this.buf += ' ';
          this.printValue(v.at(i), verb, depth + 1);
        }
        this.buf += ']';
      }
      return;
    }
    if (v instanceof GoPtr) {
      if (depth === 0 && v.p !== null) {
        this.buf += '&';
        this.printValue(v.p, verb, depth + 1);
        return;
      }
      this.fmtPointer(v, verb);
    }
  }

  doPrint(args: readonly GoValue[]): void {
    let prevString = false;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      const isString = isStringKind(arg);
      if (i > 0 && !isString && !prevString) this.buf += ' ';
      this.printArg(arg, 'v');
      prevString = isString;
    }
  }

  doPrintln(args: readonly GoValue[]): void {
    for (let i = 0; i < args.length; i++) {
      if (i > 0) this.buf += ' ';
      this.printArg(args[i], 'v');
    }
    this.buf += '\n';
  }

  doPrintf(format: string, a: readonly GoValue[]): void {
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    let reordered = false;
    let goodArgNum = true;

    const argNumber = (i: number): [number, boolean] => {
      // "[n]" selects argument n (1-based).
      if (format[i] !== '[') return [i, false];
      reordered = true;
      const close = format.indexOf(']', i + 1);
      if (end - i < 3 || close < 0) {
        goodArgNum = false;
        return [i + 1, false];
      }
      const digits = format.slice(i + 1, close);
      if (!/^[0-9]+$/.test(digits) || digits.length > 7) {
        goodArgNum = false;
        return [close + 1, false];
      }
      const index = Number(digits) - 1;
      if (index >= 0 && index < a.length) {
        argNum = index;
        return [close + 1, true];
      }
      goodArgNum = false;
      return [close + 1, true];
    };

    const intFromArg = (): [number, boolean] => {
      if (argNum >= a.length) return [0, false];
      const v = a[argNum];
      argNum++;
      let n: number | undefined;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'bigint') n = Number(v);
      else if (v instanceof GoNum && v.t.kind !== 'float64') n = Number(v.v);
      if (n === undefined || n > 1e6 || n < -1e6) return [0, false];
      return [n, true];
    };

    const parseNum = (i: number): [number, boolean, number] => {
      let n = 0;
      let isNum = false;
      while (i < end && format.charCodeAt(i) >= 0x30 && format.charCodeAt(i) <= 0x39) {
        if (n > 1e6 || n < -1e6) return [0, false, end];
        n = n * 10 + format.charCodeAt(i) - 0x30;
        isNum = true;
        i++;
      }
      return [n, isNum, i];
    };

    let i = 0;
    formatLoop: while (i < end) {
      goodArgNum = true;
      const lasti = i;
      while (i < end && format[i] !== '%') i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++;
      this.clearFlags();
      simple: for (; i < end; i++) {
        const c = format[i] as string;
        switch (c) {
          case '#': this.sharp = true; break;
          case '0': this.zero = !this.minus; break;
          case '+': this.plus = true; break;
          case '-': this.minus = true; this.zero = false; break;
          case ' ': this.space = true; break;
          default:
            if (c >= 'a' && c <= 'z' && argNum < a.length) {
              if (c === 'v') {
                this.sharpV = this.sharp;
                this.sharp = false;
                this.plusV = this.plus;
                this.plus = false;
              }
              this.printArg(a[argNum], c);
              argNum++;
              i++;
              continue formatLoop;
            }
            break simple;
        }
      }
      [i, afterIndex] = argNumber(i);
      if (i < end && format[i] === '*') {
        i++;
        [this.wid, this.widPresent] = intFromArg();
        if (!this.widPresent) this.buf += '%!(BADWIDTH)';
        if (this.wid < 0) {
          this.wid = -this.wid;
          this.minus = true;
          this.zero = false;
        }
        afterIndex = false;
      } else {
        [this.wid, this.widPresent, i] = parseNum(i);
        if (afterIndex && this.widPresent) goodArgNum = false;
      }
      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) goodArgNum = false;
        [i, afterIndex] = argNumber(i);
        if (i < end && format[i] === '*') {
          i++;
          [this.prec, this.precPresent] = intFromArg();
          if (this.prec < 0) {
            this.prec = 0;
            this.precPresent = false;
          }
          if (!this.precPresent) this.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          [this.prec, this.precPresent, i] = parseNum(i);
          if (!this.precPresent) {
            this.prec = 0;
            this.precPresent = true;
          }
        }
      }
      if (!afterIndex) [i, afterIndex] = argNumber(i);
      if (i >= end) {
        this.buf += '%!(NOVERB)';
        break;
      }
      // The verb is one rune of the format's UTF-8 (an invalid byte is U+FFFD, as Go decodes it).
      const d = format.charCodeAt(i) < 0x80 ? format.charCodeAt(i) * 8 + 1 : decodeRuneAt(format, i);
      const verb = encodeRune(d >>> 3);
      i += d & 7;
      if (verb === '%') {
        this.buf += '%';
      } else if (!goodArgNum) {
        this.buf += '%!' + verb + '(BADINDEX)';
      } else if (argNum >= a.length) {
        this.buf += '%!' + verb + '(MISSING)';
      } else {
        if (verb === 'v') {
          this.sharpV = this.sharp;
          this.sharp = false;
          this.plusV = this.plus;
          this.plus = false;
        }
        this.printArg(a[argNum], verb);
        argNum++;
      }
    }
    if (!reordered && argNum < a.length) {
      this.clearFlags();
      this.buf += '%!(EXTRA ';
      for (let k = argNum; k < a.length; k++) {
        if (k > argNum) this.buf += ', ';
        const arg = a[k];
        if (arg === null || arg === undefined) this.buf += '<nil>';
        else {
          this.buf += typeOf(arg).str + '=';
          this.printArg(arg, 'v');
        }
      }
      this.buf += ')';
    }
  }
}

/** fmt.Sprint. */
export function sprint(args: readonly GoValue[]): string {
  if (args.length === 1) {
    const a = args[0];
    if (typeof a === 'string') return a;
    if (typeof a === 'number') return String(a);
  }
  const p = new Printer();
  p.doPrint(args);
  return p.buf;
}

/** fmt.Sprintln. */
export function sprintln(args: readonly GoValue[]): string {
  const p = new Printer();
  p.doPrintln(args);
  return p.buf;
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly GoValue[]): string {
  const p = new Printer();
  p.doPrintf(format, args);
  return p.buf;
}

/** fmt.Sprintf("%v", v) with a reflect.Value-like argument (undefined prints as Go does). */
export function formatValue(v: GoValue, verb = 'v'): string {
  const p = new Printer();
  if (v === undefined) {
    p.buf += '<invalid reflect.Value>';
    return p.buf;
  }
  p.printArg(v, verb);
  return p.buf;
}
