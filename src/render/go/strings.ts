// Go string semantics. The Go engine works on byte strings (see bytes.ts): quote and the *Bytes
// functions take and give them. compareGo, utf8Length and the go* functions without "Bytes" work
// on Unicode text, for the nunjucks engine's copy of confd's functions.

import { decodeRuneAt, encodeRune, explode, isAsciiBytes } from './bytes.ts';

/** Go's `a < b` ordering (UTF-8 byte order, i.e. code point order), as a comparator. */
export function compareGo(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 puts surrogates (code points >= U+10000) below U+E000..U+FFFF; UTF-8 does not.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

export function lessGo(a: string, b: string): boolean {
  return compareGo(a, b) < 0;
}

/** len(s) in Go: the number of UTF-8 bytes. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 code units
        i++;
        continue;
      }
      n += 2;
    } else n += 2;
  }
  return n;
}

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

const printRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return false;
  return printRe.test(String.fromCodePoint(r));
}

const lowerHex = '0123456789abcdef';

function hexPad(n: number, width: number): string {
  let s = '';
  for (let i = width - 1; i >= 0; i--) s += lowerHex[(n >>> (4 * i)) & 0xf];
  return s;
}

// strconv's appendEscapedRune, on byte strings: a printable rune is copied as its UTF-8 bytes.
function escapeRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return '\\' + String.fromCharCode(r);
  if (asciiOnly) {
    if (r < 0x80 && isPrint(r)) return String.fromCharCode(r);
  } else if (isPrint(r)) {
    return encodeRune(r);
  }
  switch (r) {
    case 7: return '\\a';
    case 8: return '\\b';
    case 12: return '\\f';
    case 10: return '\\n';
    case 13: return '\\r';
    case 9: return '\\t';
    case 11: return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return '\\x' + hexPad(r, 2);
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  if (r < 0x10000) return '\\u' + hexPad(r, 4);
  return '\\U' + hexPad(r, 8);
}

/** strconv.Quote (or QuoteToASCII when asciiOnly) of a byte string; an invalid byte is written \\xNN. */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? s[i] : escapeRune(c, 0x22, asciiOnly);
      i++;
      continue;
    }
    const d = decodeRuneAt(s, i);
    const w = d & 7;
    if (w === 1) out += '\\x' + hexPad(c, 2);
    else out += escapeRune(d >>> 3, 0x22, asciiOnly);
    i += w;
  }
  return out + '"';
}

/** strconv.QuoteRune / QuoteRuneToASCII, as a byte string. */
export function quoteRune(r: number, asciiOnly = false): string {
  if (r > 0x10ffff || r < 0 || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  return "'" + escapeRune(r, 0x27, asciiOnly) + "'";
}

/** strconv.CanBackquote of a byte string. */
export function canBackquote(s: string): boolean {
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0x60 || (c < 0x20 && c !== 9) || c === 0x7f) return false;
      i++;
      continue;
    }
    const d = decodeRuneAt(s, i);
    const r = d >>> 3;
    if ((d & 7) === 1 || r === 0xfeff) return false;
    i += d & 7;
  }
  return true;
}

// unicode.ToUpper/ToLower use the simple (one rune to one rune) case mapping; JavaScript's
// String methods use the full mapping (ß -> SS), so map rune by rune and keep the rune when
// the full mapping is not a single rune.
function mapCase(s: string, upper: boolean): string {
  if (isAscii(s)) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = '';
  for (const ch of s) {
    if (!upper && ch === '\u0130') {
      out += 'i';
      continue;
    }
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    const cp = m.codePointAt(0) as number;
    out += m.length === (cp > 0xffff ? 2 : 1) ? m : ch;
  }
  return out;
}

// strings.Map(unicode.ToUpper/ToLower, s) on bytes: an invalid byte comes out as U+FFFD.
function mapCaseBytes(s: string, upper: boolean): string {
  if (isAsciiBytes(s)) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = '';
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out += upper ? s[i]?.toUpperCase() : s[i]?.toLowerCase();
      i++;
      continue;
    }
    const d = decodeRuneAt(s, i);
    i += d & 7;
    out += encodeRune(mapRune(d >>> 3, upper));
  }
  return out;
}

function mapRune(r: number, upper: boolean): number {
  if (!upper && r === 0x130) return 0x69;
  const ch = String.fromCodePoint(r);
  const m = upper ? ch.toUpperCase() : ch.toLowerCase();
  const cp = m.codePointAt(0) as number;
  return m.length === (cp > 0xffff ? 2 : 1) ? cp : r;
}

/** strings.ToUpper on a byte string. */
export function toUpperBytes(s: string): string {
  return mapCaseBytes(s, true);
}

/** strings.ToLower on a byte string. */
export function toLowerBytes(s: string): string {
  return mapCaseBytes(s, false);
}

/** strings.Split on byte strings. */
export function splitBytes(s: string, sep: string): string[] {
  if (sep !== '') return s.split(sep);
  // Go's explode: every piece but the last that decodes to RuneError becomes U+FFFD.
  const pieces = explode(s);
  for (let i = 0; i < pieces.length - 1; i++) {
    const p = pieces[i] as string;
    if (p.charCodeAt(0) >= 0x80 && decodeRuneAt(p, 0) >>> 3 === 0xfffd) pieces[i] = '\xef\xbf\xbd';
  }
  return pieces;
}

/** strings.Replace on byte strings. */
export function replaceBytes(s: string, old: string, repl: string, n: number): string {
  return replaceIn(s, old, repl, n, explode);
}

export function goToUpper(s: string): string {
  return mapCase(s, true);
}

export function goToLower(s: string): string {
  return mapCase(s, false);
}

/** strings.Split. */
export function goSplit(s: string, sep: string): string[] {
  if (sep === '') return Array.from(s);
  return s.split(sep);
}

/** strings.Replace. */
export function goReplace(s: string, old: string, repl: string, n: number): string {
  return replaceIn(s, old, repl, n, (x) => Array.from(x));
}

function replaceIn(s: string, old: string, repl: string, n: number, runesOf: (s: string) => string[]): string {
  if (old === repl || n === 0) return s;
  if (old === '') {
    const runes = runesOf(s);
    const limit = n < 0 ? runes.length + 1 : Math.min(n, runes.length + 1);
    let out = '';
    let i = 0;
    for (; i < limit; i++) out += repl + (runes[i] ?? '');
    for (; i < runes.length; i++) out += runes[i];
    return out;
  }
  if (n < 0) return s.split(old).join(repl);
  let out = '';
  let start = 0;
  for (let k = 0; k < n; k++) {
    const j = s.indexOf(old, start);
    if (j < 0) break;
    out += s.slice(start, j) + repl;
    start = j + old.length;
  }
  return out + s.slice(start);
}
